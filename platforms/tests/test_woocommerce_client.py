"""The WooCommerce REST client on its own: the admin's "Test connection" (CHECKS), and how each
of the store's answers becomes one of the two failures (the HTTP boundary mocked)."""

import pytest
import responses

from ingest.tests.test_channels_woocommerce import connection_for
from platforms.checks import CHECKS
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.clients.woocommerce import woocommerce_note
from platforms.writers import WRITERS

pytestmark = pytest.mark.django_db

STORE = "https://fred.example/wp-json/wc/v3"
NOTE = {"platformOrder": {"connection": "c", "id": "48213"}, "writeNote": True,
        "status": "delivered", "tracking": {}}  # fmt: skip


@pytest.fixture
def store(merchant, fake_dns):
    fake_dns({"intranet.fred.example": "10.0.0.8"})
    return connection_for(merchant)


@responses.activate
def test_test_connection_reads_one_order_with_the_key(store):
    # given
    listed = responses.get(f"{STORE}/orders", json=[{"id": 48213, "number": "1057"}])
    # when
    answer = CHECKS["woocommerce"](store)
    # then
    assert answer == "WooCommerce store answered."
    assert listed.calls[0].request.url == f"{STORE}/orders?per_page=1"
    assert listed.calls[0].request.headers["Authorization"] == "Basic Y2tfZnJlZDpjc19mcmVk"


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, ck_fred…"},
         "WooCommerce refused the API key (woocommerce_rest_cannot_view)."),
        (403, {"code": "woocommerce_rest_cannot_view"},
         "WooCommerce refused the API key (it needs Read/Write) (woocommerce_rest_cannot_view)."),
        (404, {"code": "rest_no_route", "message": "No route was found"},
         "WooCommerce found no such order or route (rest_no_route)."),
        (404, {"code": "<script>"}, "WooCommerce found no such order or route."),
    ],
)  # fmt: skip
def test_a_refusal_names_the_stores_code_never_its_message(store, status, body, message):
    # given
    responses.get(f"{STORE}/orders", status=status, json=body)
    # when
    with pytest.raises(PlatformRefused) as refused:
        CHECKS["woocommerce"](store)
    # then
    assert (str(refused.value), refused.value.response_status) == (message, status)


@responses.activate
def test_a_redirect_is_not_followed_and_says_what_to_check(store):
    # given
    responses.get(f"{STORE}/orders", status=301, headers={"Location": "https://www.fred.example/"})
    # when
    with pytest.raises(PlatformRefused) as refused:
        CHECKS["woocommerce"](store)
    # then
    assert str(refused.value).startswith("WooCommerce answered with a redirect (HTTP 301)")
    assert len(responses.calls) == 1


@responses.activate
def test_a_page_that_is_not_the_rest_api_is_refused(store):
    # given: plain permalinks: WordPress answers its home page
    responses.get(f"{STORE}/orders", status=200, body="<!doctype html><html>…</html>")
    # when
    with pytest.raises(PlatformRefused) as refused:
        CHECKS["woocommerce"](store)
    # then
    assert str(refused.value) == (
        "The store did not answer as the WooCommerce REST API (is /wp-json/ reachable?)."
    )


@responses.activate
@pytest.mark.parametrize(("status", "retry_after"), [(429, 30.0), (502, None)])
def test_throttling_and_server_errors_are_worth_a_retry(store, status, retry_after):
    # given
    headers = {"Retry-After": "30"} if retry_after else {}
    responses.post(f"{STORE}/orders/48213/notes", status=status, headers=headers)
    # when
    with pytest.raises(PlatformUnavailable) as unavailable:
        WRITERS["woocommerce"](store, NOTE)
    # then
    assert (unavailable.value.response_status, unavailable.value.retry_after) == (
        status, retry_after,
    )  # fmt: skip


@responses.activate
def test_a_store_on_a_private_address_is_never_called(store):
    # given
    store.base_url = "https://intranet.fred.example"
    # when
    with pytest.raises(PlatformRefused) as refused:
        WRITERS["woocommerce"](store, NOTE)
    # then
    assert str(refused.value).startswith("The store URL is refused:")
    assert len(responses.calls) == 0


@responses.activate
def test_an_order_id_that_is_not_a_number_never_reaches_a_url(store):
    # when
    with pytest.raises(PlatformRefused):
        WRITERS["woocommerce"](store, {**NOTE, "platformOrder": {"id": "../../users"}})
    # then
    assert len(responses.calls) == 0


def test_the_note_says_status_carrier_number_place_and_time():
    # given: the tracking object as webhooks show it (events newest last or first alike)
    tracking = {
        "trackingNumber": "1Z5R89390357567127", "carrier": "ups", "carrierName": "",
        "lastUpdated": "2026-11-21T15:00:00Z",
        "events": [
            {"timestamp": "2026-11-21T14:03:00Z", "location": {"city": "Austin", "state": "TX",
                                                               "country": "US"}},
            {"timestamp": "2026-11-20T09:00:00Z", "location": {"city": "Dallas", "state": "TX",
                                                               "country": "US"}},
        ],
    }  # fmt: skip
    # when
    note = woocommerce_note({"status": "delivered", "tracking": tracking})
    # then
    assert (
        note
        == "flexTracker: Delivered. UPS 1Z5R89390357567127 – Austin, TX, US – 2026-11-21 14:03 UTC."
    )
