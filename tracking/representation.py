"""How the tracking endpoints render a shipment and its events: one Representation per API style
(API.md "The seed-002 style tracking API"), picked once per request by `representation_for`.
The native one is orders/representation.py's; the seed-002 one reads the same rows in seed 002's
fields and statuses (carriers/seed002.py)."""

from datetime import timedelta

from django.utils import timezone

from carriers.seed002 import seed002_event, seed002_place, seed002_status
from carriers.vocabulary import Status
from flextracker.api.envelope import iso
from flextracker.api.style import ApiStyle
from flextracker.errors import NotFound, NotYetAvailable
from orders.models import Shipment
from orders.representation import event_json, shipment_json

NOT_AVAILABLE_REASON = "Package not yet in carrier system"
DEFAULT_RETRY_AFTER = timedelta(hours=1)  # a shipment with no check planned (not polled)


def tracking_not_found(tracking_number: str, carrier: str = "") -> NotFound:
    details = {"trackingNumber": tracking_number}
    if carrier:
        details["provider"] = carrier.upper()
    return NotFound(
        f"Tracking number {tracking_number} was not found.",
        code="TRACKING_NOT_FOUND",
        details=details,
    )


class NativeRepresentation:
    """TRACKING.md's vocabulary: the tracking object of orders/representation.py."""

    style = ApiStyle.NATIVE
    pending_warning = {  # a number just followed, nothing from its carrier yet
        "code": "TRACKING_PENDING",
        "message": "Followed from now on; the carrier has reported nothing yet.",
    }

    def shipment(self, shipment: Shipment, *, tracked: set[str]) -> dict:
        return shipment_json(shipment, tracked=tracked)

    def single(self, shipment: Shipment, *, tracked: set[str]) -> dict:
        """A shipment asked for by itself (no list around it)."""
        return self.shipment(shipment, tracked=tracked)

    def listed_event(self, event) -> dict:
        """An event of the event feed: it names its shipment."""
        order = event.shipment.order
        return {
            **event_json(event, event.shipment),
            "trackingNumber": event.shipment.tracking_number,
            "orderId": order.order_id if order else None,
        }


class TrackingApiRepresentation:
    """Seed 002's object and event shapes and statuses; null where we hold no value."""

    style = ApiStyle.TRACKING_API
    pending_warning = {
        "code": "TRACKING_NOT_AVAILABLE",
        "message": "Followed from now on; tracking information not yet available.",
    }

    def shipment(self, shipment: Shipment, *, tracked: set[str] = frozenset()) -> dict:
        return {
            "shipmentId": str(shipment.public_id),
            "trackingNumber": shipment.tracking_number,
            "proNumber": None,
            "provider": shipment.carrier.upper(),
            "service": shipment.service or None,
            "status": seed002_status(shipment.status, shipment.status_detail),
            "statusDescription": _status_description(shipment),
            "estimatedDelivery": iso(
                shipment.estimated_delivery_at or shipment.estimated_delivery_date
            ),
            "actualDelivery": iso(shipment.delivered_at),
            "weight": None,
            "origin": seed002_place(shipment.origin_city, shipment.origin_state, "",
                             shipment.origin_country),
            "destination": seed002_place(shipment.destination_city, shipment.destination_state,
                                  shipment.destination_postal_code, shipment.destination_country),
            "events": [self.event(event, shipment) for event in shipment.events.all()],
            "lastUpdated": iso(shipment.updated_at),
        }  # fmt: skip

    def single(self, shipment: Shipment, *, tracked: set[str] = frozenset()) -> dict:
        """A shipment asked for by itself: TRACKING_NOT_AVAILABLE while it has no event."""
        if not shipment.events.all():
            raise _not_available(shipment)
        return self.shipment(shipment, tracked=tracked)

    def event(self, event, shipment: Shipment) -> dict:
        return seed002_event(event_json(event, shipment), shipment.tracking_number)

    def listed_event(self, event) -> dict:
        order = event.shipment.order
        return {**self.event(event, event.shipment), "orderId": order.order_id if order else None}


Representation = NativeRepresentation | TrackingApiRepresentation
NATIVE = NativeRepresentation()
SEED002 = TrackingApiRepresentation()
REPRESENTATIONS = {ApiStyle.NATIVE: NATIVE, ApiStyle.TRACKING_API: SEED002}


def representation_for(style: str) -> Representation:
    return REPRESENTATIONS[ApiStyle(style)]


def proof_of_delivery(shipment: Shipment) -> dict | None:
    """Who signed for a delivered shipment, from its newest delivery event."""
    if shipment.status != Status.DELIVERED:
        return None
    delivery = next((e for e in shipment.events.all() if e.status == Status.DELIVERED), None)
    return {
        "deliveredAt": iso(shipment.delivered_at),
        "recipient": (delivery.recipient if delivery else "") or None,
        "signature": (delivery.signature_url if delivery else "") or None,
    }


def _status_description(shipment: Shipment) -> str:
    label = str(Status(shipment.status).label)
    description = shipment.status_description or label
    if shipment.status in (Status.CANCELLED, Status.EXPIRED) and description != label:
        return f"{label}: {description}"  # both answer EXCEPTION: say which
    return description


def _not_available(shipment: Shipment) -> NotYetAvailable:
    next_check = shipment.next_check_at
    wait = (next_check - timezone.now()) if next_check else DEFAULT_RETRY_AFTER
    return NotYetAvailable(
        "Tracking information not yet available",
        reason=NOT_AVAILABLE_REASON,
        retry_after=max(1, int(wait.total_seconds())),
    )
