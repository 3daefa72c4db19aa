"""Push webhooks from EasyPost and AfterShip: signatures, parsing, and applying to shipments.

The payloads are the samples in fixtures/aggregators/ (copied from ../shared/samples/aggregators/).
"""

import base64
import hashlib
import hmac
import json
import logging
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from carriers.aggregators import (
    PayloadInvalid,
    parse_aftership,
    parse_easypost,
    verify_aftership,
    verify_easypost,
)
from carriers.events import Location
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tracking.models import TrackingEvent

FIXTURES = Path(__file__).parent / "fixtures" / "aggregators"
VECTOR = json.loads((FIXTURES / "easypost_hmac_test_vector.json").read_text())
EASYPOST_SECRET = VECTOR["webhook_secret"]  # "sécret": NFKD normalization matters
AFTERSHIP_SECRET = "as-webhook-secret-0123456789"
AFTERSHIP_NUMBER = "9405516902697649303570"


def _sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _answer(updated: int, outcome: str = "accepted") -> dict:
    """API.md's success envelope around a push's answer."""
    data = {"received": True, "outcome": outcome, "updated": updated}
    return {"success": True, "data": data, "warnings": []}


def _compact(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _easypost_signature(body: bytes, secret: str = EASYPOST_SECRET) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _aftership_signature(body: bytes, secret: str = AFTERSHIP_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --- Signatures --------------------------------------------------------------------------------


def test_the_official_easypost_test_vector_verifies():
    # given: the vector signs the compact JSON of the fixture, not the file's bytes
    pretty = (FIXTURES / "easypost_tracker_updated_in_transit.json").read_bytes()
    compact = _compact(json.loads(pretty))
    # then
    assert compact != pretty
    assert verify_easypost(compact, VECTOR["expected_header_value"], EASYPOST_SECRET)
    assert not verify_easypost(pretty, VECTOR["expected_header_value"], EASYPOST_SECRET)
    assert verify_easypost(
        pretty, VECTOR["digest_of_pretty_file_bytes_for_contrast"], EASYPOST_SECRET
    )
    # the secret is NFKD-normalized: the precomposed and the decomposed "é" sign alike
    assert verify_easypost(compact, VECTOR["expected_header_value"], "se\u0301cret")


def test_the_easypost_signature_tolerates_case_and_whitespace():
    header = VECTOR["expected_header_value"]
    prefix, digest = header.split("=", 1)
    compact = _compact(_sample("easypost_tracker_updated_in_transit.json"))
    for variant in (f"  {header}\t", f"{prefix.upper()}={digest.upper()}", f"{prefix}= {digest}"):
        assert verify_easypost(compact, variant, EASYPOST_SECRET), variant


@pytest.mark.parametrize(
    "header",
    [
        "",
        "hmac-sha256-hex=",
        "38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db",  # no prefix
        "sha256=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db",
        "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527d",
        "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527dé",
        "hmac-sha256-hex=not-hex-at-all",
    ],
)
def test_the_easypost_signature_refuses_anything_malformed(header):
    compact = _compact(_sample("easypost_tracker_updated_in_transit.json"))
    assert not verify_easypost(compact, header, EASYPOST_SECRET)


def test_the_easypost_signature_refuses_another_secret_or_body():
    compact = _compact(_sample("easypost_tracker_updated_in_transit.json"))
    header = VECTOR["expected_header_value"]
    assert not verify_easypost(compact, header, "secret")
    assert not verify_easypost(compact, header, "")
    assert not verify_easypost(compact + b" ", header, EASYPOST_SECRET)


def test_the_aftership_signature_is_a_base64_hmac_of_the_raw_body():
    # given
    body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
    header = _aftership_signature(body)
    # then
    assert verify_aftership(body, header, AFTERSHIP_SECRET)
    assert verify_aftership(body, f" {header}\n", AFTERSHIP_SECRET)
    assert not verify_aftership(body + b"\n", header, AFTERSHIP_SECRET)
    assert not verify_aftership(body, header, "another-secret")
    assert not verify_aftership(body, header, "")
    hex_digest = hmac.new(AFTERSHIP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    for malformed in ("", hex_digest, "not base64!", header[:-4], header[:-1] + "é"):
        assert not verify_aftership(body, malformed, AFTERSHIP_SECRET), malformed


# --- Parsing -----------------------------------------------------------------------------------


def test_parsing_the_easypost_in_transit_sample():
    # when
    [update] = parse_easypost(_sample("easypost_tracker_updated_in_transit.json"))
    # then
    assert (update.tracking_number, update.carrier) == ("1", "fedex")
    assert update.estimated_delivery_date == date(2024, 8, 5)
    assert update.estimated_delivery_at is None  # EasyPost's midnight UTC is a bare date
    assert len(update.events) == 7
    first, last = update.events[0], update.events[-1]
    assert (first.status, first.status_detail, first.event_type) == (
        "pre_transit", "label_created", "LABEL",
    )  # fmt: skip
    assert (first.raw_code, first.raw_description) == (
        "pre_transit/label_created", "Shipment information sent to FedEx",
    )  # fmt: skip
    assert first.location == Location(city="", state="", postal_code="32837", country="US")
    assert first.raw["carrier_code"] == "OC"  # the carrier's own code stays in the raw scan
    assert (last.status, last.status_detail) == ("in_transit", "arrived_at_facility")
    assert last.occurred_at == datetime(2024, 8, 2, 18, 50, tzinfo=UTC)
    assert last.location == Location("EDISON", "NJ", "08817", "US")
    # "On the way" says status_detail "unknown": the status alone decides
    assert (update.events[4].status, update.events[4].status_detail) == (
        "in_transit", "in_transit",
    )  # fmt: skip


def test_parsing_the_full_aftership_sample():
    # when
    [update] = parse_aftership(_sample("aftership_tracking_update_usps_in_transit.json"))
    # then
    assert (update.tracking_number, update.carrier) == (AFTERSHIP_NUMBER, "usps")
    # the carrier's expected_delivery wins over AfterShip's own (and implausible) prediction
    assert (update.estimated_delivery_date, update.estimated_delivery_at) == (
        date(2021, 5, 17), None,
    )  # fmt: skip
    assert [(event.status, event.status_detail) for event in update.events] == [
        ("pre_transit", "label_created"),
        ("in_transit", "accepted"),
        ("in_transit", "arrived_at_facility"),
        ("in_transit", "departed_facility"),
        ("in_transit", "arrived_at_facility"),
        ("in_transit", "departed_facility"),
        ("in_transit", "arrived_at_facility"),
    ]
    first, last = update.events[0], update.events[-1]
    assert (first.raw_code, first.raw_description) == ("InfoReceived_001", "Info Received")
    assert first.description == "Shipping Label Created, USPS Awaiting Item"
    assert first.raw["raw_tag"] == "GX"
    # country_iso3 "USA" becomes "US"; the local checkpoint time is read as UTC
    assert first.location == Location("BOCA RATON", "FL", "33487", "US")
    assert last.occurred_at == datetime(2021, 5, 17, 3, 45, tzinfo=UTC)


def test_parsing_the_trimmed_2026_07_aftership_sample():
    [update] = parse_aftership(_sample("aftership_tracking_update_trimmed_2026-07.json"))
    assert (update.tracking_number, update.carrier) == ("0000000000000000", "usps")
    [event] = update.events
    assert (event.status, event.status_detail, event.raw_code) == (
        "in_transit", "in_transit", "InTransit_001",
    )  # fmt: skip
    assert event.occurred_at == datetime(2021, 1, 14, 0, 52, tzinfo=UTC)
    assert event.location == Location()
    assert update.estimated_delivery_date is None


def _easypost_with(status: str, status_detail: str | None, carrier: str = "UPS") -> dict:
    detail = {"status": status, "datetime": "2026-11-20T12:00:00Z", "message": "scan"}
    if status_detail is not None:
        detail["status_detail"] = status_detail
    return {"result": {"tracking_code": "1z 999", "carrier": carrier,
                       "tracking_details": [detail]}}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "status_detail", "expected"),
    [
        ("delivered", None, ("delivered", "delivered", "")),
        ("delivered", "arrived_at_destination", ("delivered", "delivered", "")),
        ("in_transit", "arrived_at_destination", ("in_transit", "arrived_at_facility", "")),
        ("in_transit", "weather_delay", ("in_transit", "weather_delay", "")),
        ("in_transit", "delayed", ("in_transit", "in_transit", "")),
        ("failure", "weather_delay", ("exception", "weather_delay", "004")),
        ("failure", "refused", ("exception", "refused", "007")),
        ("failure", "address_correction", ("exception", "address_issue", "002")),
        ("error", None, ("exception", "unknown", "")),
        ("in_transit", "return", ("return_to_sender", "return_to_sender", "")),
        ("delivered", "return", ("return_to_sender", "return_to_sender", "")),
        ("available_for_pickup", "arrived_at_pickup_location",
         ("available_for_pickup", "available_for_pickup", "")),
        ("cancelled", "cancelled", ("cancelled", "cancelled", "")),
        ("unknown", "status_update", ("unknown", "unknown", "")),
    ],
)  # fmt: skip
def test_easypost_status_and_detail_mapping(status, status_detail, expected):
    [update] = parse_easypost(_easypost_with(status, status_detail))
    [event] = update.events
    assert (event.status, event.status_detail, event.exception_code) == expected
    assert update.tracking_number == "1Z999"


@pytest.mark.parametrize(
    ("tag", "subtag", "expected"),
    [
        ("AttemptFail", "AttemptFail_002", ("failed_attempt", "recipient_not_available", "001")),
        ("AttemptFail", "AttemptFail_003", ("failed_attempt", "business_closed", "003")),
        ("Exception", "Exception_004", ("exception", "customs_hold", "006")),
        ("Exception", "Exception_010", ("return_to_sender", "return_to_sender", "")),
        ("Exception", "Exception_011", ("return_to_sender", "returned", "")),
        ("Exception", "Exception_012", ("exception", "damaged", "008")),
        ("Delivered", "Delivered_005", ("delivered", "delivered_to_agent", "")),
        ("AvailableForPickup", "AvailableForPickup_001",
         ("available_for_pickup", "available_for_pickup", "")),
        ("OutForDelivery", "OutForDelivery_001", ("out_for_delivery", "out_for_delivery", "")),
        ("Pending", "Pending_001", ("unknown", "unknown", "")),
        ("Expired", "Expired_001", ("expired", "unknown", "")),
        ("Delivered", "", ("delivered", "delivered", "")),
    ],
)  # fmt: skip
def test_aftership_tag_and_subtag_mapping(tag, subtag, expected):
    checkpoint = {"checkpoint_time": "2026-11-20T08:00:00-06:00", "tag": tag, "subtag": subtag}
    payload = {"msg": {"tracking_number": "1", "slug": "dhl", "checkpoints": [checkpoint]}}
    [update] = parse_aftership(payload)
    [event] = update.events
    assert (event.status, event.status_detail, event.exception_code) == expected
    assert event.occurred_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert update.carrier == "dhl"


def test_unknown_codes_fall_back_and_are_logged(caplog):
    # given
    caplog.set_level(logging.WARNING, logger="carriers")
    checkpoint = {"checkpoint_time": "2026-11-20T08:00:00", "tag": "Exception",
                  "subtag": "Exception_099", "country_iso3": "ZZZ"}  # fmt: skip
    # when
    [aftership] = parse_aftership({"msg": {"tracking_number": "1", "slug": "royal-mail",
                                           "checkpoints": [checkpoint]}})  # fmt: skip
    [easypost] = parse_easypost(_easypost_with("teleported", "beamed", carrier="Kuehne"))
    # then: the tag decides when the subtag is new; an unknown status is "unknown"
    assert (aftership.events[0].status, aftership.events[0].status_detail) == (
        "exception", "unknown",
    )  # fmt: skip
    assert aftership.events[0].location.country == ""
    assert (easypost.events[0].status, easypost.events[0].raw_code) == (
        "unknown", "teleported/beamed",
    )  # fmt: skip
    assert (aftership.carrier, easypost.carrier) == ("", "")
    logged = caplog.text
    assert "'Exception_099'" in logged and "'teleported'" in logged and "'beamed'" in logged


def test_scans_without_a_time_are_skipped():
    payload = _easypost_with("in_transit", None)
    payload["result"]["tracking_details"] += [{"status": "delivered"}, "not a scan"]
    [update] = parse_easypost(payload)
    assert [event.status for event in update.events] == ["in_transit"]


@pytest.mark.parametrize(
    ("parse", "payload"),
    [
        (parse_easypost, {"description": "tracker.updated"}),
        (parse_easypost, {"result": {"tracking_code": "  "}}),
        (parse_easypost, {"result": {"tracking_code": "1", "tracking_details": {}}}),
        (parse_aftership, {"msg": []}),
        (parse_aftership, {"msg": {"tracking_number": None}}),
    ],
)
def test_parsing_refuses_a_payload_without_a_tracker(parse, payload):
    with pytest.raises(PayloadInvalid):
        parse(payload)


# --- The endpoints -----------------------------------------------------------------------------


@pytest.fixture
def secrets(settings):
    settings.EASYPOST_WEBHOOK_SECRET = EASYPOST_SECRET
    settings.AFTERSHIP_WEBHOOK_SECRET = AFTERSHIP_SECRET


def _shipment(merchant, number: str, carrier: str, order_id: str = "1001") -> Shipment:
    create_order(merchant, order_id)
    return ship(merchant, order_id, number, ("MUG", 2), carrier=carrier).instance


def _post_easypost(client, body: bytes, signature: str | None = None):
    signature = _easypost_signature(body) if signature is None else signature
    return client.post(
        reverse("push-easypost"), body, content_type="application/json",
        HTTP_X_HMAC_SIGNATURE=signature,
    )  # fmt: skip


def _post_aftership(client, body: bytes, signature: str | None = None):
    signature = _aftership_signature(body) if signature is None else signature
    return client.post(
        reverse("push-aftership"), body, content_type="application/json",
        HTTP_AFTERSHIP_HMAC_SHA256=signature,
    )  # fmt: skip


def _events(shipment: Shipment) -> list[tuple]:
    return list(
        TrackingEvent.objects.filter(shipment=shipment)
        .order_by("occurred_at", "pk")
        .values_list("occurred_at", "status", "source")
    )


def test_the_official_easypost_vector_delivery_updates_the_shipment(client, merchant, secrets):
    # given
    shipment = _shipment(merchant, "1", "fedex")
    body = _compact(_sample("easypost_tracker_updated_in_transit.json"))
    # when: the body and header exactly as the official vector signs them
    response = _post_easypost(client, body, VECTOR["expected_header_value"])
    # then
    assert response.status_code == 200
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("in_transit", "arrived_at_facility")
    assert shipment.last_event_at == datetime(2024, 8, 2, 18, 50, tzinfo=UTC)
    assert shipment.last_update_source == "push"
    assert shipment.estimated_delivery_date == date(2024, 8, 5)
    events = _events(shipment)
    assert len(events) == 7 and {source for _at, _status, source in events} == {"push"}


def test_the_easypost_delivered_sample_follows_carrier_time(client, merchant, secrets):
    # given
    shipment = _shipment(merchant, "EZ4000000004", "ups")
    body = _compact(_sample("easypost_tracker_updated_delivered.json"))
    # when
    response = _post_easypost(client, body)
    # then: the sample dates its DELIVERED scan 2014-11-19, before the other five scans, and
    # the newest scan by carrier time sets the status (TRACKING.md): out for delivery
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert shipment.estimated_delivery_date == date(2014, 11, 27)
    delivered = TrackingEvent.objects.get(shipment=shipment, status="delivered")
    assert (delivered.recipient, delivered.raw_code) == ("John Tester", "delivered")
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 6


def test_the_aftership_sample_updates_the_shipment(client, merchant, secrets):
    # given
    shipment = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
    body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
    # when: the raw file bytes, signed as AfterShip signs them
    response = _post_aftership(client, body)
    # then
    assert response.status_code == 200
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("in_transit", "arrived_at_facility")
    assert shipment.status_description == "Arrived at Post Office"
    assert shipment.estimated_delivery_date == date(2021, 5, 17)
    assert shipment.last_update_source == "push"
    newest = TrackingEvent.objects.filter(shipment=shipment).first()
    assert (newest.raw_code, newest.city, newest.postal_code, newest.country) == (
        "InTransit_003", "HOLLY RIDGE", "28445", "US",
    )  # fmt: skip
    assert len(_events(shipment)) == 7


@pytest.mark.parametrize("aggregator", ["easypost", "aftership"])
@pytest.mark.parametrize("signature", ["", "hmac-sha256-hex=00", "c2lnbmF0dXJl"])
def test_a_bad_or_missing_signature_is_401_and_changes_nothing(
    client, merchant, secrets, aggregator, signature
):
    # given
    if aggregator == "easypost":
        shipment = _shipment(merchant, "1", "fedex")
        body, post = _compact(_sample("easypost_tracker_updated_in_transit.json")), _post_easypost
    else:
        shipment = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
        body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
        post = _post_aftership
    # when
    response = post(client, body, signature)
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at, shipment.estimated_delivery_date) == (
        "unknown", None, None,
    )  # fmt: skip
    assert _events(shipment) == []


def test_a_signature_from_another_secret_is_401(client, merchant, secrets):
    shipment = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
    body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
    response = _post_aftership(client, body, _aftership_signature(body, "leaked-elsewhere"))
    assert response.status_code == 401
    assert _events(shipment) == []


@pytest.mark.parametrize("name", ["push-easypost", "push-aftership"])
def test_without_a_configured_secret_it_is_503(client, settings, name):
    # given
    settings.EASYPOST_WEBHOOK_SECRET = ""
    settings.AFTERSHIP_WEBHOOK_SECRET = ""
    # when
    response = client.post(reverse(name), b"{}", content_type="application/json",
                           HTTP_X_HMAC_SIGNATURE="x", HTTP_AFTERSHIP_HMAC_SHA256="x")  # fmt: skip
    # then
    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": {"code": "NOT_CONFIGURED", "message": "Receiving these events is not configured.",
                  "severity": "transient", "details": {}, "fields": {}},
    }  # fmt: skip


def test_an_unknown_number_is_200_and_creates_nothing(client, merchant, secrets, caplog):
    # given
    caplog.set_level(logging.INFO, logger="tracking.push")
    _shipment(merchant, "OTHER-NUMBER", "fedex")
    body = _compact(_sample("easypost_tracker_updated_in_transit.json"))
    # when
    response = _post_easypost(client, body)
    # then
    assert response.status_code == 200
    assert response.json() == _answer(0)
    assert Shipment.objects.count() == 1
    assert TrackingEvent.objects.count() == 0
    assert "no shipment has fedex number 1; ignored" in caplog.text


def test_a_repeated_delivery_changes_nothing(client, merchant, secrets):
    # given
    shipment = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
    body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
    first = _post_aftership(client, body)
    shipment.refresh_from_db()
    before = (shipment.status, shipment.last_event_at, shipment.updated_at)
    # when
    again = _post_aftership(client, body)
    # then
    assert first.json()["data"]["updated"] == 1
    assert again.status_code == 200
    assert again.json() == _answer(0)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at, shipment.updated_at) == before
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 7


def test_a_late_older_update_never_moves_the_status_backwards(client, merchant, secrets):
    # given: the shipment already knows it was delivered, with a newer estimate
    shipment = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
    late = _sample("aftership_tracking_update_usps_in_transit.json")
    newer = json.loads(json.dumps(late))
    newer["msg"]["expected_delivery"] = "2021-05-18"
    newer["msg"]["checkpoints"] = [{
        "checkpoint_time": "2021-05-18T10:02:00", "tag": "Delivered", "subtag": "Delivered_001",
        "message": "Delivered, In/At Mailbox", "city": "HOLLY RIDGE", "state": "NC",
    }]  # fmt: skip
    _post_aftership(client, _compact(newer))
    # when: the in-transit update arrives after it
    response = _post_aftership(client, _compact(late))
    # then: its scans are kept, the status and the estimate are not moved
    assert response.json() == _answer(1)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("delivered", "delivered")
    assert shipment.last_event_at == datetime(2021, 5, 18, 10, 2, tzinfo=UTC)
    assert shipment.delivered_at == datetime(2021, 5, 18, 10, 2, tzinfo=UTC)
    assert shipment.estimated_delivery_date == date(2021, 5, 18)
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 8


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"description": "tracker.updated", "result": {', "MALFORMED_JSON"),
        (b"\xff\xfe not utf-8", "MALFORMED_JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "MALFORMED_JSON"),
        (b'["tracker.updated"]', "INVALID_PAYLOAD"),
        (b'{"description": "tracker.updated", "result": null}', "INVALID_PAYLOAD"),
    ],
)
def test_a_signed_body_that_is_not_a_tracker_event_is_400(client, merchant, secrets, body, code):
    # given
    shipment = _shipment(merchant, "1", "fedex")
    # when
    response = _post_easypost(client, body)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert _events(shipment) == []


def test_every_merchant_with_the_number_is_updated(client, merchant, other_merchant, secrets):
    # given: two merchants hold the same USPS number. A number is unique per carrier in
    # practice, and the aggregator follows the number, not a merchant: both ship the same
    # package (a marketplace and its seller), so both get the news.
    mine = _shipment(merchant, AFTERSHIP_NUMBER, "usps")
    theirs = _shipment(other_merchant, AFTERSHIP_NUMBER, "usps")
    body = (FIXTURES / "aftership_tracking_update_usps_in_transit.json").read_bytes()
    # when
    response = _post_aftership(client, body)
    # then
    assert response.json() == _answer(2)
    for shipment in (mine, theirs):
        shipment.refresh_from_db()
        assert shipment.status == "in_transit"
        assert len(_events(shipment)) == 7


def test_a_known_carrier_only_updates_that_carriers_shipments(client, merchant, secrets):
    # given: the same digits with another carrier are another package
    fedex = _shipment(merchant, "EZ4000000004", "fedex")
    body = _compact(_sample("easypost_tracker_updated_delivered.json"))  # carrier "UPS"
    # when
    response = _post_easypost(client, body)
    # then
    assert response.json() == _answer(0)
    assert _events(fedex) == []


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("push-easypost", {"description": "batch.created", "result": {"object": "Batch"}}),
        ("push-easypost", {"result": {"tracking_code": "1"}}),
        ("push-aftership", {"event": "tracking_pending_time", "msg": {"tracking_number": "1"}}),
        ("push-aftership", {"event": ["tracking_update"], "msg": {}}),
    ],
)
def test_other_event_types_are_acknowledged_and_ignored(client, merchant, secrets, name, payload):
    # given
    shipment = _shipment(merchant, "1", "fedex")
    body = _compact(payload)
    # when
    if name == "push-easypost":
        response = _post_easypost(client, body)
    else:
        response = _post_aftership(client, body)
    # then
    assert response.status_code == 200
    assert response.json() == _answer(0, "ignored")
    assert _events(shipment) == []


def test_only_post_is_allowed(client, secrets):
    assert client.get(reverse("push-easypost")).status_code == 405
    assert client.put(reverse("push-aftership")).status_code == 405


def test_a_body_over_1_mib_is_413(client, secrets):
    body = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'
    response = _post_easypost(client, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
