"""API.md "Unknown fields": a field the endpoint does not know (a typo) is no error and is not
dropped without a word: the answer warns UNKNOWN_FIELD by its path, and the raw message keeps it."""

import json

import pytest

from inbound.models import InboundMessage
from ingest.queued import queued_apply

pytestmark = pytest.mark.django_db

ORDER = {"orderId": "A-1", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 1}]}
TYPO = {**ORDER, "shippingAdress": {"city": "Austin"},
        "lineItems": [{**ORDER["lineItems"][0], "colour": "blue"}],
        "customer": {"name": "Jane", "emial": "jane@example.com"},
        "attributes": {"anything": "goes"}}  # fmt: skip
EXPECTED = ["shippingAdress", "lineItems[0].colour", "customer.emial"]


def _unknown(warnings: list[dict]) -> list[str]:
    return [w["field"] for w in warnings if w["code"] == "UNKNOWN_FIELD"]


def test_an_order_with_typos_is_created_and_each_unknown_field_is_named(api):
    # when
    response = api.post("/api/v1/orders", TYPO)
    # then
    body = response.json()
    assert response.status_code == 201
    assert sorted(_unknown(body["warnings"])) == sorted(EXPECTED)
    assert body["data"]["attributes"] == {"anything": "goes"}  # free-form: no warning
    assert json.loads(bytes(InboundMessage.objects.get().body))["shippingAdress"] == {
        "city": "Austin"
    }


def test_a_known_body_has_no_such_warning(api):
    assert _unknown(api.post("/api/v1/orders", ORDER).json()["warnings"]) == []


def test_an_event_names_its_unknown_fields_from_the_envelope(api):
    # when
    event = {"eventId": "e-1", "type": "order.created", "data": TYPO, "sentBy": "oms"}
    one = api.post("/api/v1/events", event).json()
    batch = api.post("/api/v1/events/batch", {"events": [{**event, "eventId": "e-2"}]}).json()
    # then
    expected = sorted(["sentBy", *(f"data.{path}" for path in EXPECTED)])
    assert sorted(_unknown(one["warnings"])) == expected
    assert sorted(_unknown(batch["data"][0]["warnings"])) == expected


def test_a_queued_message_keeps_its_warnings_for_when_it_is_applied(api):
    # given
    queued = api.post("/api/v1/orders", TYPO, HTTP_PREFER="respond-async")
    assert queued.status_code == 202
    # when: the worker applies the queue
    queued_apply()
    # then
    answer = api.get(queued.json()["data"]["statusUrl"]).json()["data"]["response"]["body"]
    assert answer["success"] is True
    assert sorted(_unknown(answer["warnings"])) == sorted(EXPECTED)


@pytest.mark.parametrize("prefer", ["", "respond-async"])
def test_an_events_order_id_is_known_to_every_type_that_addresses_an_order(api, prefer):
    # given
    api.post("/api/v1/orders", ORDER)
    shipment = {"eventId": "e-ship", "type": "shipment.confirmed",
                "data": {"orderId": "A-1", "trackingNumber": "1Z5R89390357567127",
                         "items": [{"itemId": "SKU-1", "quantity": 1}]}}  # fmt: skip
    # when
    response = api.post("/api/v1/events", shipment, HTTP_PREFER=prefer)
    if prefer:
        queued_apply()
        answer = api.get(response.json()["data"]["statusUrl"]).json()["data"]["response"]["body"]
    else:
        answer = response.json()
    # then
    assert answer["success"] is True, answer
    assert _unknown(answer["warnings"]) == []
