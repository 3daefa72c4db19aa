import pytest
from django.test import Client

from notifications.models import Notification
from orders.models import Order, Shipment
from tests.concurrency import requires_postgresql, run_at_once
from tracking.models import TrackingEvent

pytestmark = pytest.mark.django_db

ORDER = {"orderId": "1001", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 2}]}
OWN_FLEET = "VAN-42-0001"


@pytest.fixture
def shipped(api):
    api.post("/api/v1/orders", ORDER)
    api.post("/api/v1/orders/1001/shipments",
             {"trackingNumber": OWN_FLEET, "carrier": "other",
              "items": [{"itemId": "SKU-1", "quantity": 2}]})  # fmt: skip
    return api


def _report(api, *events):
    return api.post(f"/api/v1/tracking/{OWN_FLEET}/events", {"events": list(events)})


DEPARTED = {"timestamp": "2026-11-21T09:00:00Z", "status": "in_transit",
            "statusDetail": "departed_facility", "description": "Left our depot",
            "location": {"city": "Austin", "state": "TX", "country": "us"}}  # fmt: skip
DELIVERED = {"timestamp": "2026-11-21T16:30:00Z", "status": "delivered",
             "description": "Left at front door", "recipient": "J. Doe"}  # fmt: skip
ATTEMPT = {"timestamp": "2026-11-21T12:00:00Z", "status": "failed_attempt",
           "statusDetail": "recipient_not_available"}  # fmt: skip


def test_merchant_reported_events_move_the_shipment_and_read_back(shipped):
    # when
    response = _report(shipped, DEPARTED, DELIVERED)
    # then
    data = response.json()["data"]
    assert response.status_code == 200
    assert (data["status"], data["statusDetail"]) == ("delivered", "delivered")
    assert data["deliveredAt"] == "2026-11-21T16:30:00Z"
    newest, oldest = data["events"]
    assert (newest["eventType"], newest["source"], newest["recipient"]) == (
        "DELIVERY",
        "merchant",
        "J. Doe",
    )
    assert oldest["location"] == {
        "city": "Austin",
        "state": "TX",
        "postalCode": "",
        "country": "US",
    }
    assert shipped.get("/api/v1/orders/1001").json()["data"]["status"] == "delivered"


def test_a_failed_attempt_gets_its_exception_code(shipped):
    event = _report(shipped, ATTEMPT).json()["data"]["events"][0]
    assert (event["eventType"], event["exceptionCode"], event["exceptionReason"]) == (
        "DELIVERY_ATTEMPT", "001", "RECIPIENT_NOT_AVAILABLE")  # fmt: skip


def test_reported_events_are_deduplicated_and_never_move_backwards(shipped):
    _report(shipped, DELIVERED)
    again = _report(shipped, DELIVERED, DEPARTED)
    assert again.json()["data"]["status"] == "delivered"
    assert TrackingEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({}, 400, "MISSING_EVENT_DATA", {"events"}),
        ({"events": []}, 400, "MISSING_EVENT_DATA", {"events"}),
        ({"events": [{"status": "delivered"}]}, 400, "MISSING_EVENT_DATA", {"events[0].timestamp"}),
        ({"events": [{**DELIVERED, "status": "teleported"}]}, 422, "INVALID_EVENT_DATA",
         {"events[0].status"}),
        ({"events": [{**DELIVERED, "timestamp": "2999-01-01T00:00:00Z"}]}, 422,
         "INVALID_EVENT_DATA", {"events[0].timestamp"}),
        ({"events": [{**DELIVERED, "exceptionCode": "999"}]}, 422, "INVALID_EVENT_DATA",
         {"events[0].exceptionCode"}),
    ],
)  # fmt: skip
def test_bad_reported_events_are_explained_and_change_nothing(shipped, body, status, code, fields):
    response = shipped.post(f"/api/v1/tracking/{OWN_FLEET}/events", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and set(error["fields"]) == fields
    assert not TrackingEvent.objects.exists()


def test_tracking_by_number_accepts_spaces_and_case_and_hides_other_merchants(shipped, other_api):
    mine = shipped.get("/api/v1/tracking/van-42-0001")
    theirs = other_api.get(f"/api/v1/tracking/{OWN_FLEET}")
    assert mine.status_code == 200 and mine.json()["data"]["trackingNumber"] == "VAN420001"
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "TRACKING_NOT_FOUND"
    assert (
        other_api.post(f"/api/v1/tracking/{OWN_FLEET}/events", {"events": [DELIVERED]}).status_code
        == 404
    )
    assert not TrackingEvent.objects.exists()


def test_the_batch_answers_each_number_in_order(shipped):
    response = shipped.post("/api/v1/tracking/batch",
                            {"trackingNumbers": ["NOPE-1", OWN_FLEET]})  # fmt: skip
    first, second = response.json()["data"]
    assert (first["success"], first["error"]["code"]) == (False, "TRACKING_NOT_FOUND")
    assert (second["success"], second["data"]["orderId"]) == (True, "1001")


def test_a_batch_over_100_numbers_is_413(shipped):
    response = shipped.post("/api/v1/tracking/batch",
                            {"trackingNumbers": [f"N{n}" for n in range(101)]})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_the_event_feed_filters_and_names_the_shipment(shipped):
    _report(shipped, DEPARTED, ATTEMPT, DELIVERED)

    def listed(**params):
        return shipped.get("/api/v1/tracking/events", params).json()

    everything = listed()
    assert [e["status"] for e in everything["data"]] == [
        "delivered",
        "failed_attempt",
        "in_transit",
    ]
    assert everything["data"][0]["trackingNumber"] == "VAN420001"
    assert everything["data"][0]["orderId"] == "1001"
    assert [e["status"] for e in listed(eventType="DELIVERY_ATTEMPT")["data"]] == ["failed_attempt"]
    assert len(listed(after="2026-11-21T10:00:00Z", before="2026-11-21T13:00:00Z")["data"]) == 1
    assert len(listed(orderIds="1001,other")["data"]) == 3
    assert listed(trackingNumbers="nope")["data"] == []
    assert listed(limit=1)["meta"]["pagination"]["hasNext"] is True
    assert Shipment.objects.get().status == "delivered"


def test_the_event_feed_is_scoped_to_the_merchant(shipped, other_api):
    _report(shipped, DELIVERED)
    assert other_api.get("/api/v1/tracking/events").json()["data"] == []


@pytest.fixture
def sandbox_shipped(api):
    api.post("/api/v1/orders", ORDER)
    api.post("/api/v1/orders/1001/shipments",
             {"trackingNumber": "SBXDELIVERED1", "carrier": "sandbox",
              "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    return api


def test_refresh_asks_the_carrier_now_then_refuses_for_a_minute(sandbox_shipped):
    # when
    first = sandbox_shipped.post("/api/v1/tracking/SBXDELIVERED1/refresh", raw=b"")
    second = sandbox_shipped.post("/api/v1/tracking/SBXDELIVERED1/refresh", raw=b"")
    # then
    assert first.status_code == 200
    assert first.json()["data"]["status"] == "pre_transit"
    assert first.json()["data"]["lastCheckedAt"] is not None
    assert second.status_code == 429 and second.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(second["Retry-After"]) <= 60


def test_refreshing_a_carrier_we_cannot_poll_says_so(shipped):
    response = shipped.post(f"/api/v1/tracking/{OWN_FLEET}/refresh", raw=b"")
    assert response.status_code == 200
    assert [w["code"] for w in response.json()["warnings"]] == ["CARRIER_NOT_TRACKED"]


def test_refreshing_another_merchants_number_is_not_found(sandbox_shipped, other_api):
    response = other_api.post("/api/v1/tracking/SBXDELIVERED1/refresh", raw=b"")
    assert response.status_code == 404
    assert not TrackingEvent.objects.exists()


def test_a_reported_delivery_reaches_the_outbox_once_with_what_messages_need(shipped, merchant):
    # given: the customer left an email; the merchant emails on delivery (TRACKING.md default)
    Order.objects.filter(merchant=merchant).update(customer_email="jane@example.com")
    # when
    _report(shipped, DELIVERED)
    _report(shipped, DELIVERED)
    # then: one message, carrying the tracking object and the customer's signed link
    email = Notification.objects.get()
    assert (email.channel, email.recipient, email.trigger) == (
        "email", "jane@example.com", "delivered")  # fmt: skip
    assert email.payload["tracking"]["deliveredAt"] == "2026-11-21T16:30:00Z"
    assert "/orders/FDC-01-12345/1001?t=" in email.payload["trackingPage"]
    assert email.payload["trackingPage"].endswith("&trackingId=VAN420001")


# --- A carrier event and an order update at once (PostgreSQL) -----------------------------------

ROUNDS = 40


def _at_once(raw_key: str, *requests: tuple[str, dict]) -> list[int]:
    """The requests sent together, each from its own client (its own database connection)."""
    pending = iter(requests)

    def send():
        path, body = next(pending)
        return Client().post(path, body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {raw_key}")  # fmt: skip

    return sorted(response.status_code for response in run_at_once(len(requests), send))


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_event_and_an_order_update_at_once_never_deadlock(api, merchant):
    answers = []
    for round_number in range(ROUNDS):
        # given: a shipped order
        order_id, number = f"R-{round_number}", f"VAN-R-{round_number:04d}"
        api.post("/api/v1/orders", {**ORDER, "orderId": order_id})
        api.post(f"/api/v1/orders/{order_id}/shipments",
                 {"trackingNumber": number, "carrier": "other",
                  "items": [{"itemId": "SKU-1", "quantity": 2}]})  # fmt: skip
        # when: its delivery is reported while the OMS updates the order (locks the order, then
        # its shipments)
        answers.append(_at_once(
            api.raw_key,
            (f"/api/v1/tracking/{number}/events", {"events": [DELIVERED]}),
            ("/api/v1/orders", {**ORDER, "orderId": order_id, "customer": {"name": "Jane Doe"}}),
        ))  # fmt: skip
    # then
    assert answers == [[200, 200]] * ROUNDS
    assert set(Order.objects.values_list("status", "customer_name")) == {("delivered", "Jane Doe")}


def test_every_tracking_object_and_event_names_the_shipment_by_its_public_id(shipped, other_api):
    # given: another merchant ships the same tracking number
    other_api.post("/api/v1/orders", ORDER)
    other_api.post("/api/v1/orders/1001/shipments", {
        "trackingNumber": OWN_FLEET, "carrier": "other",
        "items": [{"itemId": "SKU-1", "quantity": 1}]})  # fmt: skip
    _report(shipped, DEPARTED)
    # when
    tracking = shipped.get(f"/api/v1/tracking/{OWN_FLEET}").json()["data"]
    order = shipped.get("/api/v1/orders/1001").json()["data"]
    events = shipped.get("/api/v1/tracking/events").json()["data"]
    others = other_api.get(f"/api/v1/tracking/{OWN_FLEET}").json()["data"]
    # then: one id, the shipment's, everywhere; stable; never another merchant's
    shipment = Shipment.objects.get(merchant__merchant_id="FDC-01-12345")
    assert tracking["shipmentId"] == str(shipment.public_id)
    assert order["shipments"][0]["shipmentId"] == tracking["shipmentId"]
    assert {event["shipmentId"] for event in [*tracking["events"], *events]} == {
        tracking["shipmentId"]
    }
    assert others["shipmentId"] != tracking["shipmentId"]


def test_unknown_fields_of_reported_events_are_named(shipped):
    # when
    response = _report(shipped, {**DEPARTED, "colour": "blue"})
    # then: applied, and the typo named by its path
    assert response.status_code == 200
    assert [(w["code"], w["field"]) for w in response.json()["warnings"]] == [
        ("UNKNOWN_FIELD", "events[0].colour")
    ]
