"""Replay finds a logged API message's handler by its path, without the URLconf or a view."""

import pytest
from django.urls import resolve

from flextracker.errors import NotFound
from inbound.api.base import InboundApi
from inbound.models import InboundMessage
from inbound.services import Result
from ingest.endpoints import api_endpoint
from ingest.replay import inbound_replay
from tracking.models import TrackingEvent

pytestmark = pytest.mark.django_db

LOGGED_PATHS = [
    "/api/v1/orders",
    "/api/v1/orders/A/1 x/shipments",
    "/api/v1/orders/A/shipments/cancellations",
    "/api/v1/orders/A-1/backorders",
    "/api/v1/events",
    "/api/v1/events/batch",
    "/api/v1/trackers",
    "/api/v1/webhooks",
    "/api/v1/webhooks/wh_1/enable",
    "/api/v1/tracking/webhook",
    "/api/v1/tracking/batch",
    "/api/v1/tracking/1Z999/events",
    "/api/v1/tracking/1Z999/refresh",
    "/api/v1/returns/ret_1/approve",
    "/api/v1/returns/ret_1/refuse",
    "/api/v1/returns/ret_1/label",
]


@pytest.mark.parametrize("path", LOGGED_PATHS)
def test_every_logged_endpoint_is_mapped_with_the_urls_arguments(path):
    # given: the URLconf's view for the path takes logged POSTs
    match = resolve(path)
    assert issubclass(match.func.view_class, InboundApi)
    # when
    endpoint, arguments = api_endpoint(path)
    # then
    assert arguments == match.kwargs
    assert (endpoint.queued is not None) == (match.func.view_class.queued is not None)


def test_a_path_no_endpoint_takes_is_not_found():
    with pytest.raises(NotFound):
        api_endpoint("/api/v1/messages")


def test_a_rejected_tracking_report_replays_once_the_shipment_exists(api):
    # given: events reported for a number no shipment has yet
    delivered = {"timestamp": "2026-11-21T16:30:00Z", "status": "delivered"}
    refused = api.post("/api/v1/tracking/VAN-42-0001/events", {"events": [delivered]})
    message = InboundMessage.objects.get(outcome="rejected")
    assert (refused.status_code, message.error_code) == (404, "TRACKING_NOT_FOUND")
    api.post("/api/v1/orders", {"orderId": "1001",
             "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 1}]})  # fmt: skip
    api.post("/api/v1/orders/1001/shipments", {"trackingNumber": "VAN-42-0001",
             "carrier": "other", "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    # when
    outcome = inbound_replay(message)
    # then
    message.refresh_from_db()
    assert isinstance(outcome, Result)
    assert (outcome.status, message.outcome, message.replay_count) == (200, "accepted", 1)
    assert (outcome.data["trackingNumber"], outcome.data["status"]) == ("VAN420001", "delivered")
    assert TrackingEvent.objects.filter(shipment__tracking_number="VAN420001").count() == 1
