"""Data for the page benchmark, in the generated database (bench/generate.py): one order of Fred's
Discount City with many shipments and events, built through the services like real traffic, and a
sample of the generated orders to visit at random."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

from django.db.models import Count

from merchants.models import Merchant
from orders.models import Order, Shipment
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


def big_order_ensure(
    merchant_id: str, order_id: str, shipments: int, events: int, *, numbers_from: int = 0
) -> None:
    """The merchant's order `order_id` with `shipments` delivered shipments of `events` events
    each (tracking numbers counted from `numbers_from`); made once, then kept with the generated
    data."""
    merchant = Merchant.objects.get(merchant_id=merchant_id)
    if Order.objects.filter(merchant=merchant, order_id=order_id).exists():
        return
    items = [LineItemInput(f"SKU-{n}", f"Item {n}", 1) for n in range(shipments)]
    order_create_or_update(merchant=merchant, data=OrderInput(
        order_id=order_id, line_items=items, customer_email="jane@example.com",
        shipping_address={"city": "Austin", "state": "TX", "country_code": "US"},
    ))  # fmt: skip
    for n in range(shipments):
        shipment = shipment_confirm(merchant=merchant, order_id=order_id, data=ShipmentInput(
            tracking_number=f"SBXDELIVERED9{numbers_from + n:07d}", carrier="sandbox",
            items=[ItemQuantity(f"SKU-{n}", 1)],
        )).instance  # fmt: skip
        TrackingEvent.objects.bulk_create(_events(shipment, events))
        Shipment.objects.filter(pk=shipment.pk).update(status="delivered", next_check_at=None)


def page_sample(count: int, seed: int = 3) -> list[str]:
    """Paths of `count` generated orders with at least one shipment, picked at random over the
    whole table (TABLESAMPLE), so most visits read pages PostgreSQL has not cached for them."""
    sampled = Order.objects.raw(
        "SELECT id FROM orders_order TABLESAMPLE SYSTEM (1) REPEATABLE (%s)", [seed]
    )
    ids = [order.pk for order in sampled]
    random.Random(seed).shuffle(ids)
    orders = (
        Order.objects.filter(pk__in=ids[: count * 2])
        .annotate(shipment_count=Count("shipments"))
        .filter(shipment_count__gt=0)
        .select_related("merchant")
    )
    return [f"/orders/{order.merchant.merchant_id}/{order.order_id}" for order in orders][:count]


def database_counts() -> dict[str, int]:
    return {
        "orders": Order.objects.count(),
        "shipments": Shipment.objects.count(),
        "events": TrackingEvent.objects.count(),
    }
