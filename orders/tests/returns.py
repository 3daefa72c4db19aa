"""What the returns tests share: a merchant's policy and an order delivered to the customer."""

from datetime import datetime

from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.models import Merchant, ReturnPolicy, ReturnReason
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events


def policy_for(merchant: Merchant, **overrides) -> ReturnPolicy:
    values = {"is_enabled": True, "window_days": 30, "exchange_allowed": True}
    policy = ReturnPolicy.objects.create(merchant=merchant, **{**values, **overrides})
    ReturnReason.objects.create(
        policy=policy, code="too-small", labels={"en": "Too small", "fr": "Trop petit"}
    )
    ReturnReason.objects.create(policy=policy, code="damaged", labels={"en": "Arrived damaged"})
    return policy


def deliver(shipment: Shipment, at: datetime | None = None) -> Shipment:
    """The carrier reports `shipment` delivered at `at` (now by default)."""
    event = CarrierEvent(occurred_at=at or timezone.now(), status="delivered",
                         status_detail="delivered", event_type="DELIVERY",
                         description="Delivered")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")
    shipment.refresh_from_db()
    return shipment


def delivered_order(merchant: Merchant, order_id: str = "1001", at=None, **order) -> Order:
    """Order `order_id` (2 × MUG, 1 × TOWEL), shipped in one package delivered at `at`."""
    create_order(merchant, order_id, **order)
    shipment = ship(merchant, order_id, f"SBXDELIVERED{order_id}", ("MUG", 2), ("TOWEL", 1))
    deliver(shipment.instance, at)
    return Order.objects.get(merchant=merchant, order_id=order_id)
