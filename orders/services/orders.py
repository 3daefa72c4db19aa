"""Every write to orders, line items and shipments. The API, the events envelope and every other
channel call these; there is exactly one implementation of each rule.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from flextracker.errors import InvalidData, NotFound
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from notifications.services import order_event
from orders.links import tracking_page_url
from orders.models import (
    ItemBackorder,
    ItemCancellation,
    LineItem,
    Order,
    OrderStatus,
    Shipment,
    ShipmentItem,
)
from tracking.carriers.detection import detect_carrier, normalize_tracking_number
from tracking.carriers.vocabulary import CarrierCode, Status

WARNING_ORDER_NOT_YET_RECEIVED = "ORDER_NOT_YET_RECEIVED"
WARNING_CARRIER_NOT_TRACKED = "CARRIER_NOT_TRACKED"


@dataclass(frozen=True, slots=True)
class LineItemInput:
    item_id: str
    name: str
    quantity: int
    description: str = ""
    price: Decimal | None = None
    image_url: str = ""


@dataclass(frozen=True, slots=True)
class OrderInput:
    order_id: str
    line_items: Sequence[LineItemInput]
    order_date: datetime | None = None
    customer_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    shipping_address: dict[str, str] = field(default_factory=dict)
    locale: str = ""
    currency: str = ""
    order_value: Decimal | None = None
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemQuantity:
    item_id: str
    quantity: int
    expected_date: date | None = None


@dataclass(frozen=True, slots=True)
class ShipmentInput:
    tracking_number: str
    items: Sequence[ItemQuantity]
    carrier: str = ""
    service: str = ""
    shipped_at: datetime | None = None
    estimated_delivery_date: date | None = None


@dataclass(slots=True)
class Outcome:
    """What a write did: the object, whether it is new, and warnings for the envelope."""

    instance: object
    created: bool
    warnings: list[dict[str, str]] = field(default_factory=list)


ADDRESS_FIELDS = ("street1", "street2", "city", "state", "postal_code", "country_code")


def phone_digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _order_lock_or_create(merchant: Merchant, order_id: str) -> tuple[Order, bool]:
    """The order row, locked for this transaction; a placeholder when it is not known yet.

    Two requests racing to create the same order meet at the unique constraint: the loser's
    insert fails inside a savepoint and it reads the winner's row instead.
    """
    order = Order.objects.select_for_update().filter(merchant=merchant, order_id=order_id).first()
    if order is not None:
        return order, False
    try:
        with transaction.atomic():
            return Order.objects.create(
                merchant=merchant, order_id=order_id, is_placeholder=True
            ), True
    except IntegrityError:
        return Order.objects.select_for_update().get(merchant=merchant, order_id=order_id), False


def _locked_line_items(order: Order) -> dict[str, LineItem]:
    return {item.item_id: item for item in order.line_items.select_for_update().order_by("pk")}


@transaction.atomic
def order_create_or_update(*, merchant: Merchant, data: OrderInput) -> Outcome:
    """Creates the order or updates it in place; fills in a placeholder made by an earlier
    shipment or cancellation. Quantities cannot drop below what was shipped or cancelled."""
    order, _inserted = _order_lock_or_create(merchant, data.order_id)
    created = _inserted or order.is_placeholder
    order.order_date = data.order_date
    order.customer_name = data.customer_name
    order.customer_email = data.customer_email.strip().lower()
    order.customer_phone = data.customer_phone
    order.customer_phone_digits = phone_digits(data.customer_phone)
    for name in ADDRESS_FIELDS:
        setattr(order, name, data.shipping_address.get(name, ""))
    order.locale = data.locale
    order.currency = data.currency
    order.order_value = data.order_value
    order.attributes = data.attributes
    order.is_placeholder = False
    order.save()
    _line_items_replace(order, data.line_items)
    order_refresh_status(order)
    if created:
        items = [{"itemId": item.item_id, "name": item.name, "quantity": item.quantity_ordered}
                 for item in order.line_items.all()]  # fmt: skip
        order_event(order=order, event="order.created", data=order_event_data(order, items))
    return Outcome(order, created)


def order_event_data(order: Order, items: list[dict], **extra) -> dict:
    """`data` of an order's webhook event: `{"orderId", "status", "items": [{"itemId", "name",
    "quantity", …}], "links": {"trackingPage"}}` — `items` being what the event is about (all
    line items for order.created, the units cancelled or backordered for the others)."""
    return {
        "orderId": order.order_id, "status": order.status, "items": items, **extra,
        "links": {"trackingPage": tracking_page_url(order)},
    }  # fmt: skip


def _line_items_replace(order: Order, line_items: Sequence[LineItemInput]) -> None:
    existing = _locked_line_items(order)
    errors: dict[str, list[str]] = {}
    for position, item_input in enumerate(line_items):
        item = existing.pop(item_input.item_id, None) or LineItem(
            order=order, item_id=item_input.item_id
        )
        done = item.quantity_shipped + item.quantity_cancelled
        if item_input.quantity < done:
            errors[f"lineItems[{position}].quantity"] = [
                f"{done} of this item were already shipped or cancelled."
            ]
            continue
        item.name = item_input.name
        item.description = item_input.description
        item.price = item_input.price
        item.image_url = item_input.image_url
        item.position = position
        item.quantity_ordered = item_input.quantity
        if order.cancelled_at and item.pk is None:
            item.quantity_cancelled = item.quantity_ordered  # the whole order was cancelled first
        item.quantity_backordered = min(item.quantity_backordered, item.quantity_awaiting_shipment)
        item.save()
    if errors:
        raise InvalidData(
            "An item's quantity is less than what was already shipped or cancelled.",
            code="INVALID_ORDER_DATA",
            fields=errors,
        )
    # Items the OMS dropped from the order go, unless something already happened to them.
    LineItem.objects.filter(
        pk__in=[item.pk for item in existing.values()], quantity_shipped=0, quantity_cancelled=0
    ).delete()


def carrier_resolve(*, carrier: str, tracking_number: str) -> str:
    """The OMS's carrier wins; without one the number must identify its carrier by itself."""
    if carrier:
        if carrier not in CarrierCode.values:
            raise InvalidData(
                f"Unknown carrier '{carrier}'.",
                code="INVALID_SHIPMENT_DATA",
                fields={"carrier": [f"Use one of: {', '.join(CarrierCode.values)}."]},
            )
        return carrier
    detected = detect_carrier(tracking_number)
    if detected.carrier is None:
        reason = (
            "could belong to several carriers: "
            + ", ".join(candidate.carrier for candidate in detected.candidates)
            if detected.candidates
            else "matches no carrier's format"
        )
        raise InvalidData(
            f"Cannot tell the carrier: the tracking number {reason}. Send `carrier`.",
            code="INVALID_SHIPMENT_DATA",
            fields={"carrier": ["Required when the carrier cannot be detected."]},
            details={"candidates": [candidate.carrier for candidate in detected.candidates]},
        )
    return detected.carrier


@transaction.atomic
def shipment_confirm(*, merchant: Merchant, order_id: str, data: ShipmentInput) -> Outcome:
    """Records a shipment of some of an order's items (split shipments welcome).

    The same tracking number again updates the shipment; shipping more of an item than was
    ordered minus already shipped or cancelled is refused.
    """
    tracking_number = normalize_tracking_number(data.tracking_number)
    carrier = carrier_resolve(carrier=data.carrier, tracking_number=tracking_number)
    order, _inserted = _order_lock_or_create(merchant, order_id)
    warnings = []
    if order.is_placeholder:
        warnings.append(_order_not_yet_received_warning(order_id))
    shipment, created = _shipment_lock_or_create(merchant, order, carrier, tracking_number)
    line_items = _locked_line_items(order)
    if order.is_placeholder:
        _placeholder_line_items_add(order, line_items, data.items)
    _shipment_items_apply(shipment, line_items, data.items)
    shipment.service = data.service or shipment.service
    shipment.shipped_at = data.shipped_at or shipment.shipped_at or timezone.now()
    shipment.estimated_delivery_date = (
        data.estimated_delivery_date or shipment.estimated_delivery_date
    )
    if carrier not in tracked_carriers(merchant):
        warnings.append(carrier_not_tracked_warning(carrier))
    elif created:
        shipment.next_check_at = timezone.now()  # ask the carrier at the next poll round
    shipment.save()
    order_refresh_status(order)
    if created:
        order_event(order=order, event="shipment.created", shipment=shipment, data={
            "orderId": order_id, "trackingNumber": tracking_number, "carrier": carrier,
            "service": shipment.service,
            "items": [{"itemId": item.item_id, "quantity": item.quantity} for item in data.items],
        })  # fmt: skip
    return Outcome(shipment, created, warnings)


def carrier_not_tracked_warning(carrier: str) -> dict[str, str]:
    return {
        "code": WARNING_CARRIER_NOT_TRACKED,
        "message": f"We cannot poll {carrier} for this merchant; the tracking page shows the"
        " shipment as sent, with the carrier's own tracking link.",
    }


def _order_not_yet_received_warning(order_id: str) -> dict[str, str]:
    return {
        "code": WARNING_ORDER_NOT_YET_RECEIVED,
        "message": f"Order {order_id} is not known yet; kept as a placeholder until it arrives.",
    }


def _shipment_lock_or_create(
    merchant: Merchant, order: Order, carrier: str, tracking_number: str
) -> tuple[Shipment, bool]:
    lookup = {"merchant": merchant, "carrier": carrier, "tracking_number": tracking_number}
    shipment = Shipment.objects.select_for_update().filter(**lookup).first()
    created = False
    if shipment is None:
        try:
            with transaction.atomic():
                shipment, created = Shipment.objects.create(order=order, **lookup), True
        except IntegrityError:
            shipment = Shipment.objects.select_for_update().get(**lookup)
    if shipment.order_id is None:
        shipment.order = order  # a tracker followed it first; the OMS now names its order
    elif shipment.order_id != order.pk:
        raise InvalidData(
            f"Tracking number {tracking_number} already belongs to another order.",
            code="INVALID_SHIPMENT_DATA",
            fields={"trackingNumber": ["Already used by another order."]},
        )
    return shipment, created


def _placeholder_line_items_add(
    order: Order, line_items: dict[str, LineItem], items: Sequence[ItemQuantity]
) -> None:
    """Until the order arrives, each shipped item counts as ordered in the quantity shipped."""
    for item in items:
        if item.item_id not in line_items:
            line_items[item.item_id] = LineItem.objects.create(
                order=order, item_id=item.item_id, name=item.item_id, quantity_ordered=0
            )
        line_item = line_items[item.item_id]
        line_item.quantity_ordered += item.quantity


def _shipment_items_apply(
    shipment: Shipment, line_items: dict[str, LineItem], items: Sequence[ItemQuantity]
) -> None:
    """Sets the shipment's items to `items`, moving each line item's shipped counter by the
    difference (so re-posting the same shipment changes nothing)."""
    already = {si.line_item_id: si for si in shipment.items.all()}
    errors: dict[str, list[str]] = {}
    for position, item in enumerate(items):
        line_item = line_items.get(item.item_id)
        if line_item is None:
            errors[f"items[{position}].itemId"] = [f"Item {item.item_id} is not in this order."]
            continue
        previous = already.pop(line_item.pk, None)
        delta = item.quantity - (previous.quantity if previous else 0)
        if delta > line_item.quantity_awaiting_shipment:
            allowed = line_item.quantity_awaiting_shipment + (previous.quantity if previous else 0)
            errors[f"items[{position}].quantity"] = [
                f"Only {allowed}"
                f" of {item.item_id} can be in this shipment (ordered {line_item.quantity_ordered},"
                f" shipped {line_item.quantity_shipped}, cancelled {line_item.quantity_cancelled})."
            ]
            continue
        line_item.quantity_shipped += delta
        line_item.quantity_backordered = min(
            line_item.quantity_backordered, line_item.quantity_awaiting_shipment
        )
        line_item.save()
        ShipmentItem.objects.update_or_create(
            shipment=shipment, line_item=line_item, defaults={"quantity": item.quantity}
        )
    if errors:
        raise InvalidData(
            "The shipment's items do not match the order.",
            code="INVALID_SHIPMENT_DATA",
            fields=errors,
        )
    for dropped in already.values():
        LineItem.objects.filter(pk=dropped.line_item_id).update(
            quantity_shipped=F("quantity_shipped") - dropped.quantity
        )
        dropped.delete()


@transaction.atomic
def order_cancel(
    *, merchant: Merchant, order_id: str, items: Sequence[ItemQuantity] | None, reason: str = ""
) -> Outcome:
    """Cancels some units, or (no `items`) everything not shipped yet."""
    order, _inserted = _order_lock_or_create(merchant, order_id)
    warnings = [_order_not_yet_received_warning(order_id)] if order.is_placeholder else []
    line_items = _locked_line_items(order)
    if items is None:
        if order.cancelled_at is None:
            order.cancelled_at = timezone.now()
            order.cancel_reason = reason
            order.save(update_fields=["cancelled_at", "cancel_reason", "updated_at"])
        items = [
            ItemQuantity(item.item_id, item.quantity_awaiting_shipment)
            for item in line_items.values()
            if item.quantity_awaiting_shipment
        ]
    _check_awaiting(line_items, items, "can be cancelled", "These items cannot be cancelled.")
    cancelled = []
    for item in items:
        line_item = line_items[item.item_id]
        line_item.quantity_cancelled += item.quantity
        line_item.quantity_backordered = min(
            line_item.quantity_backordered, line_item.quantity_awaiting_shipment
        )
        line_item.save()
        cancelled.append(ItemCancellation.objects.create(
            line_item=line_item, quantity=item.quantity, reason=reason
        ))  # fmt: skip
    order_refresh_status(order)
    if cancelled:  # nothing cancelled (a repeat, or all shipped already) is no news
        units = [{"itemId": c.line_item.item_id, "name": c.line_item.name, "quantity": c.quantity}
                 for c in cancelled]  # fmt: skip
        order_event(order=order, event="order.cancelled", occurrence=str(cancelled[0].pk),
                    data=order_event_data(order, units, reason=reason))  # fmt: skip
    return Outcome(order, False, warnings)


def _check_awaiting(
    line_items: dict[str, LineItem], items: Sequence[ItemQuantity], allowed: str, summary: str
) -> None:
    """Each item is in the order and no more of it is asked for than still awaits shipment."""
    errors: dict[str, list[str]] = {}
    for position, item in enumerate(items):
        line_item = line_items.get(item.item_id)
        if line_item is None:
            errors[f"items[{position}].itemId"] = [f"Item {item.item_id} is not in this order."]
        elif item.quantity > line_item.quantity_awaiting_shipment:
            errors[f"items[{position}].quantity"] = [
                f"Only {line_item.quantity_awaiting_shipment} of {item.item_id} {allowed}."
            ]
    if errors:
        raise InvalidData(summary, code="INVALID_ORDER_DATA", fields=errors)


@transaction.atomic
def items_backorder(*, merchant: Merchant, order_id: str, items: Sequence[ItemQuantity]) -> Outcome:
    """Marks units as backordered (a current count, so a repeat changes nothing)."""
    order = Order.objects.select_for_update().filter(merchant=merchant, order_id=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} was not found.", code="ORDER_NOT_FOUND")
    line_items = _locked_line_items(order)
    _check_awaiting(line_items, items, "await shipment", "These items cannot be backordered.")
    news = []
    for item in items:
        line_item = line_items[item.item_id]
        unchanged = (line_item.quantity_backordered, line_item.backorder_expected_date) == (
            item.quantity, item.expected_date)  # fmt: skip
        line_item.quantity_backordered = item.quantity
        line_item.backorder_expected_date = item.expected_date
        line_item.save()
        backorder = ItemBackorder.objects.create(
            line_item=line_item, quantity=item.quantity, expected_date=item.expected_date
        )
        if not unchanged:
            news.append(backorder)
    order_refresh_status(order)
    if news:  # the same notice again tells the customer nothing new
        units = [{"itemId": b.line_item.item_id, "name": b.line_item.name, "quantity": b.quantity,
                  "expectedDate": b.expected_date.isoformat() if b.expected_date else None}
                 for b in news]  # fmt: skip
        order_event(order=order, event="items.backordered", occurrence=str(news[0].pk),
                    data=order_event_data(order, units))  # fmt: skip
    return Outcome(order, False)


def order_status_derive(
    *, ordered: int, cancelled: int, shipped: int, delivered: int, has_exception: bool
) -> str:
    """API.md's order status from unit counts (pure, so every rule is easy to test)."""
    active = ordered - cancelled
    if active <= 0 and ordered > 0:
        return OrderStatus.CANCELLED
    if has_exception:
        return OrderStatus.EXCEPTION
    if active > 0 and delivered >= active:
        return OrderStatus.DELIVERED
    if delivered > 0:
        return OrderStatus.PARTIALLY_DELIVERED
    if active > 0 and shipped >= active:
        return OrderStatus.SHIPPED
    if shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    return OrderStatus.RECEIVED


EXCEPTION_SHIPMENT_STATUSES = (Status.EXCEPTION, Status.RETURN_TO_SENDER)


def order_refresh_status(order: Order) -> Order:
    line_items = list(order.line_items.all())
    delivered = sum(
        ShipmentItem.objects.filter(
            shipment__order=order, shipment__status=Status.DELIVERED
        ).values_list("quantity", flat=True)
    )
    status = order_status_derive(
        ordered=sum(item.quantity_ordered for item in line_items),
        cancelled=sum(item.quantity_cancelled for item in line_items),
        shipped=sum(item.quantity_shipped for item in line_items),
        delivered=delivered,
        has_exception=order.shipments.filter(status__in=EXCEPTION_SHIPMENT_STATUSES).exists(),
    )
    if status != order.status:
        order.status = status
        order.save(update_fields=["status", "updated_at"])
    return order
