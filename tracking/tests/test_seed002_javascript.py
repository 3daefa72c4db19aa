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


def _run(live_server, raw_key: str, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "FLEXTRACKER_BASE_URL": live_server.url,
                   "FLEXTRACKER_API_KEY": raw_key}  # fmt: skip
    return subprocess.run(
        [NODE, str(RUN_JS), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _id(number: str) -> str:
    return str(Shipment.objects.get(tracking_number=number).public_id)


def test_track_a_delivered_package_its_timeline_and_many_shipments(live_server, raw_key):
    # when
    run = _run(live_server, raw_key, VAN, _id(VAN), _id(TRUCK))
    # then
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    summary = json.loads(lines[-1])
    assert lines[:3] == [
        "Status: DELIVERED",
        lines[1],  # Last Update: <the shipment's lastUpdated>
        "Latest: Delivered to recipient",
    ]
    assert "notifyCustomer: Your package has been delivered!" in lines
    assert summary["timeline"] == [
        ["DELIVERED", "Delivered to recipient", "Houston, TX"],
        ["PICKED_UP", "Picked up at origin", "Dallas, TX"],
    ]
    assert summary["grouped"] == {_id(VAN): ["DELIVERED", "PICKED_UP"], _id(TRUCK): ["EXCEPTION"]}


def test_an_exception_asks_the_customer_to_verify_the_address(live_server, raw_key):
    run = _run(live_server, raw_key, TRUCK)
    assert run.returncode == 0, run.stderr
    assert "notifyCustomer: Please verify your delivery address" in run.stdout.splitlines()
    assert "requestAddressUpdate" in run.stdout.splitlines()


def test_a_package_with_nothing_reported_yet_is_not_available(live_server, raw_key):
    run = _run(live_server, raw_key, BIKE)
    assert run.returncode == 1
    assert run.stderr.strip() == "Error: Tracking information not yet available"
