"""UPS Tracking API (CARRIERS.md §2): OAuth2 client credentials, one number per call.

Every activity is mapped on its own codes — the 2-letter `status.code`, then the 3-digit
`status.statusCode` — never on `currentStatus` or on the type letter alone: type D also covers
"out for delivery" and type X also covers customs releases (CARRIERS.md §0).
"""

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from carriers.base import (
    Cache,
    CarrierHttp,
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    Mapped,
    OAuthClient,
    TrackingResult,
    TrackQuery,
    inherit_informational,
    map_code,
)
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import ExceptionCode, Status, StatusDetail, event_type_for

logger = logging.getLogger("carriers")

OAUTH_PATH = "/security/v1/oauth/token"
DETAILS_PATH = "/api/track/v1/details/"
NOT_FOUND = "TW0001"  # HTTP 200 + warning: usually "not yet" (CARRIERS.md §0.2)
INVALID_NUMBER = "TV1002"  # HTTP 400: permanent, shown to staff

S, D, E = Status, StatusDetail, ExceptionCode

# An activity is looked up by its 2-letter `code` first, then by its 3-digit `statusCode` (the
# Track Alert `descriptionCode`). RZ and BB are deliberately absent: their meaning depends on the
# statusCode (RZ/012 pending release vs RZ/014 released; BB/014 info received vs BB/058 UPS is
# asking the sender for clearance information). UPS's full code appendix is not public
# (CARRIERS.md §10): rows marked UNVERIFIED come from CARRIERS.md §1, not from a UPS answer.
_STATUS: dict[str, Mapped] = {
    "MP": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # M: shipper created a label
    "PU": Mapped(S.IN_TRANSIT, D.PICKED_UP),  # P: pickup scan
    "OR": Mapped(S.IN_TRANSIT, D.ACCEPTED),  # I: origin scan, "We have your package"
    "AR": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # I: arrived at facility
    "DP": Mapped(S.IN_TRANSIT, D.DEPARTED_FACILITY),  # I: departed from facility
    "DA": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # X/DA/014: "Your package is on the way"
    "SR": Mapped(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # X: released by the customs agency
    "OT": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # I/OT/021 (Track Alert example)
    "OF": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # UNVERIFIED
    "FS": Mapped(S.DELIVERED, D.DELIVERED),  # D/FS/011 (Track Alert example)
    "F4": Mapped(S.DELIVERED, D.DELIVERED),  # D/F4/011 (official Postman sample)
    "KB": Mapped(S.DELIVERED, D.DELIVERED),
    "RS": Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER),  # UNVERIFIED
    "003": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # label created, not yet with UPS
    "005": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),
    "011": Mapped(S.DELIVERED, D.DELIVERED),
    "012": Mapped(S.EXCEPTION, D.CUSTOMS_HOLD, E.CUSTOMS_HOLD),  # pending release by an agency
    "014": Mapped(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # released / clearance info received
    "021": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),
    "038": Mapped(S.IN_TRANSIT, D.PICKED_UP),
    "058": Mapped(S.EXCEPTION, D.CUSTOMS_HOLD, E.CUSTOMS_HOLD),  # UPS asked the sender for info
    "092": Mapped(S.EXCEPTION, D.CUSTOMS_HOLD, E.CUSTOMS_HOLD),  # at the clearing agency
}

# Unmapped codes fall back on the activity type letter (Track Alert enum D/I/M/MV/U/X, plus P).
_BY_TYPE: dict[str, Mapped] = {
    "M": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),
    "MV": Mapped(S.CANCELLED, D.CANCELLED),  # manifest void
    "P": Mapped(S.IN_TRANSIT, D.PICKED_UP),
    "I": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),
    # D is "loaded on delivery vehicle, out for delivery, delivered": delivered only with proof
    "D": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),
    "X": Mapped(S.EXCEPTION, D.UNKNOWN),
}
_DELIVERED = Mapped(S.DELIVERED, D.DELIVERED)
_UNKNOWN = Mapped(S.UNKNOWN, D.UNKNOWN)
# U "updated delivery date/time" says nothing about where the package is: such an activity keeps
# the status of the one before it, so it never moves a shipment (CARRIERS.md §1).
_INFORMATIONAL_TYPES = frozenset({"U"})

# UPS's return and Access Point codes are UNVERIFIED (CARRIERS.md §1): for codes missing from
# _STATUS only, the text decides before the type letter does.
_BY_TEXT: tuple[tuple[re.Pattern, Mapped], ...] = (
    (re.compile(r"return(ed|ing)? to (the )?(sender|shipper)", re.IGNORECASE),
     Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER)),
    (re.compile(r"awaiting (customer )?pick ?up|(ready|available) for pick ?up", re.IGNORECASE),
     Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP)),
    (re.compile(r"(receiver|recipient|customer) was not (available|in)", re.IGNORECASE),
     Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, E.RECIPIENT_NOT_AVAILABLE)),
    (re.compile(r"delivery attempt|attempted (delivery|to deliver)", re.IGNORECASE),
     Mapped(S.FAILED_ATTEMPT, D.DELIVERY_ATTEMPTED)),
)  # fmt: skip


class Ups:
    code: ClassVar[str] = "ups"
    batch_size: ClassVar[int] = 1

    def __init__(
        self, credentials: Credentials, cache: Cache, session: requests.Session | None = None
    ):
        self.http = CarrierHttp(self.code, session)
        self.oauth = OAuthClient(self.http, credentials, cache, OAUTH_PATH)
        self.details_url = credentials.base_url.rstrip("/") + DETAILS_PATH

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        return {query.tracking_number: self._track(query.tracking_number) for query in queries}

    def _track(self, number: str) -> TrackingResult:
        answer = self.oauth.request(
            "GET",
            self.details_url + quote(number, safe=""),
            params={"locale": "en_US", "returnSignature": "false",
                    "returnMilestones": "false", "returnPOD": "false"},
            headers={"transId": uuid.uuid4().hex, "transactionSrc": "flextracker",
                     "Accept": "application/json"},
            allowed=(400, 404),
        )  # fmt: skip
        if answer.status >= 400:
            return _parse_error(number, answer.status, _json_or_empty(answer))
        body = answer.json()
        try:
            return _parse_answer(number, body)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise CarrierUnavailable("ups: malformed tracking answer") from error


def _json_or_empty(answer) -> Any:
    try:
        return answer.json()
    except CarrierUnavailable:
        return {}


def _parse_error(number: str, status: int, body: Any) -> TrackingResult:
    """UPS's error envelope `{"response": {"errors": [{"code", "message"}]}}`."""
    errors = _list(_dict(_dict(body).get("response")).get("errors"))
    messages = {_text(_dict(e).get("code")): _text(_dict(e).get("message")) for e in errors}
    if INVALID_NUMBER in messages:
        problem = f"UPS: {messages[INVALID_NUMBER] or 'Invalid inquiry number'} ({INVALID_NUMBER})"
        return TrackingResult(number, found=False, problem=problem, raw=_dict(body))
    if NOT_FOUND in messages or (status == 404 and messages):
        return TrackingResult(number, found=False, raw=_dict(body))
    raise CarrierRejected(f"ups: HTTP {status} {sorted(messages)}", status=status)


def _parse_answer(number: str, body: Any) -> TrackingResult:
    track_response = _dict(body).get("trackResponse")
    if not isinstance(track_response, dict):
        raise CarrierUnavailable("ups: answer without trackResponse")
    shipments = [_dict(shipment) for shipment in _list(track_response.get("shipment"))]
    packages = [_dict(p) for shipment in shipments for p in _list(shipment.get("package"))]
    if not packages:
        codes = {_text(_dict(w).get("code")) for s in shipments for w in _list(s.get("warnings"))}
        if codes - {NOT_FOUND}:
            logger.warning("ups: no package for %s, warnings %s", number, sorted(codes))
        return TrackingResult(number, found=False, raw=body)
    package = next((p for p in packages if p.get("trackingNumber") == number), packages[0])
    return _parse_package(number, package)


def _parse_package(number: str, package: dict) -> TrackingResult:
    promised = {_text(_dict(d).get("type")): _text(_dict(d).get("date"))
                for d in _list(package.get("deliveryDate"))}  # fmt: skip
    information = _dict(package.get("deliveryInformation"))
    # Proof of delivery lets an unmapped type-D activity count as delivered (CARRIERS.md §1).
    proven = bool(information) or bool(promised.get("DEL"))
    events = _parse_events(
        _list(package.get("activity")), proven, _text(information.get("receivedBy"))
    )
    delivery_day = _parse_day(promised.get("RDD") or promised.get("SDD") or promised.get("DEL"))
    return TrackingResult(
        number,
        events=events,
        estimated_delivery_date=delivery_day,
        estimated_delivery_at=_delivery_at(delivery_day, package, events),
        service=_text(_dict(package.get("service")).get("description")),
        origin=_package_address(package, "ORIGIN"),
        destination=_package_address(package, "DESTINATION"),
        raw=package,
    )


def _parse_events(activities: list, proven: bool, received_by: str) -> tuple[CarrierEvent, ...]:
    parsed = [_parse_activity(_dict(a), proven, received_by) for a in activities]
    return inherit_informational(sorted((p for p in parsed if p), key=lambda p: p[0].occurred_at))


def _parse_activity(
    activity: dict, proven: bool, received_by: str
) -> tuple[CarrierEvent, bool] | None:
    occurred_at = _parse_when(activity)
    if occurred_at is None:
        logger.warning("ups: activity without a usable date/time skipped")
        return None
    status = _dict(activity.get("status"))
    kind, code, number = (_text(status.get(key)) for key in ("type", "code", "statusCode"))
    raw_description = _text(status.get("description"), strip=False)
    description = raw_description.strip()
    mapped = _mapped(kind, code, number, description, proven)
    event = CarrierEvent(
        occurred_at=occurred_at, status=mapped.status, status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail), description=description,
        location=_location(_dict(activity.get("location")).get("address")) or Location(),
        exception_code=mapped.exception_code,
        recipient=received_by if mapped.status == S.DELIVERED else "",
        raw_code=f"{kind}/{code}/{number}", raw_description=raw_description, raw=activity,
    )  # fmt: skip
    return event, kind in _INFORMATIONAL_TYPES


def _mapped(kind: str, code: str, number: str, description: str, proven: bool) -> Mapped:
    if kind in _INFORMATIONAL_TYPES:
        return _UNKNOWN  # replaced by the status before it (_parse_events)
    if kind == "MV":
        return _BY_TYPE["MV"]  # a voided manifest is cancelled whatever its codes say
    for key in (code, number):
        if key in _STATUS:
            return _STATUS[key]
    by_text = next((mapped for pattern, mapped in _BY_TEXT if pattern.search(description)), None)
    by_type = _DELIVERED if kind == "D" and proven else _BY_TYPE.get(kind, _UNKNOWN)
    return map_code(_STATUS, f"{kind}/{code}/{number}", by_text or by_type, "ups")


def _parse_when(activity: dict) -> datetime | None:
    """The activity's instant, shown in its local offset when UPS gives one."""
    offset = _parse_offset(activity.get("gmtOffset"))
    gmt = _parse_date_time(activity.get("gmtDate"), activity.get("gmtTime"))
    if gmt is not None:
        return gmt.replace(tzinfo=UTC).astimezone(offset or UTC)
    local = _parse_date_time(activity.get("date"), activity.get("time"))
    if local is None:
        return None
    # Without gmt fields UPS gives only the local wall-clock time (as in its official sample), and
    # the zone is unknown: it is read as UTC — off by the local offset, but aware, and stable from
    # one poll to the next so the same scan still deduplicates.
    return local.replace(tzinfo=offset or UTC)


def _delivery_at(
    day: date | None, package: dict, events: tuple[CarrierEvent, ...]
) -> datetime | None:
    """UPS's delivery time (`deliveryTime.endTime`, destination-local, no zone) on the estimated
    day, in the offset of the newest activity (UTC when that has none, as for activities)."""
    end = _parse_date_time("20000101", _dict(package.get("deliveryTime")).get("endTime"))
    if day is None or end is None:
        return None
    zone = events[-1].occurred_at.tzinfo if events else UTC
    return datetime.combine(day, end.time(), tzinfo=zone)


def _parse_date_time(day: Any, time: Any) -> datetime | None:
    digits_day, digits_time = re.sub(r"\D", "", _text(day)), re.sub(r"\D", "", _text(time))
    if len(digits_day) != 8 or len(digits_time) not in (4, 6):
        return None
    try:
        return datetime.strptime(digits_day + digits_time.ljust(6, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _parse_day(value: str | None) -> date | None:
    moment = _parse_date_time(value, "000000")
    return moment.date() if moment else None


def _parse_offset(value: Any) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", _text(value))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _package_address(package: dict, kind: str) -> Location | None:
    for entry in _list(package.get("packageAddress")):
        if _dict(entry).get("type") == kind:
            return _location(_dict(entry).get("address"))
    return None


def _location(address: Any) -> Location | None:
    address = _dict(address)
    location = Location(
        city=_text(address.get("city")), state=_text(address.get("stateProvince")),
        postal_code=_text(address.get("postalCode")),
        country=_text(address.get("countryCode") or address.get("country")),
    )  # fmt: skip
    return location if location != Location() else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any, *, strip: bool = True) -> str:
    text = value if isinstance(value, str) else ""
    return text.strip() if strip else text
