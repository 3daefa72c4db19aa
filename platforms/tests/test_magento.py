"""Writing back to Magento (platforms/magento.py) through the real outbox: a sandbox shipment of
a pulled Magento order, walked to delivered, writes the chosen status-history comments once each
and completes the order; the "Test connection" check; failures as the outbox needs them."""

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
import time_machine

from ingest.channels.magento_pull import magento_pull
from ingest.tests.magento_store import TOKEN, FakeMagento, magento_order, magento_shipment
from notifications.models import Notification
from notifications.sending import notifications_send_due
from platforms.checks import CHECKS
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PlatformConnection
from platforms.writers import WRITERS
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
HIDDEN = {"is_customer_notified": 0, "is_visible_on_front": 0}


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


def _connection(merchant, base_url="https://shop.example.com", **fields) -> PlatformConnection:
    return PlatformConnection.objects.create(
        merchant=merchant, name="Magento", kind="magento", base_url=base_url, secret=TOKEN,
        **fields,
    )  # fmt: skip


def _store(base_url="https://shop.example.com", state="processing") -> FakeMagento:
    order = magento_order(9, "000000013", "2026-11-21 09:00:00", state=state)
    shipment = magento_shipment(3, order, [("SBXDELIVERED11", "custom", "Sandbox")], [(91, 1)])
    return FakeMagento(base_url=base_url, orders=[order], shipments=[shipment]).install()


def _walk_to_delivered(settings) -> None:
    """The worker every five minutes for two hours: it polls what is due, then sends. Seeded as
    the tracker end-to-end test is, so the 10-minute out-for-delivery step is always seen."""
    settings.SANDBOX_MINUTES_PER_STEP = 10
    random.seed(1)
    for minutes in range(0, 120, 5):
        moment = T0 + timedelta(minutes=minutes)
        with time_machine.travel(moment, tick=False):
            poll_due_shipments(now=moment)
            notifications_send_due(now=moment)


@responses.activate
def test_a_sandbox_shipment_walked_to_delivered_writes_the_chosen_comments_once_each(
    merchant, other_merchant, settings
):
    # given: a pulled Magento order whose store writes out-for-delivery and delivered, and
    # completes orders on delivery; another merchant's Magento store
    store = _store()
    theirs = _store(base_url="https://other-shop.example.com")
    connection = _connection(merchant, write_back_statuses=["out_for_delivery", "delivered"],
                             complete_on_delivery=True)  # fmt: skip
    _connection(other_merchant, base_url="https://other-shop.example.com",
                write_back_statuses=["out_for_delivery", "delivered"])  # fmt: skip
    with time_machine.travel(T0, tick=False):
        assert magento_pull(connection, time.monotonic() + 60) == 1
    store.calls.clear()
    # when
    _walk_to_delivered(settings)
    _walk_to_delivered(settings)  # the worker again: nothing is written twice
    # then
    assert store.comments == [
        (9, {"comment": "flexTracker: Sandbox (simulated) SBXDELIVERED11: Out for delivery.",
             **HIDDEN}),
        (9, {"comment": "flexTracker: Sandbox (simulated) SBXDELIVERED11: Delivered.\n"
                        "Delivered, front door\n"
                        "Every package of this order is delivered: order marked complete.",
             **HIDDEN, "status": "complete"}),
    ]  # fmt: skip
    assert store.calls == ["POST orders/9/comments", "GET orders/9", "POST orders/9/comments"]
    rows = Notification.objects.filter(channel="platform").order_by("pk")
    assert [(r.trigger, r.status, r.recipient) for r in rows] == [
        ("out_for_delivery", "sent", str(connection.public_id)),
        ("delivered", "sent", str(connection.public_id)),
    ]
    assert rows[1].provider_message_id == "order 9: comment, status complete"
    assert theirs.calls == [] and theirs.comments == []


@responses.activate
def test_an_order_canceled_in_magento_is_given_a_comment_but_no_status(merchant):
    # given
    store = _store(state="canceled")
    connection = _connection(merchant)
    payload = {
        "platformOrder": {"connection": str(connection.public_id), "id": "9"},
        "status": "delivered",
        "writeNote": True,
        "completeOrder": True,
        "tracking": {"carrierName": "UPS", "trackingNumber": "1Z5R89390357567127"},
    }
    # when
    written = WRITERS["magento"](connection, payload)
    # then
    assert written == "order 9: comment"
    assert store.comments == [(9, {"comment": "flexTracker: UPS 1Z5R89390357567127: Delivered.",
                                   **HIDDEN})]  # fmt: skip


@responses.activate
def test_completing_an_order_magento_has_finished_with_writes_nothing(merchant):
    # given
    store = _store(state="complete")
    connection = _connection(merchant)
    payload = {
        "platformOrder": {"connection": str(connection.public_id), "id": "9"},
        "status": "delivered",
        "writeNote": False,
        "completeOrder": True,
    }
    # when
    written = WRITERS["magento"](connection, payload)
    # then
    assert written == "order 9: nothing (already complete or closed)"
    assert (store.calls, store.comments) == (["GET orders/9"], [])


@responses.activate
@pytest.mark.parametrize(
    ("answer", "failure", "message"),
    [
        (401, PlatformRefused, "Magento answered 401 to orders/9/comments: the access token was "
                               "refused."),
        (404, PlatformRefused, "Magento answered 404 to orders/9/comments: not found."),
        (429, PlatformUnavailable, "Magento answered 429 to orders/9/comments."),
        (503, PlatformUnavailable, "Magento answered 503 to orders/9/comments."),
    ],
)  # fmt: skip
def test_a_refusal_gives_up_and_a_busy_store_is_tried_again(merchant, answer, failure, message):
    # given
    store = _store()
    store.down = answer
    connection = _connection(merchant)
    payload = {
        "platformOrder": {"connection": str(connection.public_id), "id": "9"},
        "status": "in_transit",
        "writeNote": True,
        "completeOrder": False,
    }
    # when
    with pytest.raises(failure) as raised:
        WRITERS["magento"](connection, payload)
    # then
    assert (str(raised.value), raised.value.response_status) == (message, answer)
    if failure is PlatformUnavailable:
        assert raised.value.retry_after == 120


@responses.activate
def test_a_timeout_is_tried_again(merchant):
    # given: the store never answers in time
    responses.post("https://shop.example.com/rest/V1/orders/9/comments",
                   body=requests.exceptions.ReadTimeout())  # fmt: skip
    connection = _connection(merchant)
    payload = {
        "platformOrder": {"connection": str(connection.public_id), "id": "9"},
        "status": "in_transit",
        "writeNote": True,
    }
    # when
    with pytest.raises(PlatformUnavailable) as raised:
        WRITERS["magento"](connection, payload)
    # then
    assert str(raised.value) == "Magento did not answer (ReadTimeout)."


@responses.activate
def test_test_connection_answers_the_store_and_its_currency(merchant):
    # given
    _store()
    connection = _connection(merchant, base_url="https://shop.example.com/rest/V1/")
    # when
    answer = CHECKS["magento"](connection)
    # then
    assert answer == "Store: default, base currency USD"


@responses.activate
def test_test_connection_with_a_wrong_token_is_refused_without_showing_it(merchant):
    # given
    _store()
    connection = _connection(merchant)
    connection.secret = "wrong-token-5555"
    # when
    with pytest.raises(PlatformRefused) as raised:
        CHECKS["magento"](connection)
    # then
    assert str(raised.value) == (
        "Magento answered 401 to store/storeConfigs: the access token was refused."
    )


def test_a_private_address_is_refused_before_anything_is_sent(merchant, fake_dns):
    # given: the store's name resolves to the cloud's metadata address
    fake_dns({"shop.example.com": "169.254.169.254"})
    connection = _connection(merchant)
    # when
    with pytest.raises(PlatformRefused) as raised:
        CHECKS["magento"](connection)
    # then
    assert str(raised.value).startswith("The store's address is refused: ")
