"""A tracker's delivery contact hears what an order's customer hears (API.md "POST /trackers"):
trackers posted through the API on the sandbox carrier, polled through the poller at frozen
times, the emails sent for real to a local SMTP server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import (  # noqa: F401
    Inbox,
    body,
    smtp_server,
    smtp_settings,
)
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


@pytest.fixture
def mailbox(smtp_server) -> Inbox:  # noqa: F811 - smtp_server is the imported fixture
    return smtp_server.start()


def _post_at(api, tracker: dict, status: int = 201):
    with time_machine.travel(T0, tick=False):
        response = api.post("/api/v1/trackers", tracker)
    assert response.status_code == status


def _poll_and_send_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        poll_due_shipments(now=moment)
        notifications_send_due(now=moment)


def test_a_trackers_contact_is_emailed_as_its_package_moves(api, mailbox):
    # given: a tracker with a delivery contact, on the sandbox carrier
    _post_at(api, TRACKER)
    # when: polled at its first scan, and when it has been delivered
    _poll_and_send_at(T0)
    _poll_and_send_at(T0 + 8 * STEP)
    # then: two emails to the contact, in the tracker's language, with the tracker's page
    assert [(m["To"], m["Subject"].strip()) for m in mailbox.messages] == [
        ("ana@example.com", "Tu pedido MKT-1 de Fred's Discount City se está preparando"),
        ("ana@example.com", "Tu pedido MKT-1 ha sido entregado"),
    ]
    page = f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1"
    delivered = mailbox.messages[1]
    assert "Hola, Ana Ruiz:" in body(delivered, "plain") and page in body(delivered, "plain")
    emails = Notification.objects.filter(channel="email").order_by("created_at")
    assert list(emails.values_list("trigger", "status", "order")) == [
        ("pre_transit", "sent", None), ("delivered", "sent", None)]  # fmt: skip
    assert emails.get(trigger="delivered").payload["trackingPage"] == page


def test_a_tracker_without_a_contact_emails_nobody(api, mailbox):
    # given
    _post_at(api, {key: value for key, value in TRACKER.items() if key != "deliveryContact"})
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then
    assert not Notification.objects.filter(channel__in=["email", "sms"]).exists()
    assert mailbox.envelopes == []


def test_a_contact_removed_before_sending_is_not_emailed(api, mailbox):
    # given: the delivered email is waiting to be sent
    _post_at(api, TRACKER)
    with time_machine.travel(T0 + 8 * STEP, tick=False):
        poll_due_shipments(now=T0 + 8 * STEP)
    # when: the merchant posts the tracker again without its contact, and the outbox is sent
    _post_at(api, {**TRACKER, "deliveryContact": {"name": "Ana Ruiz"}}, status=200)
    notifications_send_due(now=T0 + 8 * STEP)
    # then
    assert mailbox.envelopes == []
    refused = Notification.objects.get(channel="email")
    assert (refused.status, refused.last_error) == (
        "failed", "The order has no valid email address.")  # fmt: skip


def test_each_merchants_tracker_tells_only_its_own_contact(api, other_api, mailbox):
    # given: two merchants track the same sandbox number for two customers
    _post_at(api, TRACKER)
    _post_at(other_api, {**TRACKER, "deliveryContact": {"email": "bo@example.com"}})
    # when
    _poll_and_send_at(T0 + 8 * STEP)
    # then: each contact hears once, from their own merchant, with their own tracker's page
    sent = sorted((m["To"], m["From"].split(" <")[0]) for m in mailbox.messages)
    assert sent == [("ana@example.com", "Fred's Discount City"), ("bo@example.com", "Other Shop")]
    pages = dict(Notification.objects.filter(channel="email")
                 .values_list("recipient", "payload__trackingPage"))  # fmt: skip
    assert pages == {
        "ana@example.com": f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/MKT-1",
        "bo@example.com": f"{settings.PUBLIC_BASE_URL}/trackers/OTH-02-54321/MKT-1",
    }
