"""Merchant webhooks reaching a real local HTTP receiver (notifications/tests/http_receiver.py):
signed with the merchant's own secret, retried for days, and an endpoint disabled only after
72 hours in which every delivery failed — with a staff alert by email 24 hours before."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.services import notification_rules_set
from notifications.models import Notification, WebhookEndpoint
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from notifications.tests.http_receiver import HOST, URL
from notifications.tests.test_webhook_delivery import verify
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

OWN_SECRET = "my-own-secret-0123456789-abcdef"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ROUND = timedelta(hours=1)  # how often the test runs the sender (the schedule: each minute)


@pytest.fixture
def webhooks_only(merchant):
    # Only webhooks here: the default "email the customer on delivery" would add more rows.
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    return merchant


def _deliver(merchant, order_id: str):
    """An order shipped and delivered: a tracking.updated and a tracking.delivered event."""
    create_order(merchant, order_id)
    shipment = ship(merchant, order_id, f"SBXDELIVERED{order_id}", ("MUG", 1)).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="delivered", status_detail="delivered",
                         event_type="DELIVERY", description="Delivered")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def test_a_merchants_own_secret_signs_every_delivery(api, webhooks_only, receiver):
    # given: a subscription made through the API with the merchant's own secret
    receiver.status = 204
    created = api.post(
        "/api/v1/webhooks",
        {"url": URL, "events": ["tracking.delivered"], "secret": OWN_SECRET},
    )
    assert (created.status_code, created.json()["data"]["secret"]) == (201, OWN_SECRET)
    _deliver(webhooks_only, "1001")
    # when
    report = notifications_send_due()
    # then: the receiver got it, and the merchant's secret verifies it
    assert (report.claimed, report.sent) == (1, 1)
    [request] = receiver.requests
    assert request.path == "/hooks/tracking" and request.headers["Host"] == HOST
    assert verify(OWN_SECRET, request.headers["FlexTracker-Signature"], request.body)
    assert json.loads(request.body)["eventType"] == "tracking.delivered"


@pytest.fixture
def subscribed(webhooks_only, receiver):
    with time_machine.travel(T0, tick=False):
        endpoint, _secret = webhook_endpoint_create(
            merchant=webhooks_only, url=URL, event_types=["tracking.updated", "tracking.delivered"]
        )
    return endpoint


def _at(moment: datetime, action, *args):
    with time_machine.travel(moment, tick=False):
        return action(*args)


def _send(moment: datetime):
    return _at(moment, lambda: notifications_send_due(now=moment))


def test_one_outage_of_a_busy_endpoint_does_not_disable_it(
    webhooks_only,
    subscribed,
    receiver,
):
    # given: 20 shipments delivered at once: 40 webhook messages, and the receiver is down
    for number in range(20):
        _at(T0, _deliver, webhooks_only, f"{1001 + number}")
    # when: the sender runs for two minutes
    reports = [_send(T0 + timedelta(minutes=minute)) for minute in (0, 1, 2)]
    # then: 80 failed deliveries reached the receiver; the endpoint stays on, every message waits
    assert reports[0].retrying == 40
    assert (sum(r.retrying for r in reports), sum(r.sent + r.failed for r in reports)) == (80, 0)
    assert len(receiver.requests) == 80
    subscribed.refresh_from_db()
    assert (subscribed.is_active, subscribed.disabled_at, subscribed.disabled_reason) == (
        True, None, "")  # fmt: skip
    assert (subscribed.consecutive_failures, subscribed.failing_since) == (80, T0)
    webhooks = Notification.objects.filter(channel="webhook")
    assert webhooks.count() == 40
    assert set(webhooks.values_list("status", flat=True)) == {"pending"}
    assert not Notification.objects.exclude(channel="webhook").exists()  # no staff alert yet


def _run_for_days(merchant, until: timedelta, inbox):
    """The receiver fails throughout; a shipment is delivered every 4 hours from T0 on, and
    the sender runs every ROUND. When each staff email arrived, and when the endpoint was
    disabled, as offsets from T0."""
    arrived, disabled_at, offset = {}, None, timedelta(0)
    while offset <= until:
        if offset % timedelta(hours=4) == timedelta(0):
            _at(T0 + offset, _deliver, merchant, f"{1001 + offset // timedelta(hours=4)}")
        _send(T0 + offset)
        for message in inbox.messages:
            arrived.setdefault(message["Subject"], offset)
        endpoint = WebhookEndpoint.objects.get(merchant=merchant)
        if not endpoint.is_active and disabled_at is None:
            disabled_at = offset
        offset += ROUND
    return arrived, disabled_at


FAILING = "[flexTracker] Fred's Discount City: webhook endpoint failing"
DISABLED = "[flexTracker] Fred's Discount City: webhook endpoint disabled"


def test_failures_spanning_72_hours_disable_it_after_an_email_at_48_hours(
    webhooks_only,
    subscribed,
    inbox,
):
    # given
    webhooks_only.alert_emails = "ops@fred.example"
    webhooks_only.save()
    # when: every delivery fails for 73 hours
    arrived, disabled_at = _run_for_days(webhooks_only, timedelta(hours=73), inbox)
    # then: the warning reached the mail server in the round after 48 h, the endpoint was
    # disabled at 72 h (24 h after the warning), and staff were told that in the next round
    assert arrived == {FAILING: timedelta(hours=49), DISABLED: timedelta(hours=73)}
    assert disabled_at == timedelta(hours=72)
    subscribed.refresh_from_db()
    assert subscribed.disabled_at == T0 + timedelta(hours=72)
    assert subscribed.disabled_reason == (
        "Every delivery failed for 72 hours (since 2026-11-20 12:00 UTC)."
    )
    [warning] = [m for m in inbox.messages if m["Subject"] == FAILING]
    assert warning["To"] == "ops@fred.example"
    assert warning.get_content().splitlines()[:3] == [
        f"Every webhook delivery to {URL} has failed since 2026-11-20 12:00 UTC; we keep "
        "retrying them.",
        "Unless one succeeds, we stop sending to it at 2026-11-23 12:00 UTC.",
        "Check that the receiver is up and answers 2xx.",
    ]
    # and: the first message was retried, backing off, for more than 24 hours before giving up
    first = Notification.objects.filter(channel="webhook").order_by("created_at", "pk").first()
    attempts = [a.attempted_at - T0 for a in first.attempt_log.order_by("attempted_at")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert first.status == "failed" and attempts[0] == timedelta(0)
    assert timedelta(hours=24) < attempts[-1] <= timedelta(hours=29)  # 26 h + one wait
    assert max(gaps) <= timedelta(hours=3)  # waits of 2 h ± 20 %, seen by hourly rounds


def _failing(endpoint: WebhookEndpoint, since: timedelta, warned: timedelta | None = None):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=50, failing_since=T0 - since,
        disable_warned_at=T0 - warned if warned is not None else None,
    )  # fmt: skip


def test_one_success_starts_the_72_hours_again(webhooks_only, subscribed, receiver):
    # given: failing for 71 hours, staff alerted; then the receiver answers once
    _failing(subscribed, since=timedelta(hours=71), warned=timedelta(hours=23))
    receiver.status = 204
    _at(T0, _deliver, webhooks_only, "1001")
    _send(T0)
    # when: it fails again from the next hour on, past the old streak's 72 hours (and retries)
    receiver.status = 500
    _at(T0 + timedelta(hours=1), _deliver, webhooks_only, "1002")
    _send(T0 + timedelta(hours=1))
    _at(T0 + timedelta(hours=2), _deliver, webhooks_only, "1003")
    _send(T0 + timedelta(hours=2))
    # then: on, counting a new streak from its first failure, and no alert
    subscribed.refresh_from_db()
    assert (subscribed.is_active, subscribed.consecutive_failures) == (True, 2 + 4)
    assert subscribed.failing_since == T0 + timedelta(hours=1)
    assert subscribed.disable_warned_at is None
    assert len(receiver.requests) == 2 + 2 + 4  # delivered; failed; failed and retried
    assert not Notification.objects.exclude(channel="webhook").exists()


def test_an_endpoint_first_seen_failing_after_72_hours_gets_a_days_notice(
    webhooks_only,
    subscribed,
    receiver,
):
    # given: a quiet endpoint: its previous failure 80 hours ago, no alert yet
    webhooks_only.alert_emails = "ops@fred.example"
    webhooks_only.save()
    _failing(subscribed, since=timedelta(hours=80))
    # when: it fails now, and again 23 and 24 hours later
    for hours in (0, 23, 24):
        _at(T0 + timedelta(hours=hours), _deliver, webhooks_only, f"{1001 + hours}")
        _send(T0 + timedelta(hours=hours))
        subscribed.refresh_from_db()
        if hours == 23:
            assert subscribed.is_active is True
    # then: alerted at once (disabling in 24 h), disabled only 24 hours after the alert
    alert = Notification.objects.get(channel="staff_email", trigger="webhook_failing")
    assert alert.payload["endpoint"]["disableAt"] == (T0 + timedelta(hours=24)).isoformat()
    assert (subscribed.is_active, subscribed.disabled_at) == (False, T0 + timedelta(hours=24))
    assert subscribed.disabled_reason == (
        "Every delivery failed for 104 hours (since 2026-11-17 04:00 UTC)."
    )
