"""Issue 22, Shopify both ways: an order and its fulfillment come in by the store's webhooks, the
sandbox parcel is polled to delivered, and the store hears of it — one fulfillment event per
status the merchant chose, on the fulfillment the shipment came from — through the real outbox
(notifications.sending), with Shopify's GraphQL Admin API mocked at the HTTP boundary."""

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
import time_machine

from ingest.tests.test_channels_shopify import deliver, sample, shop_for
from notifications.models import Notification, NotificationAttempt
from notifications.sending import notifications_send_due
from orders.models import Shipment
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

GRAPHQL = "https://fred.myshopify.com/admin/api/2025-07/graphql.json"
TOKEN = "shpat_fred_0123456789abcdef"
FULFILLMENT = "gid://shopify/Fulfillment/123456"  # the sample fulfillment's id
FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def admin_sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


THROTTLED = admin_sample("graphql_throttled.json")
COST = {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990,
                           "restoreRate": 100.0}}  # fmt: skip


@pytest.fixture
def store(merchant, settings, fake_dns):
    """Fred's Shopify store, writing back in transit, out for delivery and delivered; the
    sandbox moves one step every 10 minutes."""
    settings.SANDBOX_MINUTES_PER_STEP = 10
    fake_dns()
    connection = shop_for(
        merchant, write_back_statuses=["in_transit", "out_for_delivery", "delivered"]
    )
    connection.secret = TOKEN
    connection.save()
    return connection


def _fulfillment(number: str = "SBXDELIVERED0001") -> dict:
    fulfillment = sample("fulfillments/create")
    fulfillment.update(tracking_company="Other", tracking_number=number, tracking_numbers=[number])
    return fulfillment


def _order_shipped_by_the_sandbox(client) -> None:
    with time_machine.travel(T0, tick=False):
        for topic, payload in (("orders/create", sample("orders/create")),
                               ("fulfillments/create", _fulfillment())):  # fmt: skip
            assert deliver(client, topic, payload).json()["data"]["outcome"] == "accepted"


def _worker_runs(minutes: range) -> None:
    """The worker every five minutes: it polls what is due, then sends the outbox. The poller
    spaces checks by the sandbox's step ± 10 % (random): seeded, for the same walk each run."""
    random.seed(1)
    for minute in minutes:
        moment = T0 + timedelta(minutes=minute)
        with time_machine.travel(moment, tick=False):
            poll_due_shipments(now=moment)
            notifications_send_due(now=moment)


def _event_created(request):
    """Shopify's answer to fulfillmentEventCreate: the event, numbered by the call."""
    event = json.loads(request.body)["variables"]["fulfillmentEvent"]
    number = len(responses.calls) + 1
    data = {"fulfillmentEventCreate": {
        "fulfillmentEvent": {"id": f"gid://shopify/FulfillmentEvent/{number}",
                             "status": event["status"]},
        "userErrors": [],
    }}  # fmt: skip
    return 200, {}, json.dumps({"data": data, "extensions": {"cost": COST}})


def _shopify_answers_well() -> None:
    responses.add_callback(responses.POST, GRAPHQL, callback=_event_created)


def _events_sent() -> list[dict]:
    return [json.loads(call.request.body)["variables"]["fulfillmentEvent"]
            for call in responses.calls]  # fmt: skip


def _event(status, time, city, province, zip_code, message) -> dict:
    """A fulfillment event as we send it: the sandbox's estimate is a date (Nov 20), sent at
    noon UTC."""
    return {
        "fulfillmentId": FULFILLMENT, "status": status, "happenedAt": f"2026-11-20T{time}:00Z",
        "city": city, "province": province, "country": "US", "zip": zip_code,
        "estimatedDeliveryAt": "2026-11-20T12:00:00Z", "message": message,
    }  # fmt: skip


def _written() -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.filter(channel="platform")
        .order_by("created_at", "pk")
        .values_list("trigger", "status", "provider_message_id")
    )


@responses.activate
def test_a_shopify_parcel_walked_to_delivered_writes_its_fulfillment_events_in_order_once(
    client, store
):
    # given
    _shopify_answers_well()
    _order_shipped_by_the_sandbox(client)
    # when: two hours of the worker; Shopify redelivers the fulfillment; another hour
    _worker_runs(range(0, 125, 5))
    redelivered = deliver(client, "fulfillments/create", _fulfillment(), webhook_id="wh-again")
    _worker_runs(range(125, 180, 5))
    # then: one event per chosen status, in order, on the shipment's fulfillment
    assert redelivered.json()["data"]["outcome"] == "accepted"
    assert _events_sent() == [
        _event("IN_TRANSIT", "12:20", "Memphis", "TN", "38118", "Departed facility"),
        _event("OUT_FOR_DELIVERY", "13:00", "Chicago", "IL", "60601", "Out for delivery"),
        _event("DELIVERED", "13:10", "Chicago", "IL", "60601", "Delivered, front door"),
    ]
    assert {call.request.headers["X-Shopify-Access-Token"] for call in responses.calls} == {TOKEN}
    assert _written() == [
        ("in_transit", "sent", "gid://shopify/FulfillmentEvent/1"),
        ("out_for_delivery", "sent", "gid://shopify/FulfillmentEvent/2"),
        ("delivered", "sent", "gid://shopify/FulfillmentEvent/3"),
    ]


@responses.activate
def test_a_throttled_answer_waits_in_the_outbox_for_shopifys_bucket_then_goes_once(client, store):
    # given: Shopify's real throttled answer (HTTP 200: the call cost 752, 666 were available)
    throttled = responses.post(GRAPHQL, json=THROTTLED)
    _order_shipped_by_the_sandbox(client)
    # when: the parcel is seen in transit at 12:20 and the worker sends at once
    _worker_runs(range(0, 25, 5))
    # then: the row waits, why visible, its next try after the bucket refilled
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.attempts, row.last_error) == (
        "pending", 1,
        "Shopify throttled the call (it costs 752 points, 666 were available, 50 come back "
        "each second).",
    )  # fmt: skip
    assert row.next_attempt_at >= T0 + timedelta(minutes=20, seconds=1.8)
    attempt = NotificationAttempt.objects.get(notification=row)
    assert (attempt.succeeded, attempt.response_status) == (False, 200)
    # when: the bucket refilled; the worker goes on
    responses.remove(throttled)
    _shopify_answers_well()
    _worker_runs(range(25, 40, 5))
    # then: written once, nothing lost
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert [event["status"] for event in _events_sent()] == ["IN_TRANSIT", "IN_TRANSIT"]
    assert [call.response.status_code for call in responses.calls] == [200, 200]
    assert row.provider_message_id == "gid://shopify/FulfillmentEvent/2"


@responses.activate
def test_while_shopify_is_down_the_row_waits_in_the_outbox_and_goes_later(client, store):
    # given: Shopify answers 503, then does not answer in time
    down = responses.post(GRAPHQL, status=503, body="<html>Shopify is down</html>")
    _order_shipped_by_the_sandbox(client)
    _worker_runs(range(0, 25, 5))
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.last_error) == ("pending", "Shopify answered HTTP 503.")
    responses.remove(down)
    slow = responses.post(GRAPHQL, body=requests.exceptions.ReadTimeout("read timed out"))
    _worker_runs(range(25, 30, 5))
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        "pending", 2, "Shopify did not answer in time.",
    )  # fmt: skip
    # when: Shopify is back
    responses.remove(slow)
    _shopify_answers_well()
    _worker_runs(range(30, 45, 5))
    # then
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 3)


@responses.activate
def test_a_refused_event_is_given_up_naming_the_field_never_shopifys_text(client, store):
    # given: the fulfillment was deleted in Shopify
    responses.post(GRAPHQL, json={"data": {"fulfillmentEventCreate": {
        "fulfillmentEvent": None,
        "userErrors": [{"field": ["fulfillmentEvent", "fulfillmentId"],
                        "message": "Fulfillment does not exist. <b>shop fred</b>"}],
    }}, "extensions": {"cost": COST}})  # fmt: skip
    _order_shipped_by_the_sandbox(client)
    # when
    _worker_runs(range(0, 25, 5))
    # then: given up (retrying cannot help), the reason visible
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.last_error) == (
        "failed", "Shopify refused the fulfillment event (field fulfillmentEvent.fulfillmentId).",
    )  # fmt: skip
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "Shopify refused the Admin API access token."),
        (403, "Shopify refused the call: the app needs the write_fulfillments scope."),
        (402, "Shopify refused the call: the store is frozen (its bill is unpaid)."),
    ],
)
def test_a_store_that_refuses_the_token_fails_the_row(client, store, status, message):
    # given
    responses.post(GRAPHQL, status=status, json={"errors": f"[API] Invalid {TOKEN}"})
    _order_shipped_by_the_sandbox(client)
    # when
    _worker_runs(range(0, 25, 5))
    # then
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.last_error) == ("failed", message)


@responses.activate
def test_a_shipment_shopify_did_not_make_writes_nothing(client, store, api):
    # given: Shopify's order, and a parcel of it the merchant's OMS posted (no fulfillment)
    _shopify_answers_well()
    with time_machine.travel(T0, tick=False):
        deliver(client, "orders/create", sample("orders/create"))
        posted = api.post("/api/v1/orders/%239999/shipments", {
            "trackingNumber": "SBXDELIVERED0002",
            "items": [{"itemId": "487817672276298554", "quantity": 1}],
        })  # fmt: skip
    assert posted.status_code == 201
    # when
    _worker_runs(range(0, 125, 5))
    # then: it was walked to delivered, and nothing was queued for Shopify
    assert Shipment.objects.get(tracking_number="SBXDELIVERED0002").status == "delivered"
    assert not Notification.objects.filter(channel="platform").exists()
    assert not responses.calls


@responses.activate
def test_a_status_the_merchant_did_not_choose_is_not_written(client, store):
    # given
    store.write_back_statuses = ["delivered"]
    store.save()
    _shopify_answers_well()
    _order_shipped_by_the_sandbox(client)
    # when
    _worker_runs(range(0, 125, 5))
    # then
    assert [event["status"] for event in _events_sent()] == ["DELIVERED"]


@responses.activate
def test_a_fulfillment_that_came_before_its_order_is_written_back_once_the_order_came(
    client, store
):
    # given: Shopify delivered the fulfillment first, then the order
    _shopify_answers_well()
    with time_machine.travel(T0, tick=False):
        for topic, payload in (("fulfillments/create", _fulfillment()),
                               ("orders/create", sample("orders/create"))):  # fmt: skip
            assert deliver(client, topic, payload).json()["data"]["outcome"] == "accepted"
    # when
    _worker_runs(range(0, 125, 5))
    # then
    assert [event["status"] for event in _events_sent()] == [
        "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED",
    ]  # fmt: skip
