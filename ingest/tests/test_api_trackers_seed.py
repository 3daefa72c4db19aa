"""Seed 001's Tracker API as its own client sends it: the example request, unchanged, answered in
the seed's response shape; pickup locations configured in the admin.

The fixtures are the seed's example request and response, with only the seed page's list markers
("- ") removed to make them JSON."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from merchants.models import DeliveryProvider, PickupLocation
from merchants.tests.factories import BrandingTemplateFactory, member_of
from orders.models import Shipment, Tracker

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SEED_REQUEST = json.loads((FIXTURES / "seed_001_tracker_request.json").read_text())
SEED_RESPONSE = json.loads((FIXTURES / "seed_001_tracker_response.json").read_text())
PAGE = "http://127.0.0.1:8000/trackers/FDC-01-12345/tracker001"


@pytest.fixture
def seed_setup(merchant):
    """What the seed's business configured: its provider and its pickup location."""
    DeliveryProvider.objects.create(merchant=merchant, name="Self Delivery")
    return PickupLocation.objects.create(
        merchant=merchant, external_id="Self Delivery Store", name="Self Delivery Store",
        contact_name="Peter Brown", contact_phone="+12142342232",
        street1="8849 North Sam Houston Parkway West", city="Houston", state="TX",
        postal_code="77064", country_code="US", latitude="29.925982", longitude="-95.552388",
        instructions="location pickupInstructions", time_zone="America/Chicago",
    )  # fmt: skip


def key_paths(value, prefix: str = "") -> set[str]:
    """Every key of a JSON value, nested ones as `a.b`, list elements' as `a[].b`."""
    paths = set()
    if isinstance(value, dict):
        for key, child in value.items():
            paths |= {f"{prefix}{key}"} | key_paths(child, f"{prefix}{key}.")
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix.removesuffix('.')}[].")
    return paths


def test_seed_001s_example_request_answers_every_field_of_its_example_response(api, seed_setup):
    # when: the seed's request, exactly as the seed shows it
    response = api.post("/api/v1/trackers", SEED_REQUEST)
    # then: 201, every key of the seed's answer, at every depth
    assert response.status_code == 201
    body = response.json()
    data = body["data"]
    assert (body["success"], body["warnings"]) == (True, [])
    assert key_paths(SEED_RESPONSE) - key_paths(data) == set()
    # and: the seed's values where ours are the same facts
    assert {key: data[key] for key in ("status", "trackerExternalId", "orderExternalId",
                                       "locationExternalId", "trackingId", "type", "timeZone",
                                       "pickupInstructions", "pickupContact")} == {
        "status": "ORDER_DISPATCHED", "trackerExternalId": "tracker001",
        "orderExternalId": "tracker001", "locationExternalId": "Self Delivery Store",
        "trackingId": "del_004", "type": "delivery", "timeZone": "America/Chicago",
        "pickupInstructions": "location pickupInstructions",
        "pickupContact": {"name": "Peter Brown", "phone": "+12142342232"},
    }  # fmt: skip
    assert data["provider"] == {
        "id": str(DeliveryProvider.objects.get().pk), "name": "Self Delivery",
        "displayName": "Self Delivery", "serviceType": "Delivery", "serviceId": "delivery",
    }  # fmt: skip
    assert data["pickupAddress"] == {
        "street1": "8849 North Sam Houston Parkway West", "street2": "", "city": "Houston",
        "state": "TX", "postalCode": "77064", "countryCode": "US", "latitude": 29.925982,
        "longitude": -95.552388,
    }  # fmt: skip
    assert data["referenceLinks"] == {"customerWebflowUrl": PAGE, "trackingPage": PAGE}
    assert data["id"] == str(Tracker.objects.get().pk)


def test_nothing_the_seed_sends_is_dropped(api, seed_setup):
    # when
    data = api.post("/api/v1/trackers", SEED_REQUEST).json()["data"]
    # then: every field sent is answered back as sent: time windows with their other end null,
    # the provider as the seed's object, coordinates to six decimal places (about 10 cm)
    changed = {
        "pickupTime": {"startsAt": 1649253600000, "endsAt": None},
        "deliveryTime": {"startsAt": None, "endsAt": 1649268000000},
        "provider": data["provider"],
        "deliveryAddress": {**SEED_REQUEST["deliveryAddress"], "latitude": 29.925982,
                            "longitude": -95.552388},
    }  # fmt: skip
    assert data["provider"]["name"] == SEED_REQUEST["provider"]
    assert {key: data[key] for key in SEED_REQUEST} == {**SEED_REQUEST, **changed}
    assert api.get("/api/v1/trackers/tracker001").json()["data"] == data


def test_the_trackers_own_pickup_instructions_win_over_the_locations(api, seed_setup):
    data = api.post(
        "/api/v1/trackers", {**SEED_REQUEST, "pickupInstructions": "Use the side door."}
    ).json()["data"]
    assert data["pickupInstructions"] == "Use the side door."


def test_packages_are_stored_and_answered_back(api, seed_setup):
    # given
    packages = [
        {"trackerExternalId": "tracker001-1", "barcodes": ["12312351"],
         "items": [{"name": "Box", "quantity": 1}], "createdDate": 1649253600000},
        {"trackerExternalId": "tracker001-2", "barcodes": ["77091078"], "items": [],
         "createdDate": None},
    ]  # fmt: skip
    # when
    response = api.post("/api/v1/trackers", {**SEED_REQUEST, "packages": packages})
    # then
    assert response.status_code == 201
    assert response.json()["data"]["packages"] == packages
    assert Tracker.objects.get().packages == packages


def test_a_pickup_tracker_names_its_location(api, seed_setup):
    response = api.post(
        "/api/v1/trackers",
        {"trackerExternalId": "P-1", "type": "pickup", "locationExternalId": "Self Delivery Store"},
    )
    assert response.status_code == 201
    assert response.json()["data"]["pickupContact"]["name"] == "Peter Brown"


def _error(response) -> dict:
    body = response.json()
    assert body["success"] is False
    return body["error"]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"locationExternalId": None}, 400, "MISSING_TRACKER_DATA", "locationExternalId"),
        ({"locationExternalId": ""}, 400, "MISSING_TRACKER_DATA", "locationExternalId"),
        ({"type": "pickup", "locationExternalId": ""}, 400, "MISSING_TRACKER_DATA",
         "locationExternalId"),
        ({"locationExternalId": "Elsewhere"}, 422, "INVALID_TRACKER_DATA", "locationExternalId"),
        ({"deliveryAddress": None}, 400, "MISSING_TRACKER_DATA", "deliveryAddress"),
        ({"provider": "Postmates"}, 422, "INVALID_TRACKER_DATA", "provider"),
        ({"packages": [{"barcodes": "12312351"}]}, 422, "INVALID_TRACKER_DATA",
         "packages[0].barcodes"),
        ({"pickup": {"address": {"latitude": 91}}}, 422, "INVALID_TRACKER_DATA",
         "pickup.address.latitude"),
        ({"currencyCode": "dollars"}, 422, "INVALID_TRACKER_DATA", "currencyCode"),
    ],
)  # fmt: skip
def test_a_bad_seed_tracker_is_refused_naming_the_field(
    api, seed_setup, changes, status, code, field
):
    # when
    response = api.post("/api/v1/trackers", {**SEED_REQUEST, **changes})
    # then
    error = _error(response)
    assert (response.status_code, error["code"], error["severity"]) == (status, code, "hard")
    assert field in error["fields"]
    assert not Tracker.objects.exists() and not Shipment.objects.exists()


def test_seed_nulls_are_accepted_as_none(api, seed_setup):
    # when: the fields seed 001 allows to be null, sent as null
    nulls = {"groupId": None, "deliveryInstructions": None, "pickupTime": None}
    response = api.post("/api/v1/trackers", {**SEED_REQUEST, **nulls})
    # then
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["groupId"], data["deliveryInstructions"], data["pickupTime"]) == (
        "", "", {"startsAt": None, "endsAt": None})  # fmt: skip


def test_a_delivery_tracker_may_send_pickup_instead_of_a_location(api, seed_setup):
    # given
    pickup = {"name": "Peter Brown", "phone": "+12142342232", "instructions": "Till 3",
              "address": {"street1": "1 Main St", "city": "Houston", "state": "TX",
                          "postalCode": "77064", "countryCode": "US"}}  # fmt: skip
    request = {**SEED_REQUEST, "locationExternalId": None, "pickup": pickup}
    # when
    data = api.post("/api/v1/trackers", request).json()["data"]
    # then
    assert (data["locationExternalId"], data["pickupInstructions"]) == (None, "Till 3")
    assert data["pickupAddress"]["street1"] == "1 Main St"
    assert data["timeZone"] == "UTC"  # the merchant's: no location


def test_another_merchants_pickup_location_is_unknown(api, other_merchant):
    # given: the location and provider exist, but for another merchant
    PickupLocation.objects.create(merchant=other_merchant, external_id="Self Delivery Store")
    DeliveryProvider.objects.create(merchant=other_merchant, name="Self Delivery")
    # when
    response = api.post("/api/v1/trackers", {**SEED_REQUEST, "provider": "other"})
    # then
    error = _error(response)
    assert (response.status_code, error["code"]) == (422, "INVALID_TRACKER_DATA")
    assert "locationExternalId" in error["fields"]
    assert not Tracker.objects.exists()


def test_a_deleted_location_leaves_its_id_on_the_tracker(api, seed_setup):
    # given
    api.post("/api/v1/trackers", SEED_REQUEST)
    # when
    seed_setup.delete()
    data = api.get("/api/v1/trackers/tracker001").json()["data"]
    # then
    assert (data["locationExternalId"], data["pickupAddress"]) == ("Self Delivery Store", None)


# --- The admin ---------------------------------------------------------------------------------


def _merchant_form(merchant, **values) -> dict:
    form = {"name": merchant.name, "is_active": "on", "time_zone": "UTC", "locale": "en",
            "tracking_link_lifetime_days": "180"}  # fmt: skip
    for prefix in ("delivery_providers", "pickup_locations", "memberships"):
        form |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return form | values


def test_a_merchant_admin_configures_a_pickup_location_that_trackers_then_name(
    client, api, merchant
):
    # given: Fred's admin adds a location in the console
    client.force_login(member_of(merchant, "admin"))
    location = {"external_id": "Self Delivery Store", "name": "Store", "contact_name": "Peter",
                "contact_phone": "+12142342232", "city": "Houston", "country_code": "US",
                "instructions": "At the back", "time_zone": "America/Chicago"}  # fmt: skip
    fields = {f"pickup_locations-0-{key}": value for key, value in location.items()}
    form = _merchant_form(merchant, **{"pickup_locations-TOTAL_FORMS": "1"}, **fields)
    # when
    saved = client.post(reverse("admin:merchants_merchant_change", args=[merchant.pk]), form)
    DeliveryProvider.objects.create(merchant=merchant, name="Self Delivery")
    data = api.post("/api/v1/trackers", SEED_REQUEST).json()["data"]
    # then
    assert saved.status_code == 302
    assert PickupLocation.objects.get(merchant=merchant).external_id == "Self Delivery Store"
    assert (data["pickupInstructions"], data["timeZone"]) == ("At the back", "America/Chicago")


def test_the_admin_refuses_an_unknown_time_zone_for_a_location(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    form = _merchant_form(merchant, **{"pickup_locations-TOTAL_FORMS": "1",
                                       "pickup_locations-0-external_id": "Store",
                                       "pickup_locations-0-time_zone": "Mars/Olympus"})  # fmt: skip
    # when
    response = client.post(reverse("admin:merchants_merchant_change", args=[merchant.pk]), form)
    # then
    assert response.status_code == 200
    assert "Unknown time zone" in response.content.decode()
    assert not PickupLocation.objects.exists()


def test_a_merchant_offering_returns_gets_the_returns_link(api, merchant, seed_setup):
    # given: the merchant's default branding offers returns
    BrandingTemplateFactory(merchant=merchant, is_default=True,
                            returns_url="https://freds.example/returns")  # fmt: skip
    # when
    data = api.post("/api/v1/trackers", SEED_REQUEST).json()["data"]
    # then
    assert data["referenceLinks"] == {
        "customerWebflowUrl": PAGE, "trackingPage": PAGE,
        "returnsUrl": "https://freds.example/returns",
    }  # fmt: skip


def test_every_field_of_the_seeds_request_is_known_and_a_typo_is_named(api, seed_setup):
    # when
    seed = api.post("/api/v1/trackers", SEED_REQUEST).json()
    typo = api.post("/api/v1/trackers", {**SEED_REQUEST, "trackerExternalId": "typo-1",
                                         "deliveryAdress": {"city": "Houston"}}).json()  # fmt: skip
    # then
    assert [w for w in seed["warnings"] if w["code"] == "UNKNOWN_FIELD"] == []
    assert [w["field"] for w in typo["warnings"] if w["code"] == "UNKNOWN_FIELD"] == [
        "deliveryAdress"
    ]
