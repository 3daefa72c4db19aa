"""The UPS adapter against recorded UPS answers; HTTP mocked at the requests layer only."""

import copy
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses

from carriers.base import (
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    MemoryCache,
    TrackQuery,
)
from carriers.events import Location
from carriers.ups import Ups

FIXTURES = Path(__file__).parent / "fixtures" / "ups"
BASE = "https://apis.example.test"
TOKEN_URL = f"{BASE}/security/v1/oauth/token"
CREDENTIALS = Credentials("id", "secret", BASE)
CREATED = datetime(2024, 3, 18, 12, 0, tzinfo=UTC)
PLUS_8, PLUS_1, MINUS_4 = (timezone(timedelta(hours=h)) for h in (8, 1, -4))


def _payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _details_url(number: str) -> str:
    return f"{BASE}/api/track/v1/details/{number}"


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _track(number: str, cache: MemoryCache | None = None):
    carrier = Ups(CREDENTIALS, cache if cache is not None else MemoryCache())
    return carrier.track([TrackQuery(number, CREATED)])[number]


def _answer(api, number: str, body: dict, status: int = 200) -> None:
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.get(_details_url(number), json=body, status=status)


def test_in_transit_maps_each_activity_on_its_codes_with_its_local_offset(api):
    # given
    _answer(api, "1Z1202R66698804005", _payload("in_transit.DERIVED"))

    # when
    result = _track("1Z1202R66698804005")

    # then
    assert result.found is True and result.problem == ""
    newest = result.events[-1]
    assert (newest.status, newest.status_detail, newest.event_type) == (
        "in_transit", "arrived_at_facility", "TRANSIT",
    )  # fmt: skip
    assert newest.occurred_at == datetime(2024, 3, 20, 7, 7, tzinfo=PLUS_8)
    assert newest.occurred_at.utcoffset() == timedelta(hours=8)
    assert newest.occurred_at == datetime(2024, 3, 19, 23, 7, tzinfo=UTC)
    assert newest.location == Location(city="Changi", country="SG")
    assert (newest.raw_code, newest.raw_description) == ("I/AR/005", "Arrived at Facility")
    assert newest.exception_code == ""
    first, pickup = result.events[0], result.events[1]
    assert (first.status, first.status_detail, first.event_type) == (
        "pre_transit", "label_created", "LABEL",
    )  # fmt: skip
    assert first.occurred_at == datetime(2024, 3, 18, 12, 49, 17, tzinfo=PLUS_1)
    assert (pickup.status, pickup.status_detail, pickup.event_type, pickup.raw_code) == (
        "in_transit", "picked_up", "PICKUP", "P/PU/038",
    )  # fmt: skip
    assert len(result.events) == 16
    assert result.origin == Location(city="Brussels", country="BE")
    assert result.destination == Location(city="CAIRNS", country="AU")
    assert result.service == "UPS Express®"
    assert result.estimated_delivery_date is None and result.estimated_delivery_at is None


def test_the_request_carries_a_bearer_token_and_a_fresh_transaction_id(api):
    # given
    _answer(api, "1Z1202R66698804005", _payload("in_transit.DERIVED"))
    carrier = Ups(CREDENTIALS, MemoryCache())

    # when
    carrier.track([TrackQuery("1Z1202R66698804005", CREATED)])
    carrier.track([TrackQuery("1Z1202R66698804005", CREATED)])

    # then
    token_call, first, second = api.calls
    assert token_call.request.headers["Authorization"] == "Basic aWQ6c2VjcmV0"  # id:secret
    assert token_call.request.body == "grant_type=client_credentials"
    assert first.request.headers["Authorization"] == "Bearer access_token"
    assert first.request.headers["transactionSrc"] == "flextracker"
    assert re.fullmatch(r"[0-9a-f]{32}", first.request.headers["transId"])
    assert first.request.headers["transId"] != second.request.headers["transId"]
    assert first.request.url == (
        f"{_details_url('1Z1202R66698804005')}?locale=en_US&returnSignature=false"
        "&returnMilestones=false&returnPOD=false"
    )


def test_delivered_without_gmt_fields_is_read_as_utc(api):
    # given: UPS's official sample has no gmtDate/gmtTime/gmtOffset
    _answer(api, "1Z1442YY7229014688", _payload("delivered"))

    # when
    result = _track("1Z1442YY7229014688")

    # then
    label, delivered = result.events
    assert (delivered.status, delivered.status_detail, delivered.event_type) == (
        "delivered", "delivered", "DELIVERY",
    )  # fmt: skip
    assert delivered.occurred_at == datetime(2022, 1, 26, 16, 30, tzinfo=UTC)
    assert delivered.occurred_at.tzinfo == UTC
    assert delivered.location == Location(city="PARAMUS", state="NJ", country="US")
    assert (delivered.raw_code, delivered.raw_description) == ("D/F4/011", "DELIVERED ")
    assert delivered.description == "DELIVERED"
    assert label.status == "pre_transit" and label.raw_code == "M/MP/003"
    assert label.description == "Shipper created a label, UPS has not received the package yet."
    assert result.estimated_delivery_date == date(2022, 1, 26)
    assert result.estimated_delivery_at == datetime(2022, 1, 26, 16, 30, tzinfo=UTC)


def test_customs_hold_is_an_exception_but_a_customs_release_is_not(api):
    # given
    _answer(api, "1Z1202R66698804005", _payload("exception"))

    # when
    result = _track("1Z1202R66698804005")

    # then
    newest = result.events[-1]
    assert (newest.status, newest.status_detail, newest.event_type, newest.exception_code) == (
        "exception", "customs_hold", "CUSTOMS", "006",
    )  # fmt: skip
    assert newest.occurred_at == datetime(2024, 3, 20, 19, 8, 38, tzinfo=PLUS_8)
    assert newest.location == Location()  # only a SLIC, no address
    assert newest.raw_code == "X//092"
    assert newest.raw_description == "The package is at the clearing agency awaiting final release."
    by_code = {(e.raw_code, e.occurred_at): e for e in result.events}
    on_the_way = by_code["X/DA/014", datetime(2024, 3, 18, 17, 16, 5, tzinfo=UTC)]
    assert (on_the_way.status, on_the_way.status_detail, on_the_way.exception_code) == (
        "in_transit", "in_transit", "",
    )  # fmt: skip
    pending = by_code["X/RZ/012", datetime(2024, 3, 18, 17, 16, 5, tzinfo=UTC)]
    assert (pending.status, pending.status_detail, pending.exception_code) == (
        "exception", "customs_hold", "006",
    )  # fmt: skip
    released = by_code["X/RZ/014", datetime(2024, 3, 18, 20, 38, 29, tzinfo=UTC)]
    assert (released.status, released.status_detail, released.event_type) == (
        "in_transit", "customs_processing", "CUSTOMS",
    )  # fmt: skip
    asks_sender = by_code["X/BB/058", datetime(2024, 3, 18, 17, 36, 23, tzinfo=UTC)]
    assert (asks_sender.status, asks_sender.exception_code) == ("exception", "006")


def test_out_for_delivery_and_the_scheduled_date(api):
    # given
    _answer(api, "1Z204W4R0308071865", _payload("out_for_delivery.DERIVED"))

    # when
    result = _track("1Z204W4R0308071865")

    # then
    newest = result.events[-1]
    assert (newest.status, newest.status_detail, newest.event_type, newest.raw_code) == (
        "out_for_delivery", "out_for_delivery", "TRANSIT", "I/OT/021",
    )  # fmt: skip
    assert newest.occurred_at == datetime(2024, 4, 23, 9, 15, 19, tzinfo=MINUS_4)
    assert newest.location == Location("Charlotte", "NC", "30004", "US")
    assert result.estimated_delivery_date == date(2024, 4, 23)
    assert result.estimated_delivery_at is None


def _with_newest_status(status: dict, description: str = "", *, proof: bool = False) -> dict:
    body = copy.deepcopy(_payload("delivered"))
    package = body["trackResponse"]["shipment"][0]["package"][0]
    package["activity"][0]["status"] = {**status, "description": description}
    if not proof:
        del package["deliveryDate"], package["deliveryTime"]
    return body


@pytest.mark.parametrize(
    ("status", "description", "proof", "expected"),
    [
        ({"type": "D", "code": "ZZ", "statusCode": "999"}, "Loaded", False,
         ("out_for_delivery", "out_for_delivery", "")),
        ({"type": "D", "code": "ZZ", "statusCode": "999"}, "Left at door", True,
         ("delivered", "delivered", "")),
        ({"type": "X", "code": "ZZ", "statusCode": "999"}, "Held", False,
         ("exception", "unknown", "")),
        ({"type": "I", "code": "ZZ"}, "Moving", False, ("in_transit", "in_transit", "")),
        ({"type": "MV", "code": "ZZ"}, "Voided", False, ("cancelled", "cancelled", "")),
        ({"type": "X", "code": "ZZ"}, "Returning to Sender: the receiver refused it", False,
         ("return_to_sender", "return_to_sender", "")),
        ({"type": "X", "code": "ZZ"}, "The receiver was not available for delivery.", False,
         ("failed_attempt", "recipient_not_available", "001")),
        ({"type": "D", "code": "ZZ"}, "Delivered to UPS Access Point. Awaiting customer pickup",
         True, ("available_for_pickup", "available_for_pickup", "")),
    ],
)  # fmt: skip
def test_unmapped_codes_fall_back_on_the_type_letter_and_are_logged(
    api, caplog, status, description, proof, expected
):
    # given
    _answer(api, "1Z1442YY7229014688", _with_newest_status(status, description, proof=proof))

    # when
    with caplog.at_level(logging.WARNING, logger="carriers"):
        newest = _track("1Z1442YY7229014688").events[-1]

    # then
    assert (newest.status, newest.status_detail, newest.exception_code) == expected
    assert "ups: unmapped event code" in caplog.text or status["type"] == "MV"


def test_an_updated_delivery_date_never_moves_the_status(api):
    # given: a type U activity is the newest one
    body = _payload("out_for_delivery.DERIVED")
    activities = body["trackResponse"]["shipment"][0]["package"][0]["activity"]
    update = {"type": "U", "code": "RD", "description": "New date"}
    activities.insert(
        0, {**activities[0], "time": "101500", "gmtTime": "14:15:00", "status": update}
    )
    _answer(api, "1Z204W4R0308071865", body)

    # when
    result = _track("1Z204W4R0308071865")

    # then
    newest = result.events[-1]
    assert newest.raw_code == "U/RD/"
    assert (newest.status, newest.status_detail) == ("out_for_delivery", "out_for_delivery")


def test_not_found_yet_is_a_200_with_warning_tw0001(api):
    # given
    _answer(api, "1Z12345E1505270452", _payload("warning_not_found"))

    # when
    result = _track("1Z12345E1505270452")

    # then
    assert (result.found, result.problem, result.events) == (False, "", ())


def test_an_invalid_number_is_that_numbers_problem(api):
    # given
    _answer(api, "1Z12345E020527079", _payload("error_invalid_tracking_number"), status=400)

    # when
    result = _track("1Z12345E020527079")

    # then
    assert result.found is False
    assert result.problem == "UPS: Invalid inquiry number (TV1002)"


def test_another_400_rejects_the_call(api):
    # given
    _answer(api, "1Z1", {"response": {"errors": [{"code": "TV9999", "message": "?"}]}}, 400)

    # when / then
    with pytest.raises(CarrierRejected) as raised:
        _track("1Z1")
    assert raised.value.status == 400


def test_a_401_drops_the_token_and_fetches_a_new_one_once(api):
    # given
    api.post(TOKEN_URL, json={"access_token": "old", "expires_in": "14399"})
    api.post(TOKEN_URL, json={"access_token": "new", "expires_in": "14399"})
    api.get(_details_url("1Z1442YY7229014688"), json=_payload("error_auth"), status=401)
    api.get(_details_url("1Z1442YY7229014688"), json=_payload("delivered"))

    # when
    result = _track("1Z1442YY7229014688")

    # then
    assert result.events[-1].status == "delivered"
    urls = [call.request.url.split("?")[0] for call in api.calls]
    assert urls == [TOKEN_URL, _details_url("1Z1442YY7229014688")] * 2
    assert api.calls[1].request.headers["Authorization"] == "Bearer old"
    assert api.calls[3].request.headers["Authorization"] == "Bearer new"


def test_a_second_401_is_a_hard_failure(api):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.get(_details_url("1Z1"), json=_payload("error_auth"), status=401)

    # when / then
    with pytest.raises(CarrierRejected) as raised:
        _track("1Z1")
    assert raised.value.status == 401
    assert len(api.calls) == 4  # token, 401, token again, 401: no third try


def test_the_token_is_cached_across_calls_and_instances(api):
    # given
    _answer(api, "1Z1442YY7229014688", _payload("delivered"))
    cache = MemoryCache()

    # when
    _track("1Z1442YY7229014688", cache)
    _track("1Z1442YY7229014688", cache)

    # then
    assert sum(call.request.url == TOKEN_URL for call in api.calls) == 1
    assert len(api.calls) == 3


def test_bad_credentials_at_the_token_endpoint_are_rejected(api):
    # given
    api.post(TOKEN_URL, status=401, json={"response": {"errors": [{"code": "250002"}]}})

    # when / then
    with pytest.raises(CarrierRejected, match="credentials refused"):
        _track("1Z1442YY7229014688")
    assert [call.request.url for call in api.calls] == [TOKEN_URL]


@pytest.mark.parametrize(("headers", "retry_after"), [({"Retry-After": "30"}, 30.0), ({}, None)])
def test_rate_limited_is_transient_and_keeps_retry_after(api, headers, retry_after):
    # given: UPS itself sends no Retry-After (CARRIERS.md §2); honoured when present
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    body = {"response": {"errors": [{"code": "10429", "message": "Too Many Requests"}]}}
    api.get(_details_url("1Z1"), json=body, status=429, headers=headers)

    # when / then
    with pytest.raises(CarrierUnavailable) as raised:
        _track("1Z1")
    assert raised.value.retry_after == retry_after


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(api, status):
    # given
    _answer(api, "1Z1", {"response": {"errors": [{"code": "10004"}]}}, status=status)

    # when / then
    with pytest.raises(CarrierUnavailable, match=f"HTTP {status}"):
        _track("1Z1")


def test_a_timeout_is_transient(api):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.get(_details_url("1Z1"), body=requests.exceptions.ConnectTimeout())

    # when / then
    with pytest.raises(CarrierUnavailable, match="ConnectTimeout"):
        _track("1Z1")


@pytest.mark.parametrize("body", ["<html>Bad gateway</html>", '{"unexpected": true}', "[1, 2]"])
def test_a_malformed_answer_is_transient(api, body):
    # given
    api.post(TOKEN_URL, json=_payload("oauth_token_response"))
    api.get(_details_url("1Z1"), body=body, status=200)

    # when / then
    with pytest.raises(CarrierUnavailable):
        _track("1Z1")
