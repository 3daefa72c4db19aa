"""Every write to return requests (issue 25): the customer's request, the merchant's decision, the
return label or tracking number, and the return received when its package is delivered back.

Each step hands its event to notifications.order_events in its own transaction (`return.*`
webhooks with the return's API representation, and the customer's message when the merchant
chose the trigger of the same name). The customer-facing refusals are `ReturnNotAllowed` with a
stable code and a message in the request's language; the merchant's mistakes are API.md's
MISSING/INVALID_RETURN_DATA and RETURN_STATUS_CONFLICT.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from carriers.detection import normalize_tracking_number
from carriers.vocabulary import Status
from flextracker.errors import ApiError, Conflict, InvalidData, MissingData
from flextracker.i18n import supported_language
from merchants.models import ReturnApproval, ReturnPolicy
from merchants.selectors import return_policy_for, tracked_carriers
from notifications.services import OrderEvent, order_events
from orders import return_rules
from orders.models import (
    LineItem,
    Order,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentDirection,
)
from orders.representation import return_json
from orders.selectors import deliveries_of_order, return_request_queryset
from orders.services.orders import carrier_resolve

RETURNS_NOT_OFFERED = "RETURNS_NOT_OFFERED"
EXCHANGE_NOT_ALLOWED = "EXCHANGE_NOT_ALLOWED"
RETURN_REASON_UNKNOWN = "RETURN_REASON_UNKNOWN"
RETURN_ITEMS_MISSING = "RETURN_ITEMS_MISSING"
RETURN_ITEM_UNKNOWN = "RETURN_ITEM_UNKNOWN"
STATUS_CONFLICT = "RETURN_STATUS_CONFLICT"
# A return shipment that moves puts its request "in transit"; delivered, it is received.
MOVING = {Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.AVAILABLE_FOR_PICKUP,
          Status.FAILED_ATTEMPT, Status.EXCEPTION}  # fmt: skip


class ReturnNotAllowed(ApiError):
    """The customer asked for a return the merchant's policy does not allow. `code` is stable
    (RETURNS_NOT_OFFERED, RETURN_WINDOW_CLOSED, ITEM_NOT_RETURNABLE, ITEM_NOT_DELIVERED,
    RETURN_QUANTITY_EXCEEDED, EXCHANGE_NOT_ALLOWED, RETURN_REASON_UNKNOWN, RETURN_ITEMS_MISSING,
    RETURN_ITEM_UNKNOWN); `message` is for the customer, in the request's language; `fields`
    names the item (`items[0]`) or the field (`reason`, `exchangeVariant`)."""

    status = 422


@dataclass(frozen=True, slots=True)
class ReturnItemInput:
    item_id: str
    quantity: int


def return_request_create(
    *,
    order: Order,
    items: Sequence[ReturnItemInput],
    reason: str,
    exchange_variant: str = "",
    comment: str = "",
    language: str = "",
) -> ReturnRequest:
    """The customer's request to return (or, with `exchange_variant`, exchange) delivered units
    of `order`; approved at once when the merchant's approval is automatic. Raises
    ReturnNotAllowed (see there) and changes nothing when the policy refuses it. Quantities are
    checked with the order and its line items locked, so two requests for the same units
    cannot both pass."""
    language = supported_language(language or order.locale) or settings.LANGUAGE_CODE
    with translation.override(language):
        policy = _policy_offering_returns(order)
        reason_label = _reason_label(policy, reason, exchange_variant)
        with transaction.atomic():
            list(Order.objects.select_for_update().filter(pk=order.pk).values_list("pk"))
            line_items = {li.item_id: li for li in order.line_items.select_for_update()}
            wanted = _items_checked(policy, order, line_items, items)
            return_request = ReturnRequest.objects.create(
                merchant_id=order.merchant_id, order=order, reason_code=reason,
                reason_label=reason_label, exchange_variant=exchange_variant.strip(),
                customer_comment=comment.strip(), language=language,
            )  # fmt: skip
            ReturnItem.objects.bulk_create(
                ReturnItem(return_request=return_request, line_item=line_item, quantity=quantity)
                for line_item, quantity in wanted
            )
            for line_item, quantity in wanted:
                line_item.quantity_return_requested += quantity
            LineItem.objects.bulk_update([li for li, _q in wanted], ["quantity_return_requested"])
            return_request = _told(return_request, ["return.requested"])
            if policy.approval == ReturnApproval.AUTOMATIC:
                return_request = return_request_approve(return_request=return_request)
            return return_request


def _policy_offering_returns(order: Order) -> ReturnPolicy:
    policy = return_policy_for(order.merchant)
    if policy is None:
        raise ReturnNotAllowed(
            _("%(merchant)s does not take returns online.") % {"merchant": order.merchant.name},
            code=RETURNS_NOT_OFFERED,
        )
    return policy


def _reason_label(policy: ReturnPolicy, reason: str, exchange_variant: str) -> str:
    if exchange_variant.strip() and not policy.exchange_allowed:
        raise ReturnNotAllowed(
            _("Exchanges are not offered: you can return the item instead."),
            code=EXCHANGE_NOT_ALLOWED,
            fields={"exchangeVariant": [_("Exchanges are not offered.")]},
        )
    reasons = {r.code: r for r in policy.reasons.all()}
    if not reasons and not reason:
        return ""
    if reason not in reasons:
        raise ReturnNotAllowed(
            _("Choose one of the reasons offered."),
            code=RETURN_REASON_UNKNOWN,
            fields={"reason": [_("Choose one of the reasons offered.")]},
        )
    return reasons[reason].label_in(translation.get_language())


def _items_checked(
    policy: ReturnPolicy,
    order: Order,
    line_items: dict[str, LineItem],
    items: Sequence[ReturnItemInput],
) -> list[tuple[LineItem, int]]:
    """Each wanted line item with its quantity, or ReturnNotAllowed for the first one refused."""
    wanted = [(index, item) for index, item in enumerate(items) if item.quantity > 0]
    if not wanted:
        raise ReturnNotAllowed(
            _("Choose at least one item to return."),
            code=RETURN_ITEMS_MISSING,
            fields={"items": [_("Choose at least one item to return.")]},
        )
    options = return_rules.return_options(
        policy, line_items.values(), deliveries_of_order(order), timezone.now()
    )
    totals: dict[str, int] = {}
    for index, item in wanted:
        line_item = line_items.get(item.item_id)
        if line_item is None:
            raise ReturnNotAllowed(
                _("This order has no item %(item)s.") % {"item": item.item_id},
                code=RETURN_ITEM_UNKNOWN,
                fields={f"items[{index}]": [_("Not an item of this order.")]},
            )
        totals[item.item_id] = totals.get(item.item_id, 0) + item.quantity
        option = options[line_item.pk]
        if totals[item.item_id] > option.available:
            raise _quantity_refused(option, index)
    return [(line_items[item_id], quantity) for item_id, quantity in totals.items()]


def _quantity_refused(option: return_rules.ReturnOption, index: int) -> ReturnNotAllowed:
    name = option.line_item.name
    messages = {
        return_rules.NOT_RETURNABLE: _("%(item)s cannot be returned."),
        return_rules.NOT_DELIVERED: _("%(item)s has not been delivered yet: you can ask for a "
                                      "return once it has arrived."),
        return_rules.WINDOW_CLOSED: _("The return window for %(item)s has closed."),
        return_rules.ALREADY_REQUESTED: _("Every delivered %(item)s is already in a return "
                                          "request."),
        "": _("You can return at most %(count)s × %(item)s."),
    }  # fmt: skip
    message = messages[option.refusal] % {"item": name, "count": option.available}
    code = option.refusal or return_rules.ALREADY_REQUESTED
    return ReturnNotAllowed(message, code=code, fields={f"items[{index}]": [message]})


def return_request_approve(*, return_request: ReturnRequest, message: str = "") -> ReturnRequest:
    """An agent or the merchant's system approves a requested return; `message` is for the
    customer (optional)."""
    with transaction.atomic():
        locked = _locked(return_request, {ReturnStatus.REQUESTED}, "approved")
        locked.status = ReturnStatus.APPROVED
        locked.approved_at = timezone.now()
        locked.merchant_message = message.strip() or locked.merchant_message
        locked.save(update_fields=["status", "approved_at", "merchant_message", "updated_at"])
        return _told(locked, ["return.approved"])


def return_request_refuse(*, return_request: ReturnRequest, message: str) -> ReturnRequest:
    """Refuses a return not yet on its way back, telling the customer why (`message`, required);
    its units may be asked for again."""
    if not message.strip():
        raise MissingData(
            "Say why the return is refused: the customer reads it.",
            code="MISSING_RETURN_DATA",
            fields={"message": ["This field is required."]},
        )
    with transaction.atomic():
        list(Order.objects.select_for_update().filter(pk=return_request.order_id).values_list("pk"))
        allowed = {ReturnStatus.REQUESTED, ReturnStatus.APPROVED}
        locked = _locked(return_request, allowed, "refused")
        if locked.shipment_id is not None:
            raise _conflict(locked, "refused: its return shipment is on record")
        for item in locked.items.all():
            LineItem.objects.filter(pk=item.line_item_id).update(
                quantity_return_requested=F("quantity_return_requested") - item.quantity
            )
        locked.status = ReturnStatus.REFUSED
        locked.refused_at = timezone.now()
        locked.merchant_message = message.strip()
        locked.save(update_fields=["status", "refused_at", "merchant_message", "updated_at"])
        return _told(locked, ["return.refused"])


def return_request_label(
    *,
    return_request: ReturnRequest,
    label_url: str = "",
    tracking_number: str = "",
    carrier: str = "",
) -> ReturnRequest:
    """The merchant's prepaid label (`label_url`) and/or the return's tracking number for an
    approved return. A tracking number creates the return Shipment, polled like any other;
    its carrier is detected when not given. The label may be replaced; the tracking number is
    set once (the same one again changes nothing)."""
    if not label_url and not tracking_number:
        raise MissingData(
            "Send labelUrl, trackingNumber, or both.",
            code="MISSING_RETURN_DATA",
            fields={"labelUrl": ["Required without trackingNumber."],
                    "trackingNumber": ["Required without labelUrl."]},
        )  # fmt: skip
    merchant = return_request.merchant
    number = normalize_tracking_number(tracking_number) if tracking_number else ""
    carrier = _return_carrier(merchant, carrier, number) if number else ""
    with transaction.atomic():
        locked = _locked(return_request, {ReturnStatus.APPROVED}, "given a label")
        first_label = not locked.label_url and not locked.shipment_id
        if number:
            _return_shipment_set(locked, carrier, number)
        locked.label_url = label_url or locked.label_url
        locked.save(update_fields=["label_url", "shipment", "updated_at"])
        return _told(locked, ["return.label_ready"] if first_label else [])


def _return_carrier(merchant, carrier: str, number: str) -> str:
    try:
        return carrier_resolve(carrier=carrier, tracking_number=number, merchant=merchant)
    except InvalidData as error:  # the shipment's codes, said as the return's
        raise InvalidData(error.message, code="INVALID_RETURN_DATA", fields=error.fields,
                          details=error.details) from error  # fmt: skip


def _return_shipment_set(return_request: ReturnRequest, carrier: str, number: str) -> None:
    shipment = return_request.shipment
    if shipment is not None:
        if (shipment.carrier, shipment.tracking_number) != (carrier, number):
            raise _conflict(return_request, "given another tracking number: it has one")
        return
    merchant = return_request.merchant
    tracked = carrier in tracked_carriers(merchant)
    try:
        with transaction.atomic():
            return_request.shipment = Shipment.objects.create(
                merchant=merchant, carrier=carrier, tracking_number=number,
                direction=ShipmentDirection.RETURN, shipped_at=timezone.now(),
                next_check_at=timezone.now() if tracked else None,
            )  # fmt: skip
    except IntegrityError:
        raise InvalidData(
            f"Tracking number {number} is already used by another shipment.",
            code="INVALID_RETURN_DATA",
            fields={"trackingNumber": ["Already used by another shipment."]},
        ) from None


def return_shipment_status_changed(*, shipment: Shipment) -> ReturnRequest | None:
    """The tracking app's hand-over when a return shipment's status changes, in its transaction
    (the shipment locked): moving, its request is in transit; delivered, the request is
    received and its units count as returned."""
    return_request = ReturnRequest.objects.filter(shipment=shipment).first()
    if return_request is None:
        return None
    waiting = {ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT}
    if shipment.status == Status.DELIVERED:
        list(Order.objects.select_for_update().filter(pk=return_request.order_id).values_list("pk"))
        locked = _locked(return_request, waiting, None)
        if locked is None:
            return return_request
        for item in locked.items.all():
            LineItem.objects.filter(pk=item.line_item_id).update(
                quantity_returned=F("quantity_returned") + item.quantity
            )
        locked.status = ReturnStatus.RECEIVED
        locked.received_at = shipment.delivered_at or timezone.now()
        locked.save(update_fields=["status", "received_at", "updated_at"])
        return _told(locked, ["return.received"])
    if shipment.status in MOVING and return_request.status == ReturnStatus.APPROVED:
        return_request.status = ReturnStatus.IN_TRANSIT
        return_request.save(update_fields=["status", "updated_at"])
        _order_page_moved(return_request)
    return return_request


def _locked(return_request: ReturnRequest, allowed: set[str], action: str | None):
    """The request re-read under a row lock; a status outside `allowed` is a conflict (or None
    when `action` is None: nothing to do)."""
    rows = ReturnRequest.objects.select_related("merchant", "order", "shipment")
    locked = rows.select_for_update(of=("self",)).get(pk=return_request.pk)
    if locked.status not in allowed:
        if action is None:
            return None
        raise _conflict(locked, action)
    return locked


def _conflict(return_request: ReturnRequest, action: str) -> Conflict:
    return Conflict(
        f"Return {return_request.public_id} is {return_request.status} and cannot be {action}.",
        code=STATUS_CONFLICT,
        details={"status": return_request.status},
    )


def _told(return_request: ReturnRequest, events: list[str]) -> ReturnRequest:
    """The request as its answer shows it, with its events handed to notifications."""
    _order_page_moved(return_request)
    detailed = return_request_queryset(return_request.order.merchant).get(pk=return_request.pk)
    if events:
        data = return_json(detailed)
        order_events(merchant=detailed.order.merchant, events=[
            OrderEvent(order=detailed.order, event=event, data=data,
                       occurrence=detailed.public_id)
            for event in events
        ])  # fmt: skip
    return detailed


def _order_page_moved(return_request: ReturnRequest) -> None:
    """The customer page shows the order's returns and is cached by the order's data version
    (orders.selectors.order_page_version): each step moves the order's updated_at."""
    Order.objects.filter(pk=return_request.order_id).update(updated_at=timezone.now())
