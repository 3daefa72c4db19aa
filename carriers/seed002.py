"""Seed 002's status vocabulary (API.md "The seed-002 style tracking API"), read off ours: one
function, used by every answer and webhook in that style."""

from carriers.vocabulary import Status, StatusDetail

SEED002_STATUSES = (
    "LABEL_CREATED", "PICKUP_SCHEDULED", "PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY",
    "DELIVERED", "EXCEPTION", "RETURNED",
)  # fmt: skip

_BY_STATUS = {
    Status.UNKNOWN: "LABEL_CREATED",
    Status.PRE_TRANSIT: "LABEL_CREATED",
    Status.IN_TRANSIT: "IN_TRANSIT",
    Status.AVAILABLE_FOR_PICKUP: "IN_TRANSIT",
    Status.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    Status.DELIVERED: "DELIVERED",
    Status.FAILED_ATTEMPT: "EXCEPTION",
    Status.EXCEPTION: "EXCEPTION",
    Status.RETURN_TO_SENDER: "RETURNED",
    Status.CANCELLED: "EXCEPTION",  # its statusDescription says which
    Status.EXPIRED: "EXCEPTION",
}
_BY_DETAIL = {
    (Status.PRE_TRANSIT, StatusDetail.PICKUP_SCHEDULED): "PICKUP_SCHEDULED",
    (Status.IN_TRANSIT, StatusDetail.PICKED_UP): "PICKED_UP",
    (Status.IN_TRANSIT, StatusDetail.ACCEPTED): "PICKED_UP",
}


def seed002_status(status: str, detail: str = "") -> str:
    """Seed 002's status for one of ours and its detail."""
    return _BY_DETAIL.get((status, detail)) or _BY_STATUS[Status(status)]


def native_statuses(seed_status: str) -> set[str]:
    """Our statuses that seed 002's `seed_status` covers (a filter by it), whatever the detail."""
    return {str(ours) for ours, theirs in _BY_STATUS.items() if theirs == seed_status} | {
        str(ours) for (ours, _detail), theirs in _BY_DETAIL.items() if theirs == seed_status
    }


def seed002_place(city: str, state: str, postal_code: str, country: str) -> dict | None:
    """A place as seed 002 writes it (null when nothing is known of it)."""
    if not (city or state or postal_code or country):
        return None
    address = ", ".join(part for part in (city, f"{state} {postal_code}".strip()) if part)
    return {
        "address": address or None,
        "city": city or None,
        "state": state or None,
        "postalCode": postal_code or None,
        "country": country or None,
    }


def seed002_event(event: dict, tracking_number: str) -> dict:
    """One of our tracking events (API.md's native event object) as seed 002 shows it: the
    answers of its style and its webhooks' `data.events` alike."""
    place = event.get("location") or {}
    return {
        "eventId": event["eventId"],
        "shipmentId": event["shipmentId"],
        "trackingNumber": tracking_number,
        "timestamp": event["timestamp"],
        "status": seed002_status(event["status"], event["statusDetail"]),
        "eventType": event["eventType"],
        "description": event["description"],
        "location": seed002_place(place.get("city", ""), place.get("state", ""),
                                  place.get("postalCode", ""), place.get("country", "")),
        "facilityType": None,
        "exceptionCode": event["exceptionCode"],
        "exceptionReason": event["exceptionReason"],
        "recipient": event["recipient"],
        "signature": event["signatureUrl"],
    }  # fmt: skip
