"""Return requests: what the policy allows, quantities that stay true, and each step's events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flextracker.errors import Conflict, InvalidData, MissingData
from merchants.services import notification_rules_set
from notifications.models import Notification
from notifications.sending import notifications_send_due
from orders.models import LineItem, ReturnRequest, ReturnStatus, Shipment
from orders.selectors import order_return_options
from orders.services import LineItemInput
from orders.services.returns import (
    ReturnItemInput,
    ReturnNotAllowed,
    return_request_approve,
    return_request_create,
    return_request_label,
    return_request_refuse,
    return_shipment_status_changed,
)
from orders.tests.factories import create_order, ship
from orders.tests.returns import deliver, delivered_order, policy_for

pytestmark = pytest.mark.django_db


def _request(order, *items, reason="too-small", **kw):
    items = items or (("MUG", 1),)
    return return_request_create(
        order=order, items=[ReturnItemInput(item_id, qty) for item_id, qty in items],
        reason=reason, **kw,
    )  # fmt: skip


def _quantities(order) -> dict[str, tuple[int, int]]:
    return {
        item.item_id: (item.quantity_return_requested, item.quantity_returned)
        for item in LineItem.objects.filter(order=order)
    }


def _refused(order, *items, code: str, **kw) -> ReturnNotAllowed:
    with pytest.raises(ReturnNotAllowed) as refused:
        _request(order, *items, **kw)
    assert refused.value.code == code
    return refused.value


def test_a_customer_requests_a_return_of_delivered_units(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    # when
    request = _request(order, ("MUG", 2), comment="  A bit small ", language="fr")
    # then
    assert request.status == ReturnStatus.REQUESTED
    assert request.public_id.startswith("ret_")
    assert (request.reason_code, request.reason_label) == ("too-small", "Trop petit")
    assert (request.customer_comment, request.language) == ("A bit small", "fr")
    assert [(i.line_item.item_id, i.quantity) for i in request.items.all()] == [("MUG", 2)]
    assert _quantities(order) == {"MUG": (2, 0), "TOWEL": (0, 0)}


def test_a_second_request_for_the_same_units_is_refused(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    _request(order, ("MUG", 2))
    # when
    refused = _refused(order, ("MUG", 1), code="RETURN_QUANTITY_EXCEEDED")
    # then
    assert refused.message == "Every delivered Blue mug is already in a return request."
    assert refused.fields == {"items[0]": [refused.message]}
    assert ReturnRequest.objects.count() == 1
    assert _quantities(order)["MUG"] == (2, 0)


def test_more_than_delivered_is_refused_naming_what_is_left(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    _request(order, ("MUG", 1))
    # when
    refused = _refused(order, ("TOWEL", 1), ("MUG", 2), code="RETURN_QUANTITY_EXCEEDED")
    # then: nothing of the request was kept, the towel neither
    assert refused.message == "You can return at most 1 × Blue mug."
    assert refused.fields == {"items[1]": ["You can return at most 1 × Blue mug."]}
    assert _quantities(order) == {"MUG": (1, 0), "TOWEL": (0, 0)}


def test_a_request_outside_the_window_is_refused_with_a_clear_message(merchant):
    # given: delivered 31 days ago, a 30-day window
    policy_for(merchant, window_days=30)
    order = delivered_order(merchant, at=timezone.now() - timedelta(days=31))
    # when
    refused = _refused(order, ("MUG", 1), code="RETURN_WINDOW_CLOSED")
    # then
    assert refused.message == "The return window for Blue mug has closed."
    assert not ReturnRequest.objects.exists()


def test_the_window_counts_from_the_delivery_of_the_package_holding_the_item(merchant):
    # given: the mugs came 40 days ago, the towel yesterday
    policy_for(merchant, window_days=30)
    create_order(merchant, "1001")
    deliver(ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 2)).instance,
            timezone.now() - timedelta(days=40))  # fmt: skip
    deliver(ship(merchant, "1001", "SBXDELIVERED2", ("TOWEL", 1)).instance,
            timezone.now() - timedelta(days=1))  # fmt: skip
    order = merchant.orders.get()
    # when / then
    _refused(order, ("MUG", 1), code="RETURN_WINDOW_CLOSED")
    assert _request(order, ("TOWEL", 1)).status == ReturnStatus.REQUESTED


def test_units_not_delivered_yet_cannot_be_returned(merchant):
    # given: shipped, on its way
    policy_for(merchant)
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 2))
    order = merchant.orders.get()
    # when
    refused = _refused(order, ("MUG", 1), code="ITEM_NOT_DELIVERED")
    # then
    assert "has not been delivered yet" in refused.message


def test_an_item_the_oms_flags_not_returnable_is_refused(merchant):
    # given
    policy_for(merchant)
    lines = [LineItemInput(item_id="MUG", name="Blue mug", quantity=2, returnable=False),
             LineItemInput(item_id="TOWEL", name="Tea towel", quantity=1)]  # fmt: skip
    order = delivered_order(merchant, line_items=lines)
    # when
    refused = _refused(order, ("MUG", 1), code="ITEM_NOT_RETURNABLE")
    # then
    assert refused.message == "Blue mug cannot be returned."
    assert _quantities(order)["MUG"] == (0, 0)


def test_an_item_matching_a_merchant_pattern_is_not_returnable(merchant):
    # given
    policy_for(merchant, not_returnable_patterns="GIFT-*\nTOW*\n")
    order = delivered_order(merchant)
    # when / then
    _refused(order, ("TOWEL", 1), code="ITEM_NOT_RETURNABLE")
    assert [(o.line_item.item_id, o.available, o.refusal) for o in order_return_options(order)] == [
        ("MUG", 2, ""), ("TOWEL", 0, "ITEM_NOT_RETURNABLE"),
    ]  # fmt: skip


def test_an_exchange_is_refused_when_the_merchant_offers_none(merchant):
    # given
    policy_for(merchant, exchange_allowed=False)
    order = delivered_order(merchant)
    # when
    refused = _refused(order, ("MUG", 1), exchange_variant="Red mug", code="EXCHANGE_NOT_ALLOWED")
    # then
    assert refused.fields == {"exchangeVariant": ["Exchanges are not offered."]}
    assert not ReturnRequest.objects.exists()


def test_an_exchange_keeps_the_variant_asked_for(merchant):
    # given
    policy_for(merchant, exchange_allowed=True)
    order = delivered_order(merchant)
    # when
    request = _request(order, ("MUG", 1), exchange_variant=" Red mug ")
    # then
    assert request.exchange_variant == "Red mug"


def test_returns_are_refused_when_the_merchant_does_not_offer_them(merchant):
    # given
    policy_for(merchant, is_enabled=False)
    order = delivered_order(merchant)
    # when
    refused = _refused(order, code="RETURNS_NOT_OFFERED")
    # then
    assert refused.message == "Fred's Discount City does not take returns online."


def test_an_unknown_reason_and_an_unknown_item_are_refused(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    # when / then
    _refused(order, reason="changed-my-mind", code="RETURN_REASON_UNKNOWN")
    _refused(order, ("LAMP", 1), code="RETURN_ITEM_UNKNOWN")
    _refused(order, ("MUG", 0), code="RETURN_ITEMS_MISSING")
    assert not ReturnRequest.objects.exists()


def test_a_refusal_reads_in_the_customers_language(merchant):
    # given
    policy_for(merchant, window_days=30)
    order = delivered_order(merchant, at=timezone.now() - timedelta(days=31))
    # when
    refused = _refused(order, ("MUG", 1), code="RETURN_WINDOW_CLOSED", language="de")
    # then: the German catalog's sentence once the lead regenerates it; never the code
    assert "Blue mug" in refused.message and "RETURN_WINDOW_CLOSED" not in refused.message


def test_automatic_approval_approves_at_once_and_tells_both_steps(merchant):
    # given
    notification_rules_set(merchant=merchant, channel="email",
                           triggers=["return_requested", "return_approved"])  # fmt: skip
    policy_for(merchant, approval="automatic")
    order = delivered_order(merchant)
    # when
    request = _request(order)
    # then
    assert request.status == ReturnStatus.APPROVED and request.approved_at is not None
    told = Notification.objects.filter(channel="email").order_by("pk")
    assert [(row.trigger, row.payload["data"]["status"]) for row in told] == [
        ("return_requested", "requested"), ("return_approved", "approved"),
    ]  # fmt: skip


def test_an_agent_approves_then_attaches_the_tracking_number(merchant):
    # given
    policy_for(merchant)
    request = _request(delivered_order(merchant))
    # when
    approved = return_request_approve(return_request=request, message="Print the label")
    labelled = return_request_label(
        return_request=approved, label_url="https://labels.example/1.pdf",
        tracking_number="sbxdelivered 77", carrier="sandbox",
    )  # fmt: skip
    # then: a return shipment, polled, apart from the order's packages
    shipment = labelled.shipment
    assert (labelled.status, labelled.merchant_message) == ("approved", "Print the label")
    assert labelled.label_url == "https://labels.example/1.pdf"
    assert (shipment.tracking_number, shipment.direction, shipment.order_id) == (
        "SBXDELIVERED77", "return", None,
    )  # fmt: skip
    assert shipment.next_check_at is not None
    assert list(request.order.shipments.values_list("direction", flat=True)) == ["outbound"]


def test_a_second_tracking_number_is_a_conflict_the_same_one_changes_nothing(merchant):
    # given
    policy_for(merchant)
    request = return_request_approve(return_request=_request(delivered_order(merchant)))
    return_request_label(return_request=request, tracking_number="SBXDELIVERED77",
                         carrier="sandbox")  # fmt: skip
    # when / then
    again = return_request_label(return_request=request, tracking_number="SBXDELIVERED77",
                                 carrier="sandbox")  # fmt: skip
    assert Shipment.objects.filter(direction="return").count() == 1
    with pytest.raises(Conflict):
        return_request_label(return_request=again, tracking_number="SBXDELIVERED78",
                             carrier="sandbox")  # fmt: skip


def test_a_tracking_number_of_an_order_package_cannot_be_a_return(merchant):
    # given
    policy_for(merchant)
    request = return_request_approve(return_request=_request(delivered_order(merchant)))
    # when / then
    with pytest.raises(InvalidData) as invalid:
        return_request_label(return_request=request, tracking_number="SBXDELIVERED1001",
                             carrier="sandbox")  # fmt: skip
    assert invalid.value.code == "INVALID_RETURN_DATA"
    assert ReturnRequest.objects.get().shipment is None


def test_a_label_before_approval_is_a_conflict(merchant):
    # given
    policy_for(merchant)
    request = _request(delivered_order(merchant))
    # when / then
    with pytest.raises(Conflict) as conflict:
        return_request_label(return_request=request, label_url="https://labels.example/1.pdf")
    assert conflict.value.code == "RETURN_STATUS_CONFLICT"
    assert conflict.value.details == {"status": "requested"}


def test_refusing_gives_the_units_back_and_needs_a_message(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    request = _request(order, ("MUG", 2))
    # when
    with pytest.raises(MissingData):
        return_request_refuse(return_request=request, message="  ")
    refused = return_request_refuse(return_request=request, message="Worn items")
    # then: the mugs may be asked for again
    assert (refused.status, refused.merchant_message) == ("refused", "Worn items")
    assert _quantities(order)["MUG"] == (0, 0)
    assert _request(order, ("MUG", 2)).status == ReturnStatus.REQUESTED
    with pytest.raises(Conflict):
        return_request_approve(return_request=refused)


def test_the_return_shipment_delivered_back_makes_the_request_received(merchant):
    # given
    policy_for(merchant)
    order = delivered_order(merchant)
    request = return_request_approve(return_request=_request(order, ("MUG", 2)))
    request = return_request_label(return_request=request, tracking_number="SBXDELIVERED77",
                                   carrier="sandbox")  # fmt: skip
    # when
    deliver(request.shipment)
    # then
    request.refresh_from_db()
    assert request.status == ReturnStatus.RECEIVED and request.received_at is not None
    assert _quantities(order) == {"MUG": (2, 2), "TOWEL": (0, 0)}
    order.refresh_from_db()
    assert order.status == "delivered"  # the package coming back changed nothing of the order
    # and told again, nothing moves twice
    return_shipment_status_changed(shipment=request.shipment)
    assert _quantities(order)["MUG"] == (2, 2)


def test_each_step_hands_its_event_over_once(merchant):
    # given: the merchant emails customers at each return step
    notification_rules_set(merchant=merchant, channel="email", triggers=[
        "return_requested", "return_approved", "return_refused", "return_received",
    ])  # fmt: skip
    policy_for(merchant)
    order = delivered_order(merchant)
    # when
    request = _request(order)
    return_request_refuse(return_request=request, message="Worn items")
    # then
    rows = Notification.objects.filter(channel="email").order_by("pk")
    assert [(row.trigger, row.recipient) for row in rows] == [
        ("return_requested", "jane@example.com"), ("return_refused", "jane@example.com"),
    ]  # fmt: skip
    assert rows[1].payload["data"]["status"] == "refused"
    assert rows[1].payload["data"]["merchantMessage"] == "Worn items"


def test_a_return_step_the_merchant_chose_is_emailed_to_the_customer(merchant, mailoutbox):
    # given
    notification_rules_set(merchant=merchant, channel="email", triggers=["return_refused"])
    policy_for(merchant)
    request = _request(delivered_order(merchant))
    # when
    return_request_refuse(return_request=request, message="Worn items")
    notifications_send_due()
    # then
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["jane@example.com"], "Your return for order 1001 was not accepted"),
    ]  # fmt: skip
