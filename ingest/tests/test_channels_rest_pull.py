"""Pulling any OMS with a REST API (ingest/channels/rest_pull.py) through a format dictionary,
against fakes of Dynamics 365, Zoho Inventory and a NetSuite RESTlet (rest_oms.py): orders
created once, the cursor saved page by page, bad records rejected with their reason, failures
recorded on the connection and tried again later, and the SSRF guard on every call."""

import math
import time
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
import responses
import time_machine
from django.utils import timezone

from inbound.models import InboundMessage
from ingest.channels.pulls import platform_connection_pull
from ingest.channels.rest_pull import rest_pull
from ingest.tests.channel_samples import dictionary
from ingest.tests.rest_oms import (
    DATAVERSE_DICTIONARY,
    DATAVERSE_VIEW,
    RESTLET_DICTIONARY,
    RESTLET_URL,
    TOKEN,
    ZOHO_DICTIONARY,
    ZOHO_LIST,
    ZOHO_TOKEN,
    FakeDataverse,
    FakeRestlet,
    FakeZoho,
    dataverse_order,
    restlet_order,
    zoho_order,
)
from notifications.models import Notification
from orders.models import Order
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

LATER = math.inf  # a deadline never reached (time_machine moves time.monotonic too)


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


def _connection(merchant, mapping: dict, url: str, **fields) -> PlatformConnection:
    values = {"name": "Dynamics 365", "auth": "bearer", "secret": TOKEN, "records_path": "value",
              "page_size": 2, "max_pages": 20}  # fmt: skip
    return PlatformConnection.objects.create(
        merchant=merchant, kind="rest_pull", base_url=url,
        dictionary=dictionary(merchant, "json", mapping), **{**values, **fields},
    )  # fmt: skip


@pytest.fixture
def dynamics(merchant):
    return _connection(merchant, DATAVERSE_DICTIONARY, DATAVERSE_VIEW)


def _three_dataverse_orders() -> FakeDataverse:
    return FakeDataverse(orders=[
        dataverse_order("ORD-01003-C3D4", "2026-11-21T11:30:00Z"),
        dataverse_order("ORD-01001-A1B2", "2026-11-21T10:00:00Z",
                        lines=[("HD-01", "Trail Hoodie", 1.0), ("MUG-BLUE", "Blue Mug", 2.0)]),
        dataverse_order("ORD-01002-B2C3", "2026-11-21T11:30:00Z"),
    ]).install()  # fmt: skip


def _orders(merchant) -> list[tuple]:
    return [
        (o.order_id, o.customer_name, o.city,
         sorted((i.item_id, i.name, i.quantity_ordered) for i in o.line_items.all()))
        for o in Order.objects.filter(merchant=merchant).order_by("order_id")
    ]  # fmt: skip


@responses.activate
def test_a_dynamics_view_of_two_pages_creates_the_orders_through_the_dictionary(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    # when
    delivered = rest_pull(dynamics, LATER)
    # then: each order once; the second page by Dataverse's own next link
    assert delivered == 3
    assert _orders(merchant) == [
        ("ORD-01001-A1B2", "Jane Doe", "Austin",
         [("HD-01", "Trail Hoodie", 1), ("MUG-BLUE", "Blue Mug", 2)]),
        ("ORD-01002-B2C3", "Jane Doe", "Austin", [("HD-01", "Trail Hoodie", 1)]),
        ("ORD-01003-C3D4", "Jane Doe", "Austin", [("HD-01", "Trail Hoodie", 1)]),
    ]  # fmt: skip
    assert len(oms.calls) == 2
    assert "modifiedon%20ge%201970-01-01T00%3A00%3A00Z" in oms.calls[0]
    assert "%24skiptoken=2" in oms.calls[1]
    dynamics.refresh_from_db()
    assert dynamics.pull_cursor == "2026-11-21T11:30:00Z"
    assert set(InboundMessage.objects.values_list("channel", "outcome")) == {
        ("platform", "accepted")
    }


@responses.activate
def test_run_twice_nothing_is_logged_or_applied_again(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    rest_pull(dynamics, LATER)
    oms.calls.clear()
    # when: the records at the cursor are read again (the filter is "at or after")
    delivered = rest_pull(dynamics, LATER)
    # then
    assert delivered == 0
    assert "modifiedon%20ge%202026-11-21T11%3A30%3A00Z" in oms.calls[0]
    assert InboundMessage.objects.filter(merchant=merchant).count() == 3
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_an_order_changed_in_the_oms_is_read_again_and_a_new_one_is_added(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    rest_pull(dynamics, LATER)
    # when: one order gets a second line, a fourth order is placed
    lines = [("HD-01", "Trail Hoodie", 1.0), ("CAP", "Cap", 1.0)]
    oms.orders[2] = dataverse_order("ORD-01002-B2C3", "2026-11-22T08:00:00Z", lines=lines)
    oms.orders.append(dataverse_order("ORD-01004-D4E5", "2026-11-22T09:00:00Z"))
    delivered = rest_pull(dynamics, LATER)
    # then
    assert delivered == 2
    order = Order.objects.get(merchant=merchant, order_id="ORD-01002-B2C3")
    assert sorted(order.line_items.values_list("item_id", flat=True)) == ["CAP", "HD-01"]
    assert Order.objects.filter(merchant=merchant).count() == 4
    dynamics.refresh_from_db()
    assert dynamics.pull_cursor == "2026-11-22T09:00:00Z"


@responses.activate
def test_a_record_the_dictionary_cannot_map_is_rejected_with_its_reason_and_the_rest_go_on(
    merchant, dynamics
):
    # given: an order without its number
    oms = _three_dataverse_orders()
    oms.orders[1]["ordernumber"] = None
    # when
    rest_pull(dynamics, LATER)
    # then
    assert [o[0] for o in _orders(merchant)] == ["ORD-01002-B2C3", "ORD-01003-C3D4"]
    rejected = InboundMessage.objects.get(merchant=merchant, outcome="rejected")
    assert rejected.error_code == "MISSING_FIELD"
    assert rejected.response()["error"]["message"] == "ordernumber: Missing: needed for orderId."
    assert b'"ordernumber": null' in bytes(rejected.body)  # kept raw, to replay once fixed
    dynamics.refresh_from_db()
    assert dynamics.pull_cursor == "2026-11-21T11:30:00Z"  # the pull went past it


@responses.activate
def test_a_pull_stops_at_its_page_budget_and_the_next_goes_on(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    dynamics.max_pages = 1
    dynamics.save()
    # when
    first = rest_pull(dynamics, LATER)
    dynamics.refresh_from_db()
    cursor = dynamics.pull_cursor
    second = rest_pull(dynamics, LATER)
    # then
    assert (first, cursor, second) == (2, "2026-11-21T11:30:00Z", 1)
    assert len(oms.calls) == 2
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_a_pull_past_its_deadline_reads_nothing(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    # when
    delivered = rest_pull(dynamics, time.monotonic() - 1)
    # then
    assert (delivered, oms.calls) == (0, [])


@responses.activate
def test_throttled_the_connection_waits_as_asked_and_is_pulled_again_later(merchant, dynamics):
    # given: Dataverse's service protection limit, with its Retry-After
    oms = _three_dataverse_orders()
    oms.down, oms.retry_after = 429, "3600"
    now = timezone.now()
    # when
    with time_machine.travel(now, tick=False):
        platform_connection_pull(dynamics, deadline=LATER)
    # then: recorded, still on, its next pull after the wait asked for
    dynamics.refresh_from_db()
    assert (dynamics.is_active, dynamics.consecutive_failures, dynamics.last_error) == (
        True, 1, "contoso.crm.dynamics.com answered 429.")  # fmt: skip
    assert dynamics.next_pull_at == now + timedelta(hours=1)
    assert Order.objects.filter(merchant=merchant).count() == 0
    # when: the limit is lifted
    oms.down = None
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        platform_connection_pull(dynamics, deadline=LATER)
    # then
    dynamics.refresh_from_db()
    assert (dynamics.consecutive_failures, dynamics.last_sync_at) == (0, now + timedelta(hours=1))
    assert dynamics.next_pull_at == now + timedelta(hours=1, minutes=15)
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_failures_in_a_row_wait_longer_each_time(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    oms.down, oms.retry_after = 503, ""
    now = timezone.now()
    # when
    waits = []
    for _ in range(3):
        with time_machine.travel(now, tick=False):
            platform_connection_pull(dynamics, deadline=LATER)
        dynamics.refresh_from_db()
        waits.append(dynamics.next_pull_at - now)
    # then
    assert waits == [timedelta(minutes=15), timedelta(minutes=30), timedelta(minutes=60)]


@responses.activate
def test_the_third_failed_pull_in_a_row_alerts_staff_once_per_run_of_failures(merchant, dynamics):
    # given
    merchant.alert_emails = "ops@fred.example"
    merchant.save()
    oms = _three_dataverse_orders()
    oms.down = 503

    def alerts() -> list[dict]:
        rows = Notification.objects.filter(trigger="platform_failing", channel="staff_email")
        return [row.payload["connection"] for row in rows.order_by("pk")]

    # when: four failed pulls
    for _ in range(4):
        platform_connection_pull(dynamics, deadline=LATER)
    # then: one alert, at the third, naming the connection and the error
    assert alerts() == [{"pk": dynamics.pk, "name": "Dynamics 365",
                         "kind": "Any OMS with a REST API (pulled)", "failures": 3,
                         "error": "contoso.crm.dynamics.com answered 503."}]  # fmt: skip
    # when: a good pull, then three failed ones again
    oms.down = None
    platform_connection_pull(dynamics, deadline=LATER)
    oms.down = 502
    for _ in range(3):
        platform_connection_pull(dynamics, deadline=LATER)
    # then: a second alert for the second run
    assert [(alert["failures"], alert["error"]) for alert in alerts()] == [
        (3, "contoso.crm.dynamics.com answered 503."),
        (3, "contoso.crm.dynamics.com answered 502."),
    ]


@responses.activate
def test_refused_credentials_are_recorded_without_showing_them(merchant, dynamics):
    # given
    _three_dataverse_orders()
    dynamics.secret = "a-revoked-token-9876"
    dynamics.save()
    # when
    platform_connection_pull(dynamics, deadline=LATER)
    # then
    dynamics.refresh_from_db()
    assert dynamics.last_error == (
        "contoso.crm.dynamics.com answered 401: the credentials were refused."
    )
    assert "9876" not in dynamics.last_error


@responses.activate
def test_an_address_inside_our_network_is_refused_and_never_called(merchant, fake_dns):
    # given: the OMS's name resolves to a private address
    fake_dns({"oms.internal.example": "10.0.0.7"})
    connection = _connection(
        merchant, DATAVERSE_DICTIONARY,
        "https://oms.internal.example/api/orders?since={since}",
    )  # fmt: skip
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then: refused before any request (responses would raise on an unknown URL)
    connection.refresh_from_db()
    assert connection.last_error == (
        "The address is refused: The host oms.internal.example is not a public internet address."
    )
    assert len(responses.calls) == 0


@responses.activate
def test_a_next_page_link_to_another_host_is_refused(merchant):
    # given: an answer whose next link points elsewhere
    connection = _connection(merchant, DATAVERSE_DICTIONARY,
                             "https://oms.example.com/orders?since={since}")  # fmt: skip
    responses.get("https://oms.example.com/orders", json={
        "value": [dataverse_order("ORD-1", "2026-11-21T10:00:00Z")],
        "@odata.nextLink": "https://elsewhere.example.net/orders?page=2",
    })  # fmt: skip
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.last_error == "The next-page link leaves oms.example.com."


@responses.activate
def test_a_full_page_all_at_one_moment_goes_on_by_page_number(merchant):
    # given: three orders saved in the same minute, two a page
    oms = FakeRestlet(orders=[restlet_order(f"SO100{n}", "11/21/2026 2:05 am") for n in (1, 2, 3)])
    oms.install()
    connection = _connection(merchant, RESTLET_DICTIONARY, RESTLET_URL, name="NetSuite",
                             records_path="results")  # fmt: skip
    # when
    delivered = rest_pull(connection, LATER)
    # then: page 1 from the start, then from 10:05 UTC: page 1 (the same two), page 2 (the third)
    assert delivered == 3
    assert [(c["since"], c["page"]) for c in oms.calls] == [
        ("1970-01-01T00:00:00Z", "1"), ("2026-11-21T10:05:00Z", "1"),
        ("2026-11-21T10:05:00Z", "2")]  # fmt: skip
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_an_order_updated_during_a_pull_is_not_lost_to_sliding_pages(merchant):
    # given: four orders, two a page; the first is updated between the two pages' reads
    def first_updated_after_page_one(oms: FakeRestlet) -> None:
        if len(oms.calls) == 1:
            oms.orders[0]["values"]["lastmodifieddate"] = "11/21/2026 5:00 am"

    FakeRestlet(
        orders=[restlet_order(f"SO100{hour}", f"11/21/2026 {hour}:00 am") for hour in range(1, 5)],
        after_answer=first_updated_after_page_one,
    ).install()
    connection = _connection(merchant, RESTLET_DICTIONARY, RESTLET_URL, records_path="results")
    # when
    rest_pull(connection, LATER)
    # then: all four, the updated one read again
    assert Order.objects.filter(merchant=merchant).count() == 4
    assert InboundMessage.objects.filter(merchant=merchant).count() == 5


@responses.activate
def test_zoho_pages_by_number_and_reads_its_last_page_again_next_time(merchant):
    # given: five sales orders, two a page, a header key
    oms = FakeZoho(orders=[zoho_order(n) for n in range(1, 6)]).install()
    connection = _connection(
        merchant, ZOHO_DICTIONARY, ZOHO_LIST, name="Zoho Inventory", auth="header",
        username="Authorization", secret=ZOHO_TOKEN, records_path="salesorders",
        cursor_kind="page",
    )  # fmt: skip
    # when
    first = rest_pull(connection, LATER)
    # then: pages 1 to 3 (Zoho said no more after 3); page 3 is the one to read next time
    assert (first, oms.calls) == (5, ["page 1", "page 2", "page 3"])
    connection.refresh_from_db()
    assert connection.pull_cursor == "3"
    order = Order.objects.get(merchant=merchant, order_id="SO-00001")
    assert (order.customer_email, order.currency) == ("molly@example.com", "USD")
    # when: a sixth order, then the next pull
    oms.orders.append(zoho_order(6))
    oms.calls.clear()
    second = rest_pull(connection, LATER)
    # then: page 3 again, only the new order delivered
    assert (second, oms.calls) == (1, ["page 3"])
    assert Order.objects.filter(merchant=merchant).count() == 6


@responses.activate
def test_a_netsuite_restlet_pages_from_the_cursor_in_the_accounts_time_zone(merchant):
    # given: a RESTlet answering its saved search, dates in Pacific time
    oms = FakeRestlet(orders=[
        restlet_order("SO1001", "11/21/2026 2:05 am"),
        restlet_order("SO1002", "11/21/2026 9:40 am"),
        restlet_order("SO1003", "11/21/2026 3:15 pm"),
    ]).install()  # fmt: skip
    connection = _connection(merchant, RESTLET_DICTIONARY, RESTLET_URL, name="NetSuite",
                             records_path="results")  # fmt: skip
    # when
    delivered = rest_pull(connection, LATER)
    # then: the next page asked from the newest read (9:40 Pacific); the cursor the newest
    assert delivered == 3
    assert [(c["since"], c["page"]) for c in oms.calls] == [
        ("1970-01-01T00:00:00Z", "1"), ("2026-11-21T17:40:00Z", "1")]  # fmt: skip
    connection.refresh_from_db()
    assert connection.pull_cursor == "2026-11-21T23:15:00Z"
    order = Order.objects.get(merchant=merchant, order_id="SO1001")
    assert (order.customer_name, order.customer_email) == ("Jane Doe", "jane@example.com")
    assert list(order.line_items.values_list("item_id", "name", "quantity_ordered")) == [
        ("MUG-BLUE", "Blue Mug", 2)
    ]


@responses.activate
def test_a_dictionary_without_the_updated_time_is_refused_with_what_to_do(merchant, dynamics):
    # given
    oms = _three_dataverse_orders()
    dynamics.dictionary.mapping = {k: v for k, v in DATAVERSE_DICTIONARY.items()
                                   if k != "occurredAt"}  # fmt: skip
    dynamics.dictionary.save()
    # when
    platform_connection_pull(dynamics, deadline=LATER)
    # then
    dynamics.refresh_from_db()
    assert dynamics.last_error == (
        "The format dictionary “json format” maps no occurredAt: the updated-since cursor is "
        "the newest occurredAt read (map it to the record's last-modified time)."
    )
    assert oms.calls == []


@responses.activate
def test_another_merchants_dictionary_is_never_used(merchant, other_merchant):
    # given: a connection pointed at the other merchant's dictionary
    oms = _three_dataverse_orders()
    theirs = dictionary(other_merchant, "json", DATAVERSE_DICTIONARY)
    connection = _connection(merchant, DATAVERSE_DICTIONARY, DATAVERSE_VIEW)
    PlatformConnection.objects.filter(pk=connection.pk).update(dictionary=theirs)
    connection.refresh_from_db()
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.last_error == "Choose the format dictionary that maps the OMS's records."
    assert (oms.calls, Order.objects.count()) == ([], 0)


# --- OAuth 2.0: an access token asked for at each pull -------------------------------------------

ENTRA = "https://login.microsoftonline.com/8c5d1f2a-0b7e-4c1d-9a57-2f3e4d5c6b7a/oauth2/v2.0/token"
ZOHO_ACCOUNTS = "https://accounts.zoho.com/oauth/v2/token"


def _token_request(call) -> dict:
    return dict(parse_qsl(call.request.body))


@responses.activate
def test_dynamics_with_client_credentials_asks_entra_for_a_token_then_pulls(merchant):
    # given: an app registration's client id and secret
    responses.post(ENTRA, json={"token_type": "Bearer", "expires_in": 3599,
                                "ext_expires_in": 3599, "access_token": TOKEN})  # fmt: skip
    _three_dataverse_orders()
    connection = _connection(
        merchant, DATAVERSE_DICTIONARY, DATAVERSE_VIEW, auth="oauth2cc", secret="app-secret-1",
        username="5f2b7c1e-app", token_url=ENTRA,
        token_scope="https://contoso.crm.dynamics.com/.default",
    )  # fmt: skip
    # when
    delivered = rest_pull(connection, LATER)
    # then: one token for the pull, sent as a bearer token on each page
    assert delivered == 3
    token_calls = [call for call in responses.calls if call.request.url == ENTRA]
    assert [_token_request(call) for call in token_calls] == [{
        "client_id": "5f2b7c1e-app", "client_secret": "app-secret-1",
        "grant_type": "client_credentials", "scope": "https://contoso.crm.dynamics.com/.default",
    }]  # fmt: skip


@responses.activate
def test_zoho_with_a_refresh_token_sends_its_access_token_its_own_way(merchant):
    # given
    responses.post(ZOHO_ACCOUNTS, json={
        "access_token": ZOHO_TOKEN.split()[1], "api_domain": "https://www.zohoapis.com",
        "token_type": "Bearer", "expires_in": 3600,
    })  # fmt: skip
    oms = FakeZoho(orders=[zoho_order(1)]).install()
    connection = _connection(
        merchant, ZOHO_DICTIONARY, ZOHO_LIST, name="Zoho Inventory", auth="oauth2rt",
        username="1000.CLIENTID", secret="zoho-client-secret", refresh_token="1000.refresh.77",
        token_url=ZOHO_ACCOUNTS, token_scheme="Zoho-oauthtoken", records_path="salesorders",
        cursor_kind="page",
    )  # fmt: skip
    # when
    delivered = rest_pull(connection, LATER)
    # then: the fake answers only "Authorization: Zoho-oauthtoken <token>"
    assert (delivered, oms.calls) == (1, ["page 1"])
    assert _token_request(responses.calls[0]) == {
        "client_id": "1000.CLIENTID", "client_secret": "zoho-client-secret",
        "grant_type": "refresh_token", "refresh_token": "1000.refresh.77",
    }  # fmt: skip


@responses.activate
def test_a_refused_token_request_names_the_oauth_error_and_nothing_else(merchant):
    # given: Entra's answer to a wrong secret, whose description we must not echo
    responses.post(ENTRA, status=401, json={
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided: app-secret-1",
    })  # fmt: skip
    oms = _three_dataverse_orders()
    connection = _connection(
        merchant, DATAVERSE_DICTIONARY, DATAVERSE_VIEW, auth="oauth2cc",
        username="5f2b7c1e-app", secret="app-secret-1", token_url=ENTRA,
    )  # fmt: skip
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.last_error == (
        "login.microsoftonline.com refused the token request (invalid_client)."
    )
    assert oms.calls == []


@responses.activate
def test_a_refresh_token_zoho_no_longer_knows_is_refused(merchant):
    # given: Zoho answers 200 with an error code
    responses.post(ZOHO_ACCOUNTS, json={"error": "invalid_code"})
    connection = _connection(
        merchant, ZOHO_DICTIONARY, ZOHO_LIST, auth="oauth2rt", username="1000.CLIENTID",
        secret="s", refresh_token="1000.old", token_url=ZOHO_ACCOUNTS, cursor_kind="page",
    )  # fmt: skip
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.last_error == "accounts.zoho.com gave no access token (invalid_code)."


@responses.activate
def test_an_invalid_dictionary_is_named_on_the_connection(merchant, dynamics):
    # given: a dictionary broken behind the admin's back
    oms = _three_dataverse_orders()
    dynamics.dictionary.mapping = {**DATAVERSE_DICTIONARY, "fields": {"order.shipped": {}}}
    dynamics.dictionary.save()
    # when
    platform_connection_pull(dynamics, deadline=LATER)
    # then
    dynamics.refresh_from_db()
    assert dynamics.last_error.startswith("The format dictionary “json format” is invalid: ")
    assert oms.calls == []


@responses.activate
def test_a_record_that_is_not_an_object_is_rejected_and_kept(merchant):
    # given: a list holding a string among the orders
    responses.get("https://oms.example.com/orders", json={
        "value": [dataverse_order("ORD-1", "2026-11-21T10:00:00Z"), "ORD-2"],
    })  # fmt: skip
    connection = _connection(merchant, DATAVERSE_DICTIONARY,
                             "https://oms.example.com/orders?since={since}")  # fmt: skip
    # when
    delivered = rest_pull(connection, LATER)
    # then
    assert delivered == 2
    assert list(Order.objects.values_list("order_id", flat=True)) == ["ORD-1"]
    rejected = InboundMessage.objects.get(outcome="rejected")
    assert (rejected.error_code, bytes(rejected.body)) == ("INVALID_RECORD", b'"ORD-2"')
