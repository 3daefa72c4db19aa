"""The trackers endpoints of API.md, through real HTTP requests to the Django test client."""

from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inbound.models import InboundMessage
from merchants.models import DeliveryProvider
from merchants.services import api_key_issue
from orders.models import Shipment, Tracker
from tests.concurrency import requires_postgresql, run_at_once

pytestmark = pytest.mark.django_db

DELIVERY = {
    "trackerExternalId": "TRK-1001", "trackingId": "VAN-7-STOP-3", "provider": "Self Delivery",
    "type": "delivery", "groupId": "BASKET-77", "orderAttributes": {"channel": "phone"},
    "orderValue": 42.5,
    "pickupTime": {"startsAt": 1795528800000, "endsAt": None},
    "deliveryTime": {"startsAt": 1795532400000, "endsAt": 1795539600000},
    "deliveryContact": {"name": "Jane Doe", "phone": "+15125550100", "email": "jane@example.com"},
    "deliveryAddress": {"street1": "1 Main St", "street2": "Suite 2", "city": "Austin",
                        "state": "TX", "postalCode": "78701", "countryCode": "us",
                        "latitude": 30.2672, "longitude": -97.7431, "apartmentNumber": "4B"},
    "pickupInstructions": "Back door.", "deliveryInstructions": "Leave with the concierge.",
    "barcodes": ["0123456789012"], "items": [{"name": "Sourdough loaf", "quantity": 2}],
    "locale": "en-US", "createdDate": 1795525200123, "currencyCode": "USD",
    "pickup": {"name": "Corner Bakery", "phone": "+15125550199",
               "address": {"street1": "9 Oak St", "city": "Austin", "state": "TX",
                           "postalCode": "78702", "countryCode": "US", "latitude": 30.26,
                           "longitude": -97.72},
               "instructions": "Ring twice."},
    "packages": [{"trackerExternalId": "TRK-1001-A", "barcodes": ["0123456789012"],
                  "items": [{"name": "Sourdough loaf", "quantity": 2}],
                  "createdDate": 1795525200123}],
}  # fmt: skip
SANDBOX = {
    "trackerExternalId": "MKT-1",
    "trackingNumber": "sbx-delivered-0001",
    "carrier": "sandbox",
}
UPS_NUMBER = "1Z5R89390357567127"
ORDER = {"orderId": "12345", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 1}]}


@pytest.fixture
def self_delivery(merchant):
    return DeliveryProvider.objects.create(merchant=merchant, name="Self Delivery")


def _error(response) -> dict:
    body = response.json()
    assert body["success"] is False
    return body["error"]


# --- Create, read, update ----------------------------------------------------------------------


def test_a_tracker_is_created_with_every_field_and_read_back_the_same(api, self_delivery):
    # when
    created = api.post("/api/v1/trackers", DELIVERY)
    got = api.get("/api/v1/trackers/TRK-1001")
    # then
    assert (created.status_code, got.status_code) == (201, 200)
    body = created.json()
    assert body["success"] is True and body["warnings"] == []
    data = body["data"]
    pickup_address = {**DELIVERY["pickup"]["address"], "street2": "", "apartmentNumber": ""}
    shown = {key: data[key] for key in data if key not in ("createdAt", "updatedAt", "tracking")}
    assert shown == {
        "id": str(Tracker.objects.get().pk), "trackerExternalId": "TRK-1001",
        "orderExternalId": "TRK-1001", "brandExternalId": "FDC-01-12345",
        "trackingId": "VAN-7-STOP-3", "trackingNumber": "VAN-7-STOP-3",
        "provider": {"id": str(self_delivery.pk), "name": "Self Delivery",
                     "displayName": "Self Delivery", "serviceType": "Delivery",
                     "serviceId": "delivery"},
        "carrier": None, "type": "delivery", "status": "ORDER_DISPATCHED",
        "groupId": "BASKET-77", "orderId": None, "orderAttributes": {"channel": "phone"},
        "orderValue": 42.5, "currencyCode": "USD",
        "estimatedPickupTime": {"startsAt": None, "endsAt": None},
        "estimatedDeliveryTime": {"startsAt": None, "endsAt": None},
        "locationExternalId": None, "pickup": {**DELIVERY["pickup"], "address": pickup_address},
        "pickupAddress": pickup_address,
        "pickupContact": {"name": "Corner Bakery", "phone": "+15125550199"},
        "timeZone": "UTC", "lastLocation": None, "tips": None, "driver": None,
        "vehicle": None, "packages": DELIVERY["packages"],
        "source": {"type": "api", "id": None, "name": None},
        "pickupTime": {"startsAt": 1795528800000, "endsAt": None},
        "deliveryTime": {"startsAt": 1795532400000, "endsAt": 1795539600000},
        "deliveryContact": {"name": "Jane Doe", "phone": "+15125550100",
                            "email": "jane@example.com"},
        "deliveryAddress": {"street1": "1 Main St", "street2": "Suite 2", "city": "Austin",
                            "state": "TX", "postalCode": "78701", "countryCode": "US",
                            "latitude": 30.2672, "longitude": -97.7431, "apartmentNumber": "4B"},
        "pickupInstructions": "Back door.", "deliveryInstructions": "Leave with the concierge.",
        "barcodes": ["0123456789012"], "items": [{"name": "Sourdough loaf", "quantity": 2}],
        "locale": "en-US", "createdDate": 1795525200123,
        "referenceLinks": {
            "customerWebflowUrl": "http://127.0.0.1:8000/trackers/FDC-01-12345/TRK-1001",
            "trackingPage": "http://127.0.0.1:8000/trackers/FDC-01-12345/TRK-1001",
            "groupPage": "http://127.0.0.1:8000/groups/FDC-01-12345/BASKET-77"},
    }  # fmt: skip
    # a provider's tracking id is followed as an `other` shipment, which the merchant moves
    assert (data["tracking"]["carrier"], data["tracking"]["trackingNumber"]) == (
        "other",
        "VAN7STOP3",
    )
    assert got.json()["data"] == data


def test_the_same_external_id_again_is_a_200_that_replaces_the_fields(api, merchant, self_delivery):
    # given
    api.post("/api/v1/trackers", DELIVERY)
    # when
    updated = api.post("/api/v1/trackers", {"trackerExternalId": "TRK-1001", "type": "pickup",
                                            "provider": "self delivery",
                                            "pickup": {"name": "Till 3"}})  # fmt: skip
    # then
    assert updated.status_code == 200
    data = updated.json()["data"]
    assert (data["type"], data["provider"]["name"], data["trackingNumber"]) == (
        "pickup",
        "Self Delivery",
        "",
    )
    assert (data["groupId"], data["deliveryTime"], data["barcodes"], data["packages"]) == (
        "", {"startsAt": None, "endsAt": None}, [], [])  # fmt: skip
    assert (data["pickupContact"], data["pickupAddress"]) == ({"name": "Till 3", "phone": ""}, None)
    page = "http://127.0.0.1:8000/trackers/FDC-01-12345/TRK-1001"
    assert data["referenceLinks"] == {"customerWebflowUrl": page, "trackingPage": page}
    assert Tracker.objects.filter(merchant=merchant).count() == 1


def test_a_carrier_tracker_follows_a_shipment_that_a_second_tracker_reuses(api, merchant):
    # when
    first = api.post("/api/v1/trackers", SANDBOX)
    second = api.post("/api/v1/trackers", {**SANDBOX, "trackerExternalId": "MKT-2",
                                           "trackingNumber": "SBXDELIVERED0001"})  # fmt: skip
    # then
    assert (first.status_code, second.status_code) == (201, 201)
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.carrier, shipment.tracking_number) == ("sandbox", "SBXDELIVERED0001")
    assert shipment.order is None and shipment.next_check_at is not None
    assert set(Tracker.objects.values_list("shipment", flat=True)) == {shipment.pk}
    data = first.json()["data"]
    assert (data["provider"], data["carrier"], data["trackingNumber"]) == (
        {"id": "sandbox", "name": "sandbox", "displayName": "Sandbox (simulated)",
         "serviceType": "Shipping", "serviceId": "shipping"},
        "sandbox",
        "SBXDELIVERED0001",
    )  # fmt: skip
    assert data["tracking"]["trackingNumber"] == "SBXDELIVERED0001"
    assert (data["tracking"]["tracked"], data["tracking"]["orderId"]) == (True, None)
    assert first.json()["warnings"] == []


def test_the_tracker_status_is_its_shipments(api, merchant):
    # given
    api.post("/api/v1/trackers", SANDBOX)
    Shipment.objects.filter(merchant=merchant).update(status="out_for_delivery")
    # when
    data = api.get("/api/v1/trackers/MKT-1").json()["data"]
    # then
    assert (data["status"], data["tracking"]["status"]) == ("OUT_FOR_DELIVERY", "out_for_delivery")


def test_without_a_carrier_it_is_detected_and_an_unpolled_one_is_flagged(api, merchant):
    # when
    response = api.post(
        "/api/v1/trackers",
        {"trackerExternalId": "MKT-3", "trackingNumber": "1z5r 8939 0357 5671 27"},
    )
    # then
    body = response.json()
    assert response.status_code == 201
    assert (body["data"]["carrier"], body["data"]["trackingNumber"]) == ("ups", UPS_NUMBER)
    assert body["data"]["tracking"]["tracked"] is False
    assert [w["code"] for w in body["warnings"]] == ["CARRIER_NOT_TRACKED"]
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.carrier, shipment.next_check_at) == ("ups", None)


def test_a_carrier_code_in_any_case_under_provider_is_the_carrier(api):
    response = api.post(
        "/api/v1/trackers",
        {"trackerExternalId": "MKT-4", "provider": "UPS", "trackingId": UPS_NUMBER},
    )
    assert response.status_code == 201
    assert response.json()["data"]["carrier"] == "ups"
    assert Shipment.objects.get().carrier == "ups"


def test_a_tracker_can_link_to_one_of_the_merchants_orders(api, merchant):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    data = api.post("/api/v1/trackers", {**SANDBOX, "orderId": "12345"}).json()["data"]
    # then
    assert (data["orderId"], data["tracking"]["orderId"]) == ("12345", "12345")
    assert Shipment.objects.get(merchant=merchant).order.order_id == "12345"


def test_external_ids_with_slash_question_mark_and_space_round_trip(api):
    # given
    external_id = "A/B?c%d e"
    api.post("/api/v1/trackers", {"trackerExternalId": external_id, "groupId": "g/1"})
    # when
    got = api.get("/api/v1/trackers/" + quote(external_id, safe=""))
    # then
    assert got.status_code == 200
    page = "http://127.0.0.1:8000/trackers/FDC-01-12345/A%2FB%3Fc%25d%20e"
    assert got.json()["data"]["referenceLinks"] == {
        "customerWebflowUrl": page,
        "trackingPage": page,
        "groupPage": "http://127.0.0.1:8000/groups/FDC-01-12345/g%2F1",
    }


def test_coordinates_are_kept_to_six_decimal_places(api):
    address = {"latitude": 30.26715349, "longitude": -97.74306001}
    response = api.post("/api/v1/trackers", {"trackerExternalId": "T", "type": "delivery",
                                             "deliveryAddress": address,
                                             "pickup": {"name": "Store"}})  # fmt: skip
    assert response.status_code == 201
    tracker = Tracker.objects.get()
    assert (tracker.latitude, tracker.longitude) == (Decimal("30.267153"), Decimal("-97.743060"))


# --- Bad input: a clear error, and nothing written ---------------------------------------------

LONG_TEXT = "x" * 10_001


@pytest.mark.parametrize(
    ("changes", "status", "code", "fields"),
    [
        ({"trackerExternalId": None}, 400, "MISSING_TRACKER_DATA", {"trackerExternalId"}),
        ({"trackerExternalId": ""}, 400, "MISSING_TRACKER_DATA", {"trackerExternalId"}),
        ({"trackerExternalId": "x" * 101}, 422, "INVALID_TRACKER_DATA", {"trackerExternalId"}),
        ({"deliveryAddress": None}, 400, "MISSING_TRACKER_DATA", {"deliveryAddress"}),
        ({"deliveryAddress": {}}, 400, "MISSING_TRACKER_DATA", {"deliveryAddress"}),
        ({"provider": "Pigeon Post"}, 422, "INVALID_TRACKER_DATA", {"provider"}),
        ({"provider": None, "carrier": "pigeon"}, 422, "INVALID_TRACKER_DATA", {"carrier"}),
        ({"carrier": "ups"}, 422, "INVALID_TRACKER_DATA", {"provider"}),
        ({"trackingNumber": "OTHER-1"}, 422, "INVALID_TRACKER_DATA", {"trackingId"}),
        ({"provider": None, "trackingId": "12345"}, 422, "INVALID_TRACKER_DATA", {"carrier"}),
        ({"type": "teleport"}, 422, "INVALID_TRACKER_DATA", {"type"}),
        ({"orderId": "NOPE"}, 422, "INVALID_TRACKER_DATA", {"orderId"}),
        ({"orderValue": -1}, 422, "INVALID_TRACKER_DATA", {"orderValue"}),
        ({"deliveryAddress": {"latitude": 90.5, "longitude": 0}}, 422, "INVALID_TRACKER_DATA",
         {"deliveryAddress.latitude"}),
        ({"deliveryAddress": {"latitude": 0, "longitude": -180.01}}, 422, "INVALID_TRACKER_DATA",
         {"deliveryAddress.longitude"}),
        ({"deliveryAddress": {"latitude": "north", "longitude": float("nan")}}, 422,
         "INVALID_TRACKER_DATA", {"deliveryAddress.latitude", "deliveryAddress.longitude"}),
        ({"deliveryTime": {"startsAt": 1795539600000, "endsAt": 1795532400000}}, 422,
         "INVALID_TRACKER_DATA", {"deliveryTime.endsAt"}),
        ({"pickupTime": {"startsAt": -1}}, 422, "INVALID_TRACKER_DATA", {"pickupTime.startsAt"}),
        ({"createdDate": "2026-11-20T15:04:05Z"}, 422, "INVALID_TRACKER_DATA", {"createdDate"}),
        ({"deliveryInstructions": LONG_TEXT}, 422, "INVALID_TRACKER_DATA",
         {"deliveryInstructions"}),
        ({"pickupInstructions": LONG_TEXT}, 422, "INVALID_TRACKER_DATA", {"pickupInstructions"}),
        ({"deliveryContact": {"email": "not-an-email"}}, 422, "INVALID_TRACKER_DATA",
         {"deliveryContact.email"}),
        ({"barcodes": "0123456789012"}, 422, "INVALID_TRACKER_DATA", {"barcodes"}),
    ],
)  # fmt: skip
def test_bad_trackers_get_a_specific_error_naming_the_field(
    api, self_delivery, changes, status, code, fields
):
    # given
    body = {key: value for key, value in {**DELIVERY, **changes}.items() if value is not None}
    # when
    response = api.post("/api/v1/trackers", body)
    # then
    assert response.status_code == status
    error = _error(response)
    assert (error["code"], set(error["fields"])) == (code, fields)
    assert not Tracker.objects.exists()
    assert not Shipment.objects.exists()


def test_a_refused_update_changes_nothing(api, self_delivery):
    # given
    api.post("/api/v1/trackers", DELIVERY)
    # when
    response = api.post("/api/v1/trackers", {**DELIVERY, "type": "pickup", "orderId": "NOPE"})
    # then
    assert response.status_code == 422
    assert Tracker.objects.get().type == "delivery"


TRIMMED = "Remove the spaces at the start or end: tracker ids are never trimmed."
CONTROL = "Remove the control characters and line breaks (tab, newline …)."


@pytest.mark.parametrize(
    ("external_id", "problem"),
    [
        ("TRK-1001 ", TRIMMED),
        (" TRK-1001", TRIMMED),
        ("TRK-1001\u00a0", TRIMMED),
        (" ", TRIMMED),
        ("TRK-10\n01", CONTROL),
        ("TRK-10\t01", CONTROL),
        ("TRK-10\u202801", CONTROL),
        ("TRK-10\x7f01", CONTROL),
    ],
)
def test_a_tracker_id_with_edge_spaces_or_control_characters_is_422_and_changes_nothing(
    api, merchant, self_delivery, external_id, problem
):
    # given
    api.post("/api/v1/trackers", DELIVERY)
    # when
    response = api.post("/api/v1/trackers", {**DELIVERY, "trackerExternalId": external_id,
                                             "groupId": "OTHER-BASKET"})  # fmt: skip
    # then
    assert response.status_code == 422
    assert _error(response) == {
        "code": "INVALID_TRACKER_DATA", "message": "Some fields are not valid.",
        "severity": "hard", "details": {}, "fields": {"trackerExternalId": [problem]},
    }  # fmt: skip
    assert list(Tracker.objects.values_list("external_id", "group_id")) == [
        ("TRK-1001", "BASKET-77")
    ]
    message = InboundMessage.objects.get(merchant=merchant, outcome="rejected")
    assert (message.error_code, message.response_status) == ("INVALID_TRACKER_DATA", 422)


def test_a_tracker_id_with_inner_spaces_is_kept_and_read_back(api):
    created = api.post("/api/v1/trackers", {"trackerExternalId": "TRK 1001"})
    read = api.get(f"/api/v1/trackers/{quote('TRK 1001')}")
    trimmed = api.get(f"/api/v1/trackers/{quote('TRK 1001 ')}")
    assert (created.status_code, read.status_code, trimmed.status_code) == (201, 200, 404)
    assert read.json()["data"]["trackerExternalId"] == "TRK 1001"


# --- Lists and tenancy -------------------------------------------------------------------------


def test_the_list_filters_by_group_and_paginates(api):
    # given
    for n in range(3):
        api.post("/api/v1/trackers", {"trackerExternalId": f"G-{n}", "groupId": "BASKET-1"})
    api.post("/api/v1/trackers", {"trackerExternalId": "LONE"})
    # when
    page_one = api.get("/api/v1/trackers", {"groupId": "BASKET-1", "limit": 2}).json()
    page_two = api.get("/api/v1/trackers", {"groupId": "BASKET-1", "limit": 2, "page": 2}).json()
    everything = api.get("/api/v1/trackers").json()
    # then
    assert [t["trackerExternalId"] for t in page_one["data"]] == ["G-2", "G-1"]
    assert [t["trackerExternalId"] for t in page_two["data"]] == ["G-0"]
    assert page_one["meta"]["pagination"] == {"page": 1, "limit": 2, "total": 3, "hasNext": True,
                                              "hasPrev": False}  # fmt: skip
    assert everything["meta"]["pagination"]["total"] == 4


def test_a_bad_list_parameter_is_explained(api):
    response = api.get("/api/v1/trackers", {"groupId": "x" * 101})
    assert response.status_code == 422
    assert (_error(response)["code"], set(_error(response)["fields"])) == (
        "INVALID_TRACKER_DATA",
        {"groupId"},
    )


def test_another_merchants_tracker_is_a_404_like_an_unknown_one(api, other_api):
    # given
    other_api.post("/api/v1/trackers", {**SANDBOX, "groupId": "BASKET-1"})
    # when
    theirs = api.get("/api/v1/trackers/MKT-1")
    unknown = api.get("/api/v1/trackers/nope")
    listed = api.get("/api/v1/trackers", {"groupId": "BASKET-1"}).json()
    # then
    assert theirs.status_code == unknown.status_code == 404
    assert _error(theirs)["code"] == _error(unknown)["code"] == "TRACKING_NOT_FOUND"
    assert (listed["data"], listed["meta"]["pagination"]["total"]) == ([], 0)


def test_the_same_external_id_from_two_merchants_makes_two_trackers(api, other_api):
    mine = api.post("/api/v1/trackers", SANDBOX)
    theirs = other_api.post("/api/v1/trackers", SANDBOX)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert (Tracker.objects.count(), Shipment.objects.count()) == (2, 2)


def test_another_merchants_order_cannot_be_linked(api, other_api):
    other_api.post("/api/v1/orders", ORDER)
    response = api.post("/api/v1/trackers", {"trackerExternalId": "T", "orderId": "12345"})
    assert response.status_code == 422 and set(_error(response)["fields"]) == {"orderId"}


def test_the_same_idempotency_key_and_body_replays(api):
    first = api.post("/api/v1/trackers", SANDBOX, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/trackers", SANDBOX, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (again.status_code, again["Idempotent-Replayed"], again.json()) == (
        201,
        "true",
        first.json(),
    )


def test_the_list_costs_the_same_queries_for_one_tracker_or_ten(api, merchant):
    # given
    api.post("/api/v1/orders", ORDER)
    api.post("/api/v1/trackers", {**SANDBOX, "orderId": "12345", "groupId": "g"})
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/trackers")
    for n in range(9):
        api.post("/api/v1/trackers", {"trackerExternalId": f"more-{n}", "orderId": "12345",
                                      "trackingNumber": f"SBXDELIVERED{n:04d}",
                                      "carrier": "sandbox", "groupId": "g"})  # fmt: skip
    # when
    with CaptureQueriesContext(connection) as ten:
        response = api.get("/api/v1/trackers")
    # then
    assert len(response.json()["data"]) == 10
    assert len(ten) == len(one)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_create_one_tracker_and_one_shipment(merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant)
    responses = run_at_once(6, lambda: Client().post(
        "/api/v1/trackers", SANDBOX, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}"))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert (Tracker.objects.count(), Shipment.objects.count()) == (1, 1)


def test_an_order_shipment_adopts_the_shipment_a_tracker_created_first(api, merchant):
    # given: a tracker follows a UPS number before the OMS reports its order
    api.post("/api/v1/trackers", {"trackerExternalId": "T-1", "carrier": "ups",
                                  "trackingNumber": "1Z5R89390357567127"})  # fmt: skip
    api.post("/api/v1/orders", {"orderId": "O-1", "lineItems": [
        {"itemId": "SKU-1", "name": "Mug", "quantity": 1}]})  # fmt: skip
    # when
    response = api.post(
        "/api/v1/orders/O-1/shipments",
        {"trackingNumber": "1Z5R89390357567127", "items": [{"itemId": "SKU-1", "quantity": 1}]},
    )
    # then
    assert response.status_code == 200 and response.json()["data"]["orderId"] == "O-1"
    assert Shipment.objects.filter(merchant=merchant).count() == 1
