"""Format dictionaries: a merchant's own message format (JSON, CSV or XML, field names and
nesting of their choosing, their own words such as "SHIP_CONF") mapped onto our event envelope
(API.md `/events`). The route `dictionary:<id>` (ingest/channels/core.py) maps with it; the
mapping is checked and compiled by dictionary_check.py.

`FormatDictionary.mapping` — every key optional unless marked:

    {
      "type": {"path": "MsgType",                    # REQUIRED: the field naming the message type
               "values": {"ORD": "order.created", "SHIP_CONF": "shipment.confirmed",
                          "CXL": "order.cancelled", "BO": "items.backordered"}},
                                                     # or {"value": "shipment.confirmed"}
      "eventId": "MsgId",                            # absent: "sha256-…" of the record's content
      "occurredAt": {"path": "Created", "as": "datetime", "format": "%Y%m%d%H%M%S"},
      "fields": {                                    # REQUIRED: `data` of the envelope, per type
        "*": {"orderId": "OrderNo"},                 # "*": for every type
        "order.created": {
          "customer.email": "Email",                 # dotted: nested envelope fields
          "currency": {"value": "USD"},              # a constant
          "lineItems": {"path": "Lines/Line",        # a list: JSON/XML path; CSV: no path (a row
                        "fields": {"itemId": "Sku",  #   of the record is an item)
                                   "name": "Desc",
                                   "quantity": {"path": "Qty", "as": "int"}}}},
        "shipment.confirmed": {"trackingNumber": "Tracking",
                               "carrier": {"path": "Carrier", "values": {"UPSN": "ups"}}, …}
      },
      "records": "Orders/Order",   # XML: path below the root to the record elements (absent: the
                                   #   root is the record); JSON: dotted path of a list of records
                                   #   inside a message (absent: the message is the record)
      "groupBy": ["MsgId"],        # CSV: consecutive rows with the same values are one record
                                   #   (one row per line item); absent: each row is a record
      "delimiter": ",",            # CSV
      "encoding": "utf-8",         # CSV and JSON (ASCII-compatible encodings); XML declares its own
      "timezone": "America/Chicago"  # date-times without an offset (absent: the merchant's zone)
    }

A field is a source path, or an object with `path` (or `value`, a constant), `default` (when
the record has no value there), `as` (`text` — the default —, `int`, `decimal`, `date`,
`datetime`), `format` (strptime's, or `epoch` / `epoch_ms`, for dates and date-times; ISO 8601
otherwise) and `values` (their word → ours; a word not in the table is an error). Paths: JSON
dotted (`ship.lines.0.sku`), XML `A/B`, `A/@attr`, `@attr` or `.`, CSV the column name. Blank
values count as absent. Targets are the fields of the matching endpoint's body (API.md).

Errors name the merchant's own fields: INVALID_RECORD (cannot be read), UNKNOWN_MESSAGE_TYPE,
MISSING_FIELD (a value the event needs is absent), INVALID_FIELD (cannot be converted, or a word
not in the table), INVALID_DICTIONARY (the dictionary itself), and
DICTIONARY_NOT_FOUND (no such dictionary for this merchant).
"""

import csv
import functools
import hashlib
import io
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from flextracker.errors import ApiError, InvalidData, MissingData, NotFound
from inbound.services import json_loads_storable
from ingest.channels.dictionary_check import (
    MISSING,
    Dictionary,
    Field,
    ListField,
    dictionary_compile,
    targets,
    xml_split,
)
from ingest.channels.records import UnreadableFile, strip_bom, strip_namespaces
from ingest.models import FormatDictionary, MessageFormat
from merchants.models import Merchant

# --- The route: dictionary:<id> ---------------------------------------------------------------


def dictionary_mapper(merchant: Merchant, argument: str) -> Callable[[bytes], list[dict]]:
    """The mapper of route `dictionary:<id>`: the merchant's own dictionary, never another's,
    as saved now (a file's chunk of records is mapped with one version)."""
    versions = FormatDictionary.objects.filter(merchant=merchant, pk=_id(argument))
    updated_at = versions.values_list("updated_at", flat=True).first()
    if updated_at is None:
        raise NotFound(f"There is no format dictionary {argument} for this merchant.",
                       code="DICTIONARY_NOT_FOUND")  # fmt: skip
    compiled = _COMPILED.get((int(argument), updated_at, merchant.time_zone))
    if compiled is None:
        found = versions.get()
        found.merchant = merchant
        compiled = dictionary_for(found)
    return functools.partial(dictionary_map, compiled)


def _id(argument: str) -> int:
    return int(argument) if argument.isdigit() else 0


_COMPILED: dict[tuple[int, datetime, str], Dictionary] = {}


def dictionary_for(found: FormatDictionary) -> Dictionary:
    """Compiled once per saved version (a file maps thousands of records with it: each record
    reads only the version's timestamp)."""
    time_zone = found.merchant.time_zone
    key = (found.pk, found.updated_at, time_zone)
    if key not in _COMPILED:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = dictionary_compile(found.format, found.mapping, time_zone)
    return _COMPILED[key]


def dictionary_map(dictionary: Dictionary, body: bytes) -> list[dict]:
    """One message (a file's record, a queue message) → its events; every record of it or none."""
    records = _parse(dictionary, body)
    events = []
    for number, record in enumerate(records, start=1):
        try:
            events.append(_Mapping(dictionary, record).event())
        except ApiError as error:
            if len(records) > 1:
                error.message = f"Record {number}: {error.message}"
                error.details = {**error.details, "record": number}
            raise
    return events


def dictionary_occurred_at(dictionary: Dictionary, record) -> datetime | None:
    """A JSON record's `occurredAt` as the dictionary reads it, or None (no such field, or it
    cannot be read): a pulled API's updated-since cursor (ingest/channels/rest_pull.py)."""
    if dictionary.occurred_at is None or not isinstance(record, dict):
        return None
    value = _Mapping(dictionary, record)._value(record, dictionary.occurred_at, "occurredAt", False)
    try:
        moment = datetime.fromisoformat(str(value)) if value is not MISSING else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dictionary.time_zone)
    return moment


# --- Reading a message -----------------------------------------------------------------------


@dataclass(slots=True)
class CsvRecord:
    header: list[str]
    rows: list[dict[str, str]]


def _unreadable(message: str) -> InvalidData:
    return InvalidData(message, code="INVALID_RECORD")


def _parse(dictionary: Dictionary, body: bytes) -> list:
    if dictionary.format == MessageFormat.XML:
        return _parse_xml(dictionary, body)
    text = _decoded(strip_bom(body), dictionary.encoding)
    if dictionary.format == MessageFormat.CSV:
        return _parse_csv(dictionary, text)
    try:
        payload = json_loads_storable(text, parse_float=Decimal)
    except ValueError as error:
        raise _unreadable(f"The record is not valid JSON: {error}.") from error
    records = [payload]
    if dictionary.records:
        records = _json_get(payload, dictionary.records)
        if records is MISSING:
            raise _unreadable(f"The message has no “{dictionary.records}” list of records.")
        records = records if isinstance(records, list) else [records]
    if not all(isinstance(record, dict) for record in records):
        raise _unreadable("A record must be a JSON object.")
    return records


def _decoded(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        column = error.start - body.rfind(b"\n", 0, error.start)
        raise _unreadable(
            f"Line {line} of the record is not {encoding} text (byte 0x{body[error.start]:02X} "
            f"at position {column})."
        ) from error


def _parse_csv(dictionary: Dictionary, text: str) -> list[CsvRecord]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dictionary.delimiter)
    try:
        header = next(reader, [])
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as error:
        raise _unreadable(f"The CSV cannot be read: {error}.") from error
    if not rows:
        raise _unreadable("The record has a header but no rows.")
    if missing := [column for column in dictionary.group_by if column not in header]:
        raise _unreadable(f"The header has no column “{missing[0]}” (groupBy).")
    records, key = [], None
    for line, row in rows:
        if len(row) != len(header):
            raise _unreadable(f"Line {line} of the record has {len(row)} fields where the header "
                              f"names {len(header)} (is the line cut short?).")  # fmt: skip
        values = dict(zip(header, row, strict=True))
        row_key = tuple(values[column] for column in dictionary.group_by)
        if not records or not dictionary.group_by or row_key != key or not any(row_key):
            records.append(CsvRecord(header, []))
        records[-1].rows.append(values)
        key = row_key
    return records


def _parse_xml(dictionary: Dictionary, body: bytes) -> list[Element]:
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException) as error:
        raise _unreadable(f"The record is not valid XML: {error}.") from error
    for element in root.iter():
        strip_namespaces(element)
    records = root.findall(dictionary.records) if dictionary.records else [root]
    if not records:
        raise _unreadable(f"The message has no “{dictionary.records}” element.")
    return records


def _json_get(node, path: str):
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def _xml_get(element: Element, path: str):
    where, attribute = xml_split(path)
    found = element if where == "." else element.find(where)
    if found is None:
        return MISSING
    if attribute:
        return found.get(attribute, MISSING)
    return found.text if found.text is not None else MISSING


# --- Mapping one record -----------------------------------------------------------------------


class _Mapping:
    """One record → one event; collects every problem before raising, naming their fields."""

    def __init__(self, dictionary: Dictionary, record):
        self.dictionary = dictionary
        self.record = record
        self.missing: dict[str, list[str]] = {}
        self.invalid: dict[str, list[str]] = {}

    def event(self) -> dict:
        dictionary = self.dictionary
        top = self.record.rows[0] if isinstance(self.record, CsvRecord) else self.record
        event_type = self.event_type = self._event_type(top)
        data = {}
        for target, spec in dictionary.fields[event_type].items():
            required = targets()[event_type][target].required
            value = (self._list(top, target, spec, required) if isinstance(spec, ListField)
                     else self._value(top, spec, target, required))  # fmt: skip
            if value is not MISSING:
                _put(data, target, value)
        event = {"eventId": self._event_id(top), "type": event_type, "data": data}
        if dictionary.occurred_at:
            occurred = self._value(top, dictionary.occurred_at, "occurredAt", False)
            if occurred is not MISSING:
                event["occurredAt"] = occurred
        self._raise_problems()
        return event

    def _raise_problems(self) -> None:
        if self.invalid:
            fields = {**self.missing, **self.invalid}
            name, messages = next(iter(self.invalid.items()))
            raise InvalidData(f"{name}: {messages[0]}", code="INVALID_FIELD", fields=fields)
        if self.missing:
            name, messages = next(iter(self.missing.items()))
            raise MissingData(f"{name}: {messages[0]}", code="MISSING_FIELD", fields=self.missing)

    def _event_type(self, top) -> str:
        spec = self.dictionary.type
        if spec.value is not MISSING:
            return spec.value
        word = self._get(top, spec.path)
        word = "" if word is MISSING else str(word).strip()
        known = ", ".join(sorted(spec.values))  # sorted: PostgreSQL's jsonb keeps no order
        if not word:
            raise InvalidData(f"{spec.path}: no message type (known: {known}).",
                              code="UNKNOWN_MESSAGE_TYPE",
                              fields={spec.path: ["Missing: the message type."]})  # fmt: skip
        event_type = _look_up(spec.values, word)
        if event_type is None:
            message = f"“{word}” is not a message type of this dictionary (known: {known})."
            raise InvalidData(f"{spec.path}: {message}", code="UNKNOWN_MESSAGE_TYPE",
                              fields={spec.path: [message]})  # fmt: skip
        return event_type

    def _event_id(self, top) -> str:
        if self.dictionary.event_id is not None:
            value = self._value(top, self.dictionary.event_id, "eventId", False)
            if value is not MISSING:
                return str(value)[:200]
        return "sha256-" + hashlib.sha256(self._canonical()).hexdigest()

    def _canonical(self) -> bytes:
        """The record's content, however it was packaged (one per file line, or many per
        message): the same record always gets the same eventId."""
        if isinstance(self.record, Element):
            return tostring(self.record, encoding="utf-8")
        content = self.record.rows if isinstance(self.record, CsvRecord) else self.record
        return json.dumps(content, sort_keys=True, default=str).encode()

    def _get(self, node, path: str):
        if self.dictionary.format == MessageFormat.JSON:
            return _json_get(node, path)
        if self.dictionary.format == MessageFormat.XML:
            return _xml_get(node, path)
        return node.get(path, MISSING)

    def _raw(self, node, spec: Field):
        if spec.value is not MISSING:
            return spec.value
        raw = self._get(node, spec.path)
        if raw is MISSING or raw is None or (isinstance(raw, str) and not raw.strip()):
            return spec.default
        return raw

    def _value(self, node, spec: Field, target: str, required: bool, name: str = ""):
        name = name or spec.path or target
        raw = self._raw(node, spec)
        if raw is MISSING:
            if required:
                self.missing.setdefault(name, []).append(self._absent(spec, target))
            return MISSING
        try:
            return _convert(spec, raw, self.dictionary.time_zone)
        except ValueError as error:
            self.invalid.setdefault(name, []).append(f"{error} (for {target}).")
            return MISSING

    def _absent(self, spec: Field, target: str) -> str:
        record = self.record
        if isinstance(record, CsvRecord) and spec.path not in record.header:
            return f"The file has no column “{spec.path}” (needed for {target})."
        return f"Missing: needed for {target}."

    def _list(self, top, target: str, spec: ListField, required: bool):
        if isinstance(self.record, CsvRecord):
            nodes = self.record.rows
        elif self.dictionary.format == MessageFormat.XML:
            nodes = top.findall(spec.path)
        else:
            found = _json_get(top, spec.path)
            nodes = [] if found is MISSING else found if isinstance(found, list) else [found]
        sourced = [f for f in spec.fields.values() if f.value is MISSING]
        required_items = targets()[self.event_type][target].items
        items = []
        for index, node in enumerate(nodes):
            if not isinstance(node, dict | Element):
                self.invalid.setdefault(f"{spec.path}[{index}]", []).append("Not an object.")
                continue
            if all(self._raw(node, f) is MISSING for f in sourced):
                continue  # an empty row (a whole-order cancellation has no item columns)
            item = {}
            for sub, sub_spec in spec.fields.items():
                sub_required = required_items.get(sub, False)
                name = self._item_name(spec, index, sub_spec)
                value = self._value(node, sub_spec, f"{target}[{index}].{sub}", sub_required, name)
                if value is not MISSING:
                    item[sub] = value
            items.append(item)
        if not items:
            if required:
                where = spec.path or ", ".join(f.path for f in spec.fields.values() if f.path)
                self.missing.setdefault(where, []).append(f"Missing: at least one item ({target}).")
            return MISSING
        return items

    def _item_name(self, spec: ListField, index: int, sub_spec: Field) -> str:
        own = sub_spec.path or "(constant)"
        if isinstance(self.record, CsvRecord):
            return f"{own} (row {index + 1})"
        if self.dictionary.format == MessageFormat.XML:
            return f"{spec.path}[{index + 1}]/{own}"
        return f"{spec.path}[{index}].{own}"


def _put(data: dict, target: str, value) -> None:
    *parents, last = target.split(".")
    for parent in parents:
        data = data.setdefault(parent, {})
    data[last] = value


def _look_up(table: dict, word: str):
    if word in table:
        return table[word]
    folded = {key.casefold(): value for key, value in table.items()}
    return folded.get(word.casefold())


# --- Converting one value ---------------------------------------------------------------------


def _convert(spec: Field, raw, time_zone: zoneinfo.ZoneInfo):
    if spec.values is not None:
        mapped = _look_up(spec.values, str(raw).strip())
        if mapped is None:
            known = ", ".join(sorted(spec.values)[:10])
            raise ValueError(f"“{raw}” is not in the dictionary's table (known: {known})")
        raw = mapped
    if spec.kind == "text":
        if isinstance(raw, dict | list):
            return raw
        text = str(raw).strip()
        if "\x00" in text:
            raise ValueError("holds the NUL character")
        return text
    text = str(raw).strip()
    if spec.kind in ("int", "decimal"):
        return _number(raw, text, spec.kind)
    if spec.kind == "date":
        return _date(text, spec.format)
    return _datetime(text, spec.format, time_zone)


def _number(raw, text: str, kind: str):
    try:
        if isinstance(raw, bool):
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"“{text}” is not a number")
    if kind == "decimal":
        return str(number)
    if number != number.to_integral_value():
        raise ValueError(f"“{text}” is not a whole number")
    return int(number)


def _date(text: str, fmt: str) -> str:
    try:
        if fmt:
            return datetime.strptime(text, fmt).date().isoformat()
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise ValueError(f"“{text}” is not a date ({fmt or 'YYYY-MM-DD'})") from None


def _datetime(text: str, fmt: str, time_zone: zoneinfo.ZoneInfo) -> str:
    try:
        if fmt in ("epoch", "epoch_ms"):
            seconds = float(text) / (1000 if fmt == "epoch_ms" else 1)
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        moment = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"“{text}” is not a date-time ({fmt or 'ISO 8601'})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=time_zone)
    return moment.isoformat()


# --- The console's test: a pasted sample, record by record ------------------------------------


@dataclass(slots=True)
class RecordPreview:
    number: int
    line: int | None
    events: list[dict] = field(default_factory=list)
    error: dict | None = None  # the error envelope's `error`

    @property
    def envelope_json(self) -> str:
        return json.dumps(self.events[0] if len(self.events) == 1 else self.events, indent=2,
                          ensure_ascii=False)  # fmt: skip


def dictionary_preview(dictionary: Dictionary, sample: bytes, limit: int = 100) -> tuple[list, str]:
    """The sample split into records as a file would be, each mapped: its envelope(s) or its
    errors. Returns (records, a problem that stopped the reading or "")."""
    previews = []
    try:
        for record in dictionary.read_records(io.BytesIO(sample)):
            if record.number > limit:
                break
            preview = RecordPreview(record.number, record.line)
            try:
                preview.events = dictionary_map(dictionary, record.body)
            except ApiError as error:
                preview.error = error.body()["error"]
            previews.append(preview)
    except UnreadableFile as error:
        return previews, error.located_message
    return previews, ""
