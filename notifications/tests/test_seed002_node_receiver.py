"""Seed 002's own receiver (examples/seed002/webhook_receiver.js: its verifyWebhookSignature and
Express-style handler, verbatim but for the header's name) run with node, receiving a real
delivery from the outbox's task, as issue 21's "Done when" asks."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.services import notification_rules_set
from notifications.models import NotificationAttempt
from notifications.tasks import send_notifications
from orders.tests.factories import create_order, ship
from tests.network import PUBLIC_ADDRESS
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

RECEIVER = Path(__file__).resolve().parents[2] / "examples" / "seed002" / "webhook_receiver.js"
URL = "http://hooks.example.com/webhooks/tracking"  # http: the tests run as a development server
SECRET = "seed-002-receiver-secret-0123456789"


class NodeReceiver:
    def __init__(self, secret: str):
        self.process = subprocess.Popen(
            [shutil.which("node"), str(RECEIVER)],
            env={**os.environ, "WEBHOOK_SECRET": secret, "PORT": "0"},
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.port = int(self.process.stdout.readline().split()[1])  # "listening <port>"

    def lines(self, count: int) -> list[dict]:
        return [json.loads(self.process.stdout.readline()) for _ in range(count)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def node_receiver(fake_dns, settings):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    settings.DEBUG = True  # plain http to port 80: no certificate to fake
    receiver = NodeReceiver(SECRET)
    fake_dns({"hooks.example.com": PUBLIC_ADDRESS}, others_public=False).serve_locally(
        PUBLIC_ADDRESS, receiver.port
    )
    yield receiver
    receiver.stop()


def _delivered(merchant):
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXSEED1001", ("MUG", 1)).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="delivered", status_detail="delivered",
                         event_type="DELIVERY", description="Delivered to recipient",
                         recipient="J. DOE")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")
    return shipment


def test_seed_002s_handler_verifies_a_delivery_and_tells_the_customer(api, merchant, node_receiver):
    # given: subscribed with seed 002's request, and a shipment delivered
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    created = api.post(
        "/api/v1/tracking/webhook",
        {"url": URL, "events": ["shipment.delivered"], "secret": SECRET},
    )
    assert created.status_code == 201
    shipment = _delivered(merchant)
    # when: the worker's task sends the outbox
    send_notifications()
    # then: the seed's handler verified the signature, answered 200 and ran handleTrackingUpdate
    [line] = node_receiver.lines(1)
    assert line["status"] == 200
    assert line["notified"] == ["Your package has been delivered!"]
    assert (line["event"]["eventType"], line["event"]["data"]["shipmentId"]) == (
        "shipment.delivered", str(shipment.public_id))  # fmt: skip
    [attempt] = NotificationAttempt.objects.all()
    assert (attempt.succeeded, attempt.response_status) == (True, 200)


def test_seed_002s_handler_refuses_a_delivery_signed_with_another_secret(
    api, merchant, node_receiver
):
    # given: the subscription's secret is not the one the receiver checks with
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    other = SECRET.upper()
    api.post("/api/v1/tracking/webhook", {"url": URL, "events": ["shipment.delivered"],
                                          "secret": other})  # fmt: skip
    _delivered(merchant)
    # when
    send_notifications()
    # then: 401 from the seed's handler, logged as a failed attempt to retry
    [line] = node_receiver.lines(1)
    assert (line["status"], line["notified"]) == (401, [])
    [attempt] = NotificationAttempt.objects.all()
    assert (attempt.succeeded, attempt.response_status) == (False, 401)


def test_seed_002s_handler_tells_the_customer_what_an_exception_means(api, merchant, node_receiver):
    # given: subscribed to exceptions; a driver cannot find the address (exception code 002)
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    api.post("/api/v1/tracking/webhook",
             {"url": URL, "events": ["shipment.exception"], "secret": SECRET})  # fmt: skip
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXSEED1002", ("MUG", 1)).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="exception",
                         status_detail="address_issue", event_type="EXCEPTION",
                         description="Address problem", exception_code="002")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")
    # when
    send_notifications()
    # then: the seed's handler read events[0].exceptionReason, as the seed says
    [line] = node_receiver.lines(1)
    assert line["status"] == 200
    assert line["notified"] == ["Please verify your delivery address", "(address update requested)"]
