"""Push webhooks from tracking aggregators (CARRIERS.md §8): EasyPost `tracker.updated`,
AfterShip `tracking_update` and Shippo `track_updated`, verified over the raw bytes and mapped onto
TRACKING.md's model.

Pure library: no ORM, no settings. tracking/push.py receives the requests, finds the shipments
and applies the events through the one apply service.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from carriers.base import Mapped, map_code
from carriers.detection import normalize_tracking_number
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import (
    DEFAULT_STATUS_DETAIL,
    EXCEPTION_CODE_BY_DETAIL,
    CarrierCode,
    Status,
    StatusDetail,
    event_type_for,
)

logger = logging.getLogger("carriers")

# The event names that carry a tracker; anything else is acknowledged and ignored.
EASYPOST_TRACKING_EVENTS = frozenset({"tracker.created", "tracker.updated"})
AFTERSHIP_TRACKING_EVENTS = frozenset({"tracking_update", "edd_revise"})
SHIPPO_TRACKING_EVENTS = frozenset({"track_created", "track_updated"})


class PayloadInvalid(ValueError):
    """A signed body that is JSON but not the shape the aggregator documents."""


@dataclass(frozen=True, slots=True)
class PushedUpdate:
    """What an aggregator said about one number."""

    tracking_number: str  # normalized, as Shipment stores it
    carrier: str  # a CarrierCode, or "" when the aggregator's carrier is not one of ours
    events: tuple[CarrierEvent, ...] = ()
    estimated_delivery_date: date | None = None
    estimated_delivery_at: datetime | None = None


# --- Signatures --------------------------------------------------------------------------------

_EASYPOST_PREFIX = "hmac-sha256-hex="


def verify_easypost(body: bytes, header: str, secret: str) -> bool:
    """`X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256>` of the raw body, keyed with the
    NFKD-normalized secret as EasyPost's own client libraries do (easypost-python
    `util.validate_webhook`). The prefix and the hex digits may come in either case."""
    if not secret or not isinstance(header, str) or not isinstance(body, bytes):
        return False
    value = header.strip()
    if value[: len(_EASYPOST_PREFIX)].lower() != _EASYPOST_PREFIX:
        return False
    given = value[len(_EASYPOST_PREFIX) :].strip().lower()
    key = unicodedata.normalize("NFKD", secret).encode()
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if not given.isascii():
        return False  # compare_digest refuses non-ASCII text
    return hmac.compare_digest(expected.encode(), given.encode())


def verify_aftership(body: bytes, header: str, secret: str) -> bool:
    """`aftership-hmac-sha256: <base64 HMAC-SHA256>` of the raw body, keyed with the secret."""
    if not secret or not isinstance(header, str) or not isinstance(body, bytes):
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):  # bad padding or alphabet; non-ASCII text
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


_SHIPPO_TOLERANCE_SECONDS = 300  # a signed delivery older than this is a replay


def verify_shippo(body: bytes, header: str, secret: str, *, now: float | None = None) -> bool:
    """`Shippo-Auth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
    (REGISTER_AND_SIGNATURES.md; Stripe's scheme): every `v1` given is tried, and a timestamp
    more than five minutes away from ours is refused, so a captured delivery cannot be replayed."""
    if not secret or not isinstance(header, str) or not isinstance(body, bytes):
        return False
    pairs = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value.strip() for key, _sep, value in pairs if key.strip() == "t"]
    given = [value.strip().lower() for key, _sep, value in pairs if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit() or not given:
        return False
    now = time.time() if now is None else now
    if abs(now - int(stamps[0])) > _SHIPPO_TOLERANCE_SECONDS:
        return False
    signed = stamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    return any(value.isascii() and hmac.compare_digest(expected, value.encode()) for value in given)


# --- Status tables -----------------------------------------------------------------------------

S, D = Status, StatusDetail


def _row(status: Status, detail: StatusDetail | None = None) -> Mapped:
    """A table row; exceptions and failed attempts carry TRACKING.md's code for their detail."""
    detail = detail or DEFAULT_STATUS_DETAIL[status]
    coded = status in (S.EXCEPTION, S.FAILED_ATTEMPT)
    return Mapped(status, detail, EXCEPTION_CODE_BY_DETAIL.get(detail, "") if coded else "")


_UNKNOWN = _row(S.UNKNOWN)
_NO_REFINEMENT = Mapped("", "")  # a known status_detail that says nothing the status does not

# EasyPost's `status` is already TRACKING.md's set (CARRIERS.md §8), so it decides the status.
_EASYPOST_STATUS = {
    "unknown": _UNKNOWN,
    "pre_transit": _row(S.PRE_TRANSIT),
    "in_transit": _row(S.IN_TRANSIT),
    "out_for_delivery": _row(S.OUT_FOR_DELIVERY),
    "delivered": _row(S.DELIVERED),
    "available_for_pickup": _row(S.AVAILABLE_FOR_PICKUP),
    "return_to_sender": _row(S.RETURN_TO_SENDER),
    "failure": _row(S.EXCEPTION),
    "cancelled": _row(S.CANCELLED),
    "error": _row(S.EXCEPTION),  # EasyPost could not track the number: someone should look
}
# `status_detail` says why. A row refines the status it names (see _easypost_mapping); the
# values are EasyPost's documented list (its client libraries' Tracker.status_detail).
_EASYPOST_STATUS_DETAIL = {
    "label_created": _row(S.PRE_TRANSIT, D.LABEL_CREATED),
    "received_at_origin_facility": _row(S.IN_TRANSIT, D.ACCEPTED),
    "arrived_at_facility": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),
    "departed_facility": _row(S.IN_TRANSIT, D.DEPARTED_FACILITY),
    "departed_origin_facility": _row(S.IN_TRANSIT, D.DEPARTED_FACILITY),
    "received_at_destination_facility": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),
    "arrived_at_destination": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),
    "transferred_to_destination_carrier": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "in_transit": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "out_for_delivery": _row(S.OUT_FOR_DELIVERY),
    "arrived_at_pickup_location": _row(S.AVAILABLE_FOR_PICKUP),
    "return": _row(S.RETURN_TO_SENDER),
    "cancelled": _row(S.CANCELLED),
    "address_correction": _row(S.EXCEPTION, D.ADDRESS_ISSUE),
    "weather_delay": _row(S.EXCEPTION, D.WEATHER_DELAY),
    "refused": _row(S.EXCEPTION, D.REFUSED),
    "damaged": _row(S.EXCEPTION, D.DAMAGED),
    "lost": _row(S.EXCEPTION, D.LOST),
    "delayed": _row(S.EXCEPTION),
    "delivery_exception": _row(S.EXCEPTION),
    "transit_exception": _row(S.EXCEPTION),
    "held": _row(S.EXCEPTION),
    "missorted": _row(S.EXCEPTION),
    "failure": _row(S.EXCEPTION),
    "awaiting_information": _NO_REFINEMENT,
    "expired": _NO_REFINEMENT,
    "status_update": _NO_REFINEMENT,
    "unknown": _NO_REFINEMENT,
}

# AfterShip's `tag` decides when the subtag is missing or one we do not know yet.
_AFTERSHIP_TAG = {
    "Pending": _UNKNOWN,
    "InfoReceived": _row(S.PRE_TRANSIT),
    "InTransit": _row(S.IN_TRANSIT),
    "OutForDelivery": _row(S.OUT_FOR_DELIVERY),
    "AttemptFail": _row(S.FAILED_ATTEMPT),
    "Delivered": _row(S.DELIVERED),
    "AvailableForPickup": _row(S.AVAILABLE_FOR_PICKUP),
    "Exception": _row(S.EXCEPTION),
    "Expired": _row(S.EXPIRED),  # AfterShip's "no information for 30 days" is TRACKING.md's
}
# Subtags from AfterShip's "Delivery Sub-statuses" list (aftership.com/docs/tracking/enum/
# delivery-sub-statuses, and the 2026 additions in its help centre).
_AFTERSHIP_SUBTAG = {
    **{f"Pending_00{n}": _UNKNOWN for n in range(1, 7)},
    "InfoReceived_001": _row(S.PRE_TRANSIT, D.LABEL_CREATED),
    "InTransit_001": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "InTransit_002": _row(S.IN_TRANSIT, D.ACCEPTED),  # acceptance scan
    "InTransit_003": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # arrival scan
    "InTransit_004": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),  # arrived in destination country
    "InTransit_005": _row(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # customs clearance completed
    "InTransit_006": _row(S.IN_TRANSIT, D.CUSTOMS_PROCESSING),  # customs clearance started
    "InTransit_007": _row(S.IN_TRANSIT, D.DEPARTED_FACILITY),  # departure scan
    "InTransit_008": _row(S.IN_TRANSIT, D.IN_TRANSIT),  # problem resolved
    "InTransit_009": _row(S.IN_TRANSIT, D.IN_TRANSIT),  # forwarded to another address
    "OutForDelivery_001": _row(S.OUT_FOR_DELIVERY),
    "OutForDelivery_002": _row(S.AVAILABLE_FOR_PICKUP),  # retired: "available for pickup"
    "OutForDelivery_003": _row(S.OUT_FOR_DELIVERY),  # customer contacted
    "OutForDelivery_004": _row(S.OUT_FOR_DELIVERY),  # delivery appointment scheduled
    "AttemptFail_001": _row(S.FAILED_ATTEMPT),
    "AttemptFail_002": _row(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE),
    "AttemptFail_003": _row(S.FAILED_ATTEMPT, D.BUSINESS_CLOSED),
    "Delivered_001": _row(S.DELIVERED),
    "Delivered_002": _row(S.DELIVERED),  # picked up by the customer
    "Delivered_003": _row(S.DELIVERED),  # signed by the customer
    "Delivered_004": _row(S.DELIVERED),  # cash on delivery collected
    "Delivered_005": _row(S.DELIVERED, D.DELIVERED_TO_AGENT),  # left with a neighbour
    "AvailableForPickup_001": _row(S.AVAILABLE_FOR_PICKUP),
    "Exception_001": _row(S.EXCEPTION),
    "Exception_002": _row(S.EXCEPTION, D.ADDRESS_ISSUE),  # customer moved
    "Exception_003": _row(S.EXCEPTION, D.REFUSED),
    "Exception_004": _row(S.EXCEPTION, D.CUSTOMS_HOLD),  # delayed in customs clearance
    "Exception_005": _row(S.EXCEPTION),  # delayed by external factors
    "Exception_006": _row(S.EXCEPTION),  # held for payment
    "Exception_007": _row(S.EXCEPTION, D.ADDRESS_ISSUE),  # incorrect address
    "Exception_008": _row(S.EXCEPTION),  # pickup missed
    "Exception_009": _row(S.EXCEPTION),  # rejected by the carrier
    "Exception_010": _row(S.RETURN_TO_SENDER),  # on its way back to the sender
    "Exception_011": _row(S.RETURN_TO_SENDER, D.RETURNED),  # received back by the sender
    "Exception_012": _row(S.EXCEPTION, D.DAMAGED),
    "Exception_013": _row(S.EXCEPTION, D.LOST),
    "Exception_016": _row(S.EXCEPTION, D.MECHANICAL_DELAY),  # vehicle, sorting, misroute
    "Exception_017": _row(S.EXCEPTION, D.WEATHER_DELAY),
    "Exception_018": _row(S.EXCEPTION, D.CUSTOMS_HOLD),  # documents missing for regulators
    "Exception_019": _row(S.EXCEPTION),  # late flight
    "Exception_020": _row(S.CANCELLED),
    "Exception_021": _row(S.EXCEPTION, D.LOST),  # disposed of: it will not arrive
    "Expired_001": _row(S.EXPIRED),
}


def _easypost_mapping(status: str, status_detail: str) -> Mapped:
    base = map_code(_EASYPOST_STATUS, status, _UNKNOWN, "easypost")
    if not status_detail:
        return base
    refined = map_code(_EASYPOST_STATUS_DETAIL, status_detail, _NO_REFINEMENT, "easypost")
    # A return is never a plain delivery or transit (CARRIERS.md §0: returns that look delivered).
    if refined.status in (base.status, S.RETURN_TO_SENDER):
        return refined
    if base.status == S.IN_TRANSIT and refined.status == S.EXCEPTION:
        # A delay or problem on the way: EasyPost says it still moves; keep the why, and no
        # exception code (TRACKING.md puts those on exception events only).
        return base if refined.detail == D.UNKNOWN else Mapped(S.IN_TRANSIT, refined.detail)
    return base  # e.g. "arrived_at_destination" on a delivered scan: the status says more


def _aftership_mapping(tag: str, subtag: str) -> Mapped:
    by_tag = map_code(_AFTERSHIP_TAG, tag, _UNKNOWN, "aftership")
    return map_code(_AFTERSHIP_SUBTAG, subtag, by_tag, "aftership") if subtag else by_tag


# Shippo's `status` decides, unless its `substatus.code` refines it within that status.
_SHIPPO_STATUS = {
    "UNKNOWN": _UNKNOWN,
    "PRE_TRANSIT": _row(S.PRE_TRANSIT),
    "TRANSIT": _row(S.IN_TRANSIT),
    "DELIVERED": _row(S.DELIVERED),
    "RETURNED": _row(S.RETURN_TO_SENDER, D.RETURNED),  # "returned to the original sender"
    "FAILURE": _row(S.EXCEPTION),
}
# Substatus codes from Shippo's tracking-status reference (docs.goshippo.com "Tracking status").
_SHIPPO_SUBSTATUS = {
    "information_received": _row(S.PRE_TRANSIT, D.LABEL_CREATED),
    "package_accepted": _row(S.IN_TRANSIT, D.ACCEPTED),
    "package_arrived": _row(S.IN_TRANSIT, D.ARRIVED_AT_FACILITY),
    "package_departed": _row(S.IN_TRANSIT, D.DEPARTED_FACILITY),
    "package_processing": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "package_processed": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "package_forwarded": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "delivery_scheduled": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "delivery_rescheduled": _row(S.IN_TRANSIT, D.IN_TRANSIT),
    "delayed": _row(S.IN_TRANSIT, D.IN_TRANSIT),  # late, still moving: the delay check judges
    "out_for_delivery": _row(S.OUT_FOR_DELIVERY),
    "pickup_available": _row(S.AVAILABLE_FOR_PICKUP),
    "delivery_attempted": _row(S.FAILED_ATTEMPT),
    "notice_left": _row(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE),
    "reschedule_delivery": _row(S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE),
    "location_inaccessible": _row(S.FAILED_ATTEMPT, D.ADDRESS_ISSUE),
    "address_issue": _row(S.EXCEPTION, D.ADDRESS_ISSUE),
    "contact_carrier": _row(S.EXCEPTION),
    "package_held": _row(S.EXCEPTION),
    "package_damaged": _row(S.EXCEPTION, D.DAMAGED),
    "package_lost": _row(S.EXCEPTION, D.LOST),
    "package_disposed": _row(S.EXCEPTION, D.LOST),  # it will not arrive
    "package_undeliverable": _row(S.EXCEPTION),
    "package_unclaimed": _row(S.RETURN_TO_SENDER),
    "return_to_sender": _row(S.RETURN_TO_SENDER),
    "delivered": _row(S.DELIVERED),
    "other": _NO_REFINEMENT,
}
# Which of our statuses a substatus may turn each Shippo status into: a substatus that
# contradicts its status (the docs' own example pairs DELIVERED with information_received) is
# ignored, and the status stands.
_SHIPPO_REFINES = {
    "UNKNOWN": {S.UNKNOWN, S.PRE_TRANSIT},
    "PRE_TRANSIT": {S.PRE_TRANSIT},
    "TRANSIT": {S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.FAILED_ATTEMPT,
                S.EXCEPTION},
    "DELIVERED": {S.DELIVERED},
    "RETURNED": {S.RETURN_TO_SENDER},
    "FAILURE": {S.EXCEPTION, S.FAILED_ATTEMPT, S.RETURN_TO_SENDER},
}  # fmt: skip


def _shippo_mapping(status: str, substatus: str) -> Mapped:
    base = map_code(_SHIPPO_STATUS, status, _UNKNOWN, "shippo")
    if not substatus:
        return base
    refined = map_code(_SHIPPO_SUBSTATUS, substatus, _NO_REFINEMENT, "shippo")
    return refined if refined.status in _SHIPPO_REFINES.get(status, ()) else base


# --- Carriers ----------------------------------------------------------------------------------

# Keys are lower-cased with everything but letters and digits removed.
_EASYPOST_CARRIERS = {
    "ups": CarrierCode.UPS,
    "upsmailinnovations": CarrierCode.UPS,
    "upssurepost": CarrierCode.UPS,
    "fedex": CarrierCode.FEDEX,
    "fedexsmartpost": CarrierCode.FEDEX,
    "usps": CarrierCode.USPS,
    "dhlexpress": CarrierCode.DHL,
    "dhlecs": CarrierCode.DHL,
    "dhlecommerce": CarrierCode.DHL,
    "dhlpaket": CarrierCode.DHL,
    "canadapost": CarrierCode.CANADA_POST,
}
_AFTERSHIP_CARRIERS = {
    "ups": CarrierCode.UPS,
    "upsmi": CarrierCode.UPS,
    "fedex": CarrierCode.FEDEX,
    "usps": CarrierCode.USPS,
    "dhl": CarrierCode.DHL,
    "dhlglobalmail": CarrierCode.DHL,
    "dhlgermany": CarrierCode.DHL,
    "canadapost": CarrierCode.CANADA_POST,
}
# Shippo's carrier tokens ("shippo" is its test carrier: matched by number alone).
_SHIPPO_CARRIERS = {
    "ups": CarrierCode.UPS,
    "fedex": CarrierCode.FEDEX,
    "usps": CarrierCode.USPS,
    "dhlexpress": CarrierCode.DHL,
    "dhlecommerce": CarrierCode.DHL,
    "dhlgermany": CarrierCode.DHL,
    "canadapost": CarrierCode.CANADA_POST,
}


def _carrier(table: dict[str, CarrierCode], name: object) -> str:
    key = "".join(char for char in _text(name).lower() if char.isascii() and char.isalnum())
    return table.get(key, "")


# --- EasyPost ----------------------------------------------------------------------------------


def parse_easypost(payload: dict) -> list[PushedUpdate]:
    """An Event whose `result` is a Tracker: {tracking_code, carrier, tracking_details[],
    est_delivery_date, carrier_detail{est_delivery_date_local}, signed_by}."""
    tracker = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(tracker, dict):
        raise PayloadInvalid("The event has no Tracker in `result`.")
    number = normalize_tracking_number(tracker.get("tracking_code"))
    if not number:
        raise PayloadInvalid("The Tracker has no `tracking_code`.")
    details = tracker.get("tracking_details")
    details = [] if details is None else details
    if not isinstance(details, list):
        raise PayloadInvalid("`tracking_details` is not a list.")
    signed_by = _text(tracker.get("signed_by"))
    events = (_easypost_event(detail, number, signed_by) for detail in details)
    day, at = _estimate(tracker.get("est_delivery_date"))
    if at is not None and (at.hour, at.minute, at.second) == (0, 0, 0):
        at = None  # EasyPost writes a bare date as midnight UTC
    carrier_detail = tracker.get("carrier_detail")
    if isinstance(carrier_detail, dict):
        day = _estimate(carrier_detail.get("est_delivery_date_local"))[0] or day
    return [
        PushedUpdate(
            tracking_number=number,
            carrier=_carrier(_EASYPOST_CARRIERS, tracker.get("carrier")),
            events=tuple(event for event in events if event is not None),
            estimated_delivery_date=day,
            estimated_delivery_at=at,
        )
    ]


def _easypost_event(detail: object, number: str, signed_by: str) -> CarrierEvent | None:
    occurred_at = _timestamp(detail.get("datetime")) if isinstance(detail, dict) else None
    if occurred_at is None:
        logger.warning("easypost: %s: a tracking detail without a valid datetime; skipped", number)
        return None
    status, status_detail = _text(detail.get("status")), _text(detail.get("status_detail"))
    mapped = _easypost_mapping(status, status_detail)
    message = _text(detail.get("message")) or _text(detail.get("description"))
    place = detail.get("tracking_location")
    place = place if isinstance(place, dict) else {}
    return _event(
        occurred_at, mapped, message,
        Location(city=_text(place.get("city")), state=_text(place.get("state")),
                 postal_code=_text(place.get("zip")), country=_country2(place.get("country"))),
        raw_code=f"{status}/{status_detail}" if status_detail else status,
        raw_description=message, raw=detail, signed_by=signed_by,
    )  # fmt: skip


# --- AfterShip ---------------------------------------------------------------------------------


def parse_aftership(payload: dict) -> list[PushedUpdate]:
    """{event, event_id, msg: Tracking {slug, tracking_number, tag, subtag, checkpoints[],
    expected_delivery, …}}; field names vary a little between webhook versions."""
    tracking = payload.get("msg") if isinstance(payload, dict) else None
    if not isinstance(tracking, dict):
        raise PayloadInvalid("The event has no tracking in `msg`.")
    number = normalize_tracking_number(tracking.get("tracking_number"))
    if not number:
        raise PayloadInvalid("The tracking has no `tracking_number`.")
    checkpoints = tracking.get("checkpoints")
    checkpoints = [] if checkpoints is None else checkpoints
    if not isinstance(checkpoints, list):
        raise PayloadInvalid("`checkpoints` is not a list.")
    signed_by = _text(tracking.get("signed_by"))
    events = (_aftership_event(checkpoint, number, signed_by) for checkpoint in checkpoints)
    day, at = _aftership_estimate(tracking)
    return [
        PushedUpdate(
            tracking_number=number,
            carrier=_carrier(_AFTERSHIP_CARRIERS, tracking.get("slug")),
            events=tuple(event for event in events if event is not None),
            estimated_delivery_date=day,
            estimated_delivery_at=at,
        )
    ]


def _aftership_event(checkpoint: object, number: str, signed_by: str) -> CarrierEvent | None:
    # checkpoint_time is the checkpoint's local time, usually without its zone; see _timestamp.
    when = checkpoint.get("checkpoint_time") if isinstance(checkpoint, dict) else None
    occurred_at = _timestamp(when)
    if occurred_at is None:
        logger.warning("aftership: %s: a checkpoint without a valid time; skipped", number)
        return None
    tag, subtag = _text(checkpoint.get("tag")), _text(checkpoint.get("subtag"))
    message = _text(checkpoint.get("message"))
    country = checkpoint.get("country_iso3") or checkpoint.get("country_region")
    postal_code = checkpoint.get("zip") or checkpoint.get("postal_code")
    return _event(
        occurred_at, _aftership_mapping(tag, subtag), message,
        Location(city=_text(checkpoint.get("city")), state=_text(checkpoint.get("state")),
                 postal_code=_text(postal_code), country=_country2(country)),
        raw_code=subtag or tag,
        raw_description=_text(checkpoint.get("subtag_message")) or message,
        raw=checkpoint, signed_by=signed_by,
    )  # fmt: skip


def _aftership_estimate(tracking: dict) -> tuple[date | None, datetime | None]:
    """The newest estimate AfterShip names, then the carrier's, then AfterShip's prediction."""
    candidates = (
        _field(tracking, "latest_estimated_delivery", "datetime"),
        _field(tracking, "courier_estimated_delivery_date", "estimated_delivery_date"),
        tracking.get("expected_delivery"),
        _field(tracking, "aftership_estimated_delivery_date", "estimated_delivery_date"),
    )
    for candidate in candidates:
        day, at = _estimate(candidate)
        if day is not None:
            return day, at
    return None, None


# --- Shippo ------------------------------------------------------------------------------------


def parse_shippo(payload: dict) -> list[PushedUpdate]:
    """{event, test, data: Track {carrier, tracking_number, eta, tracking_status,
    tracking_history[], …}}; each status is {status, substatus{code, text}, status_details,
    status_date, location, object_id}. The current status is usually the history's last entry
    too: the apply service stores a scan once."""
    track = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(track, dict):
        raise PayloadInvalid("The event has no Track in `data`.")
    number = normalize_tracking_number(track.get("tracking_number"))
    if not number:
        raise PayloadInvalid("The Track has no `tracking_number`.")
    history = track.get("tracking_history")
    history = [] if history is None else history
    if not isinstance(history, list):
        raise PayloadInvalid("`tracking_history` is not a list.")
    current = track.get("tracking_status")
    if isinstance(current, dict) and not _shippo_listed(current, history):
        history = [*history, current]
    events = (_shippo_event(status, number) for status in history)
    day, at = _estimate(track.get("eta"))
    if at is not None and (at.hour, at.minute, at.second) == (0, 0, 0):
        at = None  # a bare date, written as midnight UTC
    return [
        PushedUpdate(
            tracking_number=number,
            carrier=_carrier(_SHIPPO_CARRIERS, track.get("carrier")),
            events=tuple(event for event in events if event is not None),
            estimated_delivery_date=day,
            estimated_delivery_at=at,
        )
    ]


def _shippo_listed(current: dict, history: list) -> bool:
    object_id = _text(current.get("object_id"))
    return bool(object_id) and any(
        isinstance(entry, dict) and _text(entry.get("object_id")) == object_id for entry in history
    )


def _shippo_event(entry: object, number: str) -> CarrierEvent | None:
    occurred_at = _timestamp(entry.get("status_date")) if isinstance(entry, dict) else None
    if occurred_at is None:
        logger.warning("shippo: %s: a status without a valid status_date; skipped", number)
        return None
    status = _text(entry.get("status"))
    substatus = entry.get("substatus") if isinstance(entry.get("substatus"), dict) else {}
    code = _text(substatus.get("code"))
    message = _text(entry.get("status_details")) or _text(substatus.get("text"))
    place = entry.get("location")
    place = place if isinstance(place, dict) else {}
    return _event(
        occurred_at, _shippo_mapping(status, code), message,
        Location(city=_text(place.get("city")), state=_text(place.get("state")),
                 postal_code=_text(place.get("zip")), country=_country2(place.get("country"))),
        raw_code=f"{status}/{code}" if code else status,
        raw_description=message, raw=entry, signed_by="",
    )  # fmt: skip


# --- Shared helpers ----------------------------------------------------------------------------


def _event(
    occurred_at: datetime, mapped: Mapped, message: str, location: Location, *,
    raw_code: str, raw_description: str, raw: dict, signed_by: str,
) -> CarrierEvent:  # fmt: skip
    return CarrierEvent(
        occurred_at=occurred_at,
        status=mapped.status,
        status_detail=mapped.detail,
        event_type=event_type_for(mapped.status, mapped.detail),
        description=message or str(StatusDetail(mapped.detail).label),
        location=location,
        exception_code=mapped.exception_code,
        recipient=signed_by if mapped.status == S.DELIVERED else "",
        raw_code=raw_code,
        raw_description=raw_description,
        raw=raw,
    )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _field(container: dict, name: str, key: str) -> object:
    inner = container.get(name)
    return inner.get(key) if isinstance(inner, dict) else None


def _timestamp(value: object) -> datetime | None:
    """An ISO 8601 time in UTC. A time without a zone (AfterShip's checkpoints give the local
    time, and not always its offset) is read as UTC: wrong by the zone's offset, but the order
    of one shipment's checkpoints is kept."""
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _estimate(value: object) -> tuple[date | None, datetime | None]:
    """A delivery estimate: its day, and its moment when it names one with a zone."""
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, None
    if len(text) <= len("2026-01-31") or parsed.tzinfo is None:
        return parsed.date(), None  # a date, or a local time whose zone is unknown
    return parsed.date(), parsed.astimezone(UTC)


# ISO 3166 alpha-3 -> alpha-2 for the countries these carriers mostly scan in; anything else is
# left blank (the raw checkpoint keeps it). Cutting "MEX" to "ME" would say Montenegro.
_ALPHA2 = {
    "USA": "US", "CAN": "CA", "MEX": "MX", "PRI": "PR", "GBR": "GB", "IRL": "IE", "DEU": "DE",
    "FRA": "FR", "NLD": "NL", "BEL": "BE", "LUX": "LU", "ESP": "ES", "PRT": "PT", "ITA": "IT",
    "CHE": "CH", "AUT": "AT", "DNK": "DK", "SWE": "SE", "NOR": "NO", "FIN": "FI", "POL": "PL",
    "CZE": "CZ", "HUN": "HU", "AUS": "AU", "NZL": "NZ", "JPN": "JP", "KOR": "KR", "CHN": "CN",
    "HKG": "HK", "TWN": "TW", "SGP": "SG", "IND": "IN", "ARE": "AE", "BRA": "BR",
}  # fmt: skip


def _country2(value: object) -> str:
    code = _text(value).upper()
    if len(code) == 3:
        return _ALPHA2.get(code, "")
    return code if len(code) == 2 and code.isascii() and code.isalpha() else ""
