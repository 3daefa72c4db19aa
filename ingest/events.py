"""The event vocabulary (API.md `/events`), declared once: each type's `data`, as its endpoint's
input serializer validates it, and the one function that turns it into an orders.services Change.
The API, the events envelope, the channels and the format dictionary checker all read it here."""

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import serializers

from flextracker.api.views import validated
from ingest.api.serializers import (
    BackorderInputSerializer,
    CancellationInputSerializer,
    OrderInputSerializer,
    ShipmentInputSerializer,
    item_quantities,
)
from orders.services import Backorder, Cancellation, Change, ShipmentConfirmation


def order_created(data: dict, _order_id: str | None) -> Change:
    return OrderInputSerializer.to_input(data)


def shipment_confirmed(data: dict, order_id: str) -> Change:
    return ShipmentConfirmation(order_id, ShipmentInputSerializer.to_input(data))


def order_cancelled(data: dict, order_id: str) -> Change:
    items = item_quantities(data["items"]) if "items" in data else None
    return Cancellation(order_id, items, data["reason"])


def items_backordered(data: dict, order_id: str) -> Change:
    return Backorder(order_id, item_quantities(data["items"]))


@dataclass(frozen=True, slots=True)
class EventType:
    serializer: type[serializers.Serializer]  # validates `data` (an endpoint's body)
    entity: str  # names its errors: MISSING_<ENTITY>_DATA, INVALID_<ENTITY>_DATA
    addresses_order: bool  # an existing order, named apart from `data` (URL, data.orderId)
    change: Callable[[dict, str | None], Change]  # validated data, the order id → its Change


EVENT_TYPES: dict[str, EventType] = {
    "order.created": EventType(OrderInputSerializer, "ORDER", False, order_created),
    "shipment.confirmed": EventType(ShipmentInputSerializer, "SHIPMENT", True, shipment_confirmed),
    "order.cancelled": EventType(CancellationInputSerializer, "ORDER", True, order_cancelled),
    "items.backordered": EventType(BackorderInputSerializer, "ORDER", True, items_backordered),
}


def event_change(event_type: str, data, order_id: str | None = None) -> Change:
    """The Change an event's raw `data` means (ApiError when it is not valid)."""
    known = EVENT_TYPES[event_type]
    return known.change(validated(known.serializer, data, known.entity), order_id)
