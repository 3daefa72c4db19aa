"""Connection health (docs/channels.md "Connection health"): a write-back that fails waits in the
outbox, visible, while the connection records each failure; the third failure in a row raises one
staff alert naming the connection and the error, and the next success clears the record."""

from datetime import timedelta

import pytest
import responses
from django.core import mail

from ingest.tests.test_channels_woocommerce import connection_for
from notifications.channels.staff import staff_alert
from notifications.models import Notification
from platforms.tests.test_woocommerce_writeback import (
    NOTES_URL,
    T0,
    _order_shipped_by_the_sandbox,
    _store_answers_well,
    _worker_runs,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(merchant, settings, fake_dns):
    """Fred's WooCommerce store writing back in transit (test_woocommerce_writeback's)."""
    settings.SANDBOX_MINUTES_PER_STEP = 10
    fake_dns()
    connection = connection_for(merchant)
    connection.write_back_statuses = ["in_transit", "delivered"]
    connection.save()
    return connection


@pytest.fixture
def alerted(merchant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    merchant.alert_emails = "ops@fred.example"
    merchant.save()
    return merchant


def _alerts() -> list[Notification]:
    return list(Notification.objects.filter(trigger="platform_failing"))


@responses.activate
def test_a_store_down_raises_one_staff_alert_and_the_write_back_waits_until_it_is_back(
    client,
    store,
    alerted,
):
    # given: the store answers 503 to every note
    down = responses.post(NOTES_URL, status=503, headers={"Retry-After": "60"}, body="<html>…")
    _order_shipped_by_the_sandbox(client, store)
    # when: the parcel is seen in transit at 12:20; the worker runs for 40 minutes
    _worker_runs(range(0, 60, 5))
    # then: the write-back waits, the connection says why, one alert was sent
    row = Notification.objects.get(channel="platform", trigger="in_transit")
    assert (row.status, row.last_error) == ("pending", "WooCommerce answered HTTP 503.")
    assert row.attempts >= 4 and row.next_attempt_at > T0 + timedelta(minutes=55)
    store.refresh_from_db()
    assert (store.consecutive_failures, store.last_error) == (
        row.attempts, "WooCommerce answered HTTP 503.")  # fmt: skip
    [alert] = _alerts()
    assert (alert.channel, alert.recipient, alert.status) == (
        "staff_email", "ops@fred.example", "sent")  # fmt: skip
    [email] = [m for m in mail.outbox if "store connection" in m.subject]
    assert email.subject == (
        "[flexTracker] Fred's Discount City: store connection failing: Fred's store"
    )
    assert email.body.splitlines()[:2] == [
        "The connection Fred's store (WooCommerce) failed 3 times in a row.",
        "Last error: WooCommerce answered HTTP 503.",
    ]
    assert f"/admin/platforms/platformconnection/{store.pk}/change/" in email.body
    assert "cs_fred" not in email.body
    # when: the store is back
    responses.remove(down)
    _store_answers_well()
    _worker_runs(range(60, 80, 5))
    # then: written once, the connection healthy again, no second alert
    row.refresh_from_db()
    assert (row.status, row.provider_message_id) == ("sent", "note 281")
    store.refresh_from_db()
    assert (store.consecutive_failures, store.last_sync_at is not None) == (0, True)
    assert len(_alerts()) == 1


def test_the_alert_keeps_a_connection_name_on_one_line_in_every_channel(merchant):
    # given: a name typed with a line break, an error with one
    alert = Notification(merchant=merchant, channel="slack", trigger="platform_failing", payload={
        "connection": {"pk": 7, "name": "Fred's\nstore", "kind": "Magento 2 / Adobe Commerce",
                       "failures": 3, "error": "Magento answered 503\nto orders."},
    })  # fmt: skip
    # when
    rendered = staff_alert(alert)
    # then
    assert rendered.title == (
        "[flexTracker] Fred's Discount City: store connection failing: Fred's store"
    )
    assert rendered.lines[:2] == [
        "The connection Fred's store (Magento 2 / Adobe Commerce) failed 3 times in a row.",
        "Last error: Magento answered 503 to orders.",
    ]
    assert rendered.link.endswith("/admin/platforms/platformconnection/7/change/")
