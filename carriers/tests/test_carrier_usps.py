"""The USPS adapter against recorded Tracking v3 payloads (fixtures/usps/, copied from
../shared/samples/usps/); HTTP mocked with `responses` only. No verbatim v3 exception payload
exists, so the notice-left case edits a real delivered payload in the test, in plain sight."""

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
from carriers.events import Location
from carriers.usps import Usps

BASE = "https://apis.example.test"
TOKEN_URL = f"{BASE}/oauth2/v3/token"
NUMBER = "9202290317456200135409"
TRACK_URL = f"{BASE}/tracking/v3/tracking/{NUMBER}"
FIXTURES = Path(__file__).parent / "fixtures" / "usps"
CREATED = datetime(2024, 11, 20, tzinfo=UTC)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _track(cache: MemoryCache | None = None, number: str = NUMBER):
    usps = Usps(Credentials("id", "secret", BASE), cache or MemoryCache())
    return usps.track([TrackQuery(number, CREATED)])[number]


def _token(mocked, access_token: str | None = None):
    body = _fixture("oauth_token_response_official.json")  # access_token "XXXXXXXXXXXXXXXXX"
    return mocked.post(
        TOKEN_URL, json={**body, "access_token": access_token or body["access_token"]}
    )


def _summary(events) -> list[tuple]:
    return [(e.raw_code, e.status, e.status_detail, e.event_type, e.exception_code) for e in events]


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mocked:
        yield mocked


def test_an_in_transit_answer_is_normalized_scan_by_scan(mocked):
    # given
    token = mocked.post(TOKEN_URL, json=_fixture("oauth_token_response_official.json"), match=[
        matchers.json_params_matcher(
            {"client_id": "id", "client_secret": "secret", "grant_type": "client_credentials"}
        )
    ])  # fmt: skip
    mocked.get(TRACK_URL, json=_fixture("v3_in_transit.json"), match=[
        matchers.query_param_matcher({"expand": "DETAIL"}),
        matchers.header_matcher({"Authorization": "Bearer XXXXXXXXXXXXXXXXX"}),
    ])  # fmt: skip

    # when
    result = _track()

    # then
    assert token.call_count == 1
    assert (result.found, result.problem, result.service) == (True, "", "USPS Ground Advantage")
    assert (result.estimated_delivery_date, result.estimated_delivery_at) == (
        date(2024, 11, 29), None
    )  # fmt: skip
    assert result.origin == Location("NEW BERLIN", "WI", "53151", "US")
    assert result.destination == Location("MILWAUKEE", "WI", "53207", "US")
    assert _summary(result.events) == [
        ("10", "in_transit", "arrived_at_facility", "TRANSIT", ""),
        ("SF", "in_transit", "departed_facility", "TRANSIT", ""),
        ("03", "in_transit", "accepted", "PICKUP", ""),
        ("MA", "pre_transit", "label_created", "LABEL", ""),
    ]
    newest, departed = result.events[0], result.events[1]
    assert newest.occurred_at.isoformat() == "2024-11-26T01:44:00-06:00"
    assert newest.location == Location("OAK CREEK WI DISTRIBUTION CENTER", "", "", "")
    assert newest.raw_description == "Arrived at USPS Regional Facility"
    assert newest.raw["GMTTimestamp"] == "2024-11-26T07:44:28Z"
    # Wall clock + GMTOffset; USPS's own GMTTimestamp here says 2024-11-25T00:31:21Z (wrong day).
    assert departed.occurred_at.isoformat() == "2024-11-25T18:31:00-06:00"
    assert departed.location == Location("NEW BERLIN", "WI", "53151", "US")


def test_a_delivered_answer_ends_delivered_after_out_for_delivery(mocked):
    # given
    _token(mocked)
    number = "9400109104250532908587"
    mocked.get(f"{BASE}/tracking/v3/tracking/{number}", json=_fixture("v3_delivered.json"))

    # when
    result = _track(number=number)

    # then
    assert _summary(result.events[:3]) == [
        ("01", "delivered", "delivered", "DELIVERY", ""),
        ("OF", "out_for_delivery", "out_for_delivery", "TRANSIT", ""),
        ("07", "in_transit", "arrived_at_facility", "TRANSIT", ""),
    ]
    delivered = result.events[0]
    assert delivered.occurred_at.isoformat() == "2024-11-22T13:58:00-05:00"
    assert delivered.location == Location("HERNANDO", "FL", "34442", "US")
    assert delivered.description == "Delivered, Parcel Locker"
    assert _summary(result.events[-1:]) == [("GX", "pre_transit", "label_created", "LABEL", "")]
    assert len(result.events) == 12


def test_scans_without_an_offset_take_their_state_or_the_origin_zone(mocked):
    # given: partner scans (80-82) and a label scan without GMTOffset, and USPS's README sample
    # whose local "07:31 am in RICHMOND, VA" is written "07:31:00Z"
    _token(mocked)
    mocked.get(TRACK_URL, json=_fixture("v3_delivered_2024.json"))
    mocked.get(f"{BASE}/tracking/v3/tracking/X1", json=_fixture("v3_accepted_official.json"))

    # when
    partner = _track()
    accepted = _track(number="X1")

    # then
    by_code = {event.raw_code: event for event in reversed(partner.events)}
    assert [(c, by_code[c].status, by_code[c].status_detail) for c in ("80", "81", "82")] == [
        ("80", "in_transit", "picked_up"),
        ("81", "in_transit", "arrived_at_facility"),
        ("82", "in_transit", "departed_facility"),
    ]
    assert by_code["80"].occurred_at.isoformat() == "2024-11-21T17:01:00-06:00"  # origin WI
    assert by_code["GX"].occurred_at.isoformat() == "2024-11-19T09:27:00-06:00"
    assert partner.service == "Parcel Select"
    assert accepted.events[0].occurred_at.isoformat() == "2023-08-02T07:31:00-04:00"
    assert accepted.service == "Priority Mail"


def test_a_notice_left_scan_is_a_failed_attempt_with_its_exception_code(mocked):
    # given: the 2024 payload with its delivery scan turned into the v1 sample's code 55
    body = _fixture("v3_delivered_2024.json")
    body["statusCategory"] = body["status"] = "Delivery Attempt"
    body["trackingEvents"][0].update(
        eventCode="55", eventType="Notice Left (No Secure Location Available)"
    )
    _token(mocked)
    mocked.get(TRACK_URL, json=body)

    # when
    result = _track()

    # then
    attempt = result.events[0]
    assert _summary([attempt]) == [
        ("55", "failed_attempt", "recipient_not_available", "DELIVERY_ATTEMPT", "001")
    ]
    assert attempt.occurred_at.isoformat() == "2024-11-23T13:10:00-06:00"
    assert attempt.raw_description == "Notice Left (No Secure Location Available)"


def test_an_unknown_code_on_the_newest_scan_falls_back_on_the_status_category(mocked, caplog):
    # given
    body = _fixture("v3_in_transit.json")
    body["statusCategory"] = "Alert"
    body["trackingEvents"][0]["eventCode"] = "ZZ"
    body["trackingEvents"][1]["eventCode"] = "YY"
    _token(mocked)
    mocked.get(TRACK_URL, json=body)

    # when
    with caplog.at_level(logging.WARNING, logger="carriers"):
        result = _track()

    # then
    assert _summary(result.events[:2]) == [
        ("ZZ", "exception", "unknown", "EXCEPTION", ""),
        ("YY", "in_transit", "in_transit", "TRANSIT", ""),
    ]
    assert "usps: unmapped event code 'ZZ'" in caplog.text


def test_status_not_yet_available_is_not_found_yet(mocked):
    # given
    _token(mocked)
    mocked.get(TRACK_URL, status=400, json=_fixture("v3_error_not_yet_available.json"))

    # when
    result = _track()

    # then
    assert (result.found, result.events, result.problem) == (False, (), "")
    assert result.raw["error"]["errors"][0]["code"] == "150001"


def test_an_invalid_number_is_a_problem_for_that_number(mocked):
    # given: the not-yet answer's shape with USPS's 150004 (Error Inventory)
    body = _fixture("v3_error_not_yet_available.json")
    body["error"]["errors"][0].update(
        code="150004",
        title="4: Delivery status information is not available for your item via this web site.",
    )
    _token(mocked)
    mocked.get(TRACK_URL, status=400, json=body)

    # when
    result = _track()

    # then
    assert (result.found, result.events) == (False, ())
    assert result.problem == (
        "USPS 150004: 4: Delivery status information is not available for your item via this "
        "web site."
    )


def test_a_refused_token_is_fetched_again_once(mocked):
    # given: the cached token was revoked early
    cache = MemoryCache()
    first, second = _token(mocked, "first-token"), _token(mocked, "second-token")
    refused = mocked.get(TRACK_URL, status=401, match=[
        matchers.header_matcher({"Authorization": "Bearer first-token"})
    ])  # fmt: skip
    accepted = mocked.get(TRACK_URL, json=_fixture("v3_in_transit.json"), match=[
        matchers.header_matcher({"Authorization": "Bearer second-token"})
    ])  # fmt: skip

    # when
    result = _track(cache)

    # then
    assert [call.call_count for call in (first, second, refused, accepted)] == [1, 1, 1, 1]
    assert result.events[0].raw_code == "10"
    assert cache.get(f"carrier-token:usps:{BASE}:id") == "second-token"


def test_the_token_is_cached_across_calls_and_adapters(mocked):
    # given
    cache = MemoryCache()
    token = _token(mocked)
    tracking = mocked.get(TRACK_URL, json=_fixture("v3_in_transit.json"))

    # when
    _track(cache)
    _track(cache)

    # then
    assert (token.call_count, tracking.call_count) == (1, 2)


def test_bad_credentials_are_rejected_without_tracking(mocked):
    # given
    mocked.post(TOKEN_URL, status=401, json=_fixture("v3_error_auth_invalid_client.json"))

    # when
    with pytest.raises(CarrierRejected, match="usps: credentials refused"):
        _track()

    # then
    assert [call.request.url for call in mocked.calls] == [TOKEN_URL]


def test_rate_limiting_is_transient_and_keeps_retry_after(mocked):
    # given
    _token(mocked)
    mocked.get(TRACK_URL, status=429, headers={"Retry-After": "30"}, json={})

    # when
    with pytest.raises(CarrierUnavailable) as raised:
        _track()

    # then
    assert raised.value.retry_after == 30.0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "headers": {"Retry-After": "120"}, "json": {}},
        {"body": requests.exceptions.ConnectTimeout()},
        {"body": (FIXTURES / "v3_in_transit.json").read_text()[:700]},  # truncated JSON
        {"json": ["not", "an", "object"]},
        {"status": 400, "json": {"message": "no error object"}},
    ],
    ids=["5xx", "timeout", "truncated", "not-an-object", "400-without-error"],
)
def test_server_errors_timeouts_and_garbage_are_transient(mocked, answer):
    # given
    _token(mocked)
    mocked.get(TRACK_URL, **answer)

    # when / then
    with pytest.raises(CarrierUnavailable):
        _track()
