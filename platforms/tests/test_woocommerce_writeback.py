"""Issue 22, WooCommerce both ways: an order comes in by the store's webhook, its sandbox parcel
is polled to delivered, and the store hears of it — a private note for each status the merchant
chose and the order completed once — through the real outbox (notifications.sending), with the
store's REST API mocked at the HTTP boundary."""

import json
import random
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
import time_machine

from ingest.tests.test_channels_woocommerce import connection_for, deliver, with_tracking, woo_order
from notifications.models import Notification, NotificationAttempt
from notifications.sending import notifications_send_due
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

STORE = "https://fred.example/wp-json/wc/v3"
ORDER_URL = f"{STORE}/orders/48213"
NOTES_URL = f"{ORDER_URL}/notes"
BASIC = "Basic " + b64encode(b"ck_fred:cs_fred").decode()
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(merchant, settings, fake_dns):
    """Fred's WooCommerce store (a public address), writing back in transit and delivered and
    completing delivered orders; the sandbox moves one step every 10 minutes."""
    settings.SANDBOX_MINUTES_PER_STEP = 10
    fake_dns()
    connection = connection_for(merchant)
    connection.write_back_statuses = ["in_transit", "delivered"]
    connection.complete_on_delivery = True
    connection.save()
    return connection


def _order_shipped_by_the_sandbox(client, store) -> None:
    order = with_tracking(woo_order(), {
        "tracking_provider": "", "custom_tracking_provider": "Sandbox",
        "tracking_number": "SBXDELIVERED0001", "date_shipped": "1795176000", "tracking_id": "s1",
    })  # fmt: skip
    with time_machine.travel(T0, tick=False):
        assert deliver(client, store.public_id, order).json()["data"]["outcome"] == "accepted"


def _worker_runs(minutes: range) -> None:
    """The worker every five minutes: it polls what is due, then sends the outbox. The poller
    spaces checks by the sandbox's step ± 10 % (random): seeded, for the same walk each run."""
    random.seed(1)
    for minute in minutes:
        moment = T0 + timedelta(minutes=minute)
        with time_machine.travel(moment, tick=False):
            poll_due_shipments(now=moment)
            notifications_send_due(now=moment)


def _store_answers_well() -> None:
    responses.get(ORDER_URL, json={"id": 48213, "number": "1057", "status": "processing"})
    responses.put(ORDER_URL, json={"id": 48213, "number": "1057", "status": "completed"})
    responses.post(
        NOTES_URL, status=201, json={"id": 281, "author": "system", "customer_note": False}
    )


def _calls() -> list[tuple[str, str, dict | None]]:
    return [
        (call.request.method, call.request.url, json.loads(call.request.body or "null"))
        for call in responses.calls
    ]


def _written() -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.filter(channel="platform")
        .order_by("created_at", "pk")
        .values_list("trigger", "status", "provider_message_id")
    )


PARCEL = "Sandbox (simulated) SBXDELIVERED0001"
IN_TRANSIT_NOTE = f"flexTracker: In transit. {PARCEL} – Memphis, TN, US – 2026-11-20 12:20 UTC."
DELIVERED_NOTE = f"flexTracker: Delivered. {PARCEL} – Chicago, IL, US – 2026-11-20 13:10 UTC."


@responses.activate
def test_a_woocommerce_order_walked_to_delivered_writes_the_chosen_notes_and_completes_once(
    client, store
):
    # given
    _store_answers_well()
    _order_shipped_by_the_sandbox(client, store)
    # when: two hours of the worker, then the same again (nothing more to write)
    _worker_runs(range(0, 125, 5))
    _worker_runs(range(125, 180, 5))
    # then: a note in transit; on delivery the order read, completed, and noted — once each
    assert _calls() == [
        ("POST", NOTES_URL, {"note": IN_TRANSIT_NOTE, "customer_note": False}),
        ("GET", ORDER_URL, None),
        ("PUT", ORDER_URL, {"status": "completed"}),
        ("POST", NOTES_URL, {"note": DELIVERED_NOTE, "customer_note": False}),
    ]
    assert {call.request.headers["Authorization"] for call in responses.calls} == {BASIC}
    assert _written() == [
        ("in_transit", "sent", "note 281"),
        ("delivered", "sent", "order completed; note 281"),
    ]


@responses.activate
def test_an_order_the_store_already_completed_or_cancelled_is_left_as_it_is(client, store):
    # given: someone on the store cancelled the order while the parcel travelled
    responses.get(ORDER_URL, json={"id": 48213, "number": "1057", "status": "cancelled"})
    responses.post(NOTES_URL, status=201, json={"id": 282})
    _order_shipped_by_the_sandbox(client, store)
    # when
    _worker_runs(range(0, 125, 5))
    # then: the notes, and no PUT
    assert [(method, url) for method, url, _body in _calls()] == [
        ("POST", NOTES_URL), ("GET", ORDER_URL), ("POST", NOTES_URL),
    ]  # fmt: skip
    assert _written()[-1] == ("delivered", "sent", "note 282")


@responses.activate
def test_while_woocommerce_is_down_the_row_waits_in_the_outbox_and_goes_later(client, store):
    # given: the store answers 503 with a wait of two minutes
    down = responses.post(NOTES_URL, status=503, headers={"Retry-After": "120"}, body="<html>…")
    _order_shipped_by_the_sandbox(client, store)
    # when: the parcel is seen in transit at 12:20 and the worker sends at once
    _worker_runs(range(0, 25, 5))
    # then: the row waits, its error visible, its next try after the store's wait
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "WooCommerce answered HTTP 503.",
    )
    assert row.next_attempt_at >= T0 + timedelta(minutes=20, seconds=120)
    attempt = NotificationAttempt.objects.get(notification=row)
    assert (attempt.succeeded, attempt.response_status) == (False, 503)
    # when: the store is back; the worker goes on
    responses.remove(down)
    _store_answers_well()
    _worker_runs(range(25, 40, 5))
    # then: sent, once
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 2, "note 281")
    assert [call.request.method for call in responses.calls] == ["POST", "POST"]


@responses.activate
def test_a_store_that_refuses_the_key_fails_the_row_naming_its_code_only(client, store):
    # given
    responses.post(NOTES_URL, status=401, json={
        "code": "woocommerce_rest_cannot_create", "data": {"status": 401},
        "message": "Sorry, you are not allowed to create resources. ck_fred",
    })  # fmt: skip
    _order_shipped_by_the_sandbox(client, store)
    # when
    _worker_runs(range(0, 25, 5))
    # then: given up (retrying cannot help), the code named, never the store's message
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.last_error) == (
        "failed",
        "WooCommerce refused the API key (woocommerce_rest_cannot_create).",
    )
    assert len(responses.calls) == 1


@responses.activate
def test_a_store_that_does_not_answer_in_time_is_tried_again(client, store):
    # given
    responses.post(NOTES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    _order_shipped_by_the_sandbox(client, store)
    # when
    _worker_runs(range(0, 25, 5))
    # then
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "WooCommerce did not answer in time.",
    )
