"""News of a shipment that reached its order before the order itself did (a placeholder, with no
customer to tell): when the order arrives, the customer is told each shipment's current status.
Through the API, as an OMS posts it, to a local SMTP server."""

import pytest
from django.test import Client

from ingest.queued import queued_apply
from merchants.services import api_key_issue, notification_rules_set
from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.tests.smtp import Inbox
from tests.concurrency import requires_postgresql, run_at_once

pytestmark = pytest.mark.django_db

ASYNC = {"HTTP_PREFER": "respond-async"}
NUMBER = "VAN-42-0001"
SHIPMENT = {"trackingNumber": NUMBER, "carrier": "other",
            "items": [{"itemId": "SKU-1", "quantity": 1}]}  # fmt: skip
IN_TRANSIT = {"events": [{"timestamp": "2026-11-21T09:00:00Z", "status": "in_transit",
                          "statusDetail": "departed_facility",
                          "description": "Left our depot"}]}  # fmt: skip
ORDER = {"orderId": "RQ-1", "customer": {"name": "Jane Doe", "email": "jane@example.com"},
         "locale": "en-US",
         "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 1}]}  # fmt: skip


@pytest.fixture(autouse=True)
def thanks_and_news(merchant, other_merchant):
    """Both merchants thank for orders too, as in the issue's run."""
    for shop in (merchant, other_merchant):
        notification_rules_set(merchant=shop, channel="email",
                               triggers=["order_received", "in_transit", "delivered"])  # fmt: skip


def _subjects(inbox: Inbox) -> list[tuple[str, str]]:
    return sorted((message["To"], message["Subject"]) for message in inbox.messages)


def _emails() -> list[tuple[str, str]]:
    rows = Notification.objects.filter(channel="email")
    return sorted(rows.values_list("trigger", "dedupe_key"))


def test_the_customer_of_a_late_order_hears_where_its_shipment_already_is(api, inbox):
    # given: the shipment, then its first scan, before the order
    assert api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT).status_code == 201
    assert api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT).status_code == 200
    # when: the order arrives with the customer's email, and the outbox is sent
    assert api.post("/api/v1/orders", ORDER).status_code == 201
    notifications_send_due()
    # then: thanked for the order, and told it is on its way, with the package's link
    assert _subjects(inbox) == [
        ("jane@example.com", "Thank you for your order RQ-1"),
        ("jane@example.com", "Your Fred's Discount City order RQ-1 is on its way"),
    ]
    told = Notification.objects.get(channel="email", trigger="in_transit")
    assert told.dedupe_key == f"shipment:{told.shipment_id}:in_transit"
    assert told.payload["tracking"]["trackingNumber"] == "VAN420001"  # normalized
    assert told.payload["trackingPage"].endswith("&trackingId=VAN420001")
    (on_its_way,) = [m for m in inbox.messages if "on its way" in m["Subject"]]
    assert "1 × Blue Mug" in on_its_way.get_body(("plain",)).get_content()


def test_a_late_order_posted_with_respond_async_is_told_too(api, inbox):
    # given: the shipment applied by the worker, then its first scan, then the order queued
    api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT, **ASYNC)
    assert queued_apply() == 1
    assert api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT).status_code == 200
    assert api.post("/api/v1/orders", ORDER, **ASYNC).status_code == 202
    # when: the worker drains the queue, and the outbox is sent
    assert queued_apply() == 1
    notifications_send_due()
    # then
    assert _subjects(inbox) == [
        ("jane@example.com", "Thank you for your order RQ-1"),
        ("jane@example.com", "Your Fred's Discount City order RQ-1 is on its way"),
    ]


def test_a_status_already_told_is_not_told_again_when_the_order_is_updated(api, inbox):
    # given: the late order told its customer once
    api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT)
    api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT)
    api.post("/api/v1/orders", ORDER)
    notifications_send_due()
    before = _emails()
    # when: the OMS posts the order again, and the outbox is sent
    assert api.post("/api/v1/orders", ORDER).status_code == 200
    notifications_send_due()
    # then: nothing new
    assert _emails() == before
    assert len(inbox.envelopes) == 2


def test_a_status_the_merchant_did_not_choose_is_not_told(api, merchant, inbox):
    # given: the merchant emails on delivery only
    notification_rules_set(merchant=merchant, channel="email", triggers=["delivered"])
    api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT)
    api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT)
    # when
    api.post("/api/v1/orders", ORDER)
    notifications_send_due()
    # then
    assert (_emails(), inbox.envelopes) == ([], [])


def test_another_merchants_order_with_the_same_id_tells_nobody(
    api, other_api, other_merchant, inbox
):
    # given: merchant A's shipment moved before its order arrived
    api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT)
    api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT)
    # when: merchant B posts an order with the same id
    assert other_api.post("/api/v1/orders", ORDER).status_code == 201
    notifications_send_due()
    # then: B's customer is thanked for B's order, and told nothing about A's package
    assert _subjects(inbox) == [("jane@example.com", "Thank you for your order RQ-1")]
    theirs = other_merchant.orders.get(order_id="RQ-1")
    assert _emails() == [("order_received", f"order:{theirs.pk}:order.created")]


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_order_racing_its_shipments_first_scan_is_told_once(merchant):
    # given: shipments of five orders not received yet
    _api_key, raw_key = api_key_issue(merchant=merchant)
    headers = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    numbers = [f"VAN-{index}" for index in range(5)]
    for index, number in enumerate(numbers):
        Client().post(f"/api/v1/orders/RQ-{index}/shipments",
                      {**SHIPMENT, "trackingNumber": number}, **headers)  # fmt: skip
    # when: each order and its shipment's first scan arrive at the same moment
    answers = []
    for index, number in enumerate(numbers):
        posts = iter([(f"/api/v1/tracking/{number}/events", IN_TRANSIT),
                      ("/api/v1/orders", {**ORDER, "orderId": f"RQ-{index}"})])  # fmt: skip
        answers += run_at_once(2, lambda posts=posts: Client().post(*next(posts), **headers))
    # then: every post applied, and each customer told once that the package is on its way
    assert sorted(getattr(a, "status_code", a) for a in answers) == [200] * 5 + [201] * 5
    told = Notification.objects.filter(channel="email", trigger="in_transit")
    assert sorted(told.values_list("shipment__tracking_number", flat=True)) == [
        number.replace("-", "") for number in numbers]  # fmt: skip


def test_an_order_adopting_a_trackers_shipment_tells_its_customer_where_it_is(api, inbox):
    # given: a tracker (no contact) follows a package that has moved; then the order arrives
    api.post("/api/v1/trackers", {"trackerExternalId": "T-1", "carrier": "other",
                                  "trackingNumber": NUMBER})  # fmt: skip
    api.post(f"/api/v1/tracking/{NUMBER}/events", IN_TRANSIT)
    api.post("/api/v1/orders", ORDER)
    # when: the OMS reports the package as the order's shipment
    assert api.post("/api/v1/orders/RQ-1/shipments", SHIPMENT).status_code == 200
    notifications_send_due()
    # then
    assert _subjects(inbox) == [
        ("jane@example.com", "Thank you for your order RQ-1"),
        ("jane@example.com", "Your Fred's Discount City order RQ-1 is on its way"),
    ]
