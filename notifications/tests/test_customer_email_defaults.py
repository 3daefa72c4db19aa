"""What a new merchant's customers hear about without anyone choosing: the demo, polled on the
sandbox carrier, sent for real to a local SMTP server."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from merchants.models import Merchant
from notifications.models import Notification
from notifications.sending import notifications_send_due
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _sandbox_step(settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10


def _at(moment: datetime, work):
    with time_machine.travel(moment, tick=False):
        return work()


def test_the_demo_customer_is_emailed_about_her_address_problem(inbox):
    # given: the demo, loaded on a fresh database; its shipments' first scans sent
    _at(T0, lambda: call_command("load_demo", stdout=io.StringIO()))
    _at(T0, notifications_send_due)
    inbox.envelopes.clear()
    # when: the exception package reaches its last step (an address problem), and is polled
    later = T0 + 8 * STEP
    _at(later, lambda: poll_due_shipments(now=later))
    _at(later, lambda: notifications_send_due(now=later))
    # then: Jane has the news about it, by email, naming the package (her order came in two)
    about_the_problem = [m for m in inbox.messages if "update on the delivery" in m["Subject"]]
    assert [(m["To"], m["Subject"]) for m in about_the_problem] == [
        ("jane@example.com", "An update on the delivery of package 2 of 2 of your order FDC-1001")
    ]
    sent = Notification.objects.get(channel="email", trigger="exception")
    assert (sent.recipient, sent.shipment.tracking_number) == (
        "jane@example.com", "SBXEXCEPTION10010002")  # fmt: skip


def test_a_new_merchant_tells_customers_about_failed_attempts_and_exceptions(client):
    # when: a merchant is created by the command the README gives
    call_command("create_merchant", "NEW-01-00001", "--name", "New Shop", stdout=io.StringIO())
    # then: both statuses are chosen for email and for SMS, beside the statuses chosen before
    merchant = Merchant.objects.get(merchant_id="NEW-01-00001")
    rules = set(merchant.notification_rules.values_list("channel", "trigger"))
    statuses = ["pre_transit", "in_transit", "out_for_delivery", "available_for_pickup",
                "delivered", "failed_attempt", "exception", "return_to_sender",
                "cancelled"]  # fmt: skip
    assert rules == {(channel, status) for channel in ("email", "sms") for status in statuses}
