"""The DHL adapter against recorded Shipment Tracking - Unified payloads (fixtures/dhl/, copied
from ../shared/samples/dhl/); HTTP mocked with `responses` only. DHL's failure and return texts
have no recorded sample: those cases add an event with plain text to a real payload in the test."""

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from carriers.base import (
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    MemoryCache,
    TrackQuery,
)
from carriers.dhl import Dhl
from carriers.events import Location

BASE = "https://apis.example.test"
TRACK_URL = f"{BASE}/track/shipments"
NUMBER = "470800204932"
FIXTURES = Path(__file__).parent / "fixtures" / "dhl"
CREATED = datetime(2023, 3, 1, tzinfo=UTC)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _track(number: str = NUMBER):
    dhl = Dhl(Credentials("", "secret", BASE), MemoryCache())
    return dhl.track([TrackQuery(number, CREATED)])[number]


def _summary(events) -> list[tuple]:
    return [(e.raw_code, e.status, e.status_detail, e.event_type, e.exception_code) for e in events]


def _with_newest_event(status_code: str, text: str) -> dict:
    body = _fixture("in_transit.DERIVED.json")
    event = {"timestamp": "2023-03-12T10:15:00", "statusCode": status_code, "status": text}
    body["shipments"][0]["events"].insert(0, event)
    return body


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mocked:
        yield mocked


def test_an_in_transit_answer_is_normalized_with_the_api_key(mocked):
    # given
    mocked.get(TRACK_URL, json=_fixture("in_transit.DERIVED.json"), match=[
        matchers.query_param_matcher({"trackingNumber": NUMBER, "language": "en"}),
        matchers.header_matcher({"DHL-API-Key": "secret"}),
    ])  # fmt: skip

    # when
    result = _track()

    # then
    assert (result.found, result.problem, result.service) == (True, "", "DHL PAKET, Bahntransport")
    assert (result.origin, result.destination) == (Location(country="DE"), Location(country="DE"))
    newest = result.events[0]
    assert _summary([newest]) == [("transit", "in_transit", "in_transit", "TRANSIT", "")]
    assert newest.occurred_at.isoformat() == "2023-03-11T22:20:00+01:00"  # Berlin, no offset sent
    assert newest.location == Location(city="Deutschland")
    assert newest.raw_description == (
        "Die Sendung wurde zurückgestellt. Die Zustellung erfolgt vrs. am nächsten Werktag."
    )
    assert _summary(result.events[-2:]) == [
        ("pre-transit", "pre_transit", "label_created", "LABEL", ""),
        ("transit", "in_transit", "accepted", "PICKUP", ""),  # "vom Absender … eingeliefert"
    ]


def test_a_delivered_answer_reads_out_for_delivery_from_the_text(mocked):
    # given
    mocked.get(TRACK_URL, json=_fixture("delivered_parcel_de.json"))

    # when
    result = _track()

    # then
    assert _summary(result.events[:3]) == [
        ("delivered", "delivered", "delivered", "DELIVERY", ""),
        ("transit", "out_for_delivery", "out_for_delivery", "TRANSIT", ""),  # Zustellfahrzeug
        ("transit", "in_transit", "in_transit", "TRANSIT", ""),
    ]
    assert result.events[0].occurred_at.isoformat() == "2023-03-13T09:50:00+01:00"
    assert result.events[1].occurred_at.isoformat() == "2023-03-13T08:36:00+01:00"


def test_ecommerce_label_created_is_pre_transit_and_times_follow_the_state(mocked):
    # given: DHL eCommerce US, whose "LABEL CREATED" comes as statusCode "unknown"
    number = "00340434292135100186"
    mocked.get(TRACK_URL, json=_fixture("delivered_ecommerce_us.json"))

    # when
    result = _track(number)

    # then
    delivered, out = result.events[0], result.events[1]
    assert _summary([delivered, out]) == [
        ("delivered", "delivered", "delivered", "DELIVERY", ""),
        ("transit", "out_for_delivery", "out_for_delivery", "TRANSIT", ""),
    ]
    assert delivered.occurred_at.isoformat() == "2023-05-08T10:37:00-07:00"  # Nevada
    assert delivered.location == Location("Henderson", "NV", "89014", "US")
    assert delivered.description == "DELIVERED - PARCEL LOCKER"
    processed = next(event for event in result.events if event.raw_description == "PROCESSED")
    assert processed.occurred_at.isoformat() == "2023-05-03T01:10:21-04:00"  # Kentucky
    assert _summary(result.events[-1:]) == [
        ("unknown", "pre_transit", "label_created", "LABEL", "")
    ]
    assert result.service == "DHL SM Parcel Plus Expedited"
    assert result.destination == Location("HENDERSON", "", "89014", "US")


def test_a_pre_transit_answer_and_the_estimated_delivery(mocked):
    # given
    mocked.get(TRACK_URL, json=_fixture("pre_transit_parcel_de.json"))
    mocked.get(TRACK_URL, json=_fixture("spec_example.json"))

    # when
    pre_transit = _track("00340434292135100148")
    spec = _track("7777777770")

    # then
    assert _summary(pre_transit.events) == [
        ("pre-transit", "pre_transit", "label_created", "LABEL", "")
    ]
    assert pre_transit.events[0].occurred_at.isoformat() == "2021-07-06T19:35:00+02:00"
    assert (pre_transit.estimated_delivery_date, pre_transit.estimated_delivery_at) == (None, None)
    # "2018-08-03T00:00:00Z", "By End of Day": a date, no promised moment
    assert (spec.estimated_delivery_date, spec.estimated_delivery_at) == (date(2018, 8, 3), None)
    assert spec.origin == Location("Oderweg 2, AMSTERDAM", "", "1043 AG", "NL")


@pytest.mark.parametrize(
    ("status_code", "text", "expected"),
    [
        ("failure", "Delivery attempt failed: the recipient was not at home.",
         ("failed_attempt", "recipient_not_available", "DELIVERY_ATTEMPT", "001")),
        ("failure", "The address is incorrect.",
         ("exception", "address_issue", "EXCEPTION", "002")),
        ("failure", "Die Annahme wurde verweigert.",
         ("exception", "refused", "EXCEPTION", "007")),
        ("failure", "The shipment is being returned to the sender.",
         ("return_to_sender", "return_to_sender", "RETURN", "")),
        ("failure", "Shipment on hold", ("exception", "unknown", "EXCEPTION", "")),
        ("transit", "The shipment is ready for pick-up at the PACKSTATION 105.",
         ("available_for_pickup", "available_for_pickup", "TRANSIT", "")),
        ("transit", "Die Sendung liegt in der Filiale zur Abholung bereit.",
         ("available_for_pickup", "available_for_pickup", "TRANSIT", "")),
        ("transit", "The shipment has been loaded onto the delivery vehicle",
         ("out_for_delivery", "out_for_delivery", "TRANSIT", "")),
        ("transit", "Customs clearance status updated",
         ("in_transit", "customs_processing", "CUSTOMS", "")),
        ("unknown", "No information yet", ("unknown", "unknown", "TRANSIT", "")),
    ],
)  # fmt: skip
def test_the_text_refines_dhls_five_status_codes(mocked, status_code, text, expected):
    # given
    mocked.get(TRACK_URL, json=_with_newest_event(status_code, text))

    # when
    newest = _track().events[0]

    # then
    assert (newest.status, newest.status_detail, newest.event_type, newest.exception_code) == (
        expected
    )
    assert (newest.raw_code, newest.raw_description) == (status_code, text)
    assert newest.occurred_at.isoformat() == "2023-03-12T10:15:00+01:00"


def test_an_unknown_status_code_counts_as_transit_and_is_logged(mocked, caplog):
    # given
    mocked.get(TRACK_URL, json=_with_newest_event("teleported", "Beamed"))

    # when
    with caplog.at_level(logging.WARNING, logger="carriers"):
        newest = _track().events[0]

    # then
    assert (newest.status, newest.status_detail, newest.raw_code) == (
        "in_transit", "in_transit", "teleported"
    )  # fmt: skip
    assert "dhl: unmapped event code 'teleported'" in caplog.text


def test_no_result_found_is_not_found_yet(mocked):
    # given
    mocked.get(TRACK_URL, status=404, json=_fixture("error_not_found_recorded.json"),
               content_type="application/problem+json")  # fmt: skip

    # when
    result = _track()

    # then
    assert (result.found, result.events, result.problem) == (False, (), "")
    assert result.raw["title"] == "No result found"


def test_a_bad_request_is_a_problem_for_that_number(mocked):
    # given
    problem = {"title": "Bad Request", "status": 400, "detail": "Invalid tracking number."}
    mocked.get(TRACK_URL, status=400, json=problem, content_type="application/problem+json")

    # when
    result = _track()

    # then
    assert (result.found, result.problem) == (False, "DHL: Invalid tracking number.")


def test_a_wrong_api_key_is_rejected(mocked):
    # given
    mocked.get(TRACK_URL, status=401, json={"title": "Unauthorized", "status": 401})

    # when / then
    with pytest.raises(CarrierRejected) as raised:
        _track()
    assert raised.value.status == 401


def test_rate_limiting_is_transient_and_keeps_retry_after(mocked):
    # given
    mocked.get(TRACK_URL, status=429, headers={"Retry-After": "3600"}, json={})

    # when
    with pytest.raises(CarrierUnavailable) as raised:
        _track()

    # then
    assert raised.value.retry_after == 3600.0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 502, "json": {}},
        {"body": requests.exceptions.ConnectTimeout()},
        {"body": (FIXTURES / "delivered_parcel_de.json").read_text()[:900]},  # truncated JSON
        {"status": 404, "body": "<html>Not Found</html>"},
        {"json": [1, 2, 3]},
    ],
    ids=["5xx", "timeout", "truncated", "404-not-json", "not-an-object"],
)
def test_server_errors_timeouts_and_garbage_are_transient(mocked, answer):
    # given
    mocked.get(TRACK_URL, **answer)

    # when / then
    with pytest.raises(CarrierUnavailable):
        _track()
