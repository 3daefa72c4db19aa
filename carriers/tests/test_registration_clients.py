"""The aggregators' registration calls (carriers/registration.py) at the HTTP boundary."""

import json
from pathlib import Path

import pytest
import responses

from carriers.base import CarrierUnavailable
from carriers.registration import Registered, RegistrationRefused, register

FIXTURES = Path(__file__).parent / "fixtures" / "aggregators"
AFTERSHIP_URL = "https://api.aftership.com/tracking/2026-07/trackings"


def _register(aggregator: str, **overrides):
    arguments = {"number": "1111111111111", "carrier": "fedex", "api_key": "key-123",
                 "base_url": f"https://api.{aggregator}.com"}  # fmt: skip
    return register(aggregator, **{**arguments, **overrides})


@responses.activate
def test_aftership_takes_a_flat_body_and_its_api_key_header():
    # given: the legacy answer's shape (the one recorded); its id is under data.tracking
    legacy = json.loads(
        (FIXTURES / "aftership_legacy_v4_create_tracking_response_sdk_fixture.json").read_text()
    )
    responses.post(AFTERSHIP_URL, status=201, json=legacy)
    # when
    registered = _register("aftership")
    # then
    assert registered == Registered("5b766a5cc7c33c0e007de3c9")
    request = responses.calls[0].request
    assert request.headers["as-api-key"] == "key-123"
    assert json.loads(request.body) == {"tracking_number": "1111111111111", "slug": "fedex"}


@responses.activate
def test_aftership_already_following_the_number_counts_as_registered():
    responses.post(
        AFTERSHIP_URL,
        status=400,
        json={"meta": {"code": 4003, "message": "Tracking already exists."}, "data": {}},
    )
    assert _register("aftership") == Registered("")


@responses.activate
def test_aftership_refusal_quotes_its_message():
    responses.post(
        AFTERSHIP_URL,
        status=422,
        json={"meta": {"code": 4005, "message": "The value of `slug` is invalid."}},
    )
    with pytest.raises(RegistrationRefused) as refused:
        _register("aftership")
    assert str(refused.value) == "aftership: HTTP 422, The value of `slug` is invalid."


@responses.activate
def test_a_429_is_transient_with_its_retry_after():
    responses.post(
        AFTERSHIP_URL,
        status=429,
        headers={"Retry-After": "7"},
        json={"meta": {"code": 429, "message": "TOO_MANY_REQUEST"}},
    )
    with pytest.raises(CarrierUnavailable) as transient:
        _register("aftership")
    assert (str(transient.value), transient.value.retry_after) == ("aftership: rate limited", 7.0)


def test_a_carrier_the_aggregator_does_not_follow_for_us_is_refused_without_a_call():
    with pytest.raises(RegistrationRefused) as refused:
        _register("shippo", carrier="sandbox")
    assert str(refused.value) == "shippo does not follow sandbox numbers for us."


@responses.activate
def test_easypost_error_message_is_the_reason():
    responses.post(
        "https://api.easypost.com/v2/trackers",
        status=422,
        json={"error": {"code": "TRACKER.INVALID", "message": "Invalid tracking code"}},
    )
    with pytest.raises(RegistrationRefused) as refused:
        _register("easypost")
    assert str(refused.value) == "easypost: HTTP 422, Invalid tracking code"
