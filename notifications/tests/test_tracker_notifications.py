"""A tracker's delivery contact hears what an order's customer hears (API.md "POST /trackers"):
trackers posted through the API on the sandbox carrier, polled through the poller at frozen
times, the emails sent for real to a local SMTP server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import body
from notifications.unsubscribe import (
    order_pk_from_token,
    tracker_pk_from_token,
    tracker_unsubscribe_token,
)
from orders.models import Tracker
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)
TRACKER = {
    "trackerExternalId": "MKT-1", "trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
    "deliveryContact": {"name": "Ana Ruiz", "email": "ana@example.com"}, "locale": "es-MX",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _sandbox_step(settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10


def _post_at(api, tracker: dict, status: int = 201):
    with time_machine.travel(T0, tick=False):
        response = api.post("/api/v1/trackers", tracker)
    assert response.status_code == status


def _poll_and_send_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        poll_due_shipments(now=moment)
        notifications_send_due(now=moment)


def test_a_trackers_contact_is_emailed_as_its_package_moves(api, inbox):
    # given: a tracker with a delivery contact, on the sandbox carrier
    _post_at(api, TRACKER)
    # when: polled at its first scan, and when it has been delivered
    _poll_and_send_at(T0)
    _poll_and_send_at(T0 + 8 * STEP)
    # then: two emails to the contact, in the tracker's language, with the tracker's page
    assert [(m["To"], m["Subject"].strip()) for m in inbox.messages] == [
        ("ana@example.com", "Tu pedido MKT-1 de Fred's Discount City se está preparando"),
        ("ana@example.com", "Tu pedido MKT-1 ha sido entregado"),
    ]
    page = f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1"
    delivered = inbox.messages[1]
    assert "Hola, Ana Ruiz:" in body(delivered, "plain") and page in body(delivered, "plain")
    emails = Notification.objects.filter(channel="email").order_by("created_at")
    assert list(emails.values_list("trigger", "status", "order")) == [
        ("pre_transit", "sent", None), ("delivered", "sent", None)]  # fmt: skip
    assert emails.get(trigger="delivered").payload["trackingPage"] == page


def test_a_tracker_without_a_contact_emails_nobody(api, inbox):
    # given
    _post_at(api, {key: value for key, value in TRACKER.items() if key != "deliveryContact"})
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then
    assert not Notification.objects.filter(channel__in=["email", "sms"]).exists()
    assert inbox.envelopes == []


def test_a_contact_removed_before_sending_is_not_emailed(api, inbox):
    # given: the delivered email is waiting to be sent
    _post_at(api, TRACKER)
    with time_machine.travel(T0 + 8 * STEP, tick=False):
        poll_due_shipments(now=T0 + 8 * STEP)
    # when: the merchant posts the tracker again without its contact, and the outbox is sent
    _post_at(api, {**TRACKER, "deliveryContact": {"name": "Ana Ruiz"}}, status=200)
    notifications_send_due(now=T0 + 8 * STEP)
    # then
    assert inbox.envelopes == []
    refused = Notification.objects.get(channel="email")
    assert (refused.status, refused.last_error) == (
        "failed", "The order has no valid email address.")  # fmt: skip


def test_each_merchants_tracker_tells_only_its_own_contact(api, other_api, inbox):
    # given: two merchants track the same sandbox number for two customers
    _post_at(api, TRACKER)
    _post_at(other_api, {**TRACKER, "deliveryContact": {"email": "bo@example.com"}})
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then: each contact hears once, from their own merchant, with their own tracker's page
    sent = sorted((m["To"], m["From"].split(" <")[0]) for m in inbox.messages)
    assert sent == [("ana@example.com", "Fred's Discount City"), ("bo@example.com", "Other Shop")]
    pages = dict(Notification.objects.filter(channel="email")
                 .values_list("recipient", "payload__trackingPage"))  # fmt: skip
    assert pages == {
        "ana@example.com": f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1",
        "bo@example.com": f"{settings.PUBLIC_BASE_URL}/trackers/OTH-02-54321/MKT-1",
    }


def test_a_trackers_contact_stops_its_messages_with_the_link_in_the_email(api, client, inbox):
    # given: the first email, with its unsubscribe link
    _post_at(api, TRACKER)
    _poll_and_send_at(T0)
    (first,) = inbox.messages
    link = first["List-Unsubscribe"].strip().strip("<>")
    assert link in body(first, "plain")
    path = link.removeprefix(settings.PUBLIC_BASE_URL)
    # when: opened (a scanner), then confirmed (the one-click POST); the package then delivered
    opened = client.get(path)
    muted_after_opening = Tracker.objects.get().notifications_muted_at
    confirmed = client.post(path, "List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")  # fmt: skip
    _poll_and_send_at(T0 + 8 * STEP)
    # then: only the POST muted, in the tracker's language, and no more emails
    assert (opened.status_code, muted_after_opening) == (200, None)
    assert confirmed.status_code == 200
    assert "MKT-1" in confirmed.content.decode()
    assert Tracker.objects.get().notifications_muted_at is not None
    assert len(inbox.envelopes) == 1
    assert list(Notification.objects.filter(channel="email").values_list("trigger", flat=True)) == [
        "pre_transit"
    ]


def test_a_trackers_link_names_that_tracker_alone(api, client):
    # given
    _post_at(api, TRACKER)
    tracker = Tracker.objects.get()
    token = tracker_unsubscribe_token(tracker.pk)
    # when: the token read as an order's, and a forged one
    forged = token.replace(f"tracker:{tracker.pk}:", f"tracker:{tracker.pk + 1}:")
    response = client.post(reverse("unsubscribe", args=[forged]))
    # then
    assert order_pk_from_token(token) is None
    assert tracker_pk_from_token(token) == tracker.pk
    assert response.status_code == 404
    assert Tracker.objects.get().notifications_muted_at is None


def test_a_message_waiting_when_the_contact_unsubscribes_is_cancelled(api, client, inbox):
    # given: the delivered email waits to be sent
    _post_at(api, TRACKER)
    with time_machine.travel(T0 + 8 * STEP, tick=False):
        poll_due_shipments(now=T0 + 8 * STEP)
    tracker = Tracker.objects.get()
    # when: the contact unsubscribes, and the outbox is sent
    client.post(reverse("unsubscribe", args=[tracker_unsubscribe_token(tracker.pk)]))
    notifications_send_due(now=T0 + 8 * STEP)
    # then
    assert list(Notification.objects.filter(channel="email").values_list("status", flat=True)) == [
        "cancelled"
    ]
    assert inbox.envelopes == []


def _post_order_and_shipment_at(api, order: dict | None = None):
    """The shipment of order RQ-1 for the tracker's number; without `order`, a placeholder (the
    shipment arrived before its order, which may never come)."""
    shipment = {"trackingNumber": TRACKER["trackingNumber"], "carrier": "sandbox",
                "items": [{"itemId": "SKU-1", "quantity": 1}]}  # fmt: skip
    with time_machine.travel(T0, tick=False):
        if order is not None:
            assert api.post("/api/v1/orders", order).status_code == 201
        assert api.post("/api/v1/orders/RQ-1/shipments", shipment).status_code == 201


ORDER = {"orderId": "RQ-1", "customer": {"name": "Jane Doe", "email": "jane@example.com"},
         "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 1}]}  # fmt: skip


def test_a_trackers_contact_is_emailed_when_its_shipment_has_a_placeholder_order(api, inbox):
    # given: the shipment reached its order before the order did; a tracker follows its number
    _post_order_and_shipment_at(api)
    _post_at(api, TRACKER)
    # when: polled at its first scan, and when it has been delivered
    _poll_and_send_at(T0)
    _poll_and_send_at(T0 + 8 * STEP)
    # then: the contact hears both, with the tracker's page; the order has no one to tell
    assert [(m["To"], m["Subject"].strip()) for m in inbox.messages] == [
        ("ana@example.com", "Tu pedido RQ-1 de Fred's Discount City se está preparando"),
        ("ana@example.com", "Tu pedido RQ-1 ha sido entregado"),
    ]
    page = f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1"
    assert page in body(inbox.messages[1], "plain")
    emails = Notification.objects.filter(channel="email").order_by("created_at")
    assert list(emails.values_list("recipient", "trigger", "status", "order")) == [
        ("ana@example.com", "pre_transit", "sent", None),
        ("ana@example.com", "delivered", "sent", None),
    ]


def test_an_orders_customer_and_a_trackers_contact_are_each_told_once(api, inbox):
    # given: an order for Jane, and a tracker of its package for Ana
    _post_order_and_shipment_at(api, ORDER)
    _post_at(api, TRACKER)
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then: each hears of the delivery once, the contact with the tracker's page
    delivered = sorted((m["To"], m["Subject"].strip()) for m in inbox.messages
                       if "entregado" in m["Subject"] or "delivered" in m["Subject"])  # fmt: skip
    assert delivered == [
        ("ana@example.com", "Tu pedido RQ-1 ha sido entregado"),
        ("jane@example.com", "Your order RQ-1 has been delivered"),
    ]
    pages = dict(Notification.objects.filter(channel="email", trigger="delivered")
                 .values_list("recipient", "payload__trackingPage"))  # fmt: skip
    assert pages["ana@example.com"] == f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1"
    assert pages["jane@example.com"].startswith(f"{settings.PUBLIC_BASE_URL}/orders/FDC-01-12345/")


def test_a_customer_who_also_follows_a_tracker_is_told_once(api, inbox):
    # given: the tracker's contact is the order's customer, the address written otherwise
    _post_order_and_shipment_at(api, ORDER)
    _post_at(api, {**TRACKER, "deliveryContact": {"email": "Jane@Example.com"}})
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then: one email per status, as the order's customer
    delivered = Notification.objects.filter(channel="email", trigger="delivered")
    assert list(delivered.values_list("recipient", "order__order_id", "status")) == [
        ("jane@example.com", "RQ-1", "sent")
    ]
    assert [m["To"] for m in inbox.messages].count("jane@example.com") == len(inbox.messages)
    assert len(inbox.messages) == Notification.objects.filter(channel="email").count()
