"""Canada Post Tracking web service (CARRIERS.md §6): REST with XML answers, HTTP Basic with the
API key pair, one PIN per call, mapped on `event-identifier` (zero-padded by the API: "0174").

Informational events (`20`, "Signature image recorded for Online viewing") are kept, but must not
become the shipment's status (CARRIERS.md §1). Canada Post returns the whole history on every
call, so each one takes the status of the newest real event at or before it in the same answer:
the shipment's status is then what it would be without it, and the result is the same on every
poll. Only with nothing before it does its own `_STATUS` row apply."""

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from carriers.base import (
    Cache,
    CarrierHttp,
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    Mapped,
    TrackingResult,
    TrackQuery,
    inherit_informational,
    map_code,
)
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import ExceptionCode, Status, StatusDetail, event_type_for

logger = logging.getLogger("carriers")

S, D, X = Status, StatusDetail, ExceptionCode
_DELIVERED = Mapped(S.DELIVERED, D.DELIVERED)
_PICKUP = Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP)
_NOBODY = Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, X.RECIPIENT_NOT_AVAILABLE)
_FAILED = Mapped(S.EXCEPTION, D.UNKNOWN)  # Karrio's "delivery_failed" without a known reason


def _codes(*spans: str) -> list[str]:
    """ "1421-1434" → every code in the span, as the API sends them once the zeros are gone."""
    codes = []
    for span in spans:
        first, _, last = span.partition("-")
        codes.extend(str(code) for code in range(int(first), int(last or first) + 1))
    return codes


# CARRIERS.md §1 (Karrio's lists, with the zeros stripped); reasons from Karrio's
# TrackingIncidentReason where it names one (UNVERIFIED against Canada Post's own table).
_STATUS: dict[str, Mapped] = {
    "3000": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Order/electronic information received
    "2300": Mapped(S.IN_TRANSIT, D.PICKED_UP),  # Item picked up by Canada Post
    "100": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # Item processed at postal facility
    # Addressing error being corrected, "possible delay": still moving, the detail says why.
    "173": Mapped(S.IN_TRANSIT, D.ADDRESS_ISSUE),
    "174": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # Item out for delivery
    "500": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # Out for delivery
    **dict.fromkeys(_codes("1408-1409", "1421-1434", "1441-1442", "1496-1499"), _DELIVERED),
    **dict.fromkeys(_codes("1701", "1407", "1410", "1435-1438", "1488", "2410"), _PICKUP),
    # Attempted delivery, notice card left: the recipient was not there.
    "1479": _NOBODY,
    # Final notice, returned if not collected in 10 days: an exception, so staff see it in time.
    "156": Mapped(S.EXCEPTION, D.RECIPIENT_NOT_AVAILABLE, X.RECIPIENT_NOT_AVAILABLE),
    **dict.fromkeys(_codes("167-169", "1417", "183-184", "190", "1418-1420"), _NOBODY),
    **dict.fromkeys(_codes("150", "1415-1416"),
                    Mapped(S.EXCEPTION, D.REFUSED, X.REFUSED_BY_RECIPIENT)),  # refused
    **dict.fromkeys(_codes("179", "181-182"),
                    Mapped(S.FAILED_ATTEMPT, D.BUSINESS_CLOSED, X.BUSINESS_CLOSED)),
    **dict.fromkeys(_codes("1482-1483"),
                    Mapped(S.EXCEPTION, D.ADDRESS_ISSUE, X.INCORRECT_ADDRESS)),
    "154": Mapped(S.FAILED_ATTEMPT, D.DELIVERY_ATTEMPTED),  # no access to the address
    **dict.fromkeys(_codes("1100", "1450", "1481", "1491-1493", "2600", "2802", "3001", "4650"),
                    _FAILED),
    # Informational; inherits (see the module docstring). A signature is only recorded on
    # delivery, so alone it means delivered.
    "20": _DELIVERED,
}  # fmt: skip
_INFORMATIONAL = frozenset({"20"})
_RETURNING = re.compile(r"return(ed|ing)? to (the )?sender|retourn", re.IGNORECASE)
_NOT_YET = frozenset({"004"})  # No Pin History: usually not yet
_AUTHENTICATION = frozenset({"E002"})  # AAA Authentication Failure
_HOURS = {
    "NST": -3.5, "NDT": -2.5, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "HNT": -3.5, "HAT": -2.5, "HNA": -4, "HAA": -3,
    "HNE": -5, "HAE": -4, "HNC": -6, "HAC": -5, "HNR": -7, "HAR": -6, "HNP": -8, "HAP": -7,
    "UTC": 0, "GMT": 0,
}  # fmt: skip
_ZONE_BY_PROVINCE = {
    "NL": "America/St_Johns", "NS": "America/Halifax", "NB": "America/Moncton",
    "PE": "America/Halifax", "QC": "America/Toronto", "ON": "America/Toronto",
    "MB": "America/Winnipeg", "SK": "America/Regina", "AB": "America/Edmonton",
    "BC": "America/Vancouver", "YT": "America/Whitehorse", "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}  # fmt: skip
_FORBIDDEN = ("<!DOCTYPE", "<!ENTITY")  # no DTD, so no entity expansion (defusedxml's rule)


class CanadaPost:
    code: ClassVar[str] = "canada_post"
    batch_size: ClassVar[int] = 1

    def __init__(self, credentials: Credentials, cache: Cache, session=None):
        self.base_url = credentials.base_url.rstrip("/")
        self.auth = (credentials.client_id, credentials.secret)  # the API key pair
        self.http = CarrierHttp(self.code, session)

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        return {query.tracking_number: self._track(query.tracking_number) for query in queries}

    def _track(self, pin: str) -> TrackingResult:
        # 004 "No Pin History" arrives as a 4xx (active_shipping stubs 400; exact status
        # UNVERIFIED); 401/403 and 5xx stay with CarrierHttp's classification.
        answer = self.http.request(
            "GET", f"{self.base_url}/vis/track/pin/{quote(pin, safe='')}/detail", auth=self.auth,
            headers={"Accept": "application/vnd.cpc.track-v2+xml", "Accept-language": "en-CA"},
            allowed=(400, 404),
        )  # fmt: skip
        root = _parse_xml(answer.body)
        if _local(root.tag) == "messages":
            return _parse_messages(pin, root, answer.status)
        if _local(root.tag) != "tracking-detail" or answer.status != 200:
            raise CarrierUnavailable(f"canada_post: unexpected <{_local(root.tag)}> answer")
        return _parse_tracking(pin, root)


def _parse_xml(body: bytes) -> ElementTree.Element:
    """Parsed from text, so a declared encoding cannot hide a DTD from the check."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CarrierUnavailable("canada_post: answer is not UTF-8") from error
    if any(marker in text.upper() for marker in _FORBIDDEN):
        raise CarrierUnavailable("canada_post: answer declares a DTD; refused")
    try:
        return ElementTree.fromstring(text)  # noqa: S314 — DTDs are refused above
    except ElementTree.ParseError as error:
        raise CarrierUnavailable("canada_post: answer is not well-formed XML") from error


def _parse_messages(pin: str, root: ElementTree.Element, status: int) -> TrackingResult:
    messages = [(_child(item, "code"), _child(item, "description")) for item in root
                if _local(item.tag) == "message"]  # fmt: skip
    codes = {code for code, _description in messages}
    if codes & _AUTHENTICATION:
        raise CarrierRejected("canada_post: credentials refused (E002)", status=401)
    if codes & _NOT_YET:
        return TrackingResult(pin, found=False, raw={"messages": messages})
    if status == 200 or not messages:
        raise CarrierUnavailable(f"canada_post: unexpected messages {sorted(codes)}")
    problem = "; ".join(f"{code} {description}" for code, description in messages)
    return TrackingResult(pin, found=False, problem=f"Canada Post: {problem}"[:500],
                          raw={"messages": messages})  # fmt: skip


def _parse_tracking(pin: str, root: ElementTree.Element) -> TrackingResult:
    occurrences = [
        item for events in root if _local(events.tag) == "significant-events"
        for item in events if _local(item.tag) == "occurrence"
    ]  # fmt: skip
    parsed = [event for event in map(_parse_occurrence, occurrences) if event is not None]
    expected = _child(root, "changed-expected-date") or _child(root, "expected-delivery-date")
    destination = Location(postal_code=_child(root, "destination-postal-id"), country="CA")
    return TrackingResult(
        pin, events=inherit_informational((e, e.raw_code in _INFORMATIONAL) for e in parsed),
        estimated_delivery_date=_date(expected),
        service=_child(root, "service-name"), destination=destination,
        raw={"pin": _child(root, "pin"), "occurrences": len(occurrences)},
    )  # fmt: skip


def _parse_occurrence(item: ElementTree.Element) -> CarrierEvent | None:
    fields = {_local(child.tag): (child.text or "").strip() for child in item}
    code = fields.get("event-identifier", "").lstrip("0") or "0"
    occurred_at = _event_time(fields)
    if occurred_at is None:
        logger.warning("canada_post: event %s without a readable time", code)
        return None
    text = fields.get("event-description", "")
    mapped = map_code(_STATUS, code, _fallback(text), "canada_post")
    province = fields.get("event-province", "").upper()
    return CarrierEvent(
        occurred_at=occurred_at, status=mapped.status, status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail), description=text,
        location=Location(fields.get("event-site", ""), province,
                          country="CA" if province in _ZONE_BY_PROVINCE else ""),
        exception_code=mapped.exception_code, recipient=fields.get("signatory-name", ""),
        raw_code=code, raw_description=text, raw=fields,
    )  # fmt: skip


def _fallback(text: str) -> Mapped:
    """Karrio has no return-to-sender codes (CARRIERS.md §1): an unknown code saying so is one."""
    if _RETURNING.search(text):
        return Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER)
    return Mapped(S.IN_TRANSIT, D.IN_TRANSIT)


def _event_time(fields: dict[str, str]) -> datetime | None:
    try:
        wall = datetime.fromisoformat(f"{fields['event-date']}T{fields['event-time']}")
    except (KeyError, ValueError):
        return None
    return wall.replace(tzinfo=_zone(fields.get("event-time-zone", ""), fields))


def _zone(abbreviation: str, fields: dict[str, str]) -> tzinfo:
    """Canada Post names the zone ("EST"); an unknown name falls back on the province."""
    hours = _HOURS.get(abbreviation.upper())
    if hours is not None:
        return timezone(timedelta(hours=hours))
    name = _ZONE_BY_PROVINCE.get(fields.get("event-province", "").upper(), "America/Toronto")
    logger.warning("canada_post: unknown time zone %r; using %s", abbreviation, name)
    return ZoneInfo(name)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _child(element: ElementTree.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
