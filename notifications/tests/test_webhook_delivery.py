"""Merchant webhooks delivered by the outbox: signed, checked, retried, logged, disabled."""

import hashlib
import hmac
import json
import time
from collections import Counter
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.services import notification_rules_set
from notifications.models import Notification, NotificationAttempt
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from orders.tests.factories import create_order, ship
from tests.network import PUBLIC_ADDRESS
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

RECEIVER = f"https://{PUBLIC_ADDRESS}/hooks/tracking"


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    return fake_dns({"hooks.example.com": PUBLIC_ADDRESS}, others_public=False)


@pytest.fixture
def endpoint(merchant):
    # Only webhooks here: the default "email the customer on delivery" would add a third row.
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    endpoint, secret = webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/hooks/tracking",
        event_types=["tracking.delivered", "tracking.updated"],
    )  # fmt: skip
    return endpoint, secret


def _deliver_shipment(merchant):
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1)).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="delivered", status_detail="delivered",
                         event_type="DELIVERY", description="Delivered")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")
    return shipment


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """An independent receiver's check, written from API.md alone."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    if abs(time.time() - int(parts["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


@responses.activate
def test_a_delivery_reaches_the_receiver_signed_with_the_tracking_object(merchant, endpoint):
    # given
    _endpoint, secret = endpoint
    responses.post(RECEIVER, status=200)
    _deliver_shipment(merchant)
    # when
    report = notifications_send_due()
    # then: one call per subscribed event type, each verifiable and carrying the shipment
    assert (report.claimed, report.sent) == (2, 2)
    bodies = {}
    for call in responses.calls:
        assert verify(secret, call.request.headers["FlexTracker-Signature"], call.request.body)
        assert call.request.headers["Host"] == "hooks.example.com"
        body = json.loads(call.request.body)
        bodies[body["eventType"]] = body
    assert set(bodies) == {"tracking.delivered", "tracking.updated"}
    data = bodies["tracking.delivered"]["data"]
    assert (data["trackingNumber"], data["status"], data["orderId"]) == (
        "SBXDELIVERED1", "delivered", "1001")  # fmt: skip
    assert bodies["tracking.delivered"]["eventId"].startswith("evt_")
    assert set(Notification.objects.filter(channel="webhook").values_list("status", flat=True)) == {
        "sent"
    }


@responses.activate
def test_a_receiver_that_fails_is_retried_later_and_every_attempt_is_logged(merchant, endpoint):
    # given
    responses.post(RECEIVER, status=503)
    _deliver_shipment(merchant)
    # when
    first = notifications_send_due()
    again_at_once = notifications_send_due()
    # then: not sent twice in a row; retried after the backoff, and then delivered
    assert (first.retrying, again_at_once.claimed) == (2, 0)
    notification = Notification.objects.filter(trigger="tracking.delivered").get()
    assert notification.status == "pending" and "503" in notification.last_error
    assert timezone.now() + timedelta(seconds=40) < notification.next_attempt_at
    responses.replace(responses.POST, RECEIVER, status=204)
    later = notifications_send_due(now=timezone.now() + timedelta(minutes=3))
    assert later.sent == 2
    attempts = NotificationAttempt.objects.filter(notification=notification)
    assert [(a.succeeded, a.response_status) for a in attempts.order_by("pk")] == [
        (False, 503), (True, 204)]  # fmt: skip


@responses.activate
def test_after_a_day_of_failures_the_message_gives_up(merchant, endpoint):
    responses.post(RECEIVER, status=500)
    _deliver_shipment(merchant)
    Notification.objects.filter(channel="webhook").update(
        created_at=timezone.now() - timedelta(hours=27)
    )
    report = notifications_send_due()
    assert report.failed == 2
    assert set(Notification.objects.filter(channel="webhook").values_list("status", flat=True)) == {
        "failed"
    }


@responses.activate
def test_a_410_disables_the_endpoint(merchant, endpoint):
    responses.post(RECEIVER, status=410)
    _deliver_shipment(merchant)
    notifications_send_due()
    endpoint[0].refresh_from_db()
    assert endpoint[0].is_active is False and endpoint[0].disabled_reason == "410 Gone"


@responses.activate
def test_a_name_that_now_points_inside_our_network_is_not_called(merchant, endpoint, public_dns):
    # given: DNS rebinding after the subscription was checked
    public_dns["hooks.example.com"] = "169.254.169.254"
    _deliver_shipment(merchant)
    # when
    report = notifications_send_due()
    # then
    assert report.retrying == 2 and len(responses.calls) == 0
    assert "Refused to call it" in Notification.objects.filter(channel="webhook").first().last_error


@responses.activate
def test_a_redirect_is_a_failure_and_is_not_followed(merchant, endpoint):
    responses.post(RECEIVER, status=302, headers={"Location": "http://169.254.169.254/"})
    _deliver_shipment(merchant)
    report = notifications_send_due()
    assert report.retrying == 2 and len(responses.calls) == 2


@responses.activate
def test_429_retry_after_is_honoured(merchant, endpoint):
    responses.post(RECEIVER, status=429, headers={"Retry-After": "3600"})
    _deliver_shipment(merchant)
    notifications_send_due()
    notification = Notification.objects.filter(channel="webhook").first()
    assert notification.next_attempt_at >= timezone.now() + timedelta(minutes=59)


@responses.activate
def test_a_message_claimed_by_a_worker_that_died_is_sent_after_the_lease(merchant, endpoint):
    # given: a worker claimed the rows and died before recording anything
    responses.post(RECEIVER, status=200)
    _deliver_shipment(merchant)
    Notification.objects.update(
        status="sending", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    # when / then
    assert notifications_send_due().claimed == 0
    assert notifications_send_due(now=timezone.now() + timedelta(minutes=6)).sent == 2


@responses.activate
def test_a_delivery_another_worker_took_over_is_left_to_it(merchant, endpoint):
    # given: two deliveries; the receiver is so slow with the first that its worker's lease runs
    # out, and a second worker claims the rows meanwhile
    _deliver_shipment(merchant)
    second_worker = {}

    def slow_receiver(request):
        if "report" not in second_worker:
            second_worker["report"] = None  # its own calls are answered at once
            later = timezone.now() + timedelta(minutes=10)
            second_worker["report"] = notifications_send_due(now=later)
        return 200, {}, ""

    responses.add_callback(responses.POST, RECEIVER, callback=slow_receiver)
    # when
    first_worker = notifications_send_due()
    # then: the first delivery went twice (its worker looked dead: at least once, same eventId),
    # but the second went once: the slow worker left what the other had taken over
    event_ids = Counter(json.loads(call.request.body)["eventId"] for call in responses.calls)
    assert sorted(event_ids.values()) == [1, 2]
    assert (first_worker.claimed, first_worker.sent, first_worker.skipped) == (2, 1, 1)
    assert (second_worker["report"].claimed, second_worker["report"].sent) == (2, 2)
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
