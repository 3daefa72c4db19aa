"""USPS Tracking API v3 (CARRIERS.md §4): OAuth2 client credentials, one number per call, mapped on
each scan's `eventCode` (Pub 199 G-4 codes, CARRIERS.md §1); `statusCategory` only fills in for an
unknown code on the newest scan. USPS allows about 60 calls an hour per app: the poller keeps to
it, this module only honours 429 Retry-After (CarrierHttp)."""

import html
import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import ClassVar
from urllib.parse import quote

from carriers.base import (
    Cache,
    CarrierHttp,
    CarrierUnavailable,
    Credentials,
    Mapped,
    OAuthClient,
    TrackingResult,
    TrackQuery,
    map_code,
)
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import ExceptionCode, Status, StatusDetail, event_type_for
from carriers.zones import us_state_zone

logger = logging.getLogger("carriers")

S, D, X = Status, StatusDetail, ExceptionCode
_ARRIVED = Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY)
_DEPARTED = Mapped(S.IN_TRANSIT, D.DEPARTED_FACILITY)
_MOVING = Mapped(S.IN_TRANSIT, D.IN_TRANSIT)
_RETURN = Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER)
_NOBODY = Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, X.RECIPIENT_NOT_AVAILABLE)
_ATTEMPTED = Mapped(S.FAILED_ATTEMPT, D.DELIVERY_ATTEMPTED)  # no TRACKING.md code fits
_STATUS: dict[str, Mapped] = {
    "GX": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Shipping Label Created, USPS Awaiting Item
    "MA": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Pre-Shipment / Manifest Acknowledgement
    "03": Mapped(S.IN_TRANSIT, D.ACCEPTED),  # USPS in possession of item (accept or pickup)
    "OA": Mapped(S.IN_TRANSIT, D.ACCEPTED),  # Accepted at origin facility
    "TM": Mapped(S.IN_TRANSIT, D.ACCEPTED),  # Shipment Acceptance (truck manifest)
    "PA": Mapped(S.IN_TRANSIT, D.ACCEPTED),  # Shipment Acceptance (passive)
    "10": _ARRIVED,  # Processed / Arrived at USPS Regional (Origin) Facility
    "A1": _ARRIVED,  # Arrived at USPS (Regional) Facility
    "AD": _ARRIVED,  # Accepted at USPS Regional Destination Facility
    "07": _ARRIVED,  # Arrival at Unit / Arrived at Post Office
    "T1": _DEPARTED,  # Departed USPS (Regional) Facility
    "EF": _DEPARTED,  # Departed Sort Facility
    "SF": _DEPARTED,  # Departed Post Office
    "TL": _MOVING,  # In Transit to Next Facility
    "PC": _MOVING,  # Sorting / Processing Complete
    "06": _MOVING,  # Forwarded
    "08": _MOVING,  # Missent (re-routed; the delay rule notices if it stalls)
    "71": _MOVING,  # Rescheduled to Next Delivery Day
    # 80-82: a shipping partner carries it before USPS ("USPS Awaiting Item"); it is moving, so
    # in_transit rather than pre_transit (CARRIERS.md §1 allows either).
    "80": Mapped(S.IN_TRANSIT, D.PICKED_UP),  # Picked Up by Shipping Partner
    "81": _ARRIVED,  # Arrived Shipping Partner Facility
    "82": _DEPARTED,  # Departed Shipping Partner Facility
    "OF": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # Out for Delivery
    "14": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),  # Arrival at Pickup Point
    "16": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),  # Available for Pickup
    "01": Mapped(S.DELIVERED, D.DELIVERED),  # Delivered (mailbox, porch, parcel locker …)
    "17": Mapped(S.DELIVERED, D.DELIVERED_TO_AGENT),  # Picked Up By Agent
    "43": Mapped(S.DELIVERED, D.DELIVERED),  # Picked Up (by the addressee, at the Post Office)
    "04": Mapped(S.RETURN_TO_SENDER, D.REFUSED),  # Refused (goes back to the sender)
    "09": _RETURN,  # Return to Sender
    "21": _RETURN,  # No Such Number
    "22": _RETURN,  # Insufficient Address
    "23": _RETURN,  # Moved, Left No Address
    "24": _RETURN,  # Forward Expired
    "25": _RETURN,  # Addressee Unknown
    "26": _RETURN,  # Vacant
    "27": _RETURN,  # Unclaimed
    "28": _RETURN,  # Deceased
    "29": _RETURN,  # Other
    "31": _RETURN,  # Not Picked Up
    "44": _RETURN,  # Customer Recall
    "02": _NOBODY,  # Attempted / Notice Left
    "52": _NOBODY,  # Notice Left
    "55": _NOBODY,  # Notice Left (No Secure Location Available)
    "56": _NOBODY,  # Notice Left (No Authorized Recipient Available)
    "53": _ATTEMPTED,  # Receptacle Blocked
    "54": _ATTEMPTED,  # Receptacle Full / Item Oversized
    "30": _ATTEMPTED,  # Delivery Attempted - No Access to Delivery Location
    "51": Mapped(S.FAILED_ATTEMPT, D.BUSINESS_CLOSED, X.BUSINESS_CLOSED),  # Business Closed
    "05": Mapped(S.EXCEPTION, D.ADDRESS_ISSUE, X.INCORRECT_ADDRESS),  # Undeliverable as Addressed
    "11": Mapped(S.EXCEPTION, D.LOST),  # Dead Letter
    "15": Mapped(S.EXCEPTION, D.UNKNOWN),  # Mis-shipped
}
# The shipment-level `statusCategory`, used only for an unknown code on the newest scan.
_CATEGORY: dict[str, Mapped] = {
    "pre-shipment": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),
    "accepted": Mapped(S.IN_TRANSIT, D.ACCEPTED),
    "in transit": _MOVING,
    "moving through network": _MOVING,
    "out for delivery": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),
    "available for pickup": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),
    "delivered": Mapped(S.DELIVERED, D.DELIVERED),
    "delivery attempt": _ATTEMPTED,
    "alert": Mapped(S.EXCEPTION, D.UNKNOWN),
    "return to sender": _RETURN,
}
_NOT_YET = frozenset({"150001", "150002", "150003", "150009"})  # "not found" means "not yet"
_ESTIMATES = (
    "predictedDeliveryTimeStamp", "predictedDeliveryDate", "expectedDeliveryTimeStamp",
    "expectedDeliveryDate", "guaranteedDeliveryTimeStamp",
)  # fmt: skip
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_SUPERSCRIPT = re.compile(r"<sup>.*?</sup>", re.IGNORECASE)


class Usps:
    code: ClassVar[str] = "usps"
    batch_size: ClassVar[int] = 1

    def __init__(self, credentials: Credentials, cache: Cache, session=None):
        self.base_url = credentials.base_url.rstrip("/")
        http = CarrierHttp(self.code, session)
        # USPS documents the client id and secret in a JSON body (USPS/api-examples README).
        self.oauth = OAuthClient(http, credentials, cache, "/oauth2/v3/token", client_auth="json")

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        return {query.tracking_number: self._track(query.tracking_number) for query in queries}

    def _track(self, number: str) -> TrackingResult:
        answer = self.oauth.request(
            "GET", f"{self.base_url}/tracking/v3/tracking/{quote(number, safe='')}",
            params={"expand": "DETAIL"}, headers={"Accept": "application/json"}, allowed=(400,),
        )  # fmt: skip
        if answer.status == 400:
            return _parse_error(number, answer.json())
        return _parse_tracking(number, answer.json())


def _parse_error(number: str, body: object) -> TrackingResult:
    """A 400 names the number's trouble: "not yet" (retry later) or a hard problem."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise CarrierUnavailable("usps: HTTP 400 without an error object")
    details = [item for item in error.get("errors") or () if isinstance(item, dict)]
    if any(_text(item.get("code")) in _NOT_YET for item in details):
        return TrackingResult(number, found=False, raw=body)
    first = details[0] if details else {}
    code = _text(first.get("code")) or _text(error.get("code"))
    message = _clean(first.get("title")) or _clean(error.get("message"))
    return TrackingResult(number, found=False, problem=f"USPS {code}: {message}"[:500], raw=body)


def _parse_tracking(number: str, body: object) -> TrackingResult:
    if not isinstance(body, dict) or not isinstance(body.get("trackingEvents") or [], list):
        raise CarrierUnavailable("usps: unexpected tracking answer")
    origin = _place(body, "origin")
    destination = _place(body, "destination")
    home = us_state_zone(origin.state) or us_state_zone(destination.state) or UTC
    category = _CATEGORY.get(_text(body.get("statusCategory")).lower())
    events = []
    for index, item in enumerate(body.get("trackingEvents") or []):
        newest_fallback = category if index == 0 else None  # USPS lists the newest scan first
        event = _parse_event(item, newest_fallback, home)
        if event is not None:
            events.append(event)
    newest_delivered = bool(events) and events[0].status == S.DELIVERED
    if category and events and (category.status == S.DELIVERED) != newest_delivered:
        logger.warning("usps: statusCategory %r disagrees with the newest scan %r",
                       body.get("statusCategory"), events[0].raw_code)  # fmt: skip
    estimated_date, estimated_at = _parse_estimate(body, us_state_zone(destination.state) or home)
    return TrackingResult(
        number, events=tuple(events), estimated_delivery_date=estimated_date,
        estimated_delivery_at=estimated_at, service=_clean(body.get("mailClass")),
        origin=origin, destination=destination, raw=body,
    )  # fmt: skip


def _parse_event(item: object, fallback: Mapped | None, home: tzinfo) -> CarrierEvent | None:
    if not isinstance(item, dict):
        return None
    occurred_at = _event_time(item, home)
    if occurred_at is None:
        logger.warning("usps: scan without a readable time: %r", item.get("eventTimestamp"))
        return None
    code = _text(item.get("eventCode"))
    mapped = map_code(_STATUS, code, fallback or _MOVING, "usps")
    text = _clean(item.get("eventType"))
    return CarrierEvent(
        occurred_at=occurred_at, status=mapped.status, status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail), description=text,
        location=_event_location(item), exception_code=mapped.exception_code,
        recipient=_text(item.get("name")) or _text(item.get("firm")),
        raw_code=code, raw_description=text, raw=item,
    )  # fmt: skip


def _event_time(item: dict, home: tzinfo) -> datetime | None:
    """`eventTimestamp` is the wall clock where the scan happened — even when it ends in "Z"
    (USPS's README: "7:31 am … in RICHMOND, VA" is "07:31:00Z"). `GMTOffset` gives its zone;
    `GMTTimestamp` is not used: near midnight it keeps the local date (samples: 18:31 at -06:00
    reported as 00:31Z the same day)."""
    try:
        wall = datetime.fromisoformat(_text(item.get("eventTimestamp"))).replace(tzinfo=None)
    except ValueError:
        return None
    zone = _offset_zone(item.get("GMTOffset")) or us_state_zone(item.get("eventState")) or home
    return wall.replace(tzinfo=zone)


def _parse_estimate(body: dict, zone: tzinfo) -> tuple[date | None, datetime | None]:
    """USPS sends a date as midnight: a date only; any other time is a promised moment."""
    for key in _ESTIMATES:
        try:
            moment = datetime.fromisoformat(_text(body.get(key))).replace(tzinfo=None)
        except ValueError:
            continue
        if moment.time() == time(0):
            return moment.date(), None
        return moment.date(), moment.replace(tzinfo=zone)
    return None, None


def _event_location(item: dict) -> Location:
    state = _text(item.get("eventState"))
    country = _text(item.get("eventCountry")).upper()
    if len(country) != 2:  # international scans may name the country in full: keep it in raw
        country = "US" if state else ""
    return Location(_text(item.get("eventCity")), state, _text(item.get("eventZIP")), country)


def _place(body: dict, prefix: str) -> Location:
    city, state, postal = (_text(body.get(prefix + key)) for key in ("City", "State", "ZIP"))
    return Location(city, state, postal, "US" if state else "")


def _offset_zone(value: object) -> timezone | None:
    match = _OFFSET.match(_text(value))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def _clean(value: object) -> str:
    """USPS text carries HTML: "Priority Mail<SUP>&reg;</SUP>" → "Priority Mail"."""
    return " ".join(html.unescape(_SUPERSCRIPT.sub("", _text(value))).split())


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
