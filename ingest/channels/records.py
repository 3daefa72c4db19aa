"""Reads a merchant's file record by record, streaming (a 100,000-record file never sits in memory):
each record comes out as its own raw bytes, which are what the inbound message log stores and
what the format dictionary maps (so a replay maps exactly what the file held).

- CSV: the header line followed by the record's rows (one row per record, or consecutive rows
  with the same `groupBy` values). Lines are decoded one by one, so a line that is not in the
  file's encoding becomes a rejected record of its own and the rest of the file is still read.
- JSON: JSON lines (each non-blank line one message), or one top-level array (each element one
  message). A JSON lines file goes on past a bad line; an array cannot be resynchronized after
  a syntax error, so the rest of the file becomes one (rejected) record.
- XML: each element at the `records` path (below the root), serialized inside its ancestors'
  tags so it reads like the file did (`<Orders><Order>…</Order></Orders>`). A syntax error —
  including bytes that are not in the declared encoding — stops the reading there (an XML
  parser must not guess past it): the records before it are processed, the file is reported.
"""

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

MAX_RECORD_BYTES = 1024 * 1024  # the API's body limit holds for one record of a file too
CHUNK = 64 * 1024
BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class RawRecord:
    number: int  # 1-based, in the file
    line: int | None  # where it starts (None for XML: the parser does not tell)
    body: bytes


class UnreadableFile(Exception):
    """The rest of the file cannot be read (XML syntax, an oversized JSON array element)."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    @property
    def located_message(self) -> str:
        """The message, after the line it concerns when known: "Line 7: …"."""
        return (f"Line {self.line}: " if self.line else "") + self.message


def read_records(
    fmt: str,
    stream: BinaryIO,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    group_by: tuple[str, ...] = (),
    records: str = "",
) -> Iterator[RawRecord]:
    if fmt == "csv":
        return _csv_records(stream, encoding, delimiter, group_by)
    if fmt == "xml":
        return _xml_records(stream, records)
    return _json_records(stream, encoding)


def strip_bom(data: bytes) -> bytes:
    return data[len(BOM) :] if data.startswith(BOM) else data


# --- CSV -------------------------------------------------------------------------------------


def _csv_records(stream, encoding, delimiter, group_by) -> Iterator[RawRecord]:
    consumed: list[bytes] = []  # raw lines the csv reader took since the last row
    lines_read = 0

    def lines():
        nonlocal lines_read
        for raw in stream:
            lines_read += 1
            if lines_read == 1:
                raw = strip_bom(raw)
            consumed.append(raw)
            # surrogateescape keeps undecodable bytes recoverable: the record keeps its raw
            # bytes and the dictionary rejects it, naming the line.
            yield raw.decode(encoding, "surrogateescape")

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise UnreadableFile(f"The header line cannot be read: {error}.", line=1) from error
    if header is None:
        return
    header_raw = b"".join(consumed)
    if not header_raw.endswith(b"\n"):
        header_raw += b"\n"
    consumed.clear()
    key_columns = [header.index(column) for column in group_by if column in header]
    number, group, group_key, group_line, boundary = 0, [], None, 0, lines_read
    while True:
        try:
            row = next(reader, None)
        except csv.Error:
            row = None if not consumed else ["?"]  # its raw lines: a record the dictionary rejects
            unreadable = True
        else:
            unreadable = False
        raw, start, boundary = b"".join(consumed), boundary + 1, lines_read
        consumed.clear()
        if row is None:
            break
        if not row:
            continue  # a blank line
        key = tuple(row[i] if i < len(row) else "" for i in key_columns)
        if unreadable:
            key = (object(),)  # never grouped with its neighbours
        if group and (not key_columns or key != group_key or not any(key)):
            number += 1
            yield RawRecord(number, group_line, header_raw + b"".join(group))
            group = []
        if not group:
            group_key, group_line = key, start
        group.append(raw)
    if group:
        yield RawRecord(number + 1, group_line, header_raw + b"".join(group))


# --- JSON ------------------------------------------------------------------------------------


def _json_records(stream, encoding) -> Iterator[RawRecord]:
    first = _first_byte(stream)
    if first == b"[":
        yield from _json_array(stream, encoding)
        return
    number = 0
    for line_number, raw in enumerate(stream, start=1):
        if line_number == 1:
            raw = strip_bom(raw)
        if raw.strip():
            number += 1
            yield RawRecord(number, line_number, raw.rstrip(b"\r\n"))


def _first_byte(stream) -> bytes:
    start = stream.tell()
    head = strip_bom(stream.read(CHUNK)).lstrip()
    stream.seek(start)
    return head[:1]


def _json_array(stream, encoding) -> Iterator[RawRecord]:
    decoder = codecs.getincrementaldecoder(encoding)("surrogateescape")
    parser = json.JSONDecoder()
    text, position, line, eof, number = "", 0, 1, False, 0

    def more() -> bool:
        nonlocal text, position, eof
        chunk = stream.read(CHUNK)
        eof = not chunk
        text = text[position:] + decoder.decode(chunk, final=eof)
        position = 0
        return not eof

    def skip(characters: str) -> None:
        nonlocal position, line
        while True:
            while position < len(text) and text[position] in characters:
                line += text[position] == "\n"
                position += 1
            if position < len(text) or not more():
                return

    more()
    text = text.lstrip("\ufeff")
    skip(" \t\r\n")
    position += 1  # the "["
    while True:
        skip(" \t\r\n,")
        if position >= len(text) or text[position] == "]":
            return
        try:
            _value, end = parser.raw_decode(text, position)
            complete = end < len(text) or eof
        except json.JSONDecodeError:
            end, complete = None, False
        if not complete and len(text) - position <= MAX_RECORD_BYTES and more():
            continue  # the element goes on in the next chunk
        number += 1
        if end is None:
            # A syntax error (or a cut file): the rest is one record, rejected with the reason.
            tail = text[position : position + MAX_RECORD_BYTES]
            if not eof and len(text) - position > MAX_RECORD_BYTES:
                raise UnreadableFile(
                    f"Record {number} is not valid JSON and the array cannot be read past it.",
                    line=line,
                )
            yield RawRecord(number, line, tail.encode(encoding, "surrogateescape"))
            return
        element = text[position:end]
        yield RawRecord(number, line, element.encode(encoding, "surrogateescape"))
        line += element.count("\n")
        position = end


# --- XML -------------------------------------------------------------------------------------


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else tag


def strip_namespaces(element: Element) -> None:
    """Merchants name `Order`, not `{urn:their-oms:v2}Order`."""
    element.tag = local_name(element.tag)
    if any("}" in name for name in element.attrib):
        element.attrib = {local_name(name): value for name, value in element.attrib.items()}


def _xml_records(stream, records: str) -> Iterator[RawRecord]:
    wanted = [part for part in records.split("/") if part and part != "."]
    stack: list[Element] = []
    number = 0
    try:
        for event, element in iterparse(stream, events=("start", "end")):
            if event == "start":
                stack.append(element)
                continue
            strip_namespaces(element)
            stack.pop()
            path = [local_name(e.tag) for e in stack[1:]] + [element.tag] if stack else []
            if path != wanted:
                continue
            number += 1
            yield RawRecord(number, None, _wrapped(stack, element))
            if stack:
                stack[-1].remove(element)  # keeps memory flat on long files
    except (ParseError, DefusedXmlException) as error:
        position = getattr(error, "position", (None, None))
        raise UnreadableFile(
            f"The XML cannot be read past record {number}: {error}.", line=position[0]
        ) from error


def _wrapped(ancestors: list[Element], element: Element) -> bytes:
    if not ancestors:
        return tostring(element, encoding="utf-8")
    root = Element(local_name(ancestors[0].tag))
    parent = root
    for ancestor in ancestors[1:]:
        parent = SubElement(parent, local_name(ancestor.tag))
    parent.append(element)
    body = tostring(root, encoding="utf-8")
    parent.remove(element)
    return body
