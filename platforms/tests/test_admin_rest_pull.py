"""The console's page of a REST pull connection: what it needs to run, "Test connection" reading
page 1 without applying it, and "Pull now" waking the worker."""

from datetime import timedelta

import pytest
import responses
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from inbound.models import InboundMessage
from ingest.tasks import pull_platforms
from ingest.tests.channel_samples import dictionary
from ingest.tests.rest_oms import (
    DATAVERSE_DICTIONARY,
    DATAVERSE_VIEW,
    TOKEN,
    FakeDataverse,
    dataverse_order,
)
from merchants.tests.factories import member_of
from orders.models import Order
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:platforms_platformconnection_changelist"


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


def _form(merchant, format_dictionary, **overrides) -> dict:
    values = {
        "merchant": merchant.pk, "name": "Dynamics 365", "kind": "rest_pull",
        "base_url": DATAVERSE_VIEW, "username": "", "secret": TOKEN, "webhook_secret": "",
        "auth": "bearer", "pull_every_minutes": "15", "cursor_kind": "updated_since",
        "records_path": "value", "page_size": "2", "max_pages": "20",
        "dictionary": format_dictionary.pk if format_dictionary else "", "is_active": "on",
    }  # fmt: skip
    return {**values, **overrides}


def _add(staff_client, data: dict):
    return staff_client.post(reverse("admin:platforms_platformconnection_add"), data)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_staff_connect_a_dynamics_view_through_a_dictionary(staff_client, merchant):
    # given
    found = dictionary(merchant, "json", DATAVERSE_DICTIONARY)
    # when
    response = _add(staff_client, _form(merchant, found))
    # then
    assert response.status_code == 302
    connection = PlatformConnection.objects.get(merchant=merchant)
    assert (connection.kind, connection.dictionary, connection.secret) == (
        "rest_pull", found, TOKEN)  # fmt: skip


def test_what_a_pull_needs_is_asked_for_by_name(staff_client, merchant):
    # given: no auth, no dictionary, no {since} in the URL
    data = _form(merchant, None, auth="", base_url="https://contoso.crm.dynamics.com/orders")
    # when
    response = _add(staff_client, data)
    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (errors["auth"], errors["dictionary"], errors["base_url"]) == (
        ["Choose how we authenticate to the OMS."],
        ["Required: the format dictionary that maps a record."],
        ["The URL needs {since} where the cursor goes."],
    )
    assert not PlatformConnection.objects.exists()


def test_a_header_key_needs_the_headers_name_and_a_page_cursor_needs_page(staff_client, merchant):
    # given
    found = dictionary(merchant, "json", DATAVERSE_DICTIONARY)
    data = _form(merchant, found, auth="header", cursor_kind="page")
    # when
    response = _add(staff_client, data)
    # then
    errors = response.context["adminform"].form.errors
    assert (errors["username"], errors["base_url"]) == (
        ["Required: the user name, the header's name, or the OAuth client id."],
        ["The URL needs {page} where the cursor goes."],
    )


def test_oauth_needs_its_token_address_and_keeps_the_refresh_token_write_only(
    staff_client, merchant
):
    # given
    found = dictionary(merchant, "json", DATAVERSE_DICTIONARY)
    zoho = {"auth": "oauth2rt", "username": "1000.CLIENTID", "token_scheme": "Zoho-oauthtoken"}
    # when: neither the token address nor the refresh token
    refused = _add(staff_client, _form(merchant, found, **zoho))
    # then
    errors = refused.context["adminform"].form.errors
    assert (errors["token_url"], errors["refresh_token"]) == (
        ["Required: where OAuth 2.0 tokens are asked for."],
        ["Required for the refresh-token grant."],
    )
    # when: both
    zoho.update(token_url="https://accounts.zoho.com/oauth/v2/token", refresh_token="1000.r.77")
    saved = _add(staff_client, _form(merchant, found, **zoho))
    # then
    assert saved.status_code == 302
    connection = PlatformConnection.objects.get(merchant=merchant)
    assert connection.refresh_token == "1000.r.77"
    page = staff_client.get(
        reverse("admin:platforms_platformconnection_change", args=[connection.pk])
    )
    assert b"1000.r.77" not in page.content and TOKEN.encode() not in page.content


def test_staff_set_where_the_next_pull_starts(staff_client, merchant):
    # given
    found = dictionary(merchant, "json", DATAVERSE_DICTIONARY)
    # when
    refused = _add(staff_client, _form(merchant, found, pull_cursor="last Monday"))
    saved = _add(staff_client, _form(merchant, found, pull_cursor="2026-12-01T00:00:00Z"))
    # then
    assert refused.context["adminform"].form.errors["pull_cursor"] == [
        "A date-time in ISO 8601: 2026-12-01T00:00:00Z."
    ]
    assert saved.status_code == 302
    assert PlatformConnection.objects.get().pull_cursor == "2026-12-01T00:00:00Z"


def test_a_dictionary_reading_a_list_of_records_is_refused(staff_client, merchant):
    # given
    found = dictionary(merchant, "json", {**DATAVERSE_DICTIONARY, "records": "value"})
    # when
    response = _add(staff_client, _form(merchant, found))
    # then
    assert response.context["adminform"].form.errors["dictionary"] == [
        "Each pulled record is mapped alone: remove “records” from the dictionary and give it "
        "as the records path."
    ]


def _connection(merchant, **fields) -> PlatformConnection:
    return PlatformConnection.objects.create(
        merchant=merchant, name="Dynamics 365", kind="rest_pull", base_url=DATAVERSE_VIEW,
        auth="bearer", secret=TOKEN, records_path="value", page_size=2,
        dictionary=dictionary(merchant, "json", DATAVERSE_DICTIONARY), **fields,
    )  # fmt: skip


def _three_orders() -> FakeDataverse:
    return FakeDataverse(orders=[
        dataverse_order(f"ORD-0100{n}-A1B2", f"2026-11-21T1{n}:00:00Z") for n in range(1, 4)
    ]).install()  # fmt: skip


@responses.activate
def test_test_connection_reads_page_one_and_applies_nothing(staff_client, merchant):
    # given
    connection = _connection(merchant)
    oms = _three_orders()
    # when
    response = staff_client.post(reverse(CHANGELIST), {
        "action": "test_connection", "_selected_action": [connection.pk],
    })  # fmt: skip
    # then
    assert _messages(response) == [
        "Dynamics 365: Page 1 answered 2 records at “value” (more pages follow); nothing was "
        "applied."
    ]
    assert len(oms.calls) == 1
    assert (InboundMessage.objects.count(), Order.objects.count()) == (0, 0)
    connection.refresh_from_db()
    assert connection.pull_cursor == ""


@responses.activate
def test_pull_now_makes_the_connection_due_and_the_worker_pulls_it(staff_client, merchant):
    # given: a connection pulled a minute ago, and a WooCommerce store (nothing to pull)
    later = timezone.now() + timedelta(minutes=14)
    connection = _connection(merchant, next_pull_at=later)
    woo = PlatformConnection.objects.create(
        merchant=merchant, name="Woo", kind="woocommerce", base_url="https://fred.example"
    )
    _three_orders()
    # when
    response = staff_client.post(reverse(CHANGELIST), {
        "action": "pull_now", "_selected_action": [connection.pk, woo.pk],
    })  # fmt: skip
    # then
    assert _messages(response) == [
        "Pulling now: Dynamics 365. The result shows here as the last sync or the last error.",
        "1 connection(s) skipped: switched off, or not pulled (webhooks bring their orders).",
    ]
    connection.refresh_from_db()
    assert connection.next_pull_at <= timezone.now()
    # when: the worker runs the task
    pull_platforms()
    # then
    connection.refresh_from_db()
    assert connection.last_sync_at is not None and connection.next_pull_at > timezone.now()
    assert Order.objects.filter(merchant=merchant).count() == 3


def test_a_merchant_user_cannot_pull_another_merchants_connection(client, merchant, other_merchant):
    # given
    theirs = _connection(other_merchant, next_pull_at=timezone.now() + timedelta(hours=1))
    client.force_login(member_of(merchant, "admin"))
    # when
    client.post(reverse(CHANGELIST), {"action": "pull_now", "_selected_action": [theirs.pk]})
    # then
    theirs.refresh_from_db()
    assert theirs.next_pull_at > timezone.now()
