"""Webhook subscriptions in seed 002's style (API.md "The seed-002 style tracking API",
"Webhooks:"): POST/GET/DELETE /api/v1/tracking/webhook, seed 002's event names and data, and
`sha256=` signatures — delivered by the worker to a real local receiver (http_receiver.py)
through the same outbox, retries, attempt log and replay as native subscriptions."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from carriers.events import CarrierEvent, Location
from inbound.models import InboundMessage
from ingest.replay import inbound_replay
from merchants.services import api_key_issue, notification_rules_set
from notifications.models import Notification, NotificationAttempt, WebhookEndpoint
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from notifications.tests.http_receiver import URL
from notifications.tests.test_webhook_delivery import verify
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

OWN_SECRET = "seed-002-receiver-secret-0123456789"
SEED_EVENTS = ["shipment.picked_up", "shipment.in_transit", "shipment.delivered",
               "shipment.exception"]  # fmt: skip
SUBSCRIPTION = {"url": URL, "events": SEED_EVENTS, "secret": OWN_SECRET}


def seed_verify(payload: bytes, signature: str, secret: str) -> bool:
    """Seed 002's `verifyWebhookSignature`, line for line: HMAC-SHA256 of the raw body (utf8),
    hex, behind `sha256=`, compared in constant time."""
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.encode(), f"sha256={expected}".encode())


def _error(response) -> dict:
    assert response.json()["success"] is False
    return response.json()["error"]


def _delete(api, path: str):
    return api.client.delete(path, HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")


@pytest.fixture
def webhooks_only(merchant):
    # Only webhooks here: the default "email the customer on delivery" would add more rows.
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    return merchant


def _shipped(merchant, order_id: str = "1001"):
    create_order(merchant, order_id)
    return ship(merchant, order_id, f"SBXSEED{order_id}", ("MUG", 1)).instance


def _scan(shipment, status: str, detail: str, minutes: int = 0, **more):
    event = CarrierEvent(
        occurred_at=timezone.now() + timedelta(minutes=minutes), status=status,
        status_detail=detail, event_type="SCAN", description=more.pop("description", detail),
        location=Location(city="Houston", state="TX", postal_code="77001", country="US"), **more,
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


# --- Subscribe, read, delete -----------------------------------------------------------------


def test_seed_002s_request_subscribes_in_its_style_and_shows_the_secret_once(
    api, merchant, receiver
):
    # when
    created = api.post("/api/v1/tracking/webhook", SUBSCRIPTION)
    # then
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    data = created.json()["data"]
    assert created.status_code == 201
    assert (endpoint.style, endpoint.event_types, endpoint.secret) == (
        "tracking-api", SEED_EVENTS, OWN_SECRET)  # fmt: skip
    assert (data["id"], data["style"], data["events"], data["secret"]) == (
        endpoint.public_id, "tracking-api", SEED_EVENTS, OWN_SECRET)  # fmt: skip
    [logged] = InboundMessage.objects.filter(merchant=merchant)
    assert json.loads(bytes(logged.body))["secret"] == "[redacted]"
    assert OWN_SECRET not in logged.response_body
    one = api.get(f"/api/v1/tracking/webhook/{endpoint.public_id}").json()["data"]
    assert "secret" not in one and one["style"] == "tracking-api"


def test_the_list_shows_only_seed_style_subscriptions_and_the_native_list_shows_all(
    api, merchant, receiver
):
    # given
    native = api.post("/api/v1/webhooks", {"url": "http://hooks.example.com/native",
                                           "events": ["tracking.delivered"]})  # fmt: skip
    seed = api.post("/api/v1/tracking/webhook", SUBSCRIPTION)
    native_id, seed_id = native.json()["data"]["id"], seed.json()["data"]["id"]
    # when
    seed_list = api.get("/api/v1/tracking/webhook").json()
    every = api.get("/api/v1/webhooks").json()
    native_here = api.get(f"/api/v1/tracking/webhook/{native_id}")
    # then
    assert [hook["id"] for hook in seed_list["data"]] == [seed_id]
    assert seed_list["meta"]["pagination"]["total"] == 1
    assert {hook["id"]: hook["style"] for hook in every["data"]} == {
        native_id: "native", seed_id: "tracking-api"}  # fmt: skip
    assert (native_here.status_code, _error(native_here)["code"]) == (404, "NOT_FOUND")


def test_delete_stops_the_subscription_and_again_is_a_404(api, merchant, receiver):
    seed_id = api.post("/api/v1/tracking/webhook", SUBSCRIPTION).json()["data"]["id"]
    deleted = _delete(api, f"/api/v1/tracking/webhook/{seed_id}")
    again = _delete(api, f"/api/v1/tracking/webhook/{seed_id}")
    assert (deleted.status_code, deleted.json()["data"]) == (200, {"id": seed_id, "deleted": True})
    assert (again.status_code, _error(again)["code"]) == (404, "NOT_FOUND")
    assert not WebhookEndpoint.objects.filter(merchant=merchant).exists()


def test_a_tracking_api_key_subscribes_in_its_style_without_saying_so(client, merchant, receiver):
    # given: a key issued in seed 002's style
    _key, raw = api_key_issue(merchant=merchant, name="seed 002", style="tracking-api")
    # when
    created = client.post("/api/v1/webhooks", SUBSCRIPTION, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {raw}")  # fmt: skip
    # then
    assert (created.status_code, created.json()["data"]["style"]) == (201, "tracking-api")
    assert WebhookEndpoint.objects.get(merchant=merchant).style == "tracking-api"


def test_the_native_endpoint_takes_the_style_too(api, merchant, receiver):
    created = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "style": "tracking-api"})
    native = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "url": f"{URL}/native"})
    assert (created.status_code, created.json()["data"]["style"]) == (201, "tracking-api")
    assert WebhookEndpoint.objects.get(merchant=merchant).style == "tracking-api"
    # seed 002's names are no native event types
    assert (native.status_code, len(_error(native)["fields"])) == (422, len(SEED_EVENTS))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tracking/webhook", {**SUBSCRIPTION, "events": ["tracking.delivered"]},
         "events[0]"),
        ("/api/v1/webhooks", {**SUBSCRIPTION, "events": ["tracking.delivered"],
                              "style": "tracking-api"}, "events[0]"),
        ("/api/v1/tracking/webhook", {**SUBSCRIPTION, "secret": "your_webhook_secret_key"},
         "secret"),  # seed 002's example secret: 23 characters, API.md wants 24
        ("/api/v1/tracking/webhook", {**SUBSCRIPTION, "url": "https://internal.example.com/t"},
         "url"),
        ("/api/v1/webhooks", {**SUBSCRIPTION, "style": "flash"}, "style"),
    ],
)  # fmt: skip
def test_a_wrong_subscription_is_a_422_naming_the_field(api, merchant, fake_dns, path, body, field):
    fake_dns({"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.7"},
             others_public=False)  # fmt: skip
    refused = api.post(path, body)
    assert (refused.status_code, _error(refused)["code"]) == (422, "INVALID_EVENT_DATA")
    assert field in _error(refused)["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_a_missing_url_is_a_400(api, merchant):
    refused = api.post("/api/v1/tracking/webhook", {"events": SEED_EVENTS})
    assert (refused.status_code, _error(refused)["code"]) == (400, "MISSING_EVENT_DATA")


def test_a_refused_subscription_replays_once_the_url_resolves(api, merchant, fake_dns, settings):
    # given: refused while the host did not resolve
    settings.DEBUG = True  # the receiver's plain http
    fake_dns({}, others_public=False)
    refused = api.post("/api/v1/tracking/webhook", {"url": URL, "events": SEED_EVENTS})
    message = InboundMessage.objects.get(merchant=merchant)
    assert (refused.status_code, message.outcome) == (422, "rejected")
    fake_dns({"hooks.example.com": "93.184.216.34"}, others_public=False)
    # when
    outcome = inbound_replay(message)
    # then: the same handler made it, in seed 002's style
    assert (outcome.status, outcome.data["style"]) == (201, "tracking-api")
    assert WebhookEndpoint.objects.get(merchant=merchant).style == "tracking-api"


def test_another_merchant_neither_sees_nor_deletes_it(api, other_api, merchant, receiver):
    seed_id = api.post("/api/v1/tracking/webhook", SUBSCRIPTION).json()["data"]["id"]
    listed = other_api.get("/api/v1/tracking/webhook").json()
    read = other_api.get(f"/api/v1/tracking/webhook/{seed_id}")
    deleted = _delete(other_api, f"/api/v1/tracking/webhook/{seed_id}")
    assert listed["data"] == []
    assert (read.status_code, deleted.status_code) == (404, 404)
    assert WebhookEndpoint.objects.filter(public_id=seed_id).exists()


# --- Delivered by the worker -----------------------------------------------------------------


def test_a_delivery_verifies_with_seed_002s_scheme_and_speaks_its_data(
    api, webhooks_only, receiver
):
    # given: a seed-style subscription, a native one, and a shipment delivered
    receiver.status = 200
    api.post("/api/v1/tracking/webhook", SUBSCRIPTION)
    _native, native_secret = webhook_endpoint_create(
        merchant=webhooks_only, url="http://hooks.example.com/native",
        event_types=["tracking.delivered"],
    )  # fmt: skip
    shipment = _shipped(webhooks_only)
    _scan(shipment, "delivered", "delivered", description="Delivered to recipient",
          recipient="J. DOE")  # fmt: skip
    # when
    report = notifications_send_due()
    # then: one delivery each, each in its own style
    assert (report.claimed, report.sent) == (2, 2)
    by_path = {request.path: request for request in receiver.requests}
    seed, native_request = by_path["/hooks/tracking"], by_path["/native"]
    assert seed_verify(seed.body, seed.headers["FlexTracker-Signature"], OWN_SECRET)
    assert verify(native_secret, native_request.headers["FlexTracker-Signature"],
                  native_request.body)  # fmt: skip
    body = json.loads(seed.body)
    shipment.refresh_from_db()
    assert set(body) == {"eventId", "eventType", "timestamp", "data"}
    assert body["eventId"].startswith("evt_") and body["eventType"] == "shipment.delivered"
    [event] = body["data"].pop("events")  # newest first (seed 002's handler reads events[0])
    assert (event["status"], event["shipmentId"], event["trackingNumber"], event["recipient"]) == (
        "DELIVERED", str(shipment.public_id), "SBXSEED1001", "J. DOE")  # fmt: skip
    assert body["data"] == {
        "shipmentId": str(shipment.public_id), "trackingNumber": "SBXSEED1001",
        "status": "DELIVERED", "description": "Delivered to recipient",
        "location": {"city": "Houston", "state": "TX", "postalCode": "77001", "country": "US"},
        "recipient": "J. DOE",
        "deliveredAt": shipment.delivered_at.isoformat().replace("+00:00", "Z"),
        "orderId": "1001",
    }  # fmt: skip
    assert json.loads(native_request.body)["eventType"] == "tracking.delivered"


@pytest.mark.parametrize(
    ("status", "detail", "event_type", "seed_status"),
    [
        ("pre_transit", "label_created", "shipment.label_created", "LABEL_CREATED"),
        ("in_transit", "picked_up", "shipment.picked_up", "PICKED_UP"),
        ("in_transit", "arrived_at_facility", "shipment.in_transit", "IN_TRANSIT"),
        ("out_for_delivery", "out_for_delivery", "shipment.out_for_delivery", "OUT_FOR_DELIVERY"),
        ("failed_attempt", "recipient_unavailable", "shipment.exception", "EXCEPTION"),
        ("return_to_sender", "returned", "shipment.returned", "RETURNED"),
    ],
)
def test_each_status_change_is_seed_002s_event(
    webhooks_only, receiver, status, detail, event_type, seed_status
):
    # given: a subscription to every seed event
    receiver.status = 200
    every = ["shipment.label_created", "shipment.picked_up", "shipment.in_transit",
             "shipment.out_for_delivery", "shipment.delivered", "shipment.exception",
             "shipment.returned"]  # fmt: skip
    webhook_endpoint_create(merchant=webhooks_only, url=URL, event_types=every,
                            secret=OWN_SECRET, style="tracking-api")  # fmt: skip
    _scan(_shipped(webhooks_only), status, detail)
    # when
    notifications_send_due()
    # then
    [request] = receiver.requests
    body = json.loads(request.body)
    assert (body["eventType"], body["data"]["status"]) == (event_type, seed_status)
    assert seed_verify(request.body, request.headers["FlexTracker-Signature"], OWN_SECRET)


def test_in_transit_after_picked_up_is_seed_002s_news_and_no_one_elses(webhooks_only, receiver):
    # given: a seed-style and a native subscription, and a customer told of in_transit
    receiver.status = 200
    notification_rules_set(merchant=webhooks_only, channel="email", triggers=["in_transit"])
    webhook_endpoint_create(merchant=webhooks_only, url=URL, event_types=SEED_EVENTS,
                            secret=OWN_SECRET, style="tracking-api")  # fmt: skip
    webhook_endpoint_create(merchant=webhooks_only, url="http://hooks.example.com/native",
                            event_types=["tracking.updated"])  # fmt: skip
    shipment = _shipped(webhooks_only)
    # when: picked up, then at a facility: our status stays in_transit, seed 002's moves on
    _scan(shipment, "in_transit", "picked_up")
    _scan(shipment, "in_transit", "arrived_at_facility", minutes=5)
    notifications_send_due()
    # then: the seed receiver hears both; the native one and the customer once
    seed = [json.loads(r.body) for r in receiver.requests if r.path == "/hooks/tracking"]
    assert sorted((body["eventType"], body["data"]["status"]) for body in seed) == [
        ("shipment.in_transit", "IN_TRANSIT"), ("shipment.picked_up", "PICKED_UP")]  # fmt: skip
    assert [r.path for r in receiver.requests].count("/native") == 1
    assert Notification.objects.filter(channel="email").count() == 1


def test_a_failing_receiver_is_retried_logged_and_replayed_from_the_admin(
    webhooks_only, receiver, staff_client
):
    # given: the receiver answers 500
    receiver.status = 500
    webhook_endpoint_create(merchant=webhooks_only, url=URL, event_types=SEED_EVENTS,
                            secret=OWN_SECRET, style="tracking-api")  # fmt: skip
    _scan(_shipped(webhooks_only), "in_transit", "picked_up")
    # when: retried after the backoff, still failing, until a day has passed
    first = notifications_send_due()
    later = notifications_send_due(now=timezone.now() + timedelta(minutes=3))
    Notification.objects.update(created_at=timezone.now() - timedelta(hours=27))
    gave_up = notifications_send_due(now=timezone.now() + timedelta(hours=1))
    # then: every attempt logged, each signed the seed's way
    notification = Notification.objects.get(channel="webhook")
    assert (first.retrying, later.retrying, gave_up.failed) == (1, 1, 1)
    assert notification.status == "failed"
    attempts = NotificationAttempt.objects.filter(notification=notification).order_by("pk")
    assert [(a.succeeded, a.response_status) for a in attempts] == [(False, 500)] * 3
    assert len(receiver.requests) == 3
    assert all(seed_verify(r.body, r.headers["FlexTracker-Signature"], OWN_SECRET)
               for r in receiver.requests)  # fmt: skip
    # when: the receiver is back, and staff resend it from the notification log
    receiver.status = 200
    staff_client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "resend_selected", "_selected_action": [notification.pk]},
    )
    resent = notifications_send_due()
    # then: the copy is delivered in the same style
    assert resent.sent == 1
    body = json.loads(receiver.requests[-1].body)
    assert (body["eventType"], body["data"]["status"]) == ("shipment.picked_up", "PICKED_UP")
    last = receiver.requests[-1]
    assert seed_verify(last.body, last.headers["FlexTracker-Signature"], OWN_SECRET)


def test_another_merchants_subscription_receives_nothing(webhooks_only, other_merchant, receiver):
    receiver.status = 200
    webhook_endpoint_create(merchant=other_merchant, url=URL, event_types=SEED_EVENTS,
                            secret=OWN_SECRET, style="tracking-api")  # fmt: skip
    _scan(_shipped(webhooks_only), "delivered", "delivered")
    notifications_send_due()
    assert receiver.requests == []
    assert not Notification.objects.filter(channel="webhook").exists()


def test_the_admins_test_event_speaks_the_subscriptions_style(
    webhooks_only, receiver, staff_client
):
    receiver.status = 200
    endpoint, _secret = webhook_endpoint_create(
        merchant=webhooks_only, url=URL, event_types=SEED_EVENTS, secret=OWN_SECRET,
        style="tracking-api",
    )  # fmt: skip
    staff_client.post(
        reverse("admin:notifications_webhookendpoint_changelist"),
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
    )
    assert notifications_send_due().sent == 1
    [request] = receiver.requests
    body = json.loads(request.body)
    assert (body["eventType"], body["data"]["status"]) == ("shipment.in_transit", "IN_TRANSIT")
    assert seed_verify(request.body, request.headers["FlexTracker-Signature"], OWN_SECRET)
