"""What the customer tracking page shows, as plain data: built from an order, or from demo data
for a branding preview before the merchant has orders. The template only renders this."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, Shipment
from tracking.carriers.links import public_tracking_url
from tracking.carriers.vocabulary import CarrierCode, Status

# The progress bar's steps; other statuses show a banner instead of moving the bar.
PROGRESS_STEPS = (Status.PRE_TRANSIT, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERED)
PROGRESS_POSITION = {
    Status.UNKNOWN: 0,
    Status.PRE_TRANSIT: 1,
    Status.IN_TRANSIT: 2,
    Status.FAILED_ATTEMPT: 2,
    Status.EXCEPTION: 2,
    Status.AVAILABLE_FOR_PICKUP: 3,
    Status.OUT_FOR_DELIVERY: 3,
    Status.DELIVERED: 4,
}


@dataclass(frozen=True, slots=True)
class ItemLine:
    name: str
    quantity: int
    image_url: str = ""
    expected_date: date | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    occurred_at: datetime
    description: str
    place: str
    status: str


@dataclass(frozen=True, slots=True)
class ShipmentCard:
    carrier: str
    carrier_name: str
    tracking_number: str
    tracking_url: str
    status: str
    status_label: str
    progress: int
    estimated_delivery: date | None
    delivered_at: datetime | None
    is_delayed: bool
    items: list[ItemLine]
    timeline: list[TimelineEntry]


@dataclass(frozen=True, slots=True)
class OrderPage:
    order_id: str
    order_date: datetime | None
    destination: str
    shipments: list[ShipmentCard]
    awaiting: list[ItemLine] = field(default_factory=list)
    backordered: list[ItemLine] = field(default_factory=list)
    cancelled: list[ItemLine] = field(default_factory=list)
    progress_steps: tuple = PROGRESS_STEPS


def _place(city: str, state: str, country: str) -> str:
    return ", ".join(part for part in (city, state, country) if part)


def _shipment_card(shipment: Shipment) -> ShipmentCard:
    return ShipmentCard(
        carrier=shipment.carrier,
        carrier_name=shipment.get_carrier_display(),
        tracking_number=shipment.tracking_number,
        tracking_url=public_tracking_url(shipment.carrier, shipment.tracking_number),
        status=shipment.status,
        status_label=shipment.get_status_display(),
        progress=PROGRESS_POSITION.get(shipment.status, 0),
        estimated_delivery=shipment.estimated_delivery_date,
        delivered_at=shipment.delivered_at,
        is_delayed=shipment.is_delayed,
        items=[
            ItemLine(si.line_item.name, si.quantity, si.line_item.image_url)
            for si in shipment.items.all()
        ],
        timeline=[
            TimelineEntry(
                event.occurred_at,
                event.description or event.get_status_display(),
                _place(event.city, event.state, event.country),
                event.status,
            )
            for event in shipment.events.all()
        ],
    )


def page_for_order(order: Order, tracking_number: str | None = None) -> OrderPage:
    """The page for a prefetched order (orders.selectors), optionally one shipment only."""
    shipments = [
        s
        for s in order.shipments.all()
        if not tracking_number or s.tracking_number == tracking_number
    ]
    line_items = list(order.line_items.all())
    return OrderPage(
        order_id=order.order_id,
        order_date=order.order_date,
        destination=_place(order.city, order.state, order.country_code),
        shipments=[_shipment_card(s) for s in shipments],
        awaiting=[
            ItemLine(i.name, i.quantity_awaiting_shipment - i.quantity_backordered, i.image_url)
            for i in line_items
            if i.quantity_awaiting_shipment - i.quantity_backordered > 0
        ],
        backordered=[
            ItemLine(i.name, i.quantity_backordered, i.image_url, i.backorder_expected_date)
            for i in line_items
            if i.quantity_backordered
        ],
        cancelled=[
            ItemLine(i.name, i.quantity_cancelled, i.image_url)
            for i in line_items
            if i.quantity_cancelled
        ],
    )


def demo_page() -> OrderPage:
    """A believable split order for previewing a branding template with no orders yet."""
    now = timezone.now()
    in_transit = ShipmentCard(
        carrier=CarrierCode.UPS,
        carrier_name="UPS",
        tracking_number="1Z5R89390357567127",
        tracking_url=public_tracking_url(CarrierCode.UPS, "1Z5R89390357567127"),
        status=Status.IN_TRANSIT,
        status_label=Status.IN_TRANSIT.label,
        progress=2,
        estimated_delivery=(now + timedelta(days=2)).date(),
        delivered_at=None,
        is_delayed=False,
        items=[ItemLine(_("Blue mug"), 2)],
        timeline=[
            TimelineEntry(
                now - timedelta(hours=3), _("Departed facility"), "Dallas, TX, US", "in_transit"
            ),
            TimelineEntry(
                now - timedelta(hours=20), _("Picked up"), "Austin, TX, US", "in_transit"
            ),
        ],
    )
    delivered = ShipmentCard(
        carrier=CarrierCode.USPS,
        carrier_name="USPS",
        tracking_number="9400111899223197428490",
        tracking_url=public_tracking_url(CarrierCode.USPS, "9400111899223197428490"),
        status=Status.DELIVERED,
        status_label=Status.DELIVERED.label,
        progress=4,
        estimated_delivery=None,
        delivered_at=now - timedelta(days=1),
        is_delayed=False,
        items=[ItemLine(_("Tea towel"), 1)],
        timeline=[
            TimelineEntry(
                now - timedelta(days=1), _("Delivered, front door"), "Denver, CO, US", "delivered"
            ),
        ],
    )
    return OrderPage(
        order_id="DEMO-1001",
        order_date=now - timedelta(days=3),
        destination="Denver, CO, US",
        shipments=[in_transit, delivered],
        awaiting=[ItemLine(_("Cake stand"), 1)],
    )
