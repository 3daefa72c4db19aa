"""The unsubscribe link: GET only asks, POST (ours or RFC 8058's one-click) mutes the order."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carriers.events import CarrierEvent
from notifications.models import Notification, NotificationStatus
from notifications.sending import notifications_send_due

# The local SMTP server of the email tests (fixtures are found by name in this module).
from notifications.unsubscribe import order_pk_from_token, unsubscribe_token
from orders.models import Order
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(merchant):
    return create_order(merchant, "1001", locale="fr-CA")


def url_for(order) -> str:
    return reverse("unsubscribe", args=[unsubscribe_token(order.pk)])


def pending_email(order) -> Notification:
    return Notification.objects.create(
        merchant=order.merchant, order=order, channel="email", recipient=order.customer_email,
        trigger="in_transit", dedupe_key=f"order:{order.pk}:in_transit",
    )  # fmt: skip


def test_the_token_names_one_order_and_cannot_be_forged():
    assert order_pk_from_token(unsubscribe_token(42)) == 42
    assert order_pk_from_token(unsubscribe_token(42).replace("42:", "43:")) is None
    assert order_pk_from_token("42") is None


def test_opening_the_link_asks_and_changes_nothing(client, order):
    # given
    waiting = pending_email(order)
    # when: a mail scanner or the customer follows the link
    response = client.get(url_for(order))
    # then: a question in the order's language, and nothing muted or cancelled
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ne plus recevoir les e-mails et SMS de Fred&#x27;s Discount City" in html
    assert '<form method="post">' in html
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    order.refresh_from_db()
    waiting.refresh_from_db()
    assert order.notifications_muted_at is None
    assert waiting.status == NotificationStatus.PENDING


def test_confirming_mutes_the_order_and_cancels_what_waits(client, order, merchant):
    # given
    waiting = pending_email(order)
    other_order = create_order(merchant, "1002")
    not_theirs = pending_email(other_order)
    # when
    response = client.post(url_for(order))
    # then
    assert response.status_code == 200
    assert "Vous ne recevrez plus de messages sur la commande 1001." in response.content.decode()
    order.refresh_from_db()
    assert order.notifications_muted_at is not None
    waiting.refresh_from_db()
    not_theirs.refresh_from_db()
    assert (waiting.status, not_theirs.status) == (
        NotificationStatus.CANCELLED, NotificationStatus.PENDING)  # fmt: skip


def test_a_mail_providers_one_click_post_needs_no_csrf_token(order):
    # given: RFC 8058's POST, from a client without our cookie
    client = Client(enforce_csrf_checks=True)
    # when
    response = client.post(
        url_for(order), "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    # then
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).notifications_muted_at is not None


def test_a_forged_or_unknown_token_is_not_found(client, order):
    forged = client.post(f"/unsubscribe/{order.pk}:forged")
    unknown = client.post(reverse("unsubscribe", args=[unsubscribe_token(order.pk + 1000)]))
    assert (forged.status_code, unknown.status_code) == (404, 404)
    assert Order.objects.get(pk=order.pk).notifications_muted_at is None


def test_after_unsubscribing_later_news_is_not_emailed(client, merchant, smtp_server):
    # given: one email sent, then the customer unsubscribes
    inbox = smtp_server.start()
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXTRANSIT1", ("MUG", 1)).instance
    moved = CarrierEvent(occurred_at=timezone.now(), status="in_transit",
                         status_detail="in_transit", event_type="TRANSIT")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[moved], source="poll")
    notifications_send_due()
    client.post(url_for(shipment.order))
    # when: the package is delivered
    arrived = CarrierEvent(occurred_at=timezone.now(), status="delivered",
                           status_detail="delivered", event_type="DELIVERY")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[arrived], source="poll")
    notifications_send_due()
    # then: only the first email went out; the later one was never even queued
    assert len(inbox.envelopes) == 1
    assert not Notification.objects.filter(channel="email", trigger="delivered").exists()


def test_a_second_confirmation_changes_nothing_more(client, order):
    client.post(url_for(order))
    first = Order.objects.get(pk=order.pk).notifications_muted_at
    response = client.post(url_for(order))
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).notifications_muted_at == first
