"""Issue #19 item 1: a carrier account's base URL cannot make our workers call our own network.

Only flexEngage staff choose a base URL, and only a public one; every call checks it again and
connects to the address it checked; redirects are not followed; last_error never quotes what a
carrier answered. HTTP is mocked with `responses`, DNS with a fake resolver (the process
boundary): nothing here connects anywhere."""

import re

import pytest
import responses
from django.urls import reverse

from merchants.tests.factories import member_of
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tests.network import PUBLIC_ADDRESS
from tracking.models import CarrierAccount

pytestmark = pytest.mark.django_db

PROXY = "https://ups-proxy.example.com"  # a staff-approved, public base URL
REBOUND = "https://ups.rebound.example"  # a name that now resolves to a private address
NUMBER = "1Z5R89390357567127"
REMOTE_BODY = "redis_version:7.2.4\r\nrequirepass:hunter2-internal"
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
NOT_STAFF_ONLY = (
    "Only flexEngage staff can point an account at another API address; leave it blank for "
    "the carrier&#x27;s production API."
)


@pytest.fixture(autouse=True)
def dns(fake_dns):
    fake_dns(
        {"ups-proxy.example.com": PUBLIC_ADDRESS, "ups.rebound.example": "10.0.0.5"},
        others_public=False,
    )


def _form(merchant, **values) -> dict:
    return {"merchant": merchant.pk, "carrier": "ups", "client_id": "fdc-ups",
            "secret": "ups-s3cret", "base_url": "", "requests_per_minute": 60,
            "is_active": "on", **values}  # fmt: skip


# --- Saving a base URL in the console ---------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        METADATA,
        "http://[::1]:6379",
        "http://10.0.0.5",
        "http://127.0.0.1:8628",
        PROXY,  # public, but still not theirs to choose
    ],
)
def test_a_merchant_admin_cannot_point_a_carrier_account_at_another_address(
    client, merchant, base_url
):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when
    response = client.post(
        reverse("admin:tracking_carrieraccount_add"), _form(merchant, base_url=base_url)
    )
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "base_url": [NOT_STAFF_ONLY.replace("&#x27;", "'")]
    }
    assert not CarrierAccount.objects.exists()


def test_a_merchant_admin_may_save_an_account_with_the_default_address(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when
    response = client.post(reverse("admin:tracking_carrieraccount_add"), _form(merchant))
    # then
    assert response.status_code == 302
    account = CarrierAccount.objects.get()
    assert (account.merchant, account.base_url, account.secret) == (merchant, "", "ups-s3cret")


def test_a_merchant_admin_keeps_the_address_staff_chose_when_editing_the_account(client, merchant):
    # given
    account = CarrierAccount.objects.create(
        merchant=merchant, carrier="ups", client_id="fdc-ups", secret="s", base_url=PROXY
    )
    client.force_login(member_of(merchant, "admin"))
    change = reverse("admin:tracking_carrieraccount_change", args=[account.pk])
    # when: saved with another rate, the address untouched; then with another address
    kept = client.post(change, _form(merchant, base_url=PROXY, requests_per_minute=30))
    moved = client.post(change, _form(merchant, base_url="http://10.0.0.5"))
    # then
    assert kept.status_code == 302
    assert NOT_STAFF_ONLY in moved.content.decode()
    account.refresh_from_db()
    assert (account.base_url, account.requests_per_minute) == (PROXY, 30)


def test_staff_may_point_an_account_at_another_public_address(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:tracking_carrieraccount_add"), _form(merchant, base_url=PROXY)
    )
    # then
    assert response.status_code == 302
    assert CarrierAccount.objects.get().base_url == PROXY


@pytest.mark.parametrize(
    ("base_url", "problems"),
    [
        (METADATA, ["Use https; plain http is accepted only in development."]),
        ("https://[::1]:6379", ["Port 6379 is not allowed; use 443 (or 80)."]),
        (
            "https://192.0.0.8",
            ["The host 192.0.0.8 is not a public internet address."],
        ),
        (
            REBOUND,
            ["The host ups.rebound.example is not a public internet address."],
        ),
    ],
)
def test_staff_cannot_point_an_account_at_our_own_network(
    staff_client, merchant, base_url, problems
):
    # when
    response = staff_client.post(
        reverse("admin:tracking_carrieraccount_add"), _form(merchant, base_url=base_url)
    )
    # then
    assert response.context["adminform"].form.errors == {"base_url": problems}
    assert not CarrierAccount.objects.exists()


# --- Calling the carrier ------------------------------------------------------------------------


@pytest.fixture
def shipment(merchant):
    create_order(merchant, "1001")
    return ship(merchant, "1001", NUMBER, ("MUG", 1), carrier="ups").instance


def _account(merchant, base_url: str) -> CarrierAccount:
    # Created as staff would (or as rows saved before the guard existed).
    return CarrierAccount.objects.create(
        merchant=merchant, carrier="ups", client_id="fdc-ups", secret="ups-s3cret",
        base_url=base_url,
    )  # fmt: skip


def _token(base_url: str) -> None:
    responses.post(
        f"{base_url}/security/v1/oauth/token", json={"access_token": "t", "expires_in": 3600}
    )


@responses.activate
def test_a_refresh_never_puts_what_the_carrier_answered_in_last_error(
    api, staff_client, merchant, shipment
):
    # given: the carrier (or whatever listens there) answers 403 with a body
    _account(merchant, PROXY)
    _token(PROXY)
    responses.get(re.compile(f"{PROXY}/api/track/.*"), status=403, body=REMOTE_BODY)
    # when
    response = api.post(f"/api/v1/tracking/{NUMBER}/refresh", raw=b"")
    page = staff_client.get(reverse("console:order", args=[shipment.order_id]))
    # then
    assert response.status_code == 200
    shipment.refresh_from_db()
    assert (shipment.last_error, shipment.next_check_at) == ("ups: HTTP 403", None)
    assert "hunter2" not in response.content.decode()
    assert "ups: HTTP 403" in page.content.decode()
    assert "hunter2" not in page.content.decode()


@responses.activate
def test_a_redirect_from_the_carrier_is_not_followed(api, merchant, shipment):
    # given
    _account(merchant, PROXY)
    _token(PROXY)
    responses.get(re.compile(f"{PROXY}/api/track/.*"), status=302, headers={"Location": METADATA})
    metadata = responses.get(METADATA, body="AKIA-secret-key")
    # when
    response = api.post(f"/api/v1/tracking/{NUMBER}/refresh", raw=b"")
    # then
    assert response.status_code == 200
    assert metadata.call_count == 0
    assert [call.request.url.split("?")[0] for call in responses.calls] == [
        f"{PROXY}/security/v1/oauth/token",
        f"{PROXY}/api/track/v1/details/{NUMBER}",
    ]
    shipment.refresh_from_db()
    assert shipment.last_error == "ups: HTTP 302, a redirect (not followed)"


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (METADATA, "Use https; plain http is accepted only in development."),
        (
            REBOUND,  # public when saved, private now (DNS rebinding)
            "The host ups.rebound.example is not a public internet address.",
        ),
    ],
)
@responses.activate
def test_an_account_whose_address_is_not_public_is_never_called(
    api, merchant, shipment, base_url, problem
):
    # given: a row saved before the guard, or a name that resolves elsewhere since
    _account(merchant, base_url)
    anything = responses.add(responses.POST, re.compile(".*"), body=REMOTE_BODY)
    # when
    response = api.post(f"/api/v1/tracking/{NUMBER}/refresh", raw=b"")
    # then: refused before any connection, said in our words, and not retried
    assert response.status_code == 200
    assert (anything.call_count, len(responses.calls)) == (0, 0)
    shipment.refresh_from_db()
    assert (shipment.last_error, shipment.next_check_at) == (f"ups: {problem}", None)


@responses.activate
def test_another_merchant_cannot_refresh_the_shipment(other_api, merchant, shipment):
    # given
    _account(merchant, PROXY)
    # when
    response = other_api.post(f"/api/v1/tracking/{NUMBER}/refresh", raw=b"")
    # then
    assert response.status_code == 404
    assert len(responses.calls) == 0
    assert Shipment.objects.get(pk=shipment.pk).last_checked_at is None
