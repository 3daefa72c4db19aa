"""FedEx Track API (CARRIERS.md §3): OAuth2 client credentials in the form body, up to 30
numbers per call.

Every scan is mapped on its `eventType`, never on `derivedStatusCode` or `latestStatusDetail`:
an "On FedEx vehicle for delivery" scan is derived IT, a "Returning package to shipper" scan is
derived DL, and a "Ready for recipient pickup" scan is derived IT (CARRIERS.md §0).
"""

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

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
from carriers.vocabulary import (
    EventType,
    ExceptionCode,
    Status,
    StatusDetail,
    event_type_for,
)

logger = logging.getLogger("carriers")

OAUTH_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
NOT_FOUND = "TRACKING.TRACKINGNUMBER.NOTFOUND"  # HTTP 200, per number: usually "not yet"

S, D, E = Status, StatusDetail, ExceptionCode

# Scan `eventType` → meaning. Codes and names from FedEx's "Tracking Status Codes" table (karrio
# vendor copy, CARRIERS.md §1); AE is observed in FedEx answers ("Shipment arriving early").
_STATUS: dict[str, Mapped] = {
    "OC": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Order created / info sent to FedEx
    "OX": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Shipment information sent to USPS
    "EP": Mapped(S.PRE_TRANSIT, D.PICKUP_SCHEDULED),  # Enroute to pickup
    "PD": Mapped(S.PRE_TRANSIT, D.PICKUP_SCHEDULED),  # Pickup delay
    "DS": Mapped(S.PRE_TRANSIT, D.PICKUP_SCHEDULED),  # Vehicle dispatched
    "AP": Mapped(S.PRE_TRANSIT, D.PICKUP_SCHEDULED),  # At pickup
    "PU": Mapped(S.IN_TRANSIT, D.PICKED_UP),  # Picked up
    "PX": Mapped(S.IN_TRANSIT, D.PICKED_UP),  # Picked up (see details)
    "IT": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # In transit
    "IX": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # In transit (see details)
    "AR": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # Arrived at FedEx location
    "AF": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At local FedEx facility
    "AA": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At airport
    "AC": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At Canada Post facility
    "AX": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At USPS facility
    "FD": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At FedEx destination
    "OF": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At FedEx origin facility
    "SF": Mapped(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # At sort facility
    "DP": Mapped(S.IN_TRANSIT, D.DEPARTED_FACILITY),  # Departed
    "LO": Mapped(S.IN_TRANSIT, D.DEPARTED_FACILITY),  # Left origin
    "PL": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Plane landed
    "PF": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Plane in flight
    "EA": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Enroute to airport / export approved
    "EO": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Enroute to origin airport
    "TR": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Transfer
    "PM": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # In progress
    "Ow": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # On the way
    "CH": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Location changed
    "SP": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Split status
    "RR": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Delivery option (CDO) requested
    "RM": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # CDO modified
    "RC": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # CDO cancelled
    "DY": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Delay (the `delayed` flag is ours to compute)
    "DD": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Delivery delay
    "CC": Mapped(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # Cleared customs
    "CP": Mapped(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # Clearance in progress
    "CD": Mapped(S.EXCEPTION, D.CUSTOMS_HOLD, E.CUSTOMS_HOLD),  # Clearance delay
    "OD": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # Out for delivery (derived IT!)
    "ED": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # Enroute to delivery
    "AD": Mapped(S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY),  # At delivery
    "HL": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),  # Hold at location
    "HP": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),  # Ready for pickup (derived IT!)
    "DL": Mapped(S.DELIVERED, D.DELIVERED),  # Delivered
    "RS": Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER),  # Return to shipper (derived DL!)
    "DE": Mapped(S.EXCEPTION, D.UNKNOWN),  # Delivery exception: refined by its reason below
    "SE": Mapped(S.EXCEPTION, D.UNKNOWN),  # Shipment exception: refined by its reason below
    "DR": Mapped(S.EXCEPTION, D.UNKNOWN),  # Vehicle furnished but not used (pickup failed)
    "CA": Mapped(S.CANCELLED, D.CANCELLED),  # Shipment cancelled
    # Informational (see _INFORMATIONAL): the row is used only when nothing came before
    "AO": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Shipment arriving on-time
    "AE": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Shipment arriving early
    "RP": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Return label link emailed
    "LP": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Return label link cancelled
    "RG": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Return label link expiring soon
    "RD": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),  # Return label link expired (not a cancel)
}
# These say nothing about where the package is: each keeps the status of the scan before it, so
# it never moves a shipment (CARRIERS.md §1).
_INFORMATIONAL = frozenset({"AO", "AE", "RP", "LP", "RG", "RD"})

# A DE/SE scan's `exceptionCode` (the ancillary reason) says what went wrong. Only reasons seen
# in FedEx answers (CARRIERS.md §3); others keep the DE/SE row and are logged.
_BY_REASON: dict[str, Mapped] = {
    # "Customer not available or business closed": one code for both; the person is the likelier
    "007": Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, E.RECIPIENT_NOT_AVAILABLE),
    "08": Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, E.RECIPIENT_NOT_AVAILABLE),
    "15": Mapped(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, E.RECIPIENT_NOT_AVAILABLE),
    "060G": Mapped(S.RETURN_TO_SENDER, D.RETURN_TO_SENDER),  # Returning to shipper
    "A13": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Redirecting to FedEx Office
    "A47": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # Redirected to a nearby FedEx location
}
_REFINED_BY_REASON = frozenset({"DE", "SE"})

# An unmapped eventType falls back on FedEx's derived code (observed: IN PU IT DL DE DY RL HL).
_BY_DERIVED: dict[str, Mapped] = {
    "IN": Mapped(S.PRE_TRANSIT, D.LABEL_CREATED),
    "PU": Mapped(S.IN_TRANSIT, D.PICKED_UP),
    "IT": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),
    "DY": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),
    "RL": Mapped(S.IN_TRANSIT, D.IN_TRANSIT),  # running late
    "HL": Mapped(S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP),
    "DL": Mapped(S.DELIVERED, D.DELIVERED),
    "DE": Mapped(S.EXCEPTION, D.UNKNOWN),
}
_UNKNOWN = Mapped(S.UNKNOWN, D.UNKNOWN)


class Fedex:
    code: ClassVar[str] = "fedex"
    batch_size: ClassVar[int] = 30

    def __init__(
        self, credentials: Credentials, cache: Cache, session: requests.Session | None = None
    ):
        self.http = CarrierHttp(self.code, session)
        # FedEx wants client_id/client_secret as form fields, not HTTP Basic (CARRIERS.md §3).
        self.oauth = OAuthClient(self.http, credentials, cache, OAUTH_PATH, client_auth="form")
        self.track_url = credentials.base_url.rstrip("/") + TRACK_PATH

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        numbers = list(dict.fromkeys(query.tracking_number for query in queries))
        results: dict[str, TrackingResult] = {}
        for start in range(0, len(numbers), self.batch_size):
            results |= self._track_batch(numbers[start : start + self.batch_size])
        return results

    def _track_batch(self, numbers: list[str]) -> dict[str, TrackingResult]:
        body = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
        }
        answer = self.oauth.request(
            "POST", self.track_url, json=body, allowed=(400,),
            headers={"X-locale": "en_US", "Accept": "application/json"},
        )  # fmt: skip
        if answer.status == 400:
            problem = _parse_rejection(answer)
            if len(numbers) == 1:
                return {numbers[0]: TrackingResult(numbers[0], found=False, problem=problem)}
            # One bad number fails the whole request: ask for each alone, so that the others are
            # still tracked and only the bad one is marked.
            return {n: r for number in numbers for n, r in self._track_batch([number]).items()}
        try:
            return _parse_answer(answer.json(), numbers)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise CarrierUnavailable("fedex: malformed tracking answer") from error


def _parse_rejection(answer) -> str:
    """A 400 about the numbers (`TRACKING.*`) is that number's problem; any other is ours."""
    try:
        errors = _list(_dict(answer.json()).get("errors"))
    except CarrierUnavailable:
        errors = []
    codes = [_text(_dict(error).get("code")) for error in errors]
    if not codes or not all(code.startswith("TRACKING.") for code in codes):
        raise CarrierRejected(f"fedex: HTTP 400 {codes}", status=400)
    message = _text(_dict(errors[0]).get("message"))
    return f"FedEx: {message} ({codes[0]})"


def _parse_answer(body: Any, numbers: list[str]) -> dict[str, TrackingResult]:
    output = _dict(body).get("output")
    if not isinstance(output, dict) or not isinstance(output.get("completeTrackResults"), list):
        raise CarrierUnavailable("fedex: answer without output.completeTrackResults")
    results: dict[str, TrackingResult] = {}
    for complete in map(_dict, output["completeTrackResults"]):
        number = _text(complete.get("trackingNumber"))
        track_results = [_dict(result) for result in _list(complete.get("trackResults"))]
        if number and track_results:
            results[number] = _parse_track_results(number, track_results)
    return {
        number: results.get(number) or TrackingResult(number, found=False) for number in numbers
    }


def _parse_track_results(number: str, track_results: list[dict]) -> TrackingResult:
    shipments = [_parse_result(number, r) for r in track_results if not r.get("error")]
    if shipments:
        # A number FedEx reused comes back as several shipments: the newest news is ours.
        return max(shipments, key=_newest_time)
    error = _dict(track_results[0].get("error"))
    code, message = _text(error.get("code")), _text(error.get("message"))
    if code.startswith("TRACKING.") and code != NOT_FOUND:
        problem = f"FedEx: {message} ({code})"
        return TrackingResult(number, found=False, problem=problem, raw=track_results[0])
    if code != NOT_FOUND:
        logger.warning("fedex: %s answered with error %r; treated as not found", number, code)
    return TrackingResult(number, found=False, raw=track_results[0])


def _newest_time(result: TrackingResult) -> datetime:
    return max((e.occurred_at for e in result.events), default=datetime.min.replace(tzinfo=UTC))


def _parse_result(number: str, result: dict) -> TrackingResult:
    recipient = _text(_dict(result.get("deliveryDetails")).get("receivedByName"))
    events = _parse_events(_list(result.get("scanEvents")), recipient)
    times = {_text(_dict(t).get("type")): _dict(t).get("dateTime")
             for t in _list(result.get("dateAndTimes"))}  # fmt: skip
    delivery = _delivery_without_scan(result, _parse_time(times.get("ACTUAL_DELIVERY")), events)
    day, at = _estimate(result, _parse_time(times.get("ESTIMATED_DELIVERY")))
    return TrackingResult(
        number,
        events=events + ((delivery,) if delivery else ()),
        estimated_delivery_date=day,
        estimated_delivery_at=at,
        service=_text(_dict(result.get("serviceDetail")).get("description")),
        origin=_first_location(
            _dict(_dict(result.get("originLocation")).get("locationContactAndAddress")),
            _dict(result.get("shipperInformation")),
        ),
        destination=_first_location(
            _dict(result.get("recipientInformation")),
            _dict(_dict(result.get("destinationLocation")).get("locationContactAndAddress")),
            {"address": result.get("lastUpdatedDestinationAddress")},
        ),
        raw=result,
    )


def _parse_events(scans: list, recipient: str) -> tuple[CarrierEvent, ...]:
    parsed = [_parse_scan(_dict(scan), recipient) for scan in scans]
    return inherit_informational(sorted((p for p in parsed if p), key=lambda p: p[0].occurred_at))


def _parse_scan(scan: dict, recipient: str) -> tuple[CarrierEvent, bool] | None:
    occurred_at = _parse_time(scan.get("date"))
    if occurred_at is None:
        logger.warning("fedex: scan without a usable date skipped")
        return None
    code, reason = _text(scan.get("eventType")), _text(scan.get("exceptionCode"))
    mapped = _mapped(code, reason, _text(scan.get("derivedStatusCode")))
    raw_description = _text(scan.get("eventDescription"))
    detail = _text(scan.get("exceptionDescription"))
    event = CarrierEvent(
        occurred_at=occurred_at, status=mapped.status, status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail),
        description=f"{raw_description}: {detail}" if detail else raw_description,
        location=_location(scan.get("scanLocation")) or Location(),
        exception_code=mapped.exception_code,
        recipient=recipient if mapped.status == S.DELIVERED else "",
        raw_code=f"{code}/{reason}" if reason else code, raw_description=raw_description,
        raw=scan,
    )  # fmt: skip
    return event, code in _INFORMATIONAL


def _mapped(code: str, reason: str, derived: str) -> Mapped:
    if code in _REFINED_BY_REASON and reason:
        return map_code(_BY_REASON, reason, _STATUS[code], "fedex")
    return map_code(_STATUS, code, _BY_DERIVED.get(derived, _UNKNOWN), "fedex")


def _delivery_without_scan(
    result: dict, delivered_at: datetime | None, events: tuple[CarrierEvent, ...]
) -> CarrierEvent | None:
    """FedEx's ACTUAL_DELIVERY date confirms a delivery (CARRIERS.md §1) even when the DL scan
    did not come with the answer."""
    if delivered_at is None or any(event.status == S.DELIVERED for event in events):
        return None
    latest = _dict(result.get("latestStatusDetail"))
    details = _dict(result.get("deliveryDetails"))
    description = _text(latest.get("description")) or "Delivered"
    return CarrierEvent(
        occurred_at=delivered_at, status=S.DELIVERED, status_detail=D.DELIVERED,
        event_type=EventType.DELIVERY, description=description,
        location=_location(details.get("actualDeliveryAddress")) or Location(),
        recipient=_text(details.get("receivedByName")),
        raw_code="ACTUAL_DELIVERY", raw_description=description,
        raw={"type": "ACTUAL_DELIVERY", "latestStatusDetail": latest},
    )  # fmt: skip


def _estimate(result: dict, estimated: datetime | None) -> tuple[date | None, datetime | None]:
    window = _dict(_dict(result.get("estimatedDeliveryTimeWindow")).get("window"))
    window_end = _parse_time(window.get("ends"))
    if estimated is None and window_end is None:
        return None, None
    day = (estimated or window_end).date()  # the date in the destination's own offset
    # FedEx sends a date-only estimate as local midnight: a time only from a window or a real time
    at = window_end or (estimated if estimated and estimated.time() != time(0) else None)
    return day, at


def _parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        return None
    # FedEx's times carry their local offset; the odd one without (a date-only pickup in FedEx's
    # own sample) has no zone to recover and is read as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _first_location(*holders: dict) -> Location | None:
    return next(filter(None, (_location(holder.get("address")) for holder in holders)), None)


def _location(address: Any) -> Location | None:
    address = _dict(address)
    location = Location(
        city=_text(address.get("city")), state=_text(address.get("stateOrProvinceCode")),
        postal_code=_text(address.get("postalCode")), country=_text(address.get("countryCode")),
    )  # fmt: skip
    return location if location != Location() else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
