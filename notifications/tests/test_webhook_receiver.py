"""Merchant webhooks reaching a real local HTTP receiver (notifications/tests/http_receiver.py):
signed with the merchant's own secret, retried for days, and an endpoint disabled only after
72 hours in which every delivery failed — with a staff alert by email 24 hours before."""

import json

import pytest
from django.utils import timezone

from merchants.services import notification_rules_set
from notifications.sending import notifications_send_due
from notifications.tests.http_receiver import HOST, URL, receiver  # noqa: F401 - a fixture
from notifications.tests.test_webhook_delivery import verify
from orders.tests.factories import create_order, ship
from tracking.carriers.events import CarrierEvent
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

OWN_SECRET = "my-own-secret-0123456789-abcdef"


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


def test_a_merchants_own_secret_signs_every_delivery(api, webhooks_only, receiver):  # noqa: F811
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
