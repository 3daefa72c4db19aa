"""DHL Shipment Tracking - Unified (CARRIERS.md §5): an API key header, one number per call.

DHL's `statusCode` has five values only, so out-for-delivery, ready-for-pickup, returns and the
reasons of a failure can only be read from the event's text (CARRIERS.md §0/§1); `_TEXT_RULES`
refine a code with the English and German texts DHL sends (we ask for English). A 404 problem
answer is "not found yet"."""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo

from carriers.base import (
    Cache,
    CarrierHttp,
    CarrierUnavailable,
    Credentials,
    Mapped,
    TrackingResult,
    TrackQuery,
    map_code,
)
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import ExceptionCode, Status, StatusDetail, event_type_for
from carriers.zones import us_state_zone

S, D, X = Status, StatusDetail, ExceptionCode
_STATUS: dict[str, Mapped] = {  # the OpenAPI enum of `statusCode`
    "pre-transit": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),
    "transit": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),
    "delivered": Mapped(S.DELIVERED, D.DELIVERED),
    "failure": Mapped(S.EXCEPTION, D.UNKNOWN),
    "unknown": Mapped(S.UNKNOWN, D.UNKNOWN),
}
# (the statusCodes a rule refines, a pattern of the event's text, what it then means); the first
# match wins. Only the first two rules are seen in real payloads; DHL's failure and return texts
# are UNVERIFIED (no sample exists), so those rules read the plain words a text would contain.
_TEXT_RULES: tuple[tuple[tuple[str, ...], re.Pattern, Mapped], ...] = tuple(
    (codes, re.compile(pattern, re.IGNORECASE), mapped)
    for codes, pattern, mapped in (
        (("unknown",), r"label created", Mapped(S.PRE_TRANSIT, D.LABEL_CREATED)),
        (("transit",), r"out for delivery|loaded onto the delivery vehicle|zustellfahrzeug",
         Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY)),
        (("transit",), r"ready for pick-?up|ready to be picked up|available for pick-?up"
         r"|abholbereit|zur abholung", Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP)),
        (("transit", "failure"), r"return(ed|ing)? to (the )?(sender|shipper)"
         r"|an den absender zurück|rücksendung an den absender",
         Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER)),
        (("transit",), r"customs|\bzoll", Mapped(S.IN_TRANSIT, D.CUSTOMS_PROCESSING)),
        (("transit",), r"picked up|abgeholt", Mapped(S.IN_TRANSIT, D.PICKED_UP)),
        (("transit",), r"dropped off|eingeliefert", Mapped(S.IN_TRANSIT, D.ACCEPTED)),
        (("failure",), r"customs|\bzoll", Mapped(S.EXCEPTION, D.CUSTOMS_HOLD, X.CUSTOMS_HOLD)),
        (("failure",), r"address|adresse|anschrift",
         Mapped(S.EXCEPTION, D.ADDRESS_ISSUE, X.INCORRECT_ADDRESS)),
        (("failure",), r"refused|verweigert",
         Mapped(S.EXCEPTION, D.REFUSED, X.REFUSED_BY_RECIPIENT)),
        (("failure",), r"damaged|beschädigt", Mapped(S.EXCEPTION, D.DAMAGED, X.DAMAGED_PACKAGE)),
        (("failure",), r"weather|wetter", Mapped(S.EXCEPTION, D.WEATHER_DELAY, X.WEATHER_DELAY)),
        (("failure",), r"not at home|not available|nicht angetroffen|nicht erreicht",
         Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, X.RECIPIENT_NOT_AVAILABLE)),
        (("failure",), r"closed|geschlossen",
         Mapped(S.FAILED_ATTEMPT, D.BUSINESS_CLOSED, X.BUSINESS_CLOSED)),
    )
)  # fmt: skip
# DHL's timestamps are usually the local time of the scan without an offset: the zone comes from
# the scan's country (the US by state), else the shipment's, else UTC.
_ZONE_BY_COUNTRY = {
    "AT": "Europe/Vienna", "AU": "Australia/Sydney", "BE": "Europe/Brussels",
    "CA": "America/Toronto", "CH": "Europe/Zurich", "CN": "Asia/Shanghai", "CZ": "Europe/Prague",
    "DE": "Europe/Berlin", "DK": "Europe/Copenhagen", "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "GB": "Europe/London", "GR": "Europe/Athens",
    "HK": "Asia/Hong_Kong", "HU": "Europe/Budapest", "IE": "Europe/Dublin", "IN": "Asia/Kolkata",
    "IT": "Europe/Rome", "JP": "Asia/Tokyo", "KR": "Asia/Seoul", "LU": "Europe/Luxembourg",
    "MX": "America/Mexico_City", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore", "SK": "Europe/Bratislava", "US": "America/New_York",
    "AE": "Asia/Dubai",
}  # fmt: skip


class Dhl:
    code: ClassVar[str] = "dhl"
    batch_size: ClassVar[int] = 1

    def __init__(self, credentials: Credentials, cache: Cache, session=None):
        self.base_url = credentials.base_url.rstrip("/")
        self.api_key = credentials.secret  # DHL's "Consumer Key"; no token, so no cache
        self.http = CarrierHttp(self.code, session)

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        return {query.tracking_number: self._track(query.tracking_number) for query in queries}

    def _track(self, number: str) -> TrackingResult:
        answer = self.http.request(
            "GET", f"{self.base_url}/track/shipments",
            params={"trackingNumber": number, "language": "en"},
            headers={"DHL-API-Key": self.api_key, "Accept": "application/json"},
            allowed=(400, 404),
        )  # fmt: skip
        body = answer.json()
        if not isinstance(body, dict):
            raise CarrierUnavailable("dhl: unexpected answer")
        if answer.status == 404:  # "No result found": usually not yet (CARRIERS.md §9)
            return TrackingResult(number, found=False, raw=body)
        if answer.status == 400:
            text = _text(body.get("detail")) or _text(body.get("title"))
            return TrackingResult(number, found=False, problem=f"DHL: {text}"[:500], raw=body)
        return _parse_tracking(number, body)


def _parse_tracking(number: str, body: dict) -> TrackingResult:
    shipments = [item for item in body.get("shipments") or () if isinstance(item, dict)]
    if not shipments:
        return TrackingResult(number, found=False, raw=body)
    # Several services may know the number; prefer the shipment that is exactly it.
    shipment = next((item for item in shipments if str(item.get("id")) == number), shipments[0])
    origin, destination = _place(shipment.get("origin")), _place(shipment.get("destination"))
    home = _zone(destination) or _zone(origin) or UTC
    items = shipment.get("events") or [shipment.get("status")]
    if not isinstance(items, list):
        raise CarrierUnavailable("dhl: events is not a list")
    events = tuple(
        event for event in (_parse_event(item, home, shipment) for item in items) if event
    )
    details = shipment.get("details") if isinstance(shipment.get("details"), dict) else {}
    product = details.get("product") if isinstance(details.get("product"), dict) else {}
    estimated_date, estimated_at = _parse_estimate(shipment, home)
    return TrackingResult(
        number, events=events, estimated_delivery_date=estimated_date,
        estimated_delivery_at=estimated_at,
        service=_text(product.get("productName")) or _text(shipment.get("service")),
        origin=origin, destination=destination, raw=shipment,
    )  # fmt: skip


def _parse_event(item: object, home: tzinfo, shipment: dict) -> CarrierEvent | None:
    if not isinstance(item, dict):
        return None
    location = _place(item.get("location"))
    occurred_at = _moment(item.get("timestamp"), _zone(location) or home)
    if occurred_at is None:
        return None
    code = _text(item.get("statusCode")).lower() or "unknown"
    mapped = _mapped(code, " ".join(_text(item.get(key)) for key in _TEXT_KEYS))
    text = _text(item.get("description")) or _text(item.get("status"))
    recipient, signature_url = _proof(shipment) if mapped.status == S.DELIVERED else ("", "")
    return CarrierEvent(
        occurred_at=occurred_at, status=mapped.status, status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail), description=text,
        location=location, exception_code=mapped.exception_code, recipient=recipient,
        signature_url=signature_url, raw_code=code, raw_description=_text(item.get("status")),
        raw=item,
    )  # fmt: skip


_TEXT_KEYS = ("status", "description", "remark")


def _mapped(code: str, text: str) -> Mapped:
    for codes, pattern, mapped in _TEXT_RULES:
        if code in codes and pattern.search(text):
            return mapped
    return map_code(_STATUS, code, _STATUS["transit"], "dhl")


def _proof(shipment: dict) -> tuple[str, str]:
    details = shipment.get("details") if isinstance(shipment.get("details"), dict) else {}
    proof = details.get("proofOfDelivery")
    if not isinstance(proof, dict):
        return "", ""
    signed = proof.get("signed") if isinstance(proof.get("signed"), dict) else {}
    url = _text(proof.get("signatureUrl"))
    return _text(signed.get("name")), url if url.startswith("https://") else ""


def _parse_estimate(shipment: dict, home: tzinfo) -> tuple[date | None, datetime | None]:
    """`estimatedTimeOfDelivery` at midnight is a date only (the spec's "By End of Day")."""
    frame = shipment.get("estimatedDeliveryTimeFrame")
    value = shipment.get("estimatedTimeOfDelivery") or (
        frame.get("estimatedThrough") if isinstance(frame, dict) else None
    )
    moment = _moment(value, home)
    if moment is None:
        return None, None
    return moment.date(), None if moment.time() == time(0) else moment


def _moment(value: object, zone: tzinfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _place(value: object) -> Location:
    address = value.get("address") if isinstance(value, dict) else None
    if not isinstance(address, dict):
        return Location()
    locality = _text(address.get("addressLocality"))
    country = _text(address.get("countryCode")).upper()
    state = ""
    parts = [part.strip() for part in locality.split(",")]
    if len(parts) == 3 and len(parts[1]) == 2 and len(parts[2]) == 2:  # "Henderson, NV, US"
        locality, state, country = parts[0], parts[1].upper(), country or parts[2].upper()
    return Location(locality, state, _text(address.get("postalCode")), country)


def _zone(location: Location) -> tzinfo | None:
    if location.country == "US" and us_state_zone(location.state):
        return us_state_zone(location.state)
    name = _ZONE_BY_COUNTRY.get(location.country)
    return ZoneInfo(name) if name else None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
