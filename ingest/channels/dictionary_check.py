"""Checking a format dictionary's mapping (its shape: ingest/channels/dictionaries.py) and
compiling it into the `Dictionary` the mapper runs; INVALID_DICTIONARY lists every problem."""

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from xml.etree.ElementTree import Element

from rest_framework import serializers

from flextracker.errors import InvalidData
from ingest.channels.records import read_records
from ingest.events import EVENT_TYPES

KINDS = ("text", "int", "decimal", "date", "datetime")
TOP_KEYS = {"type", "eventId", "occurredAt", "fields", "records", "groupBy", "delimiter",
            "encoding", "timezone"}  # fmt: skip
FIELD_KEYS = {"path", "value", "default", "as", "format", "values"}
MISSING = object()
_XML_ATTRIBUTE = re.compile(r"(?:(.*)/)?@([\w.:-]+)")


def xml_split(path: str) -> tuple[str, str]:
    """An XML path → (the element's path, the attribute or ""): `A/@id` → ("A", "id")."""
    match = _XML_ATTRIBUTE.fullmatch(path)
    return ((match[1] or "."), match[2]) if match else (path, "")


@dataclass(frozen=True, slots=True)
class Field:
    path: str = ""
    value: object = MISSING
    default: object = MISSING
    kind: str = "text"
    format: str = ""
    values: dict | None = None


@dataclass(frozen=True, slots=True)
class ListField:
    path: str
    fields: dict[str, Field]


@dataclass(frozen=True, slots=True)
class Dictionary:
    format: str
    type: Field
    fields: dict[str, dict[str, Field | ListField]]  # per event type, "*" merged in
    event_id: Field | None = None
    occurred_at: Field | None = None
    records: str = ""
    group_by: tuple[str, ...] = ()
    delimiter: str = ","
    encoding: str = "utf-8"
    time_zone: zoneinfo.ZoneInfo = field(default=zoneinfo.ZoneInfo("UTC"))

    def read_records(self, stream):
        """The file's records as raw bytes, as this dictionary splits them (records.py)."""
        return read_records(self.format, stream, encoding=self.encoding,
                            delimiter=self.delimiter, group_by=self.group_by,
                            records=self.records)  # fmt: skip


# --- Compiling (and checking) a mapping -------------------------------------------------------


def _invalid_dictionary(problems: list[str]) -> InvalidData:
    return InvalidData(f"The format dictionary is not valid: {problems[0]}",
                       code="INVALID_DICTIONARY", fields={"mapping": problems})  # fmt: skip


def dictionary_compile(fmt: str, mapping: object, time_zone: str = "UTC") -> Dictionary:
    """The mapping checked and compiled; INVALID_DICTIONARY lists every problem in plain words."""
    if not isinstance(mapping, dict):
        raise _invalid_dictionary(["The mapping must be a JSON object."])
    problems: list[str] = []
    problems += [f"Unknown key “{key}”." for key in sorted(set(mapping) - TOP_KEYS)]
    compiler = _Compiler(fmt, problems)
    options = compiler.options(mapping, time_zone)
    type_field = compiler.type_field(mapping.get("type"))
    event_id = compiler.optional_field("eventId", mapping.get("eventId"))
    occurred_at = compiler.optional_field("occurredAt", mapping.get("occurredAt"))
    fields = compiler.fields(mapping.get("fields"), _reachable_types(type_field))
    if problems:
        raise _invalid_dictionary(problems)
    return Dictionary(format=fmt, type=type_field, fields=fields, event_id=event_id,
                      occurred_at=occurred_at, **options)  # fmt: skip


def _reachable_types(type_field: Field | None) -> list[str]:
    if type_field is None:
        return []
    if type_field.value is not MISSING:
        return [type_field.value]
    found = set((type_field.values or {}).values())
    return [event_type for event_type in EVENT_TYPES if event_type in found]


@dataclass(frozen=True, slots=True)
class Target:
    required: bool
    items: dict[str, bool] | None = None  # a list: its items' fields → required


@cache
def targets() -> dict[str, dict[str, Target]]:
    """What each event type's `data` may hold: its input serializer's fields."""
    result = {}
    for event_type, known in EVENT_TYPES.items():
        found = {"orderId": Target(required=True)}
        for name, serializer_field in known.serializer().fields.items():
            if isinstance(serializer_field, serializers.ListSerializer):
                items = {sub: f.required for sub, f in serializer_field.child.fields.items()}
                found[name] = Target(serializer_field.required, items)
            elif isinstance(serializer_field, serializers.Serializer):
                found.update({f"{name}.{sub}": Target(False) for sub in serializer_field.fields})
            else:
                found[name] = Target(serializer_field.required)
        result[event_type] = found
    return result


class _Compiler:
    def __init__(self, fmt: str, problems: list[str]):
        self.format = fmt
        self.problems = problems

    def options(self, mapping: dict, time_zone: str) -> dict:
        found = {}
        for key, formats in (("records", "json xml"), ("groupBy", "csv"), ("delimiter", "csv"),
                             ("encoding", "csv json")):  # fmt: skip
            if key in mapping and self.format not in formats.split():
                self.problems.append(f"“{key}” does not apply to {self.format.upper()}.")
        records = mapping.get("records", "")
        if not isinstance(records, str) or (
            self.format == "xml" and not re.fullmatch(r"[\w.:-]*(/[\w.:-]+)*", records)
        ):
            self.problems.append("“records” must be a path such as Orders/Order.")
        else:
            found["records"] = records
        group_by = mapping.get("groupBy", [])
        group_by = [group_by] if isinstance(group_by, str) else group_by
        if not isinstance(group_by, list) or not all(isinstance(c, str) for c in group_by):
            self.problems.append("“groupBy” must be a column name or a list of them.")
        else:
            found["group_by"] = tuple(group_by)
        delimiter = mapping.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
            self.problems.append("“delimiter” must be one character, such as , or ; or a tab.")
        else:
            found["delimiter"] = delimiter
        found["encoding"] = self._encoding(mapping.get("encoding", "utf-8"))
        zone = mapping.get("timezone") or time_zone
        try:
            found["time_zone"] = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            self.problems.append(f"Unknown time zone “{zone}”.")
        return found

    def _encoding(self, name) -> str:
        try:
            if isinstance(name, str) and "\n,".encode(name) == b"\n,":
                return name
        except (LookupError, UnicodeError):
            pass
        self.problems.append(f"“encoding” {name!r} is not an encoding we can read line by line "
                             "(utf-8, latin-1, cp1252 …).")  # fmt: skip
        return "utf-8"

    def type_field(self, spec) -> Field | None:
        if spec is None:
            self.problems.append("“type” is required: which field names the message type "
                                 "and which of their words means which event.")  # fmt: skip
            return None
        found = self.field("type", spec)
        if found is None:
            return None
        if found.value is not MISSING:
            if found.value not in EVENT_TYPES:
                self.problems.append(
                    f"type: “{found.value}” is not one of {', '.join(EVENT_TYPES)}."
                )
            return found
        if not found.values:
            self.problems.append("type: give “values”, their words for each event type.")
        for word, event_type in (found.values or {}).items():
            if event_type not in EVENT_TYPES:
                self.problems.append(f"type.values.{word}: “{event_type}” is not one of "
                                     f"{', '.join(EVENT_TYPES)}.")  # fmt: skip
        return found

    def optional_field(self, where: str, spec) -> Field | None:
        return None if spec is None else self.field(where, spec)

    def field(self, where: str, spec) -> Field | None:
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict):
            self.problems.append(f"{where}: give a source path, or an object with “path” "
                                 "or “value”.")  # fmt: skip
            return None
        before = len(self.problems)
        self.problems += [f"{where}: unknown key “{k}”." for k in sorted(set(spec) - FIELD_KEYS)]
        path, kind, fmt, values = (spec.get("path", ""), spec.get("as", "text"),
                                   spec.get("format", ""), spec.get("values"))  # fmt: skip
        if ("path" in spec) == ("value" in spec):
            self.problems.append(f"{where}: give either “path” or “value”.")
        elif "path" in spec:
            self._check_path(where, path)
        if kind not in KINDS:
            self.problems.append(f"{where}: “as” must be one of {', '.join(KINDS)}.")
        if not isinstance(fmt, str) or (fmt and kind not in ("date", "datetime")):
            self.problems.append(f"{where}: “format” is for dates and date-times (text).")
        if values is not None and not (
            isinstance(values, dict) and all(isinstance(v, str | int) for v in values.values())
        ):
            self.problems.append(f"{where}: “values” must map their words to ours.")
        if len(self.problems) > before:
            return None
        return Field(path=path, value=spec.get("value", MISSING),
                     default=spec.get("default", MISSING), kind=kind, format=fmt,
                     values=values)  # fmt: skip

    def _check_path(self, where: str, path) -> None:
        if not isinstance(path, str) or not path.strip():
            self.problems.append(f"{where}: “path” must be a field name.")
        elif self.format == "xml":
            try:
                Element("x").find(xml_split(path)[0])
            except (SyntaxError, KeyError):
                self.problems.append(f"{where}: “{path}” is not an XML path (A/B, A/@attr).")

    def fields(self, spec, event_types: list[str]) -> dict[str, dict]:
        if not isinstance(spec, dict):
            self.problems.append("“fields” is required: for each event type, which of their "
                                 "fields fills which of ours.")  # fmt: skip
            return {}
        known = targets()
        compiled = {}
        for event_type, entries in spec.items():
            if event_type != "*" and event_type not in EVENT_TYPES:
                self.problems.append(f"fields: “{event_type}” is not an event type "
                                     f"({', '.join(EVENT_TYPES)}) or “*”.")  # fmt: skip
            elif not isinstance(entries, dict):
                self.problems.append(f"fields.{event_type} must be an object.")
            else:
                compiled[event_type] = self._entries(event_type, entries, known)
        result = {}
        for event_type in event_types:
            merged = {**compiled.get("*", {}), **compiled.get(event_type, {})}
            result[event_type] = {t: f for t, f in merged.items() if t in known[event_type]}
            self._check_required(event_type, result[event_type], known[event_type])
        return result

    def _entries(self, event_type: str, entries: dict, known: dict) -> dict:
        allowed = set().union(*known.values()) if event_type == "*" else set(known[event_type])
        compiled = {}
        for target, spec in entries.items():
            where = f"fields.{event_type}.{target}"
            if target not in allowed:
                self.problems.append(f"{where}: {event_type} has no field “{target}”.")
                continue
            types = known.values() if event_type == "*" else [known[event_type]]
            meta = next((by_type[target] for by_type in types if target in by_type), None)
            items = meta.items if meta else None
            compiled_field = self._list(where, spec, items) if items else self.field(where, spec)
            if compiled_field is not None:
                compiled[target] = compiled_field
        return compiled

    def _list(self, where: str, spec, items: dict[str, bool]) -> ListField | None:
        if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict):
            self.problems.append(
                f"{where}: a list: give “fields” for each item"
                + ("." if self.format == "csv" else " and its “path”.")
            )
            return None
        path = spec.get("path", "")
        if self.format == "csv" and path:
            self.problems.append(f"{where}: in CSV each row of a record is an item; no “path”.")
        elif self.format != "csv":
            self._check_path(where, path)
        fields = {}
        for sub, sub_spec in spec["fields"].items():
            if sub not in items:
                self.problems.append(f"{where}: an item has no field “{sub}”.")
            elif (compiled := self.field(f"{where}.{sub}", sub_spec)) is not None:
                fields[sub] = compiled
        for sub, required in items.items():
            if required and sub not in spec["fields"]:
                self.problems.append(f"{where}: map “{sub}”, every item needs it.")
        return ListField(path=path, fields=fields)

    def _check_required(self, event_type: str, mapped: dict, known: dict[str, Target]) -> None:
        for target, meta in known.items():
            if meta.required and target not in mapped:
                self.problems.append(f"fields.{event_type}: map “{target}”, {event_type} needs it.")
