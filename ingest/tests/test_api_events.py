import pytest

from inbound.models import InboundMessage, ProcessedEvent
from orders.models import Order, Shipment

pytestmark = pytest.mark.django_db

ORDER_CREATED = {
    "eventId": "oms-1", "type": "order.created", "occurredAt": "2026-11-20T15:04:05Z",
    "data": {"orderId": "12345", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 2}]},
}  # fmt: skip
SHIPPED = {
    "eventId": "oms-2", "type": "shipment.confirmed",
    "data": {"orderId": "12345", "trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
             "items": [{"itemId": "SKU-1", "quantity": 1}]},
}  # fmt: skip
CANCELLED = {"eventId": "oms-3", "type": "order.cancelled", "data": {"orderId": "12345"}}
BACKORDERED = {
    "eventId": "oms-4", "type": "items.backordered",
    "data": {"orderId": "12345", "items": [{"itemId": "SKU-1", "quantity": 1,
                                            "expectedDate": "2026-12-01"}]},
}  # fmt: skip


def test_each_event_type_does_what_its_endpoint_does(api, merchant):
    created = api.post("/api/v1/events", ORDER_CREATED)
    shipped = api.post("/api/v1/events", SHIPPED)
    backordered = api.post("/api/v1/events", BACKORDERED)
    cancelled = api.post("/api/v1/events", CANCELLED)
    assert [r.status_code for r in (created, shipped, backordered, cancelled)] == [
        201,
        201,
        200,
        200,
    ]
    assert shipped.json()["data"]["trackingNumber"] == "SBXDELIVERED0001"
    assert backordered.json()["data"]["lineItems"][0]["quantityBackordered"] == 1
    order = Order.objects.get(merchant=merchant, order_id="12345")
    assert order.status == "shipped"  # one mug shipped, the other cancelled
    assert ProcessedEvent.objects.filter(merchant=merchant).count() == 4


def test_a_repeated_event_id_is_a_200_no_op_with_a_warning(api, merchant):
    api.post("/api/v1/events", ORDER_CREATED)
    Order.objects.filter(merchant=merchant).update(customer_name="edited since")
    again = api.post(
        "/api/v1/events",
        {**ORDER_CREATED, "data": {**ORDER_CREATED["data"], "customer": {"name": "X"}}},
    )
    assert again.status_code == 200
    assert [w["code"] for w in again.json()["warnings"]] == ["DUPLICATE_EVENT"]
    assert Order.objects.get(merchant=merchant).customer_name == "edited since"


def test_a_rejected_event_can_be_sent_again_with_the_same_id_once_fixed(api):
    bad = api.post("/api/v1/events", {**SHIPPED, "data": {**SHIPPED["data"], "items": [
        {"itemId": "SKU-1", "quantity": 1}]}})  # fmt: skip
    assert bad.status_code == 201  # a placeholder order: shipments may arrive first
    wrong = api.post(
        "/api/v1/events",
        {
            **ORDER_CREATED,
            "eventId": "oms-9",
            "data": {
                **ORDER_CREATED["data"],
                "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 0}],
            },
        },
    )
    fixed = api.post("/api/v1/events", {**ORDER_CREATED, "eventId": "oms-9"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"] == {
        "data.lineItems[0].quantity": ["Ensure this value is greater than or equal to 1."]
    }
    assert fixed.status_code == 201


@pytest.mark.parametrize(
    ("event", "status", "code", "fields"),
    [
        ({"type": "order.created", "data": ORDER_CREATED["data"]}, 400, "MISSING_EVENT_DATA",
         {"eventId"}),
        ({**ORDER_CREATED, "type": "order.teleported"}, 422, "INVALID_EVENT_DATA", {"type"}),
        ({**SHIPPED, "data": {"trackingNumber": "X", "items": []}}, 400, "MISSING_EVENT_DATA",
         {"orderId"}),
        ({**ORDER_CREATED, "data": {"orderId": "1"}}, 400, "MISSING_ORDER_DATA",
         {"data.lineItems"}),
    ],
)  # fmt: skip
def test_bad_events_are_explained(api, event, status, code, fields):
    response = api.post("/api/v1/events", event)
    error = response.json()["error"]
    assert (response.status_code, error["code"], set(error["fields"])) == (status, code, fields)
    assert not ProcessedEvent.objects.exists()


def test_a_batch_answers_207_with_one_result_per_event_and_bad_ones_do_not_stop_others(api):
    # when
    response = api.post("/api/v1/events/batch", {"events": [
        ORDER_CREATED,
        {**SHIPPED, "data": {**SHIPPED["data"], "items": [{"itemId": "SKU-1", "quantity": 5}]}},
        SHIPPED,
        "not an event",
        ORDER_CREATED,
    ]})  # fmt: skip
    # then
    assert response.status_code == 207
    results = response.json()["data"]
    assert [(r["eventId"], r["status"], r["success"]) for r in results] == [
        ("oms-1", 201, True), ("oms-2", 422, False), ("oms-2", 201, True), (None, 422, False),
        ("oms-1", 200, True),
    ]  # fmt: skip
    assert results[1]["error"]["code"] == "INVALID_SHIPMENT_DATA"
    assert results[4]["warnings"][0]["code"] == "DUPLICATE_EVENT"
    assert Shipment.objects.count() == 1
    assert InboundMessage.objects.get().outcome == "accepted"


def test_a_batch_over_500_events_is_413(api):
    response = api.post("/api/v1/events/batch", {"events": [ORDER_CREATED] * 501})
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert not Order.objects.exists()


def test_a_batch_needs_events(api):
    response = api.post("/api/v1/events/batch", {"events": []})
    assert response.status_code == 400 and response.json()["error"]["code"] == "MISSING_EVENT_DATA"


def test_event_ids_are_per_merchant(api, other_api, merchant, other_merchant):
    api.post("/api/v1/events", ORDER_CREATED)
    theirs = other_api.post("/api/v1/events", ORDER_CREATED)
    assert theirs.status_code == 201 and theirs.json()["warnings"] == []
    assert Order.objects.filter(merchant=other_merchant).exists()


@pytest.mark.parametrize("events", [12345.6, "all of them", {"a": 1}, None])
def test_a_batch_whose_events_are_not_a_list_is_explained(api, events):
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("MISSING_EVENT_DATA", "INVALID_EVENT_DATA")
