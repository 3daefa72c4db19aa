"""Every write to orders, line items and shipments. The API, the events envelope and every other
channel call these; there is exactly one implementation of each rule.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from carriers.detection import detect_carrier, normalize_tracking_number
from carriers.vocabulary import CarrierCode, Status
from flextracker.db import rows_update
from flextracker.errors import ApiError, InvalidData, NotFound
from merchants.models import Merchant
from notifications.channels.sms import e164
from orders.links import tracking_page_url
from orders.models import (
    ItemBackorder,
    ItemCancellation,
    LineItem,
    Order,
    OrderStatus,
    Shipment,
    ShipmentDirection,
    ShipmentItem,
)
from orders.search import name_folded
from orders.selectors import order_destination_country
from orders.services.carriers import carrier_break_tie
from orders.services.ledger import Ledger

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
    returnable: bool = True  # the OMS's flag: False, never returnable


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
    source_reference: str = ""  # the platform's id of it (a Shopify fulfillment's)


@dataclass(frozen=True, slots=True)
class ShipmentConfirmation:
    order_id: str
    data: ShipmentInput


@dataclass(frozen=True, slots=True)
class Cancellation:
    order_id: str
    items: Sequence[ItemQuantity] | None  # None: everything not shipped yet
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Backorder:
    order_id: str
    items: Sequence[ItemQuantity]


# What an OMS can tell us about an order; `changes_apply` applies any sequence of them.
Change = OrderInput | ShipmentConfirmation | Cancellation | Backorder


@dataclass(slots=True)
class Outcome:
    """What a write did: the object, whether it is new, and warnings for the envelope;
    `details` shows the order's line items and shipments as they were just after it."""

    instance: object
    created: bool
    warnings: list[dict[str, str]] = field(default_factory=list)
    details: Ledger | None = None


ADDRESS_FIELDS = ("street1", "street2", "city", "state", "postal_code", "country_code")
RETRIES_ON_CONFLICT = 2


def phone_digits(phone: str, country_code: str = "") -> str:
    """What search matches a phone on: the digits of its international form, the number read in
    the order's country ("06 12 34 56 78" in FR and "+33 6 12 34 56 78" are both "33612345678");
    the digits as given when it is not a valid number, so that it is still found."""
    return re.sub(r"\D", "", e164(phone, region=country_code) or phone)


# --- Applying changes: one, or a batch -----------------------------------------------------


def order_create_or_update(*, merchant: Merchant, data: OrderInput) -> Outcome:
    """Creates the order or updates it in place; fills in a placeholder made by an earlier
    shipment or cancellation. Quantities cannot drop below what was shipped or cancelled."""
    return change_apply(merchant=merchant, change=data)


def shipment_confirm(*, merchant: Merchant, order_id: str, data: ShipmentInput) -> Outcome:
    """Records a shipment of some of an order's items (split shipments welcome).

    The same tracking number again updates the shipment; shipping more of an item than was
    ordered minus already shipped or cancelled is refused.
    """
    return change_apply(merchant=merchant, change=ShipmentConfirmation(order_id, data))


def order_cancel(
    *, merchant: Merchant, order_id: str, items: Sequence[ItemQuantity] | None, reason: str = ""
) -> Outcome:
    """Cancels some units, or (no `items`) everything not shipped yet."""
    return change_apply(merchant=merchant, change=Cancellation(order_id, items, reason))


def items_backorder(*, merchant: Merchant, order_id: str, items: Sequence[ItemQuantity]) -> Outcome:
    """Marks units as backordered (a current count, so a repeat changes nothing)."""
    return change_apply(merchant=merchant, change=Backorder(order_id, items))


def change_apply(*, merchant: Merchant, change: Change) -> Outcome:
    """One change, all or nothing; a refused change raises its error."""
    [result] = changes_apply(merchant=merchant, changes=[change])
    if isinstance(result, Exception):
        raise result
    return result


OnApplied = Callable[[int, Outcome], None]


def changes_apply(
    *,
    merchant: Merchant,
    changes: Sequence[Change | ApiError],
    event_ids: Sequence[str | None] | None = None,
    on_applied: OnApplied | None = None,
) -> list[Outcome | Exception | None]:
    """Applies the changes in order, each on its own: a result per change — its Outcome, the
    error that refused it (nothing of it is written), or None when its event id (`event_ids`,
    remembered with the effect) was applied before. An ApiError given as a change is its result
    unless the event is such a repeat. `on_applied(index, outcome)` runs right after each change,
    while the ledger shows the orders as that change left them.

    The rows all changes touch are read and locked in a few queries and written back in a few
    statements. A conflict with a concurrent request (a unique constraint) replays the whole set
    once it committed; a batch still failing is applied one change at a time."""
    event_ids = list(event_ids) if event_ids is not None else [None] * len(changes)
    for attempt in range(RETRIES_ON_CONFLICT):
        try:
            with transaction.atomic():
                return _apply(merchant, changes, event_ids, on_applied)
        except IntegrityError:
            if len(changes) == 1 and attempt == RETRIES_ON_CONFLICT - 1:
                raise
        except Exception:
            if len(changes) == 1:
                raise
            break
    return [
        _apply_alone(merchant, change, event_id, on_applied, index)
        for index, (change, event_id) in enumerate(zip(changes, event_ids, strict=True))
    ]


def _apply_alone(merchant, change, event_id, on_applied, index) -> Outcome | Exception | None:
    def shifted(_index: int, outcome: Outcome) -> None:
        on_applied(index, outcome)

    try:
        [result] = changes_apply(
            merchant=merchant, changes=[change], event_ids=[event_id],
            on_applied=shifted if on_applied else None,
        )  # fmt: skip
    except Exception as error:  # this change's failure must not stop the others
        return error
    return result


def _apply(merchant, changes, event_ids, on_applied) -> list[Outcome | Exception | None]:
    keys: dict[int, tuple[str, str] | ApiError] = {}
    for index, change in enumerate(changes):
        if isinstance(change, ShipmentConfirmation):
            try:
                keys[index] = _shipment_key(merchant, change, changes)
            except ApiError as error:
                keys[index] = error
    ledger = Ledger(
        merchant,
        order_ids=[change.order_id for change in changes if not isinstance(change, Exception)],
        shipment_keys=[key for key in keys.values() if isinstance(key, tuple)],
        event_ids=[event_id for event_id in event_ids if event_id],
    )
    results: list[Outcome | Exception | None] = []
    for index, (change, event_id) in enumerate(zip(changes, event_ids, strict=True)):
        if event_id and event_id in ledger.processed_event_ids:
            results.append(None)
            continue
        try:
            if isinstance(change, Exception):
                raise change
            outcome = _RULES[type(change)](ledger, change, keys.get(index))
        except ApiError as error:
            results.append(error)
            continue
        if event_id:
            ledger.processed_event_add(event_id)
        outcome.details = ledger
        results.append(outcome)
        if on_applied is not None:
            on_applied(index, outcome)
    ledger.flush()
    return results


def _new_order(ledger: Ledger, order_id: str) -> Order:
    """A placeholder until the order itself arrives (API.md "out of order")."""
    order = Order(merchant=ledger.merchant, order_id=order_id, is_placeholder=True)
    ledger.save(order)
    return ledger.order_add(order)


# --- Orders ----------------------------------------------------------------------------------


def _order_create_or_update(ledger: Ledger, data: OrderInput, _key=None) -> Outcome:
    order = ledger.order(data.order_id)
    _line_items_check(ledger.line_items(order) if order else {}, data.line_items)
    filled_in = order is not None and order.is_placeholder
    created = order is None or filled_in
    order = order or _new_order(ledger, data.order_id)
    order.order_date = data.order_date
    order.customer_name = data.customer_name
    order.customer_name_search = name_folded(data.customer_name)
    order.customer_email = data.customer_email.strip().lower()
    order.customer_phone = data.customer_phone
    for name in ADDRESS_FIELDS:
        setattr(order, name, data.shipping_address.get(name, ""))
    order.customer_phone_digits = phone_digits(data.customer_phone, order.country_code)
    order.locale = data.locale
    order.currency = data.currency
    order.order_value = data.order_value
    order.attributes = data.attributes
    order.is_placeholder = False
    ledger.save(order)
    _line_items_replace(ledger, order, data.line_items)
    _order_status_refresh(ledger, order)
    if created:
        items = [{"itemId": item.item_id, "name": item.name, "quantity": item.quantity_ordered}
                 for item in ledger.line_items_of(order)]  # fmt: skip
        ledger.notify(order=order, event="order.created", data=order_event_data(order, items))
    if filled_in:  # news of its shipments found no customer to tell until now
        for shipment in ledger.shipments_of(order):
            ledger.notify_status(shipment=shipment)
    return Outcome(order, created)


def order_event_data(order: Order, items: list[dict], **extra) -> dict:
    """`data` of an order's webhook event: `{"orderId", "status", "items": [{"itemId", "name",
    "quantity", …}], "links": {"trackingPage"}}` — `items` being what the event is about (all
    line items for order.created, the units cancelled or backordered for the others)."""
    return {
        "orderId": order.order_id, "status": order.status, "items": items, **extra,
        "links": {"trackingPage": tracking_page_url(order)},
    }  # fmt: skip


def _line_items_check(existing: dict[str, LineItem], line_items: Sequence[LineItemInput]) -> None:
    errors: dict[str, list[str]] = {}
    for position, item_input in enumerate(line_items):
        item = existing.get(item_input.item_id)
        done = item.quantity_shipped + item.quantity_cancelled if item else 0
        if item_input.quantity < done:
            errors[f"lineItems[{position}].quantity"] = [
                f"{done} of this item were already shipped or cancelled."
            ]
    if errors:
        raise InvalidData(
            "An item's quantity is less than what was already shipped or cancelled.",
            code="INVALID_ORDER_DATA",
            fields=errors,
        )


def _line_items_replace(ledger: Ledger, order: Order, line_items: Sequence[LineItemInput]) -> None:
    existing = ledger.line_items(order)
    dropped = dict(existing)
    for position, item_input in enumerate(line_items):
        item = dropped.pop(item_input.item_id, None)
        if item is None:
            item = existing[item_input.item_id] = LineItem(order=order, item_id=item_input.item_id)
            if order.cancelled_at:  # the whole order was cancelled first
                item.quantity_cancelled = item_input.quantity
        item.name = item_input.name
        item.description = item_input.description
        item.price = item_input.price
        item.image_url = item_input.image_url
        item.is_returnable = item_input.returnable
        item.position = position
        item.quantity_ordered = item_input.quantity
        item.quantity_backordered = min(item.quantity_backordered, item.quantity_awaiting_shipment)
        ledger.save(item)
    # Items the OMS dropped from the order go, unless something already happened to them.
    for item in dropped.values():
        if item.quantity_shipped == 0 and item.quantity_cancelled == 0:
            del existing[item.item_id]
            ledger.delete(item)


# --- Shipments -------------------------------------------------------------------------------


def carrier_detect(
    *,
    tracking_number: str,
    merchant: Merchant | None = None,
    destination_country: Callable[[], str] | None = None,
) -> tuple[str | None, list[str]]:
    """The carrier the number's format names — when several fit, the one the merchant's data
    points to (its accounts, the carriers it ships with, the destination) — else None, with the
    candidate carriers (none when no format fits)."""
    detected = detect_carrier(tracking_number)
    chosen = detected.carrier
    if chosen is None and detected.is_ambiguous and merchant is not None:
        chosen = carrier_break_tie(
            merchant=merchant,
            candidates=detected.candidates,
            destination_country=destination_country or (lambda: ""),
        )
    return chosen, list(dict.fromkeys(candidate.carrier for candidate in detected.candidates))


def carrier_resolve(
    *,
    carrier: str,
    tracking_number: str,
    merchant: Merchant | None = None,
    destination_country: Callable[[], str] | None = None,
) -> str:
    """The OMS's carrier wins; without one the number must identify its carrier, and when it
    fits several carriers' formats the merchant's data (its accounts, the carriers it ships
    with, the parcel's destination) breaks the tie before we refuse."""
    if carrier:
        if carrier not in CarrierCode.values:
            raise InvalidData(
                f"Unknown carrier '{carrier}'.",
                code="INVALID_SHIPMENT_DATA",
                fields={"carrier": [f"Use one of: {', '.join(CarrierCode.values)}."]},
            )
        return carrier
    chosen, candidates = carrier_detect(
        tracking_number=tracking_number, merchant=merchant, destination_country=destination_country
    )
    if chosen is None:
        reason = (
            "could belong to several carriers: " + ", ".join(candidates)
            if candidates
            else "matches no carrier's format"
        )
        raise InvalidData(
            f"Cannot tell the carrier: the tracking number {reason}. Send `carrier`.",
            code="INVALID_SHIPMENT_DATA",
            fields={"carrier": ["Required when the carrier cannot be detected."]},
            details={"candidates": candidates},
        )
    return chosen


def _shipment_key(
    merchant: Merchant, change: ShipmentConfirmation, changes: Sequence
) -> tuple[str, str]:
    tracking_number = normalize_tracking_number(change.data.tracking_number)
    carrier = carrier_resolve(
        carrier=change.data.carrier,
        tracking_number=tracking_number,
        merchant=merchant,
        destination_country=lambda: _destination_country(merchant, change.order_id, changes),
    )
    return carrier, tracking_number


def _destination_country(merchant: Merchant, order_id: str, changes: Sequence) -> str:
    """Where the order goes: as this batch sends it, else as stored."""
    for change in changes:
        if isinstance(change, OrderInput) and change.order_id == order_id:
            return change.shipping_address.get("country_code", "")
    return order_destination_country(merchant, order_id)


def _shipment_confirm(ledger: Ledger, change: ShipmentConfirmation, key) -> Outcome:
    if isinstance(key, ApiError):
        raise key
    carrier, tracking_number = key
    order_id, data = change.order_id, change.data
    order = ledger.order(order_id)
    shipment = ledger.shipment(carrier, tracking_number)
    if shipment is not None and shipment.direction == ShipmentDirection.RETURN:
        raise InvalidData(
            f"Tracking number {tracking_number} is a return's, coming back to you.",
            code="INVALID_SHIPMENT_DATA",
            fields={"trackingNumber": ["Already used by a return shipment."]},
        )
    if shipment is not None and ledger.shipment_owner(shipment) not in (None, order_id):
        raise InvalidData(
            f"Tracking number {tracking_number} already belongs to another order.",
            code="INVALID_SHIPMENT_DATA",
            fields={"trackingNumber": ["Already used by another order."]},
        )
    if order is not None and not order.is_placeholder:
        # Until the order arrives, each shipped item counts as ordered (nothing to refuse).
        previous = ledger.shipment_items_of(shipment) if shipment else {}
        _shipment_items_check(ledger.line_items(order), previous, data.items)
    order = order or _new_order(ledger, order_id)
    warnings = [_order_not_yet_received_warning(order_id)] if order.is_placeholder else []
    created = shipment is None
    if shipment is None:
        shipment = ledger.shipment_add(Shipment(
            merchant=ledger.merchant, carrier=carrier, tracking_number=tracking_number
        ))  # fmt: skip
    if ledger.shipment_owner(shipment) is None:
        ledger.shipment_attach(shipment, order)  # a tracker followed it first, or it is new
        if not created and not order.is_placeholder:  # its news so far reached no customer
            ledger.notify_status(shipment=shipment)
    if order.is_placeholder:
        _placeholder_line_items_add(ledger, order, data.items)
    _shipment_items_apply(ledger, shipment, ledger.line_items(order), data.items)
    shipment.service = data.service or shipment.service
    shipment.source_reference = data.source_reference or shipment.source_reference
    shipment.shipped_at = data.shipped_at or shipment.shipped_at or timezone.now()
    shipment.estimated_delivery_date = (
        data.estimated_delivery_date or shipment.estimated_delivery_date
    )
    if carrier not in ledger.tracked:
        warnings.append(carrier_not_tracked_warning(carrier))
    elif created:
        shipment.next_check_at = timezone.now()  # ask the carrier at the next poll round
    ledger.save(shipment)
    _order_status_refresh(ledger, order)
    if created:
        ledger.notify(order=order, event="shipment.created", shipment=shipment, data={
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


def _placeholder_line_items_add(
    ledger: Ledger, order: Order, items: Sequence[ItemQuantity]
) -> None:
    """Until the order arrives, each shipped item counts as ordered in the quantity shipped."""
    line_items = ledger.line_items(order)
    for item in items:
        if item.item_id not in line_items:
            line_items[item.item_id] = LineItem(
                order=order, item_id=item.item_id, name=item.item_id, quantity_ordered=0
            )
        line_items[item.item_id].quantity_ordered += item.quantity


def _shipment_items_check(
    line_items: dict[str, LineItem],
    previous: dict[str, ShipmentItem],
    items: Sequence[ItemQuantity],
) -> None:
    """Each item is in the order, and the shipment takes no more than awaits shipment."""
    errors: dict[str, list[str]] = {}
    for position, item in enumerate(items):
        line_item = line_items.get(item.item_id)
        if line_item is None:
            errors[f"items[{position}].itemId"] = [f"Item {item.item_id} is not in this order."]
            continue
        already = previous[item.item_id].quantity if item.item_id in previous else 0
        if item.quantity - already > line_item.quantity_awaiting_shipment:
            errors[f"items[{position}].quantity"] = [
                f"Only {line_item.quantity_awaiting_shipment + already}"
                f" of {item.item_id} can be in this shipment (ordered {line_item.quantity_ordered},"
                f" shipped {line_item.quantity_shipped}, cancelled {line_item.quantity_cancelled})."
            ]
    if errors:
        raise InvalidData(
            "The shipment's items do not match the order.",
            code="INVALID_SHIPMENT_DATA",
            fields=errors,
        )


def _shipment_items_apply(
    ledger: Ledger, shipment: Shipment, line_items: dict[str, LineItem],
    items: Sequence[ItemQuantity],
) -> None:  # fmt: skip
    """Sets the shipment's items to `items`, moving each line item's shipped counter by the
    difference (so re-posting the same shipment changes nothing)."""
    shipment_items = ledger.shipment_items_of(shipment)
    dropped = dict(shipment_items)
    for item in items:
        line_item = line_items[item.item_id]
        previous = dropped.pop(item.item_id, None)
        line_item.quantity_shipped += item.quantity - (previous.quantity if previous else 0)
        line_item.quantity_backordered = min(
            line_item.quantity_backordered, line_item.quantity_awaiting_shipment
        )
        ledger.save(line_item)
        shipment_item = previous or ShipmentItem(shipment=shipment, line_item=line_item)
        shipment_item.quantity = item.quantity
        shipment_items[item.item_id] = shipment_item
        ledger.save(shipment_item)
    for item_id, shipment_item in dropped.items():
        line_item = shipment_item.line_item
        line_item.quantity_shipped -= shipment_item.quantity
        ledger.save(line_item)
        del shipment_items[item_id]
        ledger.delete(shipment_item)


# --- Cancellations and backorders ------------------------------------------------------------


def _order_cancel(ledger: Ledger, change: Cancellation, _key=None) -> Outcome:
    order = ledger.order(change.order_id)
    line_items = ledger.line_items(order) if order else {}
    items = change.items
    if items is None:
        items = [
            ItemQuantity(item.item_id, item.quantity_awaiting_shipment)
            for item in line_items.values()
            if item.quantity_awaiting_shipment
        ]
    _check_awaiting(line_items, items, "can be cancelled", "These items cannot be cancelled.")
    order = order or _new_order(ledger, change.order_id)
    warnings = [_order_not_yet_received_warning(change.order_id)] if order.is_placeholder else []
    if change.items is None and order.cancelled_at is None:
        order.cancelled_at = timezone.now()
        order.cancel_reason = change.reason
        ledger.save(order)
    cancelled = []
    for item in items:
        line_item = line_items[item.item_id]
        line_item.quantity_cancelled += item.quantity
        line_item.quantity_backordered = min(
            line_item.quantity_backordered, line_item.quantity_awaiting_shipment
        )
        ledger.save(line_item)
        cancellation = ItemCancellation(
            line_item=line_item, quantity=item.quantity, reason=change.reason
        )
        ledger.save(cancellation)
        cancelled.append(cancellation)
    _order_status_refresh(ledger, order)
    if cancelled:  # nothing cancelled (a repeat, or all shipped already) is no news
        units = [{"itemId": c.line_item.item_id, "name": c.line_item.name, "quantity": c.quantity}
                 for c in cancelled]  # fmt: skip
        ledger.notify(order=order, event="order.cancelled", occurrence_of=cancelled[0],
                      data=order_event_data(order, units, reason=change.reason))  # fmt: skip
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


def _items_backorder(ledger: Ledger, change: Backorder, _key=None) -> Outcome:
    order = ledger.order(change.order_id)
    if order is None:
        raise NotFound(f"Order {change.order_id} was not found.", code="ORDER_NOT_FOUND")
    line_items = ledger.line_items(order)
    summary = "These items cannot be backordered."
    _check_awaiting(line_items, change.items, "await shipment", summary)
    news = []
    for item in change.items:
        line_item = line_items[item.item_id]
        unchanged = (line_item.quantity_backordered, line_item.backorder_expected_date) == (
            item.quantity, item.expected_date)  # fmt: skip
        line_item.quantity_backordered = item.quantity
        line_item.backorder_expected_date = item.expected_date
        ledger.save(line_item)
        backorder = ItemBackorder(
            line_item=line_item, quantity=item.quantity, expected_date=item.expected_date
        )
        ledger.save(backorder)
        if not unchanged:
            news.append(backorder)
    _order_status_refresh(ledger, order)
    if news:  # the same notice again tells the customer nothing new
        units = [{"itemId": b.line_item.item_id, "name": b.line_item.name, "quantity": b.quantity,
                  "expectedDate": b.expected_date.isoformat() if b.expected_date else None}
                 for b in news]  # fmt: skip
        ledger.notify(order=order, event="items.backordered", occurrence_of=news[0],
                      data=order_event_data(order, units))  # fmt: skip
    return Outcome(order, False)


_RULES: dict[type, Callable[[Ledger, Change, object], Outcome]] = {
    OrderInput: _order_create_or_update,
    ShipmentConfirmation: _shipment_confirm,
    Cancellation: _order_cancel,
    Backorder: _items_backorder,
}


# --- Order status ----------------------------------------------------------------------------


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


def _order_status(
    line_items: Iterable[LineItem], shipments: Iterable[tuple[Shipment, Iterable[ShipmentItem]]]
) -> str:
    line_items, shipments = list(line_items), list(shipments)
    return order_status_derive(
        ordered=sum(item.quantity_ordered for item in line_items),
        cancelled=sum(item.quantity_cancelled for item in line_items),
        shipped=sum(item.quantity_shipped for item in line_items),
        delivered=sum(
            shipment_item.quantity
            for shipment, items in shipments
            if shipment.status == Status.DELIVERED
            for shipment_item in items
        ),
        has_exception=any(s.status in EXCEPTION_SHIPMENT_STATUSES for s, _items in shipments),
    )


def _order_status_refresh(ledger: Ledger, order: Order) -> None:
    shipments = [(s, ledger.items_of(s)) for s in ledger.shipments_of(order)]
    status = _order_status(ledger.line_items(order).values(), shipments)
    if status != order.status:
        order.status = status
        ledger.save(order)


def shipment_lock(shipment_id: int) -> Shipment:
    """The shipment locked for this transaction, its order locked first (see shipments_lock)."""
    locked = shipments_lock([shipment_id])
    if shipment_id not in locked:
        raise Shipment.DoesNotExist(f"Shipment {shipment_id} does not exist.")
    return locked[shipment_id]


def shipments_lock(shipment_ids: Iterable[int]) -> dict[int, Shipment]:
    """The shipments locked for this transaction by primary key (those that still exist), with
    their merchant and their order, the orders locked first and in primary-key order: the ledger
    locks orders before their shipments, and a writer taking them the other way round deadlocks
    it. Three statements, however many shipments."""
    ids = sorted(set(shipment_ids))
    while True:
        order_of = dict(Shipment.objects.filter(pk__in=ids).values_list("pk", "order_id"))
        locked_orders = Order.objects.select_for_update().filter(
            pk__in={order_id for order_id in order_of.values() if order_id is not None}
        )
        orders = {order.pk: order for order in locked_orders.order_by("pk")}
        shipments = (
            Shipment.objects.select_for_update(of=("self",))
            .select_related("merchant")
            .filter(pk__in=list(order_of))
            .order_by("pk")
        )
        locked = {shipment.pk: shipment for shipment in shipments}
        # Attached to an order meanwhile: that order is not locked yet, so take them again.
        if all(shipment.order_id == order_of[pk] for pk, shipment in locked.items()):
            break
    for shipment in locked.values():
        if shipment.order_id is not None:
            shipment.order = orders[shipment.order_id]
    return locked


def orders_refresh_status(orders: Iterable[Order]) -> None:
    """Each order's status again from the database (its shipments' statuses changed elsewhere),
    in place; four statements at most, however many orders."""
    orders = {order.pk: order for order in orders}
    if not orders:
        return
    line_items: dict[int, list[LineItem]] = {pk: [] for pk in orders}
    for item in LineItem.objects.filter(order__in=list(orders)):
        line_items[item.order_id].append(item)
    shipments: dict[int, list] = {pk: [] for pk in orders}
    for shipment in Shipment.objects.filter(order__in=list(orders)).prefetch_related("items"):
        shipments[shipment.order_id].append((shipment, shipment.items.all()))
    changed = []
    for pk, order in orders.items():
        status = _order_status(line_items[pk], shipments[pk])
        if status != order.status:
            order.status, order.updated_at = status, timezone.now()
            changed.append(order)
    rows_update(Order, changed, ["status", "updated_at"])
