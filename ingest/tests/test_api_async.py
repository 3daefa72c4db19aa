"""`Prefer: respond-async`: the message is checked and queued, answered 202 with where to follow
it; the worker's drain (ingest/queued.py) applies the queue as the endpoints would have."""

from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from inbound.models import InboundMessage
from ingest import queued
from ingest.events import EVENT_TYPES
from ingest.tasks import apply_queued_messages
from ingest.tests.test_api_orders import ORDER, UPS_NUMBER
from orders.models import Order, Shipment

pytestmark = pytest.mark.django_db

ASYNC = {"HTTP_PREFER": "respond-async"}
SHIPMENT = {"trackingNumber": UPS_NUMBER, "carrier": "ups",
            "items": [{"itemId": "SKU-1", "quantity": 1}]}  # fmt: skip


def _status(api, response) -> dict:
    return api.get(response["Location"]).json()["data"]


def test_a_queued_order_is_answered_at_once_and_applied_by_the_worker(api, merchant):
    # when
    response = api.post("/api/v1/orders", ORDER, **ASYNC)
    # then: 202 and where to follow it, and nothing applied yet
    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"
    data = response.json()["data"]
    assert data["status"] == "queued" and data["response"] is None
    assert data["orderId"] == "12345" and response["Location"] == data["statusUrl"]
    assert not Order.objects.exists()
    assert _status(api, response)["status"] == "queued"
    # when: the worker drains the queue
    assert queued.queued_apply() == 1
    # then: the order exists and the message holds the answer the endpoint would have given
    assert Order.objects.get().customer_name == "Jane Doe"
    followed = _status(api, response)
    assert followed["status"] == "accepted" and followed["processedAt"]
    assert followed["response"]["status"] == 201
    answer = followed["response"]["body"]
    assert answer["success"] is True and answer["data"]["orderId"] == "12345"
    assert answer["data"]["lineItems"][0]["quantityAwaitingShipment"] == 2


def test_a_body_that_is_wrong_in_itself_is_refused_at_once_and_not_queued(api):
    # when: a quantity below one, and an empty body
    wrong = api.post("/api/v1/orders", {**ORDER, "lineItems": [{"itemId": "A", "quantity": 0}]},
                     **ASYNC)  # fmt: skip
    missing = api.post("/api/v1/orders/12345/shipments", {}, **ASYNC)
    # then
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "INVALID_ORDER_DATA"
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MISSING_SHIPMENT_DATA"
    assert sorted(InboundMessage.objects.values_list("outcome", flat=True)) == [
        "rejected", "rejected"]  # fmt: skip
    assert queued.queued_apply() == 0


def test_an_order_and_its_shipments_are_applied_in_the_order_posted(api, merchant):
    # given: the order, a shipment, and a second shipment of more than is left
    posted = [
        api.post("/api/v1/orders", ORDER, **ASYNC),
        api.post("/api/v1/orders/12345/shipments", SHIPMENT, **ASYNC),
        api.post("/api/v1/orders/12345/shipments",
                 {**SHIPMENT, "trackingNumber": "1Z5R89390357567128",
                  "items": [{"itemId": "SKU-1", "quantity": 2}]}, **ASYNC),
    ]  # fmt: skip
    assert [response.status_code for response in posted] == [202, 202, 202]
    # when
    queued.queued_apply()
    # then: the order is no placeholder, one shipment exists, the other was refused for its data
    order = Order.objects.get()
    assert not order.is_placeholder
    assert list(Shipment.objects.values_list("tracking_number", flat=True)) == [UPS_NUMBER]
    order_answer, shipped, refused = (_status(api, response) for response in posted)
    assert order_answer["response"]["status"] == 201 and shipped["response"]["status"] == 201
    assert refused["status"] == "rejected" and refused["response"]["status"] == 422
    error = refused["response"]["body"]["error"]
    assert error["code"] == "INVALID_SHIPMENT_DATA" and "items[0].quantity" in error["fields"]
    # and: the rejected one is listed for the OMS to fix
    listed = api.get("/api/v1/messages", {"status": "rejected"}).json()["data"]
    assert [message["messageId"] for message in listed] == [refused["messageId"]]
    assert listed[0]["response"] == {"status": 422, "error": error}
    # and: a list shows an accepted message's status, not its whole answer
    everything = api.get("/api/v1/messages").json()["data"]
    assert [message["response"] for message in everything][1:] == [{"status": 201}] * 2


def test_a_key_sent_again_answers_202_while_queued_and_the_answer_once_applied(api):
    # given
    first = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1", **ASYNC)
    # when: sent again while queued
    again = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1", **ASYNC)
    # then: the same message, not a second one
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["messageId"] == first.json()["data"]["messageId"]
    assert InboundMessage.objects.count() == 1
    # when: applied, then sent again
    queued.queued_apply()
    later = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1", **ASYNC)
    # then: the answer it had
    assert later.status_code == 201 and later["Idempotent-Replayed"] == "true"
    assert later.json()["data"]["orderId"] == "12345"
    assert Order.objects.count() == 1


def test_an_event_sent_twice_is_applied_once(api):
    # given
    event = {"eventId": "oms-1", "type": "order.created", "data": ORDER}
    api.post("/api/v1/events", event, **ASYNC)
    api.post("/api/v1/events", event, **ASYNC)
    # when
    queued.queued_apply()
    # then
    answers = [message.response() for message in InboundMessage.objects.order_by("id")]
    assert answers[0]["data"]["orderId"] == "12345"
    assert answers[1]["warnings"][0]["code"] == "DUPLICATE_EVENT"
    assert Order.objects.count() == 1


def test_our_failure_on_one_message_is_recorded_and_the_others_apply(api, monkeypatch):
    # given: a shipment whose parsing fails on our side
    api.post("/api/v1/orders", ORDER, **ASYNC)
    failing = api.post("/api/v1/orders/12345/shipments", SHIPMENT, **ASYNC)
    api.post("/api/v1/orders", {**ORDER, "orderId": "12346"}, **ASYNC)

    def broken(data, order_id):
        raise RuntimeError("boom")

    # An impossible bug on purpose, for the 500 path: a real boundary here fails as a 503.
    shipment = EVENT_TYPES["shipment.confirmed"]
    monkeypatch.setitem(EVENT_TYPES, "shipment.confirmed", replace(shipment, change=broken))
    # when
    queued.queued_apply()
    # then
    assert sorted(Order.objects.values_list("order_id", flat=True)) == ["12345", "12346"]
    followed = _status(api, failing)
    assert followed["status"] == "failed" and followed["response"]["status"] == 500
    assert "boom" not in str(followed)  # no internals shown


def test_a_drain_costs_the_same_statements_for_3_messages_or_30(api):
    def statements(count: int, first: int) -> int:
        for number in range(first, first + count):
            api.post("/api/v1/orders", {**ORDER, "orderId": str(number)}, **ASYNC)
        with CaptureQueriesContext(connection) as captured:
            assert queued.queued_apply() == count
        return len(captured)

    assert statements(3, 100) == statements(30, 200)
    assert Order.objects.count() == 33


def test_another_merchants_message_is_not_found(api, other_api):
    # given
    response = api.post("/api/v1/orders", ORDER, **ASYNC)
    # when
    theirs = other_api.get(response["Location"])
    listed = other_api.get("/api/v1/messages").json()
    # then
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "MESSAGE_NOT_FOUND"
    assert listed["data"] == []
    assert api.get("/api/v1/messages/999999999999999999999").status_code == 404


def test_a_worker_is_asked_for_once_and_its_drain_applies_what_comes_meanwhile(api):
    # when: three messages at once
    for number in range(3):
        api.post("/api/v1/orders", {**ORDER, "orderId": f"9{number}"}, **ASYNC)
    # then: one task was queued for them
    assert OrmQ.objects.count() == 1
    # when: the task runs (as a worker would), it applies them all and lets the next one ask
    assert apply_queued_messages() == "3"
    api.post("/api/v1/orders", {**ORDER, "orderId": "99"}, **ASYNC)
    assert OrmQ.objects.count() == 2


def test_without_the_preference_the_endpoint_answers_as_always(api):
    response = api.post("/api/v1/orders", ORDER, HTTP_PREFER="return=minimal")
    assert response.status_code == 201 and "Preference-Applied" not in response


def test_a_drain_out_of_time_hands_the_queue_to_a_new_task(api, monkeypatch):
    # given: messages queued, and no time left in the task's budget
    api.post("/api/v1/orders", ORDER, **ASYNC)
    OrmQ.objects.all().delete()
    monkeypatch.setattr("ingest.tasks.ROUND_BUDGET_SECONDS", 0)
    # when
    apply_queued_messages()
    # then: nothing applied by this one, and another task is queued to go on
    assert InboundMessage.objects.get().outcome == "queued"
    assert OrmQ.objects.count() == 1


def test_the_list_costs_the_same_statements_for_2_messages_or_20(api):
    def statements(count: int, first: int) -> int:
        for number in range(first, first + count):
            api.post("/api/v1/orders", {**ORDER, "orderId": str(number)}, **ASYNC)
        queued.queued_apply()
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/messages", {"limit": 100}).status_code == 200
        return len(captured)

    assert statements(2, 100) == statements(18, 200)
