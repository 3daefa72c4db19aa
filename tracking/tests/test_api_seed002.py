"""API.md "The seed-002 style tracking API": a key's style, the header, seed 002's shapes and its
own endpoints, on the same rows as the native API."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from carriers.seed002 import SEED002_STATUSES, seed002_status
from conftest import ApiCaller
from inbound.models import InboundMessage
from ingest.replay import inbound_replay
from merchants.models import ApiKey
from merchants.services import api_key_authenticate, api_key_issue
from orders.models import Shipment
from tracking.api.seed002 import REPORTED_AS

pytestmark = pytest.mark.django_db

VAN = "VAN420001"
TRUCK = "VAN420002"
SEED_OBJECT_FIELDS = {
    "shipmentId", "trackingNumber", "proNumber", "provider", "service", "status",
    "statusDescription", "estimatedDelivery", "actualDelivery", "weight", "origin",
    "destination", "events", "lastUpdated",
}  # fmt: skip
SEED_EVENT_FIELDS = {
    "eventId", "shipmentId", "trackingNumber", "timestamp", "status", "eventType", "description",
    "location", "facilityType", "exceptionCode", "exceptionReason", "recipient", "signature",
}  # fmt: skip
PICKED_UP = {"timestamp": "2026-11-20T14:30:00Z", "status": "in_transit",
             "statusDetail": "picked_up", "description": "Picked up at origin",
             "location": {"city": "Dallas", "state": "TX", "postalCode": "75201",
                          "country": "US"}}  # fmt: skip
DELIVERED = {"timestamp": "2026-11-21T16:45:00Z", "status": "delivered",
             "description": "Delivered to recipient", "recipient": "J. DOE",
             "signatureUrl": "https://example.com/signature_123.png",
             "location": {"city": "Houston", "state": "TX", "country": "US"}}  # fmt: skip


@pytest.fixture
def seed_api(client, merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant, name="seed", style="tracking-api")
    return ApiCaller(client, raw_key)


@pytest.fixture
def shipped(api):
    """Order 1001 with VAN (picked up, then delivered) and TRUCK (nothing reported yet)."""
    api.post("/api/v1/orders", {"orderId": "1001", "currency": "USD",
             "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 3}]})  # fmt: skip
    for number in (VAN, TRUCK):
        api.post("/api/v1/orders/1001/shipments",
                 {"trackingNumber": number, "carrier": "other",
                  "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    api.post(f"/api/v1/tracking/{VAN}/events", {"events": [PICKED_UP, DELIVERED]})
    return api


def _shipment_id(number: str) -> str:
    return str(Shipment.objects.get(tracking_number=number).public_id)


# --- The style: the key's, or the header's -----------------------------------------------------


def test_a_tracking_api_key_answers_seed_002s_object(shipped, seed_api):
    # when
    data = seed_api.get(f"/api/v1/tracking/{VAN}").json()["data"]
    # then
    assert set(data) == SEED_OBJECT_FIELDS
    assert (data["shipmentId"], data["provider"], data["status"]) == (
        _shipment_id(VAN), "OTHER", "DELIVERED")  # fmt: skip
    assert data["actualDelivery"] == "2026-11-21T16:45:00Z"
    delivered, picked_up = data["events"]
    assert set(delivered) == SEED_EVENT_FIELDS
    assert (delivered["status"], delivered["recipient"], delivered["signature"]) == (
        "DELIVERED", "J. DOE", "https://example.com/signature_123.png")  # fmt: skip
    assert picked_up["status"] == "PICKED_UP"
    assert picked_up["location"] == {
        "address": "Dallas, TX 75201", "city": "Dallas", "state": "TX", "postalCode": "75201",
        "country": "US",
    }  # fmt: skip


def test_the_header_overrides_the_keys_style_both_ways(shipped, seed_api):
    native_asks_seed = shipped.get(f"/api/v1/tracking/{VAN}", HTTP_FLEXTRACKER_STYLE="tracking-api")
    seed_asks_native = seed_api.get(f"/api/v1/tracking/{VAN}", HTTP_FLEXTRACKER_STYLE="native")
    assert native_asks_seed.json()["data"]["status"] == "DELIVERED"
    assert seed_asks_native.json()["data"]["status"] == "delivered"
    assert shipped.get(f"/api/v1/tracking/{VAN}").json()["data"]["status"] == "delivered"


def test_an_unknown_style_is_a_400_in_the_envelope(shipped):
    response = shipped.get(f"/api/v1/tracking/{VAN}", HTTP_FLEXTRACKER_STYLE="flash")
    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["code"], list(error["fields"])) == ("INVALID_REQUEST", ["FlexTracker-Style"])


def test_batch_and_reported_events_answer_in_the_keys_style(shipped, seed_api):
    batch = seed_api.post("/api/v1/tracking/batch", {"trackingNumbers": [VAN, "NOPE"]}).json()
    reported = seed_api.post(f"/api/v1/tracking/{TRUCK}/events", {"events": [PICKED_UP]}).json()
    assert batch["data"][0]["data"]["status"] == "DELIVERED"
    assert batch["data"][1]["error"]["details"] == {"trackingNumber": "NOPE"}
    assert (reported["data"]["status"], set(reported["data"])) == ("PICKED_UP", SEED_OBJECT_FIELDS)


def test_create_api_key_takes_a_style(merchant):
    out = io.StringIO()
    call_command("create_api_key", merchant.merchant_id, "--style", "tracking-api", stdout=out)
    assert api_key_authenticate(out.getvalue().strip()).style == "tracking-api"


def test_the_admin_issues_a_key_in_a_style(staff_client, merchant):
    staff_client.post(
        reverse("admin:merchants_apikey_add"),
        {"merchant": merchant.pk, "name": "seed", "style": "tracking-api"},
    )
    assert ApiKey.objects.get(name="seed").style == "tracking-api"


# --- Not found, not yet available ---------------------------------------------------------------


def test_a_shipment_with_nothing_reported_yet_is_not_available_in_the_seed_style(shipped, seed_api):
    # when
    response = seed_api.get(f"/api/v1/tracking/{TRUCK}")
    # then
    error = response.json()["error"]
    assert response.status_code == 404
    assert (error["code"], error["severity"]) == ("TRACKING_NOT_AVAILABLE", "transient")
    assert error["details"]["reason"] == "Package not yet in carrier system"
    assert response["Retry-After"] == str(error["details"]["retryAfter"])
    assert shipped.get(f"/api/v1/tracking/{TRUCK}").status_code == 200  # native: as it stands


def test_tracking_not_found_names_the_number_and_the_provider_asked(seed_api):
    response = seed_api.get("/api/v1/tracking/1234567890", {"carrier": "fedex"})
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (404, "TRACKING_NOT_FOUND")
    assert error["details"] == {"trackingNumber": "1234567890", "provider": "FEDEX"}


# --- The event feed ----------------------------------------------------------------------------


def test_events_filter_by_shipment_ids_and_seed_statuses(shipped, seed_api):
    shipped.post(f"/api/v1/tracking/{TRUCK}/events", {"events": [PICKED_UP]})
    van = _shipment_id(VAN)
    # when
    by_id = seed_api.get("/api/v1/tracking/events", {"shipmentIds": van}).json()["data"]
    delivered = seed_api.get("/api/v1/tracking/events", {"status": "DELIVERED"}).json()["data"]
    picked_up = seed_api.get("/api/v1/tracking/events", {"status": "PICKED_UP"}).json()["data"]
    in_transit = seed_api.get("/api/v1/tracking/events", {"status": "IN_TRANSIT"}).json()["data"]
    # then
    assert [(e["shipmentId"], e["status"]) for e in by_id] == [
        (van, "DELIVERED"),
        (van, "PICKED_UP"),
    ]
    assert [e["trackingNumber"] for e in delivered] == [VAN]
    assert sorted(e["trackingNumber"] for e in picked_up) == [VAN, TRUCK]
    assert in_transit == []


def test_native_events_carry_the_shipment_id_and_accept_seed_filters(shipped):
    events = shipped.get("/api/v1/tracking/events", {"status": "DELIVERED"}).json()["data"]
    assert [(e["shipmentId"], e["status"]) for e in events] == [(_shipment_id(VAN), "delivered")]


def test_an_unknown_status_filter_is_still_a_422(seed_api):
    response = seed_api.get("/api/v1/tracking/events", {"status": "TELEPORTED"})
    assert response.status_code == 422


# --- Seed 002's own endpoints, seed style whatever the key -------------------------------------


def test_track_shipment_by_number_or_by_shipment_id(shipped):
    by_number = shipped.post("/api/v1/track/shipment", {"trackingNumber": VAN})
    by_id = shipped.post("/api/v1/track/shipment", {"shipmentId": _shipment_id(VAN)})
    assert by_number.status_code == 200 and by_number.json()["data"]["status"] == "DELIVERED"
    assert by_id.json()["data"] == by_number.json()["data"]
    assert InboundMessage.objects.filter(path="/api/v1/track/shipment").count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "MISSING_TRACKER_DATA"),
        ({"trackingNumber": "NOPE"}, 404, "TRACKING_NOT_FOUND"),
        ({"shipmentId": "not-a-uuid"}, 404, "TRACKING_NOT_FOUND"),
        ({"trackingNumber": TRUCK}, 404, "TRACKING_NOT_AVAILABLE"),
        ({"trackingNumber": ["x"]}, 422, "INVALID_TRACKER_DATA"),
    ],
)
def test_track_shipment_errors(shipped, body, status, code):
    response = shipped.post("/api/v1/track/shipment", body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_track_shipments_answers_each_in_order(shipped):
    by_number = shipped.post("/api/v1/track/shipments", {"trackingNumbers": [VAN, "NOPE"]})
    by_id = shipped.post("/api/v1/track/shipments", {"shipmentIds": [_shipment_id(TRUCK)]})
    first, second = by_number.json()["data"]
    assert (first["success"], first["data"]["status"]) == (True, "DELIVERED")
    assert (second["success"], second["error"]["code"]) == (False, "TRACKING_NOT_FOUND")
    assert by_id.json()["data"][0]["data"]["status"] == "LABEL_CREATED"
    too_many = shipped.post("/api/v1/track/shipments", {"trackingNumbers": ["X"] * 101})
    assert too_many.status_code == 413


def test_track_details_gives_proof_of_delivery(shipped):
    data = shipped.post("/api/v1/track/details", {"trackingNumber": VAN}).json()["data"]
    assert data["proofOfDelivery"] == {
        "deliveredAt": "2026-11-21T16:45:00Z",
        "recipient": "J. DOE",
        "signature": "https://example.com/signature_123.png",
    }


def test_track_update_reports_an_event_through_the_same_service(shipped):
    # when
    response = shipped.post(
        "/api/v1/track/update",
        {"trackingNumber": TRUCK, "status": "EXCEPTION", "exceptionCode": "002",
         "description": "Address incomplete", "timestamp": "2026-11-21T10:00:00Z",
         "location": {"address": "789 ELM STREET, AUSTIN, TX", "city": "Austin", "state": "TX"}},
    )  # fmt: skip
    # then
    data = response.json()["data"]
    assert response.status_code == 200
    assert (data["status"], data["events"][0]["exceptionReason"]) == (
        "EXCEPTION", "INCORRECT_ADDRESS")  # fmt: skip
    native = shipped.get(f"/api/v1/tracking/{TRUCK}").json()["data"]
    assert (native["status"], native["events"][0]["source"]) == ("exception", "merchant")


def test_a_rejected_update_replays_once_the_shipment_exists(shipped):
    update = {"trackingNumber": "VAN420003", "status": "PICKED_UP",
              "timestamp": "2026-11-21T10:00:00Z"}  # fmt: skip
    assert shipped.post("/api/v1/track/update", update).status_code == 404
    shipped.post("/api/v1/orders/1001/shipments",
                 {"trackingNumber": "VAN420003", "carrier": "other",
                  "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    # when
    outcome = inbound_replay(InboundMessage.objects.get(path="/api/v1/track/update"))
    # then
    assert getattr(outcome, "error", None) is None, outcome.error.body()
    assert (outcome.status, outcome.data["status"]) == (200, "PICKED_UP")


def test_reported_seed_statuses_read_back_as_themselves():
    for seed_status in SEED002_STATUSES:
        assert seed002_status(*REPORTED_AS[seed_status]) == seed_status


def test_tracking_lists_the_shipments_in_transit(shipped):
    response = shipped.get("/api/v1/tracking", {"limit": 10}).json()
    assert [s["trackingNumber"] for s in response["data"]] == [TRUCK]
    assert response["meta"]["pagination"]["total"] == 1


def test_lookup_by_load_id_gives_every_shipment_of_the_order(shipped):
    data = shipped.get("/api/v1/tracking/lookup/1001").json()["data"]
    missing = shipped.get("/api/v1/tracking/lookup/9999")
    assert [(s["trackingNumber"], s["status"]) for s in data] == [
        (VAN, "DELIVERED"), (TRUCK, "LABEL_CREATED")]  # fmt: skip
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")


def test_track_by_shipment_id_adds_reference_and_shipment_info(shipped):
    data = shipped.get(f"/api/v1/shipments/{_shipment_id(VAN)}/track").json()["data"]
    assert set(data) == SEED_OBJECT_FIELDS | {"reference", "shipmentInfo"}
    assert data["reference"] == "1001"
    assert set(data["shipmentInfo"]) == {"createdAt", "estimatedDelivery", "totalCost", "currency"}


# --- Tenancy -----------------------------------------------------------------------------------


def test_another_merchants_shipment_id_is_a_404_everywhere(shipped, other_api):
    van = _shipment_id(VAN)
    track = other_api.get(f"/api/v1/shipments/{van}/track")
    by_id = other_api.post("/api/v1/track/shipment", {"shipmentId": van})
    update = other_api.post("/api/v1/track/update",
                            {"shipmentId": van, "status": "DELIVERED",
                             "timestamp": "2026-11-21T10:00:00Z"})  # fmt: skip
    events = other_api.get("/api/v1/tracking/events", {"shipmentIds": van}).json()["data"]
    assert [r.status_code for r in (track, by_id, update)] == [404, 404, 404]
    assert track.json()["error"]["code"] == "TRACKING_NOT_FOUND"
    assert events == []
    assert other_api.get("/api/v1/tracking/lookup/1001").status_code == 404
    assert other_api.get("/api/v1/tracking").json()["data"] == []


def test_a_bad_page_of_shipments_in_transit_is_a_422(shipped):
    response = shipped.get("/api/v1/tracking", {"page": 0})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "INVALID_TRACKER_DATA")
