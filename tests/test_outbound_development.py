"""Issue #19 item 17: a merchant's developer tests webhooks against a receiver on their own
machine. With DEBUG on (development), loopback, private hosts and any port are accepted — all of
them, or only the hosts OUTBOUND_URL_ALLOWED_HOSTS lists; with DEBUG off (production), never.
The receiver is a real HTTP server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.services import notification_rules_set
from notifications.models import Notification, WebhookEndpoint
from notifications.sending import notifications_send_due
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    """An HTTP server on loopback recording what it receives: (path, Host header, body)."""
    received: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Host"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()
    server.server_close()


def _subscribe(api, url: str):
    return api.post("/api/v1/webhooks", {"url": url, "events": ["tracking.delivered"]})


def _deliver_shipment(merchant) -> None:
    notification_rules_set(merchant=merchant, channel="email", triggers=[])
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1)).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="delivered", status_detail="delivered",
                         event_type="DELIVERY", description="Delivered")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def test_in_development_a_webhook_reaches_a_receiver_on_the_developers_machine(
    api, merchant, receiver, settings
):
    # given: DEBUG on, OUTBOUND_URL_ALLOWED_HOSTS at its default (every host)
    settings.DEBUG = True
    url, received = receiver
    # when
    created = _subscribe(api, url)
    _deliver_shipment(merchant)
    report = notifications_send_due()
    # then
    assert created.status_code == 201
    assert (report.claimed, report.sent) == (1, 1)
    [(path, host, body)] = received
    assert (path, host) == ("/hooks", url.split("/")[2])
    assert (body["eventType"], body["data"]["trackingNumber"]) == (
        "tracking.delivered",
        "SBXDELIVERED1",
    )


def test_in_development_only_the_listed_hosts_are_opened(api, merchant, settings):
    # given
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["localhost"]
    # when
    listed = _subscribe(api, "http://localhost:3000/hooks")
    other = _subscribe(api, "http://10.0.0.5:3000/hooks")
    # then
    assert listed.status_code == 201
    assert other.status_code == 422
    assert other.json()["error"]["fields"] == {
        "url": [
            "Use https; plain http is accepted only in development.",
            "Port 3000 is not allowed; use 443 (or 80).",
        ]
    }
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [
        "http://localhost:3000/hooks"
    ]


@pytest.mark.parametrize("allowed_hosts", [["*"], ["127.0.0.1"]])
def test_in_production_a_local_receiver_is_refused_whatever_the_list_says(
    api, merchant, receiver, settings, allowed_hosts
):
    # given: DEBUG off (production), a list left in the environment
    settings.DEBUG = False
    settings.OUTBOUND_URL_ALLOWED_HOSTS = allowed_hosts
    url, _received = receiver
    port = url.split(":")[2].split("/")[0]
    # when
    response = _subscribe(api, url)
    # then
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "url": [
            "Use https; plain http is accepted only in development.",
            f"Port {port} is not allowed; use 443 (or 80).",
        ]
    }
    assert not WebhookEndpoint.objects.exists()


def test_a_subscription_made_in_development_is_not_delivered_once_debug_is_off(
    api, merchant, receiver, settings
):
    # given: subscribed in development, then the same database served with DEBUG off
    settings.DEBUG = True
    url, received = receiver
    _subscribe(api, url)
    settings.DEBUG = False
    _deliver_shipment(merchant)
    # when
    notifications_send_due()
    # then: refused at delivery time, nothing reached the receiver
    assert received == []
    notification = Notification.objects.get(channel="webhook")
    assert notification.last_error.startswith("Refused to call it: Use https;")
