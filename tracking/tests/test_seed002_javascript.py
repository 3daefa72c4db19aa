"""Seed 002's own JavaScript (examples/seed002/), run with node against a live server: each
example does what the seed says it does, with a `tracking-api` key."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ApiCaller
from merchants.services import api_key_issue
from orders.models import Shipment

NODE = shutil.which("node")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
]

RUN_JS = Path(__file__).resolve().parents[2] / "examples" / "seed002" / "run.js"
VAN, TRUCK, BIKE = "VAN420001", "VAN420002", "VAN420003"
EVENTS = {
    VAN: [
        {"timestamp": "2026-11-20T14:30:00Z", "status": "in_transit", "statusDetail": "picked_up",
         "description": "Picked up at origin", "location": {"city": "Dallas", "state": "TX"}},
        {"timestamp": "2026-11-21T16:45:00Z", "status": "delivered",
         "description": "Delivered to recipient", "recipient": "J. DOE",
         "location": {"city": "Houston", "state": "TX"}},
    ],
    TRUCK: [
        {"timestamp": "2026-11-21T10:00:00Z", "status": "exception",
         "statusDetail": "address_issue", "description": "Address incomplete"},
    ],
}  # fmt: skip


@pytest.fixture
def raw_key(client, merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant, name="seed", style="tracking-api")
    api = ApiCaller(client, raw_key)
    api.post("/api/v1/orders", {"orderId": "1001",
             "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 3}]})  # fmt: skip
    for number in (VAN, TRUCK, BIKE):
        api.post("/api/v1/orders/1001/shipments",
                 {"trackingNumber": number, "carrier": "other",
                  "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    for number, events in EVENTS.items():
        api.post(f"/api/v1/tracking/{number}/events", {"events": events})
    return raw_key


def _run(live_server, raw_key: str, command: str, argument: str) -> tuple[int, dict]:
    """examples/seed002/run.js `command` `argument`: its exit code and the JSON line it prints."""
    environment = {**os.environ, "BASE_URL": live_server.url, "API_KEY": raw_key}
    run = subprocess.run(
        [NODE, str(RUN_JS), command, argument],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return run.returncode, json.loads(run.stdout.splitlines()[-1])


def _id(number: str) -> str:
    return str(Shipment.objects.get(tracking_number=number).public_id)


def test_track_package_logs_the_seed_status_and_latest_event(live_server, raw_key):
    code, out = _run(live_server, raw_key, "track", VAN)
    assert code == 0, out
    assert (out["status"], out["shipmentId"], out["events"]) == ("DELIVERED", _id(VAN), 2)
    assert out["logged"][0] == "Status: DELIVERED"
    assert out["logged"][2] == "Latest: Delivered to recipient"


def test_track_multiple_shipments_groups_events_by_shipment_id(live_server, raw_key):
    code, out = _run(live_server, raw_key, "multiple", f"{_id(VAN)},{_id(TRUCK)}")
    assert code == 0, out
    assert out == {_id(VAN): 2, _id(TRUCK): 1}


def test_the_timeline_is_newest_first_with_city_and_state(live_server, raw_key):
    code, out = _run(live_server, raw_key, "timeline", VAN)
    assert code == 0, out
    assert [(e["status"], e["description"], e["location"]) for e in out["timeline"]] == [
        ("DELIVERED", "Delivered to recipient", "Houston, TX"),
        ("PICKED_UP", "Picked up at origin", "Dallas, TX"),
    ]


def test_handle_tracking_update_fires_on_delivered_and_on_an_address_exception(
    live_server, raw_key
):
    delivered = _run(live_server, raw_key, "handle", VAN)
    exception = _run(live_server, raw_key, "handle", TRUCK)
    assert delivered == (0, {"notified": ["Your package has been delivered!"]})
    assert exception == (
        0,
        {"notified": ["Please verify your delivery address", "(address update requested)"]},
    )


def test_a_package_with_nothing_reported_yet_is_not_available(live_server, raw_key):
    code, out = _run(live_server, raw_key, "track", BIKE)
    assert (code, out) == (1, {"error": "Tracking information not yet available"})
