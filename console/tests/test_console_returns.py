"""Issue 25: agents list return requests by status and approve, refuse or give them their return
tracking number from the console, each action audited; another merchant's request is a 404."""

import pytest
from django.urls import reverse

from merchants.models import ReturnPolicy
from merchants.tests.factories import member_of
from orders.models import AuditEntry, ReturnRequest, ReturnStatus, ShipmentDirection
from orders.services.returns import ReturnItemInput, return_request_create
from orders.tests.returns import delivered_order, policy_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client, merchant):
    client.force_login(member_of(merchant, "agent"))
    return client


def _requested(merchant, order_id="1001", **kw) -> ReturnRequest:
    if not ReturnPolicy.objects.filter(merchant=merchant).exists():
        policy_for(merchant)
    order = delivered_order(merchant, order_id)
    return return_request_create(order=order, items=[ReturnItemInput("MUG", 1)],
                                 reason="damaged", **kw)  # fmt: skip


def _post(client, name, request, **data):
    return client.post(reverse(f"console:{name}", args=[request.public_id]), data, follow=True)


def test_the_list_filters_by_status(agent, merchant):
    # given one request approved, one still requested
    first = _requested(merchant, "1001")
    second = _requested(merchant, "1002")
    _post(agent, "return_approve", first)
    # when
    requested = agent.get(reverse("console:returns"), {"status": "requested"}).content.decode()
    everything = agent.get(reverse("console:returns")).content.decode()
    # then
    assert second.public_id in requested and first.public_id not in requested
    assert first.public_id in everything and second.public_id in everything


def test_an_agent_approves_then_attaches_the_return_tracking_number(agent, merchant):
    request = _requested(merchant)
    # when
    approved = _post(agent, "return_approve", request, message="Thanks!")
    labelled = _post(agent, "return_label", request, tracking_number="SBXTRANSIT0901",
                     carrier="sandbox")  # fmt: skip
    # then
    assert "is now Approved" in approved.content.decode()
    request.refresh_from_db()
    assert (request.status, request.merchant_message) == (ReturnStatus.APPROVED, "Thanks!")
    assert request.shipment.tracking_number == "SBXTRANSIT0901"
    assert request.shipment.direction == ShipmentDirection.RETURN
    assert "SBXTRANSIT0901" in labelled.content.decode()
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("pk")) == [
        "approve_return", "return_label",
    ]  # fmt: skip


def test_a_refusal_needs_a_message_and_says_so_on_the_screen(agent, merchant):
    request = _requested(merchant)
    # when without a message, then with one
    empty = _post(agent, "return_refuse", request, message="  ")
    refused = _post(agent, "return_refuse", request, message="Worn items")
    # then
    assert empty.status_code == 200
    assert "Say why the return is refused: the customer reads it." in empty.content.decode()
    request.refresh_from_db()
    assert (request.status, request.merchant_message) == (ReturnStatus.REFUSED, "Worn items")
    assert "is now Refused" in refused.content.decode()


def test_a_step_already_taken_is_said_not_a_500(agent, merchant):
    request = _requested(merchant)
    _post(agent, "return_approve", request)
    again = _post(agent, "return_approve", request)
    assert again.status_code == 200
    assert "is approved and cannot be approved" in again.content.decode()


def test_a_bad_label_link_is_refused_on_the_screen(agent, merchant):
    request = _requested(merchant)
    _post(agent, "return_approve", request)
    answer = _post(agent, "return_label", request, label_url="javascript:alert(1)")
    assert "must be a web address" in answer.content.decode()
    request.refresh_from_db()
    assert request.label_url == ""


def test_another_merchants_request_is_a_404_everywhere(client, merchant, other_merchant):
    # given a request of the other merchant, and our agent
    theirs = _requested(other_merchant, "2002")
    client.force_login(member_of(merchant, "agent"))
    # when / then
    assert theirs.public_id not in client.get(reverse("console:returns")).content.decode()
    assert client.get(reverse("console:return", args=[theirs.public_id])).status_code == 404
    for action in ("return_approve", "return_refuse", "return_label"):
        url = reverse(f"console:{action}", args=[theirs.public_id])
        answer = client.post(url, {"message": "x", "tracking_number": "SBXTRANSIT0999"})
        assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ReturnStatus.REQUESTED


def test_the_orders_screen_links_to_its_return_requests(agent, merchant):
    request = _requested(merchant)
    html = agent.get(reverse("console:order", args=[request.order_id])).content.decode()
    assert reverse("console:return", args=[request.public_id]) in html
    assert "Blue mug × 1" in html
