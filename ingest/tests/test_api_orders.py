"""The orders endpoints of API.md, through real HTTP requests to the Django test client."""

import json
from urllib.parse import quote

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from flextracker.api.envelope import api_error_for
from inbound.models import InboundMessage
from ingest.replay import inbound_replay
from merchants.authentication import ApiKeyRateThrottle
from merchants.services import api_key_issue, api_key_revoke
from orders.models import LineItem, Order, Shipment
from tests.concurrency import requires_postgresql, run_at_once

pytestmark = pytest.mark.django_db

ORDER = {
    "orderId": "12345",
    "orderDate": "2026-11-20T15:04:05Z",
    "customer": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+15125550100"},
    "shippingAddress": {"street1": "1 Main St", "city": "Austin", "state": "TX",
                        "postalCode": "78701", "countryCode": "US"},
    "locale": "en-US", "currency": "USD", "orderValue": 116.50,
    "lineItems": [
        {"itemId": "SKU-1", "name": "Blue Mug", "quantity": 2, "price": 10.00},
        {"itemId": "SKU-2", "name": "Tea towel", "quantity": 1},
    ],
}  # fmt: skip
UPS_NUMBER = "1Z5R89390357567127"


def _error(response) -> dict:
    body = response.json()
    assert body["success"] is False
    return body["error"]


# --- Create, read, update ----------------------------------------------------------------------


def test_an_order_is_created_then_updated_in_place(api, merchant):
    # when
    created = api.post("/api/v1/orders", ORDER)
    updated = api.post("/api/v1/orders", {**ORDER, "customer": {"name": "Janet Doe"}})
    # then
    assert (created.status_code, updated.status_code) == (201, 200)
    body = created.json()
    assert body["success"] is True and body["warnings"] == []
    data = body["data"]
    assert data["orderId"] == "12345" and data["status"] == "received"
    assert data["lineItems"][0] == {
        "itemId": "SKU-1", "name": "Blue Mug", "description": "", "price": 10.0, "imageUrl": "",
        "quantityOrdered": 2, "quantityShipped": 0, "quantityDelivered": 0,
        "quantityCancelled": 0, "quantityBackordered": 0, "quantityAwaitingShipment": 2,
        "expectedDate": None, "returnable": True, "quantityReturnRequested": 0,
        "quantityReturned": 0,
    }  # fmt: skip
    assert data["links"]["trackingPage"].startswith(
        "http://127.0.0.1:8000/orders/FDC-01-12345/12345?t="
    )
    assert updated.json()["data"]["customer"]["name"] == "Janet Doe"
    assert Order.objects.filter(merchant=merchant).count() == 1


def test_get_returns_the_order_with_split_shipments_and_quantities(api):
    # given
    api.post("/api/v1/orders", ORDER)
    api.post("/api/v1/orders/12345/shipments",
             {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
              "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    api.post("/api/v1/orders/12345/shipments",
             {"trackingNumber": "SBXDELIVERED0002", "carrier": "sandbox",
              "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    # when
    data = api.get("/api/v1/orders/12345").json()["data"]
    # then
    assert data["status"] == "partially_shipped"
    assert [s["trackingNumber"] for s in data["shipments"]] == [
        "SBXDELIVERED0001",
        "SBXDELIVERED0002",
    ]
    assert data["shipments"][0]["items"] == [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 1}]
    mug, towel = data["lineItems"]
    assert (mug["quantityShipped"], mug["quantityAwaitingShipment"]) == (2, 0)
    assert (towel["quantityShipped"], towel["quantityAwaitingShipment"]) == (0, 1)


def test_a_shipment_without_carrier_is_detected_and_flagged_when_not_polled(api):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post("/api/v1/orders/12345/shipments",
                        {"trackingNumber": "1z5r 8939 0357 5671 27",
                         "items": [{"itemId": "SKU-1", "quantity": 2}]})  # fmt: skip
    # then
    body = response.json()
    assert response.status_code == 201
    assert body["data"]["carrier"] == "ups" and body["data"]["trackingNumber"] == UPS_NUMBER
    assert body["data"]["orderId"] == "12345" and body["data"]["tracked"] is False
    assert [w["code"] for w in body["warnings"]] == ["CARRIER_NOT_TRACKED"]
    assert body["data"]["carrierTrackingUrl"] == f"https://www.ups.com/track?tracknum={UPS_NUMBER}"


def test_the_same_tracking_number_again_is_a_200_that_updates(api):
    api.post("/api/v1/orders", ORDER)
    shipment = {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
                "items": [{"itemId": "SKU-1", "quantity": 1}]}  # fmt: skip
    first = api.post("/api/v1/orders/12345/shipments", shipment)
    again = api.post("/api/v1/orders/12345/shipments", {**shipment, "service": "Express"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["data"]["service"] == "Express"
    assert Shipment.objects.count() == 1


def test_a_shipment_before_its_order_creates_a_placeholder(api):
    response = api.post("/api/v1/orders/LATE-1/shipments",
                        {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
                         "items": [{"itemId": "SKU-9", "quantity": 1}]})  # fmt: skip
    assert response.status_code == 201
    assert [w["code"] for w in response.json()["warnings"]] == ["ORDER_NOT_YET_RECEIVED"]
    assert api.get("/api/v1/orders/LATE-1").json()["data"]["placeholder"] is True


def test_cancel_some_items_then_the_rest_of_the_order(api):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    partial = api.post(
        "/api/v1/orders/12345/cancellations",
        {"items": [{"itemId": "SKU-2", "quantity": 1}], "reason": "out of stock"},
    )
    whole = api.post("/api/v1/orders/12345/cancellations", {"reason": "customer request"})
    # then
    assert partial.status_code == 200
    assert partial.json()["data"]["lineItems"][1]["quantityCancelled"] == 1
    assert whole.json()["data"]["status"] == "cancelled"


def test_backordered_items_carry_their_expected_date(api):
    api.post("/api/v1/orders", ORDER)
    response = api.post(
        "/api/v1/orders/12345/backorders",
        {"items": [{"itemId": "SKU-1", "quantity": 1, "expectedDate": "2026-12-01"}]},
    )
    mug = response.json()["data"]["lineItems"][0]
    assert (mug["quantityBackordered"], mug["expectedDate"]) == (1, "2026-12-01")
    assert mug["quantityAwaitingShipment"] == 2


def test_order_ids_with_slash_question_mark_percent_and_space_round_trip(api):
    # given
    order_id = "A/B?c%d e"
    api.post("/api/v1/orders", {**ORDER, "orderId": order_id})
    # when
    path = "/api/v1/orders/" + quote(order_id, safe="")
    got = api.get(path)
    shipped = api.post(path + "/shipments",
                       {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
                        "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    # then
    assert got.status_code == 200 and got.json()["data"]["orderId"] == order_id
    assert shipped.status_code == 201


# --- Tenancy and authentication ---------------------------------------------------------------


def test_another_merchants_order_is_a_404_like_an_unknown_one(api, other_api):
    # given
    other_api.post("/api/v1/orders", ORDER)
    # when
    theirs = api.get("/api/v1/orders/12345")
    unknown = api.get("/api/v1/orders/nope")
    # then
    assert theirs.status_code == unknown.status_code == 404
    assert _error(theirs)["code"] == "ORDER_NOT_FOUND"
    assert api.get("/api/v1/orders").json()["meta"]["pagination"]["total"] == 0


def test_another_merchants_order_cannot_be_shipped_or_cancelled(api, other_api, other_merchant):
    # given
    other_api.post("/api/v1/orders", ORDER)
    # when: merchant A writes to the same order id
    api.post("/api/v1/orders/12345/cancellations", {})
    # then: B's order is untouched; A got its own placeholder
    theirs = Order.objects.get(merchant=other_merchant, order_id="12345")
    assert theirs.status == "received"
    assert set(
        LineItem.objects.filter(order=theirs).values_list("quantity_cancelled", flat=True)
    ) == {0}


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer ftk_wrong"}, {"HTTP_X_API_KEY": "nope"},
     {"HTTP_AUTHORIZATION": "Basic abc"}],
)  # fmt: skip
def test_requests_without_a_valid_key_are_401(client, headers):
    response = client.get("/api/v1/orders", **headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "UNAUTHORIZED"
    assert not InboundMessage.objects.exists()


def test_the_x_api_key_header_works_and_a_revoked_key_stops_at_once(client, merchant):
    api_key, raw_key = api_key_issue(merchant=merchant)
    assert client.get("/api/v1/orders", HTTP_X_API_KEY=raw_key).status_code == 200
    api_key_revoke(api_key=api_key)
    assert client.get("/api/v1/orders", HTTP_X_API_KEY=raw_key).status_code == 401


# --- Bad input: a clear error, never a 500 ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"lineItems": ORDER["lineItems"]}, 400, "MISSING_ORDER_DATA", {"orderId"}),
        ({"orderId": "1"}, 400, "MISSING_ORDER_DATA", {"lineItems"}),
        ({"orderId": "1", "lineItems": []}, 400, "MISSING_ORDER_DATA", {"lineItems"}),
        ({"orderId": "", "lineItems": ORDER["lineItems"]}, 400, "MISSING_ORDER_DATA", {"orderId"}),
        ({"orderId": "1", "lineItems": [{"itemId": "A", "name": "a", "quantity": 0}]}, 422,
         "INVALID_ORDER_DATA", {"lineItems[0].quantity"}),
        ({"orderId": "1", "lineItems": [{"itemId": "A", "name": "a", "quantity": -3}]}, 422,
         "INVALID_ORDER_DATA", {"lineItems[0].quantity"}),
        ({"orderId": "1", "lineItems": [{"itemId": "A", "name": "a", "quantity": "two"}]}, 422,
         "INVALID_ORDER_DATA", {"lineItems[0].quantity"}),
        ({"orderId": "x" * 101, "lineItems": ORDER["lineItems"]}, 422, "INVALID_ORDER_DATA",
         {"orderId"}),
        ({**ORDER, "orderValue": -1}, 422, "INVALID_ORDER_DATA", {"orderValue"}),
        ({**ORDER, "customer": {"email": "not-an-email"}}, 422, "INVALID_ORDER_DATA",
         {"customer.email"}),
        ({**ORDER, "lineItems": [ORDER["lineItems"][0], ORDER["lineItems"][0]]}, 422,
         "INVALID_ORDER_DATA", {"lineItems"}),
        (["not", "an", "object"], 422, "INVALID_ORDER_DATA", {"body"}),
    ],
)  # fmt: skip
def test_bad_orders_get_a_specific_error_naming_the_field(api, body, status, code, fields):
    response = api.post("/api/v1/orders", body)
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code and set(error["fields"]) == fields
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("shipment", "status", "code", "fields"),
    [
        ({"items": [{"itemId": "SKU-1", "quantity": 1}]}, 400, "MISSING_SHIPMENT_DATA",
         {"trackingNumber"}),
        ({"trackingNumber": "SBXDELIVERED1"}, 400, "MISSING_SHIPMENT_DATA", {"items"}),
        ({"trackingNumber": "SBXDELIVERED1", "carrier": "sandbox",
          "items": [{"itemId": "SKU-1", "quantity": 3}]}, 422, "INVALID_SHIPMENT_DATA",
         {"items[0].quantity"}),
        ({"trackingNumber": "SBXDELIVERED1", "carrier": "sandbox",
          "items": [{"itemId": "NOPE", "quantity": 1}]}, 422, "INVALID_SHIPMENT_DATA",
         {"items[0].itemId"}),
        ({"trackingNumber": "12345", "items": [{"itemId": "SKU-1", "quantity": 1}]}, 422,
         "INVALID_SHIPMENT_DATA", {"carrier"}),
        ({"trackingNumber": "SBXDELIVERED1", "carrier": "pigeon",
          "items": [{"itemId": "SKU-1", "quantity": 1}]}, 422, "INVALID_SHIPMENT_DATA",
         {"carrier"}),
    ],
)  # fmt: skip
def test_bad_shipments_get_a_specific_error_and_change_nothing(api, shipment, status, code, fields):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post("/api/v1/orders/12345/shipments", shipment)
    # then
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code and set(error["fields"]) == fields
    assert not Shipment.objects.exists()
    assert set(LineItem.objects.values_list("quantity_shipped", flat=True)) == {0}


def test_an_undetectable_number_says_why(api):
    api.post("/api/v1/orders", ORDER)
    error = _error(
        api.post(
            "/api/v1/orders/12345/shipments",
            {"trackingNumber": "12345", "items": [{"itemId": "SKU-1", "quantity": 1}]},
        )
    )
    assert error["message"] == (
        "Cannot tell the carrier: the tracking number matches no carrier's format. Send `carrier`."
    )


def test_malformed_json_is_400_and_the_raw_body_is_kept(api, merchant):
    response = api.post("/api/v1/orders", raw=b'{"orderId": "1", ')
    assert response.status_code == 400 and _error(response)["code"] == "MALFORMED_JSON"
    message = InboundMessage.objects.get(merchant=merchant)
    assert (bytes(message.body), message.outcome) == (b'{"orderId": "1", ', "rejected")


def test_a_body_over_one_mebibyte_is_413(api):
    response = api.post("/api/v1/orders", {**ORDER, "attributes": {"blob": "x" * (1024 * 1024)}})
    assert response.status_code == 413 and _error(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_unicode_and_long_text_are_kept_exactly(api):
    name = "Tasse 🍵 à thé — 茶杯 " + "é" * 250
    response = api.post("/api/v1/orders", {**ORDER, "lineItems": [
        {"itemId": "ü-1", "name": name, "quantity": 1}]})  # fmt: skip
    assert response.status_code == 201
    assert response.json()["data"]["lineItems"][0]["name"] == name


def test_unknown_api_urls_and_wrong_methods_answer_in_the_envelope(api):
    unknown = api.get("/api/v1/nothing-here")
    wrong_method = api.client.delete("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
    assert unknown.status_code == 404 and _error(unknown)["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "METHOD_NOT_ALLOWED"


def test_an_unexpected_failure_never_echoes_its_text():
    error = api_error_for(RuntimeError("password=hunter2 at line 42"))
    body = error.body()
    assert (error.status, body["error"]["code"]) == (500, "INTERNAL_SERVER_ERROR")
    assert "hunter2" not in str(body)


def test_over_the_rate_limit_is_429_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    statuses = [api.get("/api/v1/orders").status_code for _ in range(3)]
    limited = api.get("/api/v1/orders")
    assert statuses == [200, 200, 429]
    error = _error(limited)
    assert (error["code"], error["severity"]) == ("RATE_LIMITED", "transient")
    assert int(limited["Retry-After"]) == error["details"]["retryAfter"] > 0


# --- Idempotency, the inbound log and replay ----------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_without_changing_anything(api, merchant):
    first = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    Order.objects.filter(merchant=merchant).update(customer_name="Changed since")
    again = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again.content == first.content  # byte for byte, as Stripe replays
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert Order.objects.get(merchant=merchant).customer_name == "Changed since"


def test_an_idempotency_key_with_another_body_is_409(api):
    api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    response = api.post("/api/v1/orders", {**ORDER, "orderId": "999"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409 and _error(response)["code"] == "IDEMPOTENCY_CONFLICT"
    assert not Order.objects.filter(order_id="999").exists()


def test_idempotency_keys_are_scoped_per_merchant(api, other_api):
    mine = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other_api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs


def test_an_accepted_post_is_logged_once_with_its_answer_in_the_transaction_of_its_effect(
    api, merchant
):
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    message = InboundMessage.objects.get()
    assert (message.outcome, message.order_ref, message.idempotency_key) == (
        "accepted", "12345", "k-1")  # fmt: skip
    assert message.response_body == response.content.decode()
    assert json.loads(bytes(message.body)) == ORDER
    # one transaction: the log's row written once, after the order's, before the commit
    writes = [q["sql"].split(" (")[0] for q in queries
              if q["sql"].startswith(('INSERT INTO "orders_', 'UPDATE "orders_'))]  # fmt: skip
    assert writes == ['INSERT INTO "orders_order"', 'INSERT INTO "orders_lineitem"',
                      'INSERT INTO "orders_inboundmessage"']  # fmt: skip


def test_our_failure_is_logged_with_the_body_and_its_key_runs_again(api, merchant, monkeypatch):
    # given: the first request fails on our side
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    # An impossible bug on purpose, for the 500 path: a real boundary here fails as a 503.
    monkeypatch.setattr("ingest.envelope.changes_answer", broken)
    failed = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (failed.status_code, _error(failed)["severity"]) == (500, "transient")
    message = InboundMessage.objects.get()
    assert (message.outcome, json.loads(bytes(message.body))) == ("failed", ORDER)
    assert not Order.objects.exists()
    # when: fixed, the client sends it again with the same key
    monkeypatch.undo()
    again = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    # then: it runs, not a replay of the failure
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Order.objects.filter(merchant=merchant).count() == 1


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_apply_once_and_the_others_replay_its_answer(merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant)
    responses = run_at_once(4, lambda: Client().post(
        "/api/v1/orders", ORDER, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_IDEMPOTENCY_KEY="k-1"))  # fmt: skip
    assert [r.status_code for r in responses] == [201] * 4
    first = [r for r in responses if "Idempotent-Replayed" not in r]
    assert len(first) == 1
    assert all(r.content == first[0].content for r in responses)
    assert Order.objects.filter(merchant=merchant).count() == 1
    assert InboundMessage.objects.filter(idempotency_key="k-1").count() == 1


def test_every_authenticated_post_is_logged_and_a_rejected_one_replays_after_a_fix(api, merchant):
    # given: a shipment of an item the order does not have yet
    api.post("/api/v1/orders", ORDER)
    rejected = api.post("/api/v1/orders/12345/shipments",
                        {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
                         "items": [{"itemId": "SKU-3", "quantity": 1}]})  # fmt: skip
    message = InboundMessage.objects.get(order_ref="", error_code="INVALID_SHIPMENT_DATA")
    assert rejected.status_code == 422 and message.outcome == "rejected"
    # when: the merchant's order gains the item, and staff replay the message
    api.post("/api/v1/orders", {**ORDER, "lineItems": [
        *ORDER["lineItems"], {"itemId": "SKU-3", "name": "Lid", "quantity": 1}]})  # fmt: skip
    outcome = inbound_replay(message)
    # then
    message.refresh_from_db()
    assert (outcome.status, message.outcome, message.replay_count) == (201, "accepted", 1)
    assert Shipment.objects.filter(merchant=merchant, tracking_number="SBXDELIVERED0001").exists()
    assert InboundMessage.objects.filter(merchant=merchant).count() == 3


# --- Lists ---------------------------------------------------------------------------------------


def test_the_list_searches_every_identifier_and_paginates(api):
    # given
    for n in range(3):
        api.post("/api/v1/orders", {**ORDER, "orderId": f"O-{n}",
                                    "customer": {"name": f"Customer {n}", "email": f"c{n}@ex.com",
                                                 "phone": f"+1 512 555 010{n}"}})  # fmt: skip
    api.post(
        "/api/v1/orders/O-1/shipments",
        {"trackingNumber": UPS_NUMBER, "items": [{"itemId": "SKU-1", "quantity": 1}]},
    )

    # when / then
    def found(**params):
        return [o["orderId"] for o in api.get("/api/v1/orders", params).json()["data"]]

    assert found(search="O-2") == ["O-2"]
    assert found(search="1z5r89390357567127") == ["O-1"]
    assert found(search="C0@EX.COM") == ["O-0"]
    assert found(search="(512) 555-0102") == ["O-2"]
    assert found(search="customer 1") == ["O-1"]
    assert found(search="1 Customer") == ["O-1"]  # a name's words in any order
    assert found(status="partially_shipped") == ["O-1"]
    page = api.get("/api/v1/orders", {"limit": 2, "page": 2}).json()
    assert page["meta"]["pagination"] == {"page": 2, "limit": 2, "total": 3, "hasNext": False,
                                          "hasPrev": True}  # fmt: skip
    assert len(page["data"]) == 1


@pytest.mark.parametrize("search", ["maria lopez", "MARÍA", "1002", "06 12 34 56 78"])
def test_the_list_finds_accent_free_names_partial_ids_and_national_phones(api, other_api, search):
    # given: María's order here and at another merchant, and another customer here
    maria = {"name": "María López", "email": "maria@example.fr", "phone": "+33 6 12 34 56 78"}
    paris = {**ORDER["shippingAddress"], "city": "Paris", "countryCode": "FR"}
    for caller in (api, other_api):
        caller.post("/api/v1/orders", {**ORDER, "orderId": "FDC-1002", "customer": maria,
                                       "shippingAddress": paris})  # fmt: skip
    api.post("/api/v1/orders", {**ORDER, "orderId": "FDC-2001"})
    # when
    mine = api.get("/api/v1/orders", {"search": search}).json()
    # then
    assert [order["orderId"] for order in mine["data"]] == ["FDC-1002"]
    assert mine["meta"]["pagination"]["total"] == 1


@pytest.mark.parametrize("params", [{"limit": "0"}, {"page": "-1"}, {"status": "lost"},
                                    {"updatedAfter": "yesterday"}])  # fmt: skip
def test_bad_list_parameters_are_explained(api, params):
    response = api.get("/api/v1/orders", params)
    assert response.status_code == 422 and _error(response)["code"] == "INVALID_ORDER_DATA"


def test_the_list_costs_the_same_queries_for_one_order_or_twenty(api, merchant):
    api.post("/api/v1/orders", ORDER)
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/orders")
    for n in range(19):
        api.post("/api/v1/orders", {**ORDER, "orderId": f"more-{n}"})
    with CaptureQueriesContext(connection) as twenty:
        api.get("/api/v1/orders")
    assert len(twenty) == len(one)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_create_one_order(merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant)
    responses = run_at_once(6, lambda: Client().post(
        "/api/v1/orders", ORDER, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}"))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert Order.objects.filter(merchant=merchant, order_id="12345").count() == 1


def test_unknown_api_urls_answer_in_the_envelope_even_without_a_csrf_token(merchant):
    # given: a client that enforces CSRF as browsers and real HTTP clients meet it
    client = Client(enforce_csrf_checks=True)
    # when
    response = client.post(
        "/api/v1/orders/a%0Ab/cancellations", "{}", content_type="application/json"
    )
    # then
    assert response.status_code == 404 and _error(response)["code"] == "NOT_FOUND"


def test_a_database_outage_is_a_transient_503():
    error = api_error_for(OperationalError("could not connect to server"))
    assert (error.status, error.code, error.severity) == (503, "SERVICE_UNAVAILABLE", "transient")
    assert "could not connect" not in str(error.body())


def test_a_cancellation_before_its_order_is_kept_and_applied_when_the_order_arrives(api):
    # when
    early = api.post("/api/v1/orders/EARLY-1/cancellations", {"reason": "fraud"})
    created = api.post("/api/v1/orders", {**ORDER, "orderId": "EARLY-1"})
    # then
    assert early.status_code == 200
    assert [w["code"] for w in early.json()["warnings"]] == ["ORDER_NOT_YET_RECEIVED"]
    data = created.json()["data"]
    assert data["status"] == "cancelled" and data["placeholder"] is False
    assert [i["quantityCancelled"] for i in data["lineItems"]] == [2, 1]


def test_a_page_far_past_the_end_is_empty_not_an_error(api):
    api.post("/api/v1/orders", ORDER)
    response = api.get("/api/v1/orders", {"page": str(10**30)})
    assert response.status_code == 200 and response.json()["data"] == []


@pytest.mark.parametrize("path", ["/api/v1/orders/a%00b", "/api/v1/orders?search=a%00b"])
def test_a_nul_character_in_the_address_is_a_400_not_a_database_error(api, path):
    response = api.get(path)
    assert response.status_code == 400 and _error(response)["code"] == "INVALID_REQUEST"


def test_a_nul_character_in_the_body_is_refused_and_nothing_is_stored(api, merchant):
    response = api.post("/api/v1/orders", {**ORDER, "attributes": {"note": "a\u0000b"}})
    assert response.status_code == 400 and _error(response)["code"] == "MALFORMED_JSON"
    assert not Order.objects.exists()
    assert InboundMessage.objects.get().outcome == "rejected"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_nul_character_in_a_body_that_is_not_utf8_is_refused_too(api, encoding):
    body = json.dumps({**ORDER, "attributes": {"note": "a\u0000b"}}, ensure_ascii=False)
    response = api.post("/api/v1/orders", raw=body.encode(encoding))
    assert response.status_code == 400 and _error(response)["code"] == "MALFORMED_JSON"
    assert not Order.objects.exists()


def test_a_nul_character_in_a_customer_link_is_a_400(client, merchant):
    assert client.get(f"/orders/{merchant.merchant_id}/a%00b").status_code == 400
