"""The returns API: each endpoint, its errors in the envelope, idempotency, the inbound log, replay,
and merchant B getting a 404; then a return walked from request to received on the sandbox
carrier, with its webhooks reaching a local HTTP receiver."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from inbound.models import InboundMessage
from ingest.replay import inbound_replay
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from notifications.tests.http_receiver import URL, receiver  # noqa: F401 - a fixture
from orders.models import LineItem, ReturnRequest
from orders.services.returns import ReturnItemInput, return_request_create
from orders.tests.returns import delivered_order, policy_for
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db


def _return(merchant, order_id="1001", **kw):
    order = delivered_order(merchant, order_id)
    return return_request_create(
        order=order, items=[ReturnItemInput("MUG", 1)], reason="too-small", **kw
    )


@pytest.fixture
def requested(merchant):
    policy_for(merchant)
    return _return(merchant)


def test_get_a_return(api, requested):
    # when
    response = api.get(f"/api/v1/returns/{requested.public_id}")
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["returnId"] == requested.public_id
    assert (data["orderId"], data["status"], data["labelUrl"], data["returnShipment"]) == (
        "1001", "requested", None, None,
    )  # fmt: skip
    assert data["reason"] == {"code": "too-small", "label": "Too small"}
    assert data["items"] == [{"itemId": "MUG", "name": "Blue mug", "quantity": 1}]
    assert "/returns/FDC-01-12345/1001?t=" in data["links"]["returnsUrl"]


def test_list_returns_filtered_by_status(api, merchant, requested):
    # given
    other = _return(merchant, "1002")
    api.post(f"/api/v1/returns/{other.public_id}/approve", {})
    # when
    every = api.get("/api/v1/returns").json()
    approved = api.get("/api/v1/returns", {"status": "approved"}).json()
    # then
    assert [r["returnId"] for r in every["data"]] == [other.public_id, requested.public_id]
    assert every["meta"]["pagination"]["total"] == 2
    assert [r["returnId"] for r in approved["data"]] == [other.public_id]


def test_an_unknown_status_filter_is_an_error_in_the_envelope(api, requested):
    response = api.get("/api/v1/returns", {"status": "lost"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_RETURN_DATA" and "status" in error["fields"]


def test_approve_with_a_message(api, requested):
    # when
    response = api.post(f"/api/v1/returns/{requested.public_id}/approve", {"message": "Thanks!"})
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["merchantMessage"]) == ("approved", "Thanks!")
    assert data["approvedAt"] is not None
    message = InboundMessage.objects.get(path=f"/api/v1/returns/{requested.public_id}/approve")
    assert (message.outcome, message.response_status) == ("accepted", 200)


def test_approving_twice_is_a_conflict_in_the_envelope(api, requested):
    # given
    api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    # when
    response = api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    # then
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("RETURN_STATUS_CONFLICT", {"status": "approved"})


def test_refuse_needs_a_message(api, requested):
    # when
    missing = api.post(f"/api/v1/returns/{requested.public_id}/refuse", {})
    refused = api.post(f"/api/v1/returns/{requested.public_id}/refuse", {"message": "Worn"})
    # then
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MISSING_RETURN_DATA"
    assert missing.json()["error"]["fields"] == {"message": ["This field is required."]}
    assert refused.status_code == 200
    assert refused.json()["data"]["status"] == "refused"
    assert LineItem.objects.get(item_id="MUG").quantity_return_requested == 0


def test_label_with_a_tracking_number(api, requested):
    # given
    api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    # when
    response = api.post(f"/api/v1/returns/{requested.public_id}/label", {
        "labelUrl": "https://labels.example/RMA-1.pdf", "trackingNumber": "SBXDELIVERED77",
    })  # fmt: skip
    # then: the sandbox carrier was detected from the number
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["labelUrl"] == "https://labels.example/RMA-1.pdf"
    shipment = data["returnShipment"]
    assert (shipment["trackingNumber"], shipment["carrier"], shipment["status"]) == (
        "SBXDELIVERED77", "sandbox", "unknown",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 400, "MISSING_RETURN_DATA", "labelUrl"),
        ({"labelUrl": "http://labels.example/1.pdf"}, 422, "INVALID_RETURN_DATA", "labelUrl"),
        ({"trackingNumber": "ABC"}, 422, "INVALID_RETURN_DATA", "carrier"),
        ({"trackingNumber": "SBXDELIVERED1", "carrier": "pigeon"}, 422, "INVALID_RETURN_DATA",
         "carrier"),
    ],
)  # fmt: skip
def test_a_bad_label_is_a_clear_error_and_changes_nothing(api, requested, body, status, code,
                                                          field):  # fmt: skip
    # given
    api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    # when
    response = api.post(f"/api/v1/returns/{requested.public_id}/label", body)
    # then
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]
    requested.refresh_from_db()
    assert (requested.label_url, requested.shipment_id) == ("", None)


def test_malformed_json_is_answered_in_the_envelope(api, requested):
    response = api.post(f"/api/v1/returns/{requested.public_id}/refuse", raw=b"{nope")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_JSON"


def test_the_same_idempotency_key_replays_the_first_answer(api, requested):
    # given
    path = f"/api/v1/returns/{requested.public_id}/refuse"
    first = api.post(path, {"message": "Worn"}, HTTP_IDEMPOTENCY_KEY="refuse-1")
    # when
    again = api.post(path, {"message": "Worn"}, HTTP_IDEMPOTENCY_KEY="refuse-1")
    other_body = api.post(path, {"message": "Torn"}, HTTP_IDEMPOTENCY_KEY="refuse-1")
    # then
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"


def test_a_refused_label_replays_once_the_return_is_approved(api, requested):
    # given: the label came before the agent approved
    path = f"/api/v1/returns/{requested.public_id}/label"
    early = api.post(path, {"labelUrl": "https://labels.example/1.pdf"})
    assert early.status_code == 409
    api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    # when
    outcome = inbound_replay(InboundMessage.objects.get(path=path))
    # then
    assert outcome.status == 200
    requested.refresh_from_db()
    assert requested.label_url == "https://labels.example/1.pdf"


def test_another_merchants_return_is_not_found_and_untouched(other_api, requested):
    # when
    got = other_api.get(f"/api/v1/returns/{requested.public_id}")
    approved = other_api.post(f"/api/v1/returns/{requested.public_id}/approve", {})
    refused = other_api.post(f"/api/v1/returns/{requested.public_id}/refuse", {"message": "x"})
    listed = other_api.get("/api/v1/returns")
    # then
    for response in (got, approved, refused):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "RETURN_NOT_FOUND"
    assert listed.json()["data"] == []
    requested.refresh_from_db()
    assert requested.status == "requested"


def test_order_answers_carry_the_return_flow_and_returned_quantities(api, requested):
    # when
    data = api.get("/api/v1/orders/1001").json()["data"]
    # then
    assert "/returns/FDC-01-12345/1001?t=" in data["links"]["returnsUrl"]
    mug = next(item for item in data["lineItems"] if item["itemId"] == "MUG")
    assert (mug["returnable"], mug["quantityReturnRequested"], mug["quantityReturned"]) == (
        True, 1, 0,
    )  # fmt: skip


def test_orders_of_a_merchant_without_returns_have_no_returns_url(api, merchant):
    # given
    delivered_order(merchant)
    # when
    data = api.get("/api/v1/orders/1001").json()["data"]
    # then
    assert data["links"] == {"trackingPage": data["links"]["trackingPage"]}


def test_the_oms_flags_an_item_not_returnable(api):
    # when
    api.post("/api/v1/orders", {"orderId": "2001", "lineItems": [
        {"itemId": "GIFT", "name": "Gift card", "quantity": 1, "returnable": False},
        {"itemId": "MUG", "name": "Mug", "quantity": 1},
    ]})  # fmt: skip
    # then
    items = LineItem.objects.filter(order__order_id="2001").order_by("position")
    assert [(item.item_id, item.is_returnable) for item in items] == [
        ("GIFT", False), ("MUG", True),
    ]  # fmt: skip


def test_a_tracker_of_an_order_links_to_the_return_flow(api, merchant):
    # given
    policy_for(merchant)
    delivered_order(merchant)
    # when
    response = api.post("/api/v1/trackers", {
        "trackerExternalId": "T-1", "orderId": "1001",
        "trackingNumber": "SBXDELIVERED1001", "provider": "sandbox",
    })  # fmt: skip
    # then
    assert response.status_code == 201, response.json()
    links = response.json()["data"]["referenceLinks"]
    assert "/returns/FDC-01-12345/1001?t=" in links["returnsUrl"]


# --- End to end -------------------------------------------------------------------------------

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def _sandbox_step(settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10


@pytest.mark.usefixtures("_sandbox_step")
def test_a_return_walks_from_request_to_received_with_its_webhooks(api, merchant, receiver):  # noqa: F811
    # given: returns on, approved by an agent, webhooks subscribed
    receiver.status = 200
    webhook_endpoint_create(merchant=merchant, url=URL, event_types=[
        "return.requested", "return.approved", "return.received", "tracking.delivered",
    ])  # fmt: skip
    policy_for(merchant)
    with time_machine.travel(T0, tick=False):
        request = _return(merchant)
        return_id = request.public_id
        # when: the merchant's system approves and sends the return's tracking number
        api.post(f"/api/v1/returns/{return_id}/approve", {"message": "Thanks"})
        api.post(f"/api/v1/returns/{return_id}/label", {"trackingNumber": "SBXDELIVERED5"})
    # and the sandbox carrier walks the package back, polled every 5 minutes
    for minutes in range(0, 100, 5):
        moment = T0 + timedelta(minutes=minutes)
        with time_machine.travel(moment, tick=False):
            poll_due_shipments(now=moment)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        notifications_send_due()
    # then
    request.refresh_from_db()
    assert request.status == "received"
    assert request.received_at == T0 + timedelta(minutes=70)  # the sandbox's 8th step
    mug = LineItem.objects.get(order__order_id="1001", item_id="MUG")
    assert (mug.quantity_return_requested, mug.quantity_returned) == (1, 1)
    bodies = [json.loads(received.body) for received in receiver.requests]
    # the order's own package told tracking.delivered; the one coming back is no order's
    assert sorted(body["eventType"] for body in bodies) == [
        "return.approved", "return.received", "return.requested", "tracking.delivered",
    ]  # fmt: skip
    received = next(body["data"] for body in bodies if body["eventType"] == "return.received")
    assert (received["returnId"], received["status"]) == (return_id, "received")
    assert received["returnShipment"]["status"] == "delivered"
    assert api.get(f"/api/v1/returns/{return_id}").json()["data"]["status"] == "received"
    assert ReturnRequest.objects.get().shipment.direction == "return"
