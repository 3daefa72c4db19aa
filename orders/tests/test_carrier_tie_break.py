"""A tracking number that fits two carriers' formats (a 12-digit FedEx Express number that also
passes DHL Paket's check digit) and comes without a carrier: the merchant's own data breaks the
tie — its carrier accounts, the carriers it ships with, the parcel's destination — through the
real API."""

import copy

import pytest

from ingest.tests.test_api_orders import ORDER
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tracking.models import CarrierAccount

pytestmark = pytest.mark.django_db

AMBIGUOUS = "399368623212"  # FedEx Express mod 11 and DHL Paket's Identcode mod 10 both pass
SHIPMENT = {"trackingNumber": AMBIGUOUS, "items": [{"itemId": "SKU-1", "quantity": 1}]}


def _order(country: str = "") -> dict:
    order = copy.deepcopy(ORDER)
    order["shippingAddress"]["countryCode"] = country
    if not country:
        del order["shippingAddress"]
    return order


def _ship(api, order: dict):
    assert api.post("/api/v1/orders", order).status_code == 201
    return api.post(f"/api/v1/orders/{order['orderId']}/shipments", SHIPMENT)


def _account(merchant, carrier: str) -> None:
    CarrierAccount.objects.create(merchant=merchant, carrier=carrier, client_id="c", secret="s")


def test_the_merchants_carrier_account_decides(api, other_api, merchant, other_merchant):
    # given: A has its own FedEx account; B has none and ships nowhere yet
    _account(merchant, "fedex")
    _account(other_merchant, "ups")
    # when
    mine = _ship(api, _order())
    theirs = _ship(other_api, _order())
    # then: A's account decides for A only
    assert (mine.status_code, mine.json()["data"]["carrier"]) == (201, "fedex")
    assert theirs.status_code == 422
    assert theirs.json()["error"]["details"] == {"candidates": ["fedex", "dhl"]}


def test_the_carriers_the_merchant_ships_with_decide(api, merchant):
    # given: a merchant that has shipped with DHL before, and never with FedEx
    create_order(merchant, "OLD-1")
    ship(merchant, "OLD-1", "1234567890", ("MUG", 1), carrier="dhl")
    # when
    response = _ship(api, _order())
    # then
    assert (response.status_code, response.json()["data"]["carrier"]) == (201, "dhl")


@pytest.mark.parametrize(("country", "carrier"), [("US", "fedex"), ("DE", "dhl"), ("FR", "fedex")])
def test_the_destination_decides(api, country, carrier):
    # when: DHL Paket's 12 digits are Germany's domestic parcels
    response = _ship(api, _order(country))
    # then
    assert (response.status_code, response.json()["data"]["carrier"]) == (201, carrier)
    assert Shipment.objects.get().carrier == carrier


def test_an_order_and_its_shipment_in_one_batch_use_the_batchs_destination(api):
    order = _order("DE")
    events = [
        {"eventId": "e-1", "type": "order.created", "data": order},
        {"eventId": "e-2", "type": "shipment.confirmed", "data": {**SHIPMENT, "orderId": "12345"}},
    ]
    # when
    response = api.post("/api/v1/events/batch", {"events": events})
    # then
    assert response.status_code == 207
    assert [result["status"] for result in response.json()["data"]] == [201, 201]
    assert Shipment.objects.get().carrier == "dhl"


def test_when_nothing_decides_it_is_422_naming_the_candidates(api, merchant):
    # given: accounts with both, shipments with both, and no destination
    _account(merchant, "fedex")
    _account(merchant, "dhl")
    create_order(merchant, "OLD-1")
    ship(merchant, "OLD-1", "1234567890", ("MUG", 1), carrier="dhl")
    ship(merchant, "OLD-1", "123456789012", ("MUG", 1), carrier="fedex")
    # when
    response = _ship(api, _order())
    # then
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["details"]) == (
        "INVALID_SHIPMENT_DATA", {"candidates": ["fedex", "dhl"]},
    )  # fmt: skip
    assert error["message"] == (
        "Cannot tell the carrier: the tracking number could belong to several carriers: "
        "fedex, dhl. Send `carrier`."
    )
    assert not Shipment.objects.filter(tracking_number=AMBIGUOUS).exists()
    assert Order.objects.get(order_id="12345").status == "received"


def test_a_tracker_without_a_carrier_is_decided_by_the_merchants_account(api, merchant):
    _account(merchant, "dhl")
    # when
    response = api.post(
        "/api/v1/trackers", {"trackerExternalId": "T-1", "trackingNumber": AMBIGUOUS}
    )
    # then
    assert response.status_code == 201
    assert Shipment.objects.get().carrier == "dhl"
