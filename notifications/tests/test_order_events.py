"""Order events (API.md "Outbound webhooks"): order.created, order.cancelled and shipment.created
webhooks for subscribed endpoints, and the customer's order_received, items_cancelled and
items_backordered messages where the merchant chose them."""

import json
from datetime import date

import pytest
import responses
from django.conf import settings

from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from orders.services import ItemQuantity, items_backorder, order_cancel
from orders.tests.factories import create_order, ship
from tests.network import PUBLIC_ADDRESS

pytestmark = pytest.mark.django_db

RECEIVER = f"https://{PUBLIC_ADDRESS}/hooks/orders"
ORDER_EVENTS = ["order.created", "order.cancelled", "shipment.created"]


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


@pytest.fixture
def endpoint(merchant):
    endpoint, _secret = webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/hooks/orders", event_types=ORDER_EVENTS
    )
    return endpoint


def _webhooks(**filters) -> list[Notification]:
    return list(Notification.objects.filter(channel="webhook", **filters).order_by("pk"))


def _customer(**filters) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(channel__in=["email", "sms"], **filters).order_by("pk")
    return list(rows.values_list("channel", "recipient", "trigger"))


def _page(order_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/orders/FDC-01-12345/{order_id}?t="


def test_a_new_order_notifies_its_webhooks_and_the_customer_who_chose_it(merchant, endpoint):
    # given
    merchant.notification_rules.create(channel="email", trigger="order_received")
    # when
    order = create_order(merchant, "1001")
    # then
    (webhook,) = _webhooks()
    assert (webhook.trigger, webhook.recipient, webhook.order_id) == (
        "order.created", endpoint.public_id, order.pk)  # fmt: skip
    data = webhook.payload["data"]
    assert {key: data[key] for key in ("orderId", "status", "items")} == {
        "orderId": "1001", "status": "received",
        "items": [{"itemId": "MUG", "name": "Blue mug", "quantity": 2},
                  {"itemId": "TOWEL", "name": "Tea towel", "quantity": 1}],
    }  # fmt: skip
    assert data["links"]["trackingPage"].startswith(_page("1001"))
    assert _customer() == [("email", "jane@example.com", "order_received")]
    email = Notification.objects.get(channel="email")
    assert email.payload["trackingPage"] == data["links"]["trackingPage"]


def test_updating_an_order_is_not_news(merchant, endpoint):
    merchant.notification_rules.create(channel="email", trigger="order_received")
    create_order(merchant, "1001")
    create_order(merchant, "1001", customer_name="Jane Q. Doe")
    assert [row.trigger for row in _webhooks()] == ["order.created"]
    assert len(_customer()) == 1


def test_a_customer_is_not_told_unless_the_merchant_chose_it(merchant, endpoint):
    create_order(merchant, "1001")  # the default rules are shipment statuses only
    assert _customer() == [] and len(_webhooks()) == 1


def test_an_endpoint_not_subscribed_to_order_events_gets_none(merchant):
    webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/t", event_types=["tracking.delivered"]
    )
    create_order(merchant, "1001")
    order_cancel(merchant=merchant, order_id="1001", items=None)
    assert _webhooks() == []


def test_another_merchants_order_never_reaches_this_merchants_endpoint(endpoint, other_merchant):
    create_order(other_merchant, "1001")
    assert _webhooks() == []


def test_a_shipment_is_announced_once(merchant, endpoint):
    # given
    create_order(merchant, "1001")
    # when: the OMS sends the same shipment twice
    shipment = ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1), service="Ground").instance
    ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1))
    # then
    (webhook,) = _webhooks(trigger="shipment.created")
    assert webhook.shipment_id == shipment.pk
    assert webhook.payload["data"] == {
        "orderId": "1001", "trackingNumber": "SBXDELIVERED1", "carrier": "sandbox",
        "service": "Ground", "items": [{"itemId": "MUG", "quantity": 1}],
    }  # fmt: skip


def test_a_shipment_before_its_order_then_the_order_each_notify_once(merchant, endpoint):
    ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1))  # a placeholder order is made
    create_order(merchant, "1001")  # the real order arrives
    create_order(merchant, "1001")
    assert [row.trigger for row in _webhooks()] == ["shipment.created", "order.created"]


def test_each_cancellation_is_news_and_a_repeat_is_not(merchant, endpoint):
    # given
    merchant.notification_rules.create(channel="sms", trigger="items_cancelled")
    merchant.sms_notifications_enabled = True
    merchant.save()
    create_order(merchant, "1001")
    # when: one mug, then the rest, then the same whole-order cancellation again
    order_cancel(merchant=merchant, order_id="1001", items=[ItemQuantity("MUG", 1)], reason="r1")
    order_cancel(merchant=merchant, order_id="1001", items=None, reason="customer request")
    order_cancel(merchant=merchant, order_id="1001", items=None, reason="customer request")
    # then
    first, second = _webhooks(trigger="order.cancelled")
    assert (first.payload["data"]["status"], first.payload["data"]["reason"]) == ("received", "r1")
    assert first.payload["data"]["items"] == [{"itemId": "MUG", "name": "Blue mug", "quantity": 1}]
    assert second.payload["data"]["status"] == "cancelled"
    assert second.payload["data"]["items"] == [
        {"itemId": "MUG", "name": "Blue mug", "quantity": 1},
        {"itemId": "TOWEL", "name": "Tea towel", "quantity": 1},
    ]
    assert _customer() == [("sms", "+1 (512) 555-0100", "items_cancelled")] * 2


def test_a_backorder_notifies_and_the_same_notice_again_does_not(merchant, endpoint):
    # given
    merchant.notification_rules.create(channel="email", trigger="items_backordered")
    create_order(merchant, "1001")
    later = ItemQuantity("TOWEL", 1, expected_date=date(2026, 12, 1))
    # when
    items_backorder(merchant=merchant, order_id="1001", items=[later])
    items_backorder(merchant=merchant, order_id="1001", items=[later])
    items_backorder(merchant=merchant, order_id="1001",
                    items=[ItemQuantity("TOWEL", 1, expected_date=date(2026, 12, 8))])  # fmt: skip
    # then: no webhook type exists for backorders; the customer hears twice
    assert _webhooks(trigger__startswith="items") == []
    assert _customer() == [("email", "jane@example.com", "items_backordered")] * 2
    dates = [row.payload["data"]["items"][0]["expectedDate"]
             for row in Notification.objects.filter(channel="email").order_by("pk")]  # fmt: skip
    assert dates == ["2026-12-01", "2026-12-08"]


@responses.activate
def test_an_order_event_reaches_the_receiver_in_the_api_shape(merchant, endpoint):
    responses.post(RECEIVER, status=200)
    create_order(merchant, "1001")
    assert notifications_send_due().sent == 1
    body = json.loads(responses.calls[0].request.body)
    assert set(body) == {"eventId", "eventType", "timestamp", "data"}
    assert (body["eventType"], body["data"]["orderId"]) == ("order.created", "1001")
    assert responses.calls[0].request.headers["FlexTracker-Signature"].startswith("t=")
