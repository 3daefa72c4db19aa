"""Emails in (issue 23): a merchant's shipping confirmations and carriers' notification emails,
forwarded to the address of one of its email sources (ingest/channels/smtp.py) or read from its
mailbox (ingest/channels/imap.py), go through the channel core like any other record: logged raw
(the RFC 822 bytes) with the route `email:<source pk>`, deduplicated on the Message-ID (a digest
of the bytes when there is none), applied, and answered in the log — or rejected there with the
reason, replayable once the source's rule is fixed.

An email's tracking numbers are found by carrier detection with check digits
(ingest/channels/email_reading.py). When the source's order rule names one of the merchant's
orders, each number is that order's shipment (`shipment.confirmed`, with the items still awaiting
shipment, or the items the number already carries) — as is the order a number already ships
(a carrier's later email about the parcel); otherwise each number is followed on its own
as "track any number" does (tracking/on_demand.py): a shipment with no order, polled from then on.
"""

import hashlib

from flextracker.errors import ApiError, InvalidData, NotFound
from inbound.models import InboundMessage
from inbound.services import Result
from ingest.channels.email_reading import (
    FoundNumber,
    ShippingEmail,
    email_read,
    order_ids_find,
    sender_accepted,
    tracking_numbers_find,
)
from ingest.envelope import event_apply
from ingest.models import EmailSource
from merchants.models import Merchant
from orders.models import Order
from orders.selectors import order_for_shipping_email, order_id_for_tracking_numbers
from tracking.on_demand import shipment_follow

WARNING_NOTHING_LEFT_TO_SHIP = "NOTHING_LEFT_TO_SHIP"


def email_apply(merchant: Merchant, source_pk: str, message: InboundMessage) -> Result:
    """A logged email applied (the channel core's transaction): ApiError says why it cannot be."""
    source = EmailSource.objects.filter(merchant=merchant, pk=source_pk).first()
    if source is None:
        raise ApiError(f"Email source {source_pk} no longer exists.", code="UNKNOWN_ROUTE")
    shipping_email = email_read(bytes(message.body))
    if not sender_accepted(shipping_email.sender, source.accepted_senders):
        raise InvalidData(
            f"Emails from {shipping_email.sender or 'an unknown sender'} are not accepted by "
            f"the email source {source.name!r} (its accepted senders).",
            code="SENDER_NOT_ACCEPTED",
        )
    numbers = tracking_numbers_find(shipping_email)
    if not numbers:
        raise InvalidData(
            "No tracking number with a valid check digit was found in the email's subject, "
            "text or links.",
            code="NO_TRACKING_NUMBER",
        )
    order_ids = order_ids_find(
        shipping_email, header=source.order_header, pattern=source.order_pattern
    )
    order = order_for_shipping_email(merchant, order_ids) or _order_shipping(merchant, numbers)
    message.order_ref = order.order_id if order else (order_ids[0] if order_ids else "")
    if order is None:
        return _numbers_followed(merchant, numbers, order_ids)
    return _shipments_confirmed(merchant, order, numbers, shipping_email)


def _order_shipping(merchant: Merchant, numbers: list[FoundNumber]) -> Order | None:
    """The order one of the numbers already ships (a carrier's email about the parcel)."""
    order_id = order_id_for_tracking_numbers(merchant, [found.number for found in numbers])
    return order_for_shipping_email(merchant, [order_id]) if order_id else None


def _shipments_confirmed(
    merchant: Merchant, order: Order, numbers: list[FoundNumber], shipping_email: ShippingEmail
) -> Result:
    answers, warnings, awaiting = [], [], _items_awaiting(order)
    for found in numbers:
        items = _items_of(order, found.number) or awaiting
        if not items:
            warnings.append(_nothing_left_warning(order, found.number))
            continue
        awaiting = [] if items is awaiting else awaiting  # one email's new numbers: the first
        result = event_apply(merchant, _shipment_event(order, found, items, shipping_email))
        answers.append({"trackingNumber": found.number, "status": result.status,
                        "data": result.data, "warnings": result.warnings})  # fmt: skip
        warnings.extend(result.warnings)
    return Result(200, {"orderId": order.order_id, "shipments": answers}, warnings)


def _shipment_event(
    order: Order, found: FoundNumber, items: list[dict], shipping_email: ShippingEmail
) -> dict:
    # One eventId per email and number: the same email read again (after the inbound log's
    # 24 hours) is a DUPLICATE_EVENT no-op.
    key = hashlib.sha256(shipping_email.message_key.encode()).hexdigest()[:24]
    data = {"orderId": order.order_id, "trackingNumber": found.number, "items": items}
    if found.carrier:
        data["carrier"] = found.carrier
    return {"eventId": f"email-{key}-{found.number}", "type": "shipment.confirmed", "data": data}


def _items_of(order: Order, number: str) -> list[dict]:
    """The items a shipment of the order with this number already carries (a later email about
    the same parcel: the same shipment again, unchanged)."""
    for shipment in order.shipments.all():
        if shipment.tracking_number == number:
            return [
                {"itemId": item.line_item.item_id, "quantity": item.quantity}
                for item in shipment.items.all()
            ]
    return []


def _items_awaiting(order: Order) -> list[dict]:
    return [
        {"itemId": line_item.item_id, "quantity": line_item.quantity_awaiting_shipment}
        for line_item in order.line_items.all()
        if line_item.quantity_awaiting_shipment > 0
    ]


def _nothing_left_warning(order: Order, number: str) -> dict[str, str]:
    return {
        "code": WARNING_NOTHING_LEFT_TO_SHIP,
        "message": f"Order {order.order_id} has no item left awaiting shipment: tracking number "
        f"{number} was not added to it.",
    }


def _numbers_followed(
    merchant: Merchant, numbers: list[FoundNumber], order_ids: list[str]
) -> Result:
    answers = []
    for found in numbers:
        try:
            shipment = shipment_follow(
                merchant=merchant, tracking_number=found.number, carrier=found.carrier,
                ask_now=False,
            )  # fmt: skip
        except NotFound as not_found:
            raise NotFound(
                f"Tracking number {found.number} matches no order of yours and its carrier "
                "cannot be tracked for you, so it cannot be followed.",
                code=not_found.code, details=not_found.details,
            ) from not_found  # fmt: skip
        answers.append({"trackingNumber": shipment.tracking_number, "carrier": shipment.carrier,
                        "followed": True})  # fmt: skip
    warnings = [_no_order_warning(order_ids)]
    return Result(200, {"orderId": None, "shipments": answers}, warnings)


def _no_order_warning(order_ids: list[str]) -> dict[str, str]:
    named = f" (it names {', '.join(order_ids[:3])})" if order_ids else ""
    return {
        "code": "ORDER_NOT_MATCHED",
        "message": f"The email names none of your orders{named}: its tracking numbers are "
        "followed on their own.",
    }
