"""The Shopify GraphQL client on its own: the admin's "Test connection" (CHECKS), our statuses as
Shopify's, the request against Shopify's documented example, and how each of Shopify's answers
becomes one of the two failures (the HTTP boundary mocked)."""

import json

import pytest
import responses
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from carriers.vocabulary import Status, StatusDetail
from ingest.tests.test_channels_shopify import shop_for
from merchants.tests.factories import member_of
from platforms.checks import CHECKS
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.clients.shopify import shopify_event_status
from platforms.tests.test_shopify_writeback import GRAPHQL, TOKEN, admin_sample
from platforms.writers import WRITERS

pytestmark = pytest.mark.django_db

ROW = {"status": "out_for_delivery", "writeNote": True, "sourceReference": "237894043",
       "platformOrder": {"connection": "c", "id": "450789469"}, "tracking": {}}  # fmt: skip
CREATED = {"data": {"fulfillmentEventCreate": {
    "fulfillmentEvent": {"id": "gid://shopify/FulfillmentEvent/944956394",
                         "status": "OUT_FOR_DELIVERY"},
    "userErrors": [],
}}}  # fmt: skip


@pytest.fixture
def store(merchant, fake_dns):
    fake_dns({"intranet.fred.example": "10.0.0.8"})
    connection = shop_for(merchant)
    connection.secret = TOKEN
    connection.save()
    return connection


@pytest.mark.parametrize(
    ("status", "detail", "shopify_status"),
    [
        (Status.PRE_TRANSIT, StatusDetail.LABEL_CREATED, "LABEL_PURCHASED"),
        (Status.IN_TRANSIT, StatusDetail.DEPARTED_FACILITY, "IN_TRANSIT"),
        (Status.OUT_FOR_DELIVERY, StatusDetail.OUT_FOR_DELIVERY, "OUT_FOR_DELIVERY"),
        (Status.AVAILABLE_FOR_PICKUP, StatusDetail.AVAILABLE_FOR_PICKUP, "READY_FOR_PICKUP"),
        (Status.DELIVERED, StatusDetail.DELIVERED_TO_AGENT, "DELIVERED"),
        (Status.FAILED_ATTEMPT, StatusDetail.RECIPIENT_NOT_AVAILABLE, "ATTEMPTED_DELIVERY"),
        (Status.EXCEPTION, StatusDetail.WEATHER_DELAY, "DELAYED"),
        (Status.EXCEPTION, StatusDetail.CUSTOMS_HOLD, "DELAYED"),
        (Status.EXCEPTION, StatusDetail.DAMAGED, "FAILURE"),
        (Status.RETURN_TO_SENDER, StatusDetail.RETURN_TO_SENDER, "FAILURE"),
        (Status.CANCELLED, StatusDetail.CANCELLED, "FAILURE"),
        (Status.EXPIRED, StatusDetail.UNKNOWN, None),
        (Status.UNKNOWN, StatusDetail.UNKNOWN, None),
    ],
)
def test_our_statuses_as_shopifys_fulfillment_event_statuses(status, detail, shopify_status):
    assert shopify_event_status(status, detail) == shopify_status


@responses.activate
def test_the_event_is_created_as_shopifys_reference_shows_it(store):
    # given
    documented = admin_sample("fulfillment_event_create_request.json")
    created = responses.post(GRAPHQL, json=CREATED)
    row = {**ROW, "tracking": {
        "statusDetail": "out_for_delivery", "estimatedDelivery": "2024-03-07T16:50:00Z",
        "events": [{"timestamp": "2024-03-07T15:50:00Z", "status": "out_for_delivery",
                    "description": "This package is now out for delivery!",
                    "location": {"city": "Ottawa", "state": "Ontario", "country": "Canada",
                                 "postalCode": "K2P 2L8"}}],
    }}  # fmt: skip
    # when
    answer = WRITERS["shopify"](store, row)
    # then: the documented example's values, without the street and coordinates we do not have
    assert answer == "gid://shopify/FulfillmentEvent/944956394"
    sent = json.loads(created.calls[0].request.body)
    expected = documented["variables"]["fulfillmentEvent"]
    for unknown_to_us in ("address1", "latitude", "longitude"):
        del expected[unknown_to_us]
    assert sent["variables"]["fulfillmentEvent"] == expected
    assert "fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent)" in sent["query"]
    assert created.calls[0].request.headers["X-Shopify-Access-Token"] == TOKEN


@responses.activate
def test_a_throttled_answer_waits_until_the_bucket_holds_the_calls_cost(store):
    # given: Shopify's real throttled answer: cost 752, 666 available, 50 restored a second
    responses.post(GRAPHQL, json=admin_sample("graphql_throttled.json"))
    # when
    with pytest.raises(PlatformUnavailable) as throttled:
        WRITERS["shopify"](store, ROW)
    # then: (752 - 666) / 50 = 1.72 s, rounded up
    assert throttled.value.retry_after == 1.8


@responses.activate
def test_a_429_without_a_cost_waits_as_its_retry_after_says(store):
    responses.post(
        GRAPHQL, status=429, headers={"Retry-After": "2.0"},
        json={"errors": "Exceeded 2 calls per second for api client."},
    )  # fmt: skip
    with pytest.raises(PlatformUnavailable) as throttled:
        WRITERS["shopify"](store, ROW)
    assert (throttled.value.retry_after, throttled.value.response_status) == (2.0, 429)
    assert str(throttled.value) == "Shopify throttled the call."


@responses.activate
def test_a_graphql_error_is_refused_without_shopifys_words(store):
    responses.post(GRAPHQL, json=admin_sample("graphql_query_error.json"))
    with pytest.raises(PlatformRefused) as refused:
        WRITERS["shopify"](store, ROW)
    assert str(refused.value) == (
        "Shopify refused the call with a GraphQL error (API version 2025-07)."
    )


@responses.activate
def test_a_redirect_is_not_followed(store):
    responses.post(GRAPHQL, status=301, headers={"Location": "https://fred.example/admin"})
    with pytest.raises(PlatformRefused) as refused:
        WRITERS["shopify"](store, ROW)
    assert str(refused.value) == (
        "Shopify answered with a redirect (HTTP 301): use the store's myshopify.com address."
    )
    assert len(responses.calls) == 1


@responses.activate
def test_a_store_on_a_private_address_is_never_called(store):
    store.base_url = "https://intranet.fred.example"
    with pytest.raises(PlatformRefused) as refused:
        WRITERS["shopify"](store, ROW)
    assert str(refused.value).startswith("The store URL is refused:")
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize("reference", ["", "12; DROP", "gid://shopify/Order/450789469"])
def test_a_shipment_without_a_fulfillment_id_never_reaches_shopify(store, reference):
    with pytest.raises(PlatformRefused) as refused:
        WRITERS["shopify"](store, {**ROW, "sourceReference": reference})
    assert str(refused.value) == "The shipment has no Shopify fulfillment to write to."
    assert len(responses.calls) == 0


@responses.activate
def test_a_status_shopify_has_no_event_for_writes_nothing(store):
    assert WRITERS["shopify"](store, {**ROW, "status": "expired"}) == (
        "nothing to write: Shopify has no fulfillment event for expired"
    )
    assert len(responses.calls) == 0


@responses.activate
def test_an_oversized_answer_is_not_read(store):
    responses.post(GRAPHQL, body=b"x" * (300 * 1024))
    with pytest.raises(PlatformUnavailable) as too_big:
        WRITERS["shopify"](store, ROW)
    assert str(too_big.value) == "Shopify answered more than 262144 bytes."


@responses.activate
def test_test_connection_reads_the_shops_name_with_the_token(store):
    shop = responses.post(GRAPHQL, json={"data": {"shop": {"name": "Fred's Discount City"}}})
    assert CHECKS["shopify"](store) == "Shop: Fred's Discount City"
    assert shop.calls[0].request.headers["X-Shopify-Access-Token"] == TOKEN


@responses.activate
def test_the_merchants_admin_tests_the_connection_and_reads_the_answer(client, store, merchant):
    # given
    responses.post(GRAPHQL, status=401, json={"errors": f"[API] Invalid API key {TOKEN}"})
    client.force_login(member_of(merchant, "admin"))
    # when
    page = client.post(
        reverse("admin:platforms_platformconnection_changelist"),
        {"action": "test_connection", ACTION_CHECKBOX_NAME: [store.pk]}, follow=True,
    )  # fmt: skip
    # then: our words, never the token
    content = page.content.decode()
    assert "Fred.myshopify.com: Shopify refused the Admin API access token." in content
    assert TOKEN not in content
