"""Data for the page benchmark: one order with many shipments and events, built through the
services like real traffic, and background orders written in bulk around it."""

import hashlib
from datetime import UTC, datetime, timedelta

from merchants.services import merchant_create
from orders.models import LineItem, Order, Shipment
from orders.services import (
    ItemQuantity,
    LineItemInput,
    OrderInput,
    ShipmentInput,
    order_create_or_update,
    shipment_confirm,
)
from tracking.models import TrackingEvent

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CITIES = [("Austin", "TX"), ("Dallas", "TX"), ("Memphis", "TN"), ("Louisville", "KY"),
          ("Chicago", "IL"), ("Denver", "CO")]  # fmt: skip


def _events(shipment: Shipment, count: int) -> list[TrackingEvent]:
    events = []
    for n in range(count):
        city, state = CITIES[n % len(CITIES)]
        status = "pre_transit" if n == 0 else "delivered" if n == count - 1 else "in_transit"
        detail = {"pre_transit": "label_created", "delivered": "delivered"}.get(
            status, "arrived_at_facility" if n % 2 else "departed_facility"
        )
        key = hashlib.sha256(f"{shipment.pk}:{n}".encode()).hexdigest()
        events.append(TrackingEvent(
            shipment=shipment, occurred_at=START + timedelta(hours=n), status=status,
            status_detail=detail, event_type="DELIVERY" if status == "delivered" else "TRANSIT",
            description=detail.replace("_", " ").capitalize(), city=city, state=state,
            country="US", source="poll", raw_code=detail.upper(), dedupe_key=key,
        ))  # fmt: skip
    return events


def build_data(merchant_id: str, order_id: str, shipments: int, events: int, background: int):
    merchant = merchant_create(merchant_id=merchant_id, name="Page Bench")
    items = [LineItemInput(f"SKU-{n}", f"Item {n}", 1) for n in range(shipments)]
    order_create_or_update(merchant=merchant, data=OrderInput(
        order_id=order_id, line_items=items, customer_email="jane@example.com",
        shipping_address={"city": "Austin", "state": "TX", "country_code": "US"},
    ))  # fmt: skip
    for n in range(shipments):
        shipment = shipment_confirm(merchant=merchant, order_id=order_id, data=ShipmentInput(
            tracking_number=f"SBXDELIVERED{n:06d}", carrier="sandbox",
            items=[ItemQuantity(f"SKU-{n}", 1)],
        )).instance  # fmt: skip
        TrackingEvent.objects.bulk_create(_events(shipment, events))
        Shipment.objects.filter(pk=shipment.pk).update(status="delivered", next_check_at=None)
    _background(merchant, background)
    return {
        "orders": Order.objects.count(),
        "shipments": Shipment.objects.count(),
        "events": TrackingEvent.objects.count(),
    }


def _background(merchant, count: int, chunk: int = 2_000) -> None:
    """Orders with one line item, one shipment and ten events each, in bulk."""
    for first in range(0, count, chunk):
        orders = Order.objects.bulk_create(
            Order(merchant=merchant, order_id=f"BG-{n}", customer_email=f"c{n}@example.com",
                  city="Austin", state="TX", country_code="US", status="shipped")
            for n in range(first, min(first + chunk, count))
        )  # fmt: skip
        LineItem.objects.bulk_create(
            LineItem(order=o, item_id="SKU", name="Item", quantity_ordered=1, quantity_shipped=1)
            for o in orders
        )
        shipments = Shipment.objects.bulk_create(
            Shipment(merchant=merchant, order=o, carrier="sandbox", status="in_transit",
                     tracking_number=f"SBXLOST{o.pk:09d}")
            for o in orders
        )  # fmt: skip
        TrackingEvent.objects.bulk_create(
            event for shipment in shipments for event in _events(shipment, 10)
        )
