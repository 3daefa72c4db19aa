"""Shippo's `track_updated` push: its signature, its statuses, and the receiver over HTTP.

The payloads are the samples in fixtures/aggregators/ (copied from ../shared/samples/aggregators/):
the docs' `shippo_track_updated.json` and Shippo test mode's Track objects (`shippo_track_objects/`,
the `data` of a track_updated).
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from carriers.aggregators import PayloadInvalid, parse_shippo, verify_shippo
from carriers.events import Location
from notifications.models import Notification
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tracking.models import PushMessage, TrackingEvent

FIXTURES = Path(__file__).parent / "fixtures" / "aggregators"
SECRET = "shippo-hmac-secret-from-support"
NUMBER = "9205590164917312751089"  # the docs' sample's number


def _track(name: str) -> dict:
    return json.loads((FIXTURES / "shippo_track_objects" / f"{name}.json").read_text())


def _event(track: dict, event: str = "track_updated") -> dict:
    return {"event": event, "test": True, "data": track}


def _docs_sample() -> dict:
    return json.loads((FIXTURES / "shippo_track_updated.json").read_text())


def _compact(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _signature(body: bytes, *, at: int | None = None, secret: str = SECRET) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


# --- The signature -----------------------------------------------------------------------------


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_raw_body():
    # given
    body = _compact(_docs_sample())
    header = _signature(body, at=1_700_000_000)
    # then
    assert verify_shippo(body, header, SECRET, now=1_700_000_000)
    assert verify_shippo(body, f" {header.replace(',', ' , ')} ", SECRET, now=1_700_000_100)
    assert verify_shippo(
        body, f"t=1700000000,v1={'0' * 64},{header.split(',')[1]}", SECRET, now=1_700_000_000
    )  # fmt: skip (a rotated secret: two v1)
    assert not verify_shippo(body + b" ", header, SECRET, now=1_700_000_000)
    assert not verify_shippo(body, header, "another-secret", now=1_700_000_000)


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=1700000000", "t=abc,v1=00", "t=1700000000,t=1700000000,v1=00",
     "t=１７００000000,v1=00", "t=1700000000,v1=é"],
)  # fmt: skip
def test_a_malformed_signature_header_is_refused(header):
    assert not verify_shippo(b"{}", header, SECRET, now=1_700_000_000)


def test_a_signature_older_or_newer_than_five_minutes_is_refused():
    # given: a captured delivery, replayed later
    body = _compact(_docs_sample())
    header = _signature(body, at=1_700_000_000)
    # then
    assert verify_shippo(body, header, SECRET, now=1_700_000_300)
    assert not verify_shippo(body, header, SECRET, now=1_700_000_301)
    assert not verify_shippo(body, header, SECRET, now=1_699_999_699)


# --- Parsing and the statuses ------------------------------------------------------------------


def test_parsing_the_docs_sample():
    # when
    [update] = parse_shippo(_docs_sample())
    # then: the current status is the history's own entry (one object_id), kept once
    assert (update.tracking_number, update.carrier) == (NUMBER, "usps")
    assert update.estimated_delivery_date == date(2019, 8, 24)
    assert update.estimated_delivery_at == datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)
    [event] = update.events
    assert event.occurred_at == datetime(2016, 7, 23, tzinfo=UTC)
    # DELIVERED with the docs' placeholder substatus "information_received": the status stands
    assert (event.status, event.status_detail) == ("delivered", "delivered")
    assert event.raw_code == "DELIVERED/information_received"
    assert event.description == "Your shipment has been delivered at the destination mailbox."
    assert event.location == Location(city="Las Vegas", state="NV", postal_code="89101",
                                      country="US")  # fmt: skip


def test_parsing_the_returned_test_track():
    # when
    [update] = parse_shippo(_event(_track("SHIPPO_RETURNED")))
    # then: "shippo" (the test carrier) is none of ours: matched by number alone
    assert (update.tracking_number, update.carrier) == ("SHIPPO_RETURNED", "")
    assert [(e.occurred_at.isoformat(), e.status, e.status_detail, e.raw_code)
            for e in update.events] == [
        ("2021-11-01T19:54:33.443000+00:00", "unknown", "unknown", "UNKNOWN"),
        ("2021-11-02T23:54:33.443000+00:00", "in_transit", "in_transit", "TRANSIT"),
        ("2021-11-04T11:54:33.443000+00:00", "exception", "unknown", "FAILURE"),
        ("2021-11-03T23:54:33.443000+00:00", "delivered", "delivered", "DELIVERED"),
        ("2021-11-04T19:54:33.443000+00:00", "return_to_sender", "returned", "RETURNED"),
    ]  # fmt: skip
    assert update.estimated_delivery_date == date(2021, 11, 8)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SHIPPO_PRE_TRANSIT", ("pre_transit", "label_created")),
        ("SHIPPO_TRANSIT", ("in_transit", "in_transit")),
        ("SHIPPO_DELIVERED", ("delivered", "delivered")),
        ("SHIPPO_RETURNED", ("return_to_sender", "returned")),
        ("SHIPPO_UNKNOWN", ("unknown", "unknown")),
    ],
)
def test_each_test_track_current_status(name, expected):
    # given
    track = _track(name)
    # when
    [update] = parse_shippo(_event(track))
    # then
    current = track["tracking_status"]["object_id"]
    [event] = [e for e in update.events if e.raw["object_id"] == current]
    assert (event.status, event.status_detail) == expected


@pytest.mark.parametrize(
    ("status", "substatus", "expected"),
    [
        ("TRANSIT", "out_for_delivery", ("out_for_delivery", "out_for_delivery", "")),
        ("TRANSIT", "pickup_available", ("available_for_pickup", "available_for_pickup", "")),
        ("TRANSIT", "package_accepted", ("in_transit", "accepted", "")),
        ("TRANSIT", "package_departed", ("in_transit", "departed_facility", "")),
        ("TRANSIT", "delayed", ("in_transit", "in_transit", "")),
        ("TRANSIT", "delivery_attempted", ("failed_attempt", "delivery_attempted", "")),
        ("TRANSIT", "notice_left", ("failed_attempt", "recipient_not_available", "001")),
        ("TRANSIT", "address_issue", ("exception", "address_issue", "002")),
        ("TRANSIT", "package_damaged", ("exception", "damaged", "008")),
        ("TRANSIT", "other", ("in_transit", "in_transit", "")),
        ("TRANSIT", "delivered", ("in_transit", "in_transit", "")),  # contradicts: status stands
        ("FAILURE", "package_lost", ("exception", "lost", "")),
        ("FAILURE", "package_undeliverable", ("exception", "unknown", "")),
        ("FAILURE", "return_to_sender", ("return_to_sender", "return_to_sender", "")),
        ("RETURNED", "package_unclaimed", ("return_to_sender", "return_to_sender", "")),
        ("RETURNED", "", ("return_to_sender", "returned", "")),
        ("PRE_TRANSIT", "information_received", ("pre_transit", "label_created", "")),
        ("UNKNOWN", "information_received", ("pre_transit", "label_created", "")),
        ("DELIVERED", "delivered", ("delivered", "delivered", "")),
        ("SOMETHING_NEW", "", ("unknown", "unknown", "")),
        ("TRANSIT", "something_new", ("in_transit", "in_transit", "")),
    ],
)
def test_status_and_substatus_mapping(status, substatus, expected):
    # given
    entry = {"status": status, "status_date": "2026-11-20T10:00:00Z", "status_details": "x",
             "substatus": {"code": substatus, "text": "y"} if substatus else None}  # fmt: skip
    # when
    [update] = parse_shippo({"data": {"tracking_number": "1", "tracking_history": [entry]}})
    # then
    [event] = update.events
    assert (event.status, event.status_detail, event.exception_code) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"event": "track_updated"}, "The event has no Track in `data`."),
        ({"data": {"tracking_number": " "}}, "The Track has no `tracking_number`."),
        ({"data": {"tracking_number": "1", "tracking_history": {}}},
         "`tracking_history` is not a list."),
    ],
)  # fmt: skip
def test_parsing_refuses_a_payload_without_a_track(payload, message):
    with pytest.raises(PayloadInvalid) as refused:
        parse_shippo(payload)
    assert str(refused.value) == message


def test_an_unknown_number_201_track_has_no_events():
    # given: what Shippo answers for a valid carrier and a nonsense number
    track = json.loads(
        (FIXTURES / "shippo_track_create_unknown_number_201_recorded.json").read_text()
    )
    # when
    [update] = parse_shippo(_event(track))
    # then
    assert (update.tracking_number, update.events, update.estimated_delivery_date) == (
        "EXAMPLEOFINVALID123TRACKINGNUMBER", (), None,
    )  # fmt: skip


# --- The endpoint ------------------------------------------------------------------------------


@pytest.fixture
def secret(settings):
    settings.SHIPPO_WEBHOOK_SECRET = SECRET


def _shipment(merchant, number: str, carrier: str = "usps", order_id: str = "1001") -> Shipment:
    create_order(merchant, order_id)
    return ship(merchant, order_id, number, ("MUG", 2), carrier=carrier).instance


def _post(client, body: bytes, signature: str | None = None):
    signature = _signature(body) if signature is None else signature
    return client.post(
        reverse("push-shippo"), body, content_type="application/json",
        HTTP_SHIPPO_AUTH_SIGNATURE=signature,
    )  # fmt: skip


def _answer(updated: int, outcome: str = "accepted") -> dict:
    data = {"received": True, "outcome": outcome, "updated": updated}
    return {"success": True, "data": data, "warnings": []}


def _transit_then(status: str, status_date: str, details: str, substatus: str = "") -> dict:
    track = _track("SHIPPO_TRANSIT")
    track["tracking_number"], track["carrier"] = NUMBER, "usps"
    newest = {**track["tracking_status"], "object_id": f"id-{status}-{substatus}",
              "status": status, "status_date": status_date, "status_details": details,
              "substatus": {"code": substatus, "text": details} if substatus else None}  # fmt: skip
    track["tracking_history"].append(newest)
    track["tracking_status"] = newest
    return _event(track)


def test_a_signed_push_moves_the_shipment_and_the_customer_is_told(client, merchant, secret):
    # given
    shipment = _shipment(merchant, NUMBER)
    body = _compact(_transit_then("TRANSIT", "2021-11-03T08:00:00Z", "Out for delivery",
                                  "out_for_delivery"))  # fmt: skip
    # when
    response = _post(client, body)
    # then
    assert response.status_code == 200
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail, shipment.last_update_source) == (
        "out_for_delivery", "out_for_delivery", "push",
    )  # fmt: skip
    assert shipment.last_event_at == datetime(2021, 11, 3, 8, tzinfo=UTC)
    assert shipment.estimated_delivery_date == date(2021, 11, 8)
    assert list(
        TrackingEvent.objects.filter(shipment=shipment).order_by("occurred_at")
        .values_list("status", "source", "raw_code")
    ) == [("unknown", "push", "UNKNOWN"), ("in_transit", "push", "TRANSIT"),
          ("out_for_delivery", "push", "TRANSIT/out_for_delivery")]  # fmt: skip
    emails = Notification.objects.filter(shipment=shipment, channel="email")
    assert list(emails.values_list("trigger", "recipient")) == [
        ("out_for_delivery", shipment.order.customer_email)
    ]
    log = PushMessage.objects.get()
    assert (log.aggregator, log.event, log.tracking_number, log.outcome, log.response_status,
            log.shipments_updated, bytes(log.body)) == (
        "shippo", "track_updated", NUMBER, "accepted", 200, 1, body)  # fmt: skip


def test_a_wrong_signature_is_401_and_changes_nothing(client, merchant, secret, caplog):
    # given
    shipment = _shipment(merchant, NUMBER)
    body = _compact(_transit_then("DELIVERED", "2021-11-03T08:00:00Z", "Delivered"))
    wrong = _signature(body, secret="not-ours")
    # when
    responses = [_post(client, body, wrong), _post(client, body, ""),
                 _post(client, body, _signature(body, at=int(time.time()) - 3600))]  # fmt: skip
    # then
    for response in responses:
        assert response.status_code == 401
        assert response.json()["success"] is False
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at) == ("unknown", None)
    assert TrackingEvent.objects.count() == PushMessage.objects.count() == 0
    assert Notification.objects.filter(shipment=shipment).count() == 0
    assert SECRET not in caplog.text


def test_a_repeated_push_changes_nothing(client, merchant, secret):
    # given
    shipment = _shipment(merchant, NUMBER)
    body = _compact(_transit_then("DELIVERED", "2021-11-03T08:00:00Z", "Delivered", "delivered"))
    _post(client, body)
    shipment.refresh_from_db()
    before = (shipment.status, shipment.last_event_at, shipment.updated_at)
    notified = Notification.objects.filter(shipment=shipment).count()
    # when: Shippo delivers it again (its retry after a timeout)
    again = _post(client, body)
    # then
    assert again.json() == _answer(0)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at, shipment.updated_at) == before
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 3
    assert Notification.objects.filter(shipment=shipment).count() == notified
    assert PushMessage.objects.count() == 2


def test_an_older_push_arriving_late_never_moves_the_status_back(client, merchant, secret):
    # given: delivered is known
    shipment = _shipment(merchant, NUMBER)
    _post(client, _compact(_transit_then("DELIVERED", "2021-11-04T08:00:00Z", "Delivered")))
    notified = Notification.objects.filter(shipment=shipment).count()
    # when: the out-for-delivery update, sent before, arrives now
    late = _transit_then("TRANSIT", "2021-11-04T06:00:00Z", "Out for delivery", "out_for_delivery")
    response = _post(client, _compact(late))
    # then: its scan is kept (the shipment counts as updated), the status is not moved, nobody
    # is told again
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == (
        "delivered", datetime(2021, 11, 4, 8, tzinfo=UTC),
    )  # fmt: skip
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 4
    assert Notification.objects.filter(shipment=shipment).count() == notified


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"{not json", "MALFORMED_JSON", "The body is not valid JSON."),
        (b"[1, 2]", "INVALID_PAYLOAD", "The body is not a JSON object."),
        (b'{"event": "track_updated", "data": {"carrier": "usps"}}', "INVALID_PAYLOAD",
         "The Track has no `tracking_number`."),
    ],
)  # fmt: skip
def test_a_signed_malformed_body_is_400_and_kept_with_its_reason(
    client, merchant, secret, body, code, message
):
    # when
    response = _post(client, body)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": {"code": code, "message": message, "severity": "hard", "details": {},
                  "fields": {}},
    }  # fmt: skip
    log = PushMessage.objects.get()
    assert (bytes(log.body), log.outcome, log.error_code, log.reason, log.response_status) == (
        body, "rejected", code, message, 400,
    )  # fmt: skip


def test_other_events_are_acknowledged_kept_and_ignored(client, merchant, secret):
    # given
    shipment = _shipment(merchant, NUMBER)
    body = _compact({"event": "transaction_created", "data": {"tracking_number": NUMBER}})
    # when
    response = _post(client, body)
    # then
    assert response.json() == _answer(0, "ignored")
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 0
    assert PushMessage.objects.get().outcome == "ignored"


def test_track_created_is_taken_like_track_updated(client, merchant, secret):
    # given
    shipment = _shipment(merchant, "SHIPPO_PRE_TRANSIT", carrier="other")
    body = _compact(_event(_track("SHIPPO_PRE_TRANSIT"), "track_created"))
    # when
    response = _post(client, body)
    # then
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("pre_transit", "label_created")


def test_every_merchant_with_the_number_is_updated_and_only_them(
    client, merchant, other_merchant, secret
):
    # given: both merchants ship the number; a third shipment has another number
    mine = _shipment(merchant, NUMBER)
    theirs = _shipment(other_merchant, NUMBER)
    unrelated = _shipment(merchant, "9400100000000000000000", order_id="1002")
    body = _compact(_transit_then("DELIVERED", "2021-11-04T08:00:00Z", "Delivered"))
    # when
    response = _post(client, body)
    # then
    assert response.json() == _answer(2)
    statuses = dict(Shipment.objects.values_list("pk", "status"))
    assert (statuses[mine.pk], statuses[theirs.pk], statuses[unrelated.pk]) == (
        "delivered", "delivered", "unknown",
    )  # fmt: skip
    assert set(Notification.objects.filter(channel="email").values_list("merchant_id", flat=True)) \
        == {merchant.pk, other_merchant.pk}  # fmt: skip


def test_without_a_configured_secret_it_is_503(client, settings):
    # given
    settings.SHIPPO_WEBHOOK_SECRET = ""
    # when
    response = _post(client, b"{}", "t=1,v1=00")
    # then
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "NOT_CONFIGURED"
    assert response.json()["error"]["severity"] == "transient"
