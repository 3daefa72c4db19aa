"""The FedEx adapter against recorded FedEx answers; HTTP mocked at the requests layer only."""

import copy
import json
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

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
from carriers.fedex import Fedex

FIXTURES = Path(__file__).parent / "fixtures" / "fedex"
BASE = "https://apis.example.test"
TOKEN_URL = f"{BASE}/oauth/token"
TRACK_URL = f"{BASE}/track/v1/trackingnumbers"
CREDENTIALS = Credentials("id", "secret", BASE)
CREATED = datetime(2024, 1, 1, tzinfo=UTC)
EST, CST, PST, EDT, PDT = (timezone(timedelta(hours=h)) for h in (-5, -6, -8, -4, -7))


def _payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _track(*numbers: str, cache: MemoryCache | None = None):
    carrier = Fedex(CREDENTIALS, cache if cache is not None else MemoryCache())
    return carrier.track([TrackQuery(number, CREATED) for number in numbers])


def _answer(api, body, status: int = 200) -> None:
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.post(TRACK_URL, json=body, status=status)


def _sent(call) -> dict:
    return json.loads(call.request.body)


def _fields(event) -> tuple:
    return event.status, event.status_detail, event.event_type, event.exception_code


def test_in_transit_and_what_is_sent(api):
    # given
    _answer(api, _payload("in_transit"))

    # when
    result = _track("61292701078443410536")["61292701078443410536"]

    # then
    assert result.found is True and result.problem == ""
    newest = result.events[-1]
    assert _fields(newest) == ("in_transit", "in_transit", "TRANSIT", "")
    assert newest.occurred_at == datetime(2015, 3, 3, 10, 57, 12, tzinfo=EST)
    assert newest.occurred_at.utcoffset() == timedelta(hours=-5)
    assert newest.location == Location("OREGONIA", "OH", "45054", "US")
    assert (newest.raw_code, newest.raw_description) == ("IT", "In transit")
    assert [event.raw_code for event in result.events] == ["OC", "AR", "DP", "IT"]
    assert _fields(result.events[0]) == ("pre_transit", "label_created", "LABEL", "")
    assert result.service == "FedEx SmartPost"
    assert result.origin == Location(city="GREENWOOD", state="IN", country="US")
    assert result.destination == Location(city="JOHNSTON", state="RI", country="US")
    token_call, track_call = api.calls
    assert parse_qs(token_call.request.body) == {
        "grant_type": ["client_credentials"], "client_id": ["id"], "client_secret": ["secret"],
    }  # fmt: skip
    assert "Authorization" not in token_call.request.headers
    assert track_call.request.headers["Authorization"] == "Bearer access_token"
    assert _sent(track_call) == {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": "61292701078443410536"}}],
    }


def test_out_for_delivery_comes_from_the_od_scan_not_its_derived_in_transit(api):
    # given: latestStatusDetail OD with derivedCode IT; the scan's derivedStatusCode is IT
    _answer(api, _payload("out_for_delivery_sandbox"))

    # when
    result = _track("231300687629630")["231300687629630"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == ("out_for_delivery", "out_for_delivery", "TRANSIT", "")
    assert newest.occurred_at == datetime(2014, 1, 4, 6, 55, tzinfo=EST)
    assert newest.location == Location("MIAMI", "FL", "33178", "US")
    assert newest.raw_code == "OD" and newest.raw["derivedStatusCode"] == "IT"
    assert result.estimated_delivery_date == date(2023, 12, 31)
    assert result.estimated_delivery_at is None  # FedEx's local midnight means "that day"
    assert result.origin == Location(city="WICHITA", state="KS", country="US")
    assert result.destination == Location(city="MIAMI", state="FL", country="US")


def test_label_created_is_pre_transit(api):
    # given
    _answer(api, _payload("pre_transit_label_created_sandbox"))

    # when
    result = _track("449044304137821")["449044304137821"]

    # then
    (only,) = result.events
    assert _fields(only) == ("pre_transit", "label_created", "LABEL", "")
    assert only.occurred_at == datetime(2013, 12, 30, 13, 24, tzinfo=EST)
    assert only.location == Location(postal_code="471307761", country="US")


def test_a_delivery_exception_is_refined_by_its_reason(api):
    # given
    _answer(api, _payload("exception_sandbox_DE007"))

    # when
    result = _track("377101283611590")["377101283611590"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == (
        "failed_attempt", "recipient_not_available", "DELIVERY_ATTEMPT", "001",
    )  # fmt: skip
    assert newest.occurred_at == datetime(2013, 12, 18, 11, 22, 15, tzinfo=PST)
    assert newest.raw_code == "DE/007"
    assert newest.raw_description == "Delivery exception"
    assert newest.description == "Delivery exception: Customer not available or business closed"
    assert newest.location == Location("SACRAMENTO", "CA", "95828", "US")
    assert result.estimated_delivery_date == date(2023, 12, 31)


def test_returning_to_shipper_is_a_return_although_fedex_derives_delivered(api):
    # given: the newest scan is RS with derivedStatusCode DL
    _answer(api, _payload("return_to_sender_sandbox"))

    # when
    result = _track("076288115212522")["076288115212522"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == ("return_to_sender", "return_to_sender", "RETURN", "")
    assert newest.raw_code == "RS/060G" and newest.raw["derivedStatusCode"] == "DL"
    assert newest.occurred_at == datetime(2014, 1, 15, 8, 32, 31, tzinfo=CST)
    assert newest.location == Location("GRIMES", "IA", "50111", "US")
    assert "delivered" not in {event.status for event in result.events}


def test_held_at_location_is_available_for_pickup(api):
    # given: the newest scan HP is derived IT; only latestStatusDetail says HL
    _answer(api, _payload("available_for_pickup_sandbox"))

    # when
    result = _track("843119172384577")["843119172384577"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == ("available_for_pickup", "available_for_pickup", "TRANSIT", "")
    assert newest.raw_code == "HP/015A"
    assert newest.occurred_at == datetime(2014, 1, 8, 15, 23, tzinfo=PST)
    assert newest.location == Location("BERKELEY", "CA", "94704", "US")
    by_code = {event.raw_code: event for event in result.events}
    assert _fields(by_code["DE/007"])[:2] == ("failed_attempt", "recipient_not_available")
    assert _fields(by_code["DE/A13"])[:2] == ("in_transit", "in_transit")  # redirect, no alarm
    assert _fields(by_code["RR/A12"])[:2] == ("in_transit", "in_transit")


def test_delivered_keeps_the_recipient_and_informational_scans_keep_the_status(api):
    # given
    _answer(api, _payload("delivered"))

    # when
    result = _track("738488882438")["738488882438"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == ("delivered", "delivered", "DELIVERY", "")
    assert newest.occurred_at == datetime(2024, 8, 20, 12, 41, 57, tzinfo=EDT)
    assert newest.recipient == "CREILLY"
    assert newest.location == Location("Blue Point", "NY", "11715", "US")
    assert [event.status for event in result.events].count("delivered") == 1
    early = next(event for event in result.events if event.raw_code == "AE")
    before = result.events[result.events.index(early) - 1]
    assert before.raw_code == "AR"
    assert (early.status, early.status_detail) == (before.status, before.status_detail)
    undated_pickup = next(event for event in result.events if event.raw_code == "PU")
    assert undated_pickup.occurred_at == datetime(2024, 8, 15, tzinfo=UTC)  # no offset given
    assert result.service == "FedEx Ground"


def test_an_actual_delivery_date_without_its_scan_still_delivers(api):
    # given
    body = copy.deepcopy(_payload("delivered"))
    scans = body["output"]["completeTrackResults"][0]["trackResults"][0]["scanEvents"]
    scans[:] = [scan for scan in scans if scan["eventType"] != "DL"]
    _answer(api, body)

    # when
    result = _track("738488882438")["738488882438"]

    # then
    newest = max(result.events, key=lambda event: event.occurred_at)
    assert _fields(newest) == ("delivered", "delivered", "DELIVERY", "")
    assert newest.occurred_at == datetime(2024, 8, 20, 12, 41, 57, tzinfo=EDT)
    assert (newest.raw_code, newest.recipient) == ("ACTUAL_DELIVERY", "CREILLY")
    assert newest.location == Location(city="Blue Point", state="NY", country="US")


def test_a_reused_number_takes_the_shipment_with_the_newest_news(api):
    # given: two trackResults for one number (an attempt, then a second shipment delivered)
    _answer(api, _payload("exception"))

    # when
    result = _track("776094337676")["776094337676"]

    # then
    newest = result.events[-1]
    assert _fields(newest) == ("delivered", "delivered", "DELIVERY", "")
    assert newest.occurred_at == datetime(2024, 4, 26, 9, 26, tzinfo=PDT)
    assert newest.recipient == "D.HERRERA"
    by_code = {event.raw_code: event for event in result.events}
    assert _fields(by_code["DE/08"]) == (
        "failed_attempt", "recipient_not_available", "DELIVERY_ATTEMPT", "001",
    )  # fmt: skip
    assert by_code["AO"].status == by_code["PU"].status == "in_transit"


@pytest.mark.parametrize("name", ["sandbox_not_found", "error_not_found_production"])
def test_not_found_is_found_false_without_a_problem(api, name):
    # given
    _answer(api, _payload(name))
    number = _payload(name)["output"]["completeTrackResults"][0]["trackingNumber"]

    # when
    result = _track(number)[number]

    # then
    assert (result.found, result.problem, result.events) == (False, "", ())


def test_an_invalid_number_is_that_numbers_problem(api):
    # given
    _answer(api, _payload("error_empty_tracking_number"), status=400)

    # when
    result = _track("0")["0"]

    # then
    assert (result.found, result.events) == (False, ())
    assert (
        result.problem == "FedEx: Please provide tracking number. (TRACKING.TRACKINGNUMBER.EMPTY)"
    )


def test_an_invalid_number_in_a_batch_is_asked_alone_and_spares_the_others(api):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    both = {"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in ("0", "1")]}
    only = {"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": "1"}}]}
    api.post(TRACK_URL, status=400, json=_payload("error_empty_tracking_number"),
             match=[matchers.json_params_matcher(both, strict_match=False)])  # fmt: skip
    api.post(TRACK_URL, status=400, json=_payload("error_empty_tracking_number"),
             match=[matchers.json_params_matcher(only, strict_match=False)])  # fmt: skip
    found = copy.deepcopy(_payload("in_transit"))
    found["output"]["completeTrackResults"][0]["trackingNumber"] = "0"
    api.post(TRACK_URL, json=found)

    # when
    results = _track("0", "1")

    # then
    assert results["0"].found is True and results["0"].events[-1].raw_code == "IT"
    assert results["1"].problem.endswith("(TRACKING.TRACKINGNUMBER.EMPTY)")
    assert len(api.calls) == 4  # token, the batch, then each number alone


def test_a_batch_of_30_is_one_call_with_found_and_not_found(api):
    # given: even positions are known to FedEx, odd ones are not
    numbers = [f"7000000000{index:02d}" for index in range(30)]
    known = _payload("in_transit")["output"]["completeTrackResults"][0]
    unknown = _payload("sandbox_not_found")["output"]["completeTrackResults"][0]
    complete = [
        {**copy.deepcopy(known if index % 2 == 0 else unknown), "trackingNumber": number}
        for index, number in enumerate(numbers)
    ]
    _answer(api, {"output": {"completeTrackResults": complete}})

    # when
    results = _track(*numbers)

    # then
    (_token, track_call) = api.calls
    assert [info["trackingNumberInfo"]["trackingNumber"] for info in _sent(track_call)[
        "trackingInfo"]] == numbers  # fmt: skip
    assert list(results) == numbers
    assert [results[number].found for number in numbers] == [True, False] * 15
    assert {results[n].events[-1].status for n in numbers[::2]} == {"in_transit"}
    assert all(results[n].events == () and results[n].problem == "" for n in numbers[1::2])


def test_more_than_30_numbers_are_split_and_a_missing_answer_is_not_found(api):
    # given
    numbers = [f"8000000000{index:02d}" for index in range(31)]
    _answer(api, {"output": {"completeTrackResults": []}})

    # when
    results = _track(*numbers)

    # then
    sizes = [
        len(_sent(call)["trackingInfo"]) for call in api.calls if call.request.url == TRACK_URL
    ]
    assert sizes == [30, 1]
    assert {result.found for result in results.values()} == {False} and len(results) == 31


def test_an_unmapped_event_type_falls_back_on_the_derived_code_and_is_logged(api, caplog):
    # given
    body = copy.deepcopy(_payload("in_transit"))
    newest = body["output"]["completeTrackResults"][0]["trackResults"][0]["scanEvents"][0]
    newest.update(eventType="ZZ", derivedStatusCode="DE")

    # when
    _answer(api, body)
    with caplog.at_level(logging.WARNING, logger="carriers"):
        result = _track("61292701078443410536")["61292701078443410536"]

    # then
    assert _fields(result.events[-1]) == ("exception", "unknown", "EXCEPTION", "")
    assert "fedex: unmapped event code 'ZZ'" in caplog.text


def test_a_401_drops_the_token_and_fetches_a_new_one_once(api):
    # given
    api.post(TOKEN_URL, json={"access_token": "old", "expires_in": 3599})
    api.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3599})
    api.post(TRACK_URL, json=_payload("error_401_spec_example"), status=401)
    api.post(TRACK_URL, json=_payload("delivered"))

    # when
    result = _track("738488882438")["738488882438"]

    # then
    assert result.events[-1].status == "delivered"
    assert [call.request.url for call in api.calls] == [TOKEN_URL, TRACK_URL] * 2
    assert api.calls[1].request.headers["Authorization"] == "Bearer old"
    assert api.calls[3].request.headers["Authorization"] == "Bearer new"


def test_the_token_is_cached_across_calls_and_instances(api):
    # given
    _answer(api, _payload("delivered"))
    cache = MemoryCache()

    # when
    _track("738488882438", cache=cache)
    _track("738488882438", cache=cache)

    # then
    assert [call.request.url for call in api.calls] == [TOKEN_URL, TRACK_URL, TRACK_URL]


def test_bad_credentials_at_the_token_endpoint_are_rejected(api):
    # given
    api.post(TOKEN_URL, status=401, json=_payload("error_401_spec_example"))

    # when / then
    with pytest.raises(CarrierRejected, match="credentials refused"):
        _track("738488882438")
    assert [call.request.url for call in api.calls] == [TOKEN_URL]


def test_rate_limited_is_transient_and_keeps_retry_after(api):
    # given
    body = {"errors": [{"code": "TOO.MANY.REQUESTS", "message": "Too many requests"}]}
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.post(TRACK_URL, status=429, json=body, headers={"Retry-After": "10"})

    # when / then
    with pytest.raises(CarrierUnavailable) as raised:
        _track("738488882438")
    assert raised.value.retry_after == 10.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(api, status):
    # given
    _answer(api, _payload("error_503_spec_example"), status=status)

    # when / then
    with pytest.raises(CarrierUnavailable, match=f"HTTP {status}"):
        _track("738488882438")


def test_a_timeout_is_transient(api):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.post(TRACK_URL, body=requests.exceptions.ConnectTimeout())

    # when / then
    with pytest.raises(CarrierUnavailable, match="ConnectTimeout"):
        _track("738488882438")


@pytest.mark.parametrize(
    "body", ["<html>oops</html>", '{"output": {}}', '{"output": {"completeTrackResults": 7}}']
)
def test_a_malformed_answer_is_transient(api, body):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.post(TRACK_URL, body=body)

    # when / then
    with pytest.raises(CarrierUnavailable):
        _track("738488882438")


def test_a_400_that_is_not_about_the_numbers_is_rejected(api):
    # given
    _answer(api, {"errors": [{"code": "BAD.REQUEST.ERROR", "message": "?"}]}, status=400)

    # when / then
    with pytest.raises(CarrierRejected) as raised:
        _track("738488882438", "777")
    assert raised.value.status == 400
