"""The Canada Post adapter against recorded tracking-detail XML (fixtures/canada_post/, copied
from ../shared/samples/canadapost/); HTTP mocked with `responses` only."""

import base64
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
from carriers.canada_post import CanadaPost
from carriers.events import Location

BASE = "https://apis.example.test"
PIN = "1371134583769923"
TRACK_URL = f"{BASE}/vis/track/pin/{PIN}/detail"
FIXTURES = Path(__file__).parent / "fixtures" / "canada_post"
CREATED = datetime(2011, 1, 31, tzinfo=UTC)
XML = "application/vnd.cpc.track-v2+xml"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _track():
    canada_post = CanadaPost(Credentials("id", "secret", BASE), MemoryCache())
    return canada_post.track([TrackQuery(PIN, CREATED)])[PIN]


def _summary(events) -> list[tuple]:
    return [(e.raw_code, e.status, e.status_detail, e.event_type, e.exception_code) for e in events]


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mocked:
        yield mocked


def test_an_in_transit_answer_is_normalized_with_basic_auth(mocked):
    # given
    basic = base64.b64encode(b"id:secret").decode()
    mocked.get(TRACK_URL, body=_fixture("in_transit.DERIVED.xml"), content_type=XML, match=[
        matchers.header_matcher({"Authorization": f"Basic {basic}", "Accept": XML}),
    ])  # fmt: skip

    # when
    result = _track()

    # then
    assert (result.found, result.problem, result.service) == (True, "", "Xpresspost")
    assert result.estimated_delivery_date == date(2011, 2, 11)  # the changed expected date
    assert result.destination == Location(postal_code="G1K4M7", country="CA")
    newest = result.events[0]
    assert _summary([newest]) == [("100", "in_transit", "arrived_at_facility", "TRANSIT", "")]
    assert newest.occurred_at.isoformat() == "2011-02-02T14:45:48-05:00"
    assert newest.location == Location("QUEBEC", "QC", "", "CA")
    assert newest.raw["event-identifier"] == "0100"  # the zeros are stripped from the code only
    assert newest.raw_description == "Item processed at postal facility"
    assert _summary(result.events[1:2]) == [
        ("173", "in_transit", "address_issue", "TRANSIT", "")  # "Possible delay"
    ]


def test_out_for_delivery_is_read_through_the_zero_padding(mocked):
    # given
    mocked.get(TRACK_URL, body=_fixture("out_for_delivery.xml"), content_type=XML)

    # when
    result = _track()

    # then
    assert _summary([result.events[0]]) == [
        ("174", "out_for_delivery", "out_for_delivery", "TRANSIT", "")
    ]
    assert result.events[0].occurred_at.isoformat() == "2011-02-03T08:27:43-05:00"
    assert result.events[0].location == Location("SAINTE-FOY", "QC", "", "CA")


def test_a_signature_image_event_takes_the_status_of_the_event_it_follows(mocked):
    # given: "20" recorded eight minutes after "0500" out for delivery
    mocked.get(TRACK_URL, body=_fixture("out_for_delivery.xml"), content_type=XML)

    # when
    signature = next(event for event in _track().events if event.raw_code == "20")

    # then
    assert _summary([signature]) == [("20", "out_for_delivery", "out_for_delivery", "TRANSIT", "")]
    assert signature.occurred_at.isoformat() == "2011-02-01T07:59:52-05:00"
    assert signature.recipient == "R GREGOIRE"
    assert signature.raw_description == "Signature image recorded for Online viewing"


def test_a_delivered_answer_keeps_the_signature_beside_the_delivery(mocked):
    # given
    mocked.get(TRACK_URL, body=_fixture("delivered.xml"), content_type=XML)

    # when
    result = _track()

    # then
    assert _summary(result.events[:3]) == [
        ("1496", "delivered", "delivered", "DELIVERY", ""),
        ("20", "delivered", "delivered", "DELIVERY", ""),
        ("174", "out_for_delivery", "out_for_delivery", "TRANSIT", ""),
    ]
    assert result.events[0].occurred_at == result.events[1].occurred_at
    assert result.events[0].occurred_at.isoformat() == "2011-02-03T11:59:59-05:00"
    assert result.events[1].recipient == "HETU"
    assert _summary(result.events[-2:]) == [
        ("2300", "in_transit", "picked_up", "PICKUP", ""),
        ("3000", "pre_transit", "label_created", "LABEL", ""),
    ]


def test_a_pre_transit_answer_without_an_expected_date(mocked):
    # given
    mocked.get(TRACK_URL, body=_fixture("pre_transit_order_info_received.xml"), content_type=XML)

    # when
    result = _track()

    # then
    assert _summary(result.events) == [("3000", "pre_transit", "label_created", "LABEL", "")]
    assert result.events[0].occurred_at.isoformat() == "2014-01-26T20:18:06-05:00"
    assert (result.estimated_delivery_date, result.service) == (None, "Expedited Parcels")


def test_a_notice_card_and_a_final_notice_carry_exception_codes(mocked):
    # given
    mocked.get(TRACK_URL, body=_fixture("exception_final_notice.DERIVED.xml"), content_type=XML)
    mocked.get(TRACK_URL, body=_fixture("exception_attempted_then_delivered_dnc.xml"),
               content_type=XML)  # fmt: skip

    # when
    final_notice = _track()
    delivered_later = _track()

    # then
    assert _summary(final_notice.events[:3]) == [
        ("156", "exception", "recipient_not_available", "EXCEPTION", "001"),
        ("1479", "failed_attempt", "recipient_not_available", "DELIVERY_ATTEMPT", "001"),
        ("1701", "available_for_pickup", "available_for_pickup", "TRANSIT", ""),
    ]
    assert final_notice.events[0].location == Location("VANKLEEK HILL", "ON", "", "CA")
    assert final_notice.events[0].occurred_at.isoformat() == "2011-01-18T07:57:50-05:00"
    assert _summary(delivered_later.events[:1]) == [
        ("1498", "delivered", "delivered", "DELIVERY", "")
    ]


def test_unknown_codes_fall_back_on_the_text_and_are_logged(mocked, caplog):
    # given
    body = _fixture("in_transit.DERIVED.xml")
    body = body.replace("<event-identifier>0100</event-identifier>",
                        "<event-identifier>9999</event-identifier>", 1)  # fmt: skip
    body = body.replace("Item processed at postal facility", "Item being returned to sender", 1)
    body = body.replace("<event-identifier>0173</event-identifier>",
                        "<event-identifier>9998</event-identifier>", 1)  # fmt: skip
    mocked.get(TRACK_URL, body=body, content_type=XML)

    # when
    with caplog.at_level(logging.WARNING, logger="carriers"):
        result = _track()

    # then
    assert _summary(result.events[:2]) == [
        ("9999", "return_to_sender", "return_to_sender", "RETURN", ""),
        ("9998", "in_transit", "in_transit", "TRANSIT", ""),
    ]
    assert "canada_post: unmapped event code '9999'" in caplog.text


def test_no_pin_history_is_not_found_yet(mocked):
    # given: active_shipping stubs 004 with HTTP 400 (the real status is unverified)
    mocked.get(TRACK_URL, status=400, body=_fixture("error_no_pin_history.xml"), content_type=XML)

    # when
    result = _track()

    # then
    assert (result.found, result.events, result.problem) == (False, (), "")
    assert result.raw == {"messages": [("004", "No Pin History")]}


def test_another_message_is_a_problem_for_that_pin(mocked):
    # given
    body = _fixture("error_no_pin_history.xml").replace("004", "001").replace(
        "No Pin History", "Invalid PIN"
    )  # fmt: skip
    mocked.get(TRACK_URL, status=400, body=body, content_type=XML)

    # when
    result = _track()

    # then
    assert (result.found, result.problem) == (False, "Canada Post: 001 Invalid PIN")


@pytest.mark.parametrize("status", [401, 200])
def test_an_authentication_failure_is_rejected(mocked, status):
    # given
    mocked.get(TRACK_URL, status=status, body=_fixture("error_auth_E002.xml"), content_type=XML)

    # when / then
    with pytest.raises(CarrierRejected) as raised:
        _track()
    assert raised.value.status == 401


@pytest.mark.parametrize(
    "declaration",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<!doctype tracking-detail SYSTEM "file:///etc/passwd">',
    ],
    ids=["entities", "external-dtd"],
)
def test_an_answer_with_a_dtd_is_refused(mocked, declaration):
    # given
    body = _fixture("delivered.xml").replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>\n{declaration}',
    )
    mocked.get(TRACK_URL, body=body, content_type=XML)

    # when / then
    with pytest.raises(CarrierUnavailable, match="declares a DTD; refused"):
        _track()


def test_rate_limiting_is_transient_and_keeps_retry_after(mocked):
    # given
    mocked.get(TRACK_URL, status=429, headers={"Retry-After": "60"}, body="")

    # when
    with pytest.raises(CarrierUnavailable) as raised:
        _track()

    # then
    assert raised.value.retry_after == 60.0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "body": "<html>oops</html>"},
        {"body": requests.exceptions.ConnectTimeout()},
        {"body": (FIXTURES / "delivered.xml").read_text()[:1500]},  # truncated XML
        {"body": "<unexpected/>"},
        {"body": "<tracking-detail/>".encode("utf-16")},
    ],
    ids=["5xx", "timeout", "truncated", "unexpected-root", "not-utf-8"],
)
def test_server_errors_timeouts_and_garbage_are_transient(mocked, answer):
    # given
    mocked.get(TRACK_URL, content_type=XML, **answer)

    # when / then
    with pytest.raises(CarrierUnavailable):
        _track()
