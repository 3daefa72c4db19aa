"""Issue 19 items 3, 4 and 20 through the real URLs: login lockout (per username and address,
visible to staff only), the staff pages' and the API's security headers, and a YAML schema that a
YAML 1.2 reader reads as we meant it."""

import io
from datetime import timedelta

import pytest
import time_machine
import yaml
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from ruamel.yaml import YAML

from flextracker.headers import ADMIN_POLICY, API_POLICY, CONSOLE_POLICY
from merchants.tests.factories import member_of
from orders.tests.factories import create_order

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # merchants.tests.factories.UserFactory's
LOGIN = "/admin/login/?next=/console/"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent_user(merchant):
    return member_of(merchant, "agent")


def _log_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client, username: str, times: int, address: str = "127.0.0.1") -> None:
    for attempt in range(1, times + 1):
        response = _log_in(client, username, "wrong password", address)
        # the login form again with its error, then the lockout page from the 5th on
        assert response.status_code == (429 if attempt >= 5 else 200)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Item 3: login lockout ----------------------------------------------------------------------


def test_four_failures_still_let_the_right_password_in(client, agent_user):
    # given
    _fail(client, agent_user.username, 4)
    # when
    response = _log_in(client, agent_user.username, PASSWORD)
    # then: and the success wipes the count
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert _logged_in(client)
    assert not AccessAttempt.objects.exists()


def test_five_failures_lock_the_login_out_even_with_the_right_password(client, agent_user):
    # given
    _fail(client, agent_user.username, 5)
    # when
    response = _log_in(client, agent_user.username, PASSWORD)
    # then
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert (
        "Logins for this user, or from your address, failed 5 times in a row, so they are "
        "locked." in page
    )
    assert "Try again in 15 minutes" in page
    assert not _logged_in(client)
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == (agent_user.username, "127.0.0.1")
    assert attempt.failures_since_start == 6


def test_the_lockout_holds_for_the_user_anywhere_and_for_anyone_at_the_address(
    client, merchant, agent_user
):
    # given: agent_user failed 5 times from 127.0.0.1
    colleague = member_of(merchant, "agent")
    _fail(client, agent_user.username, 5)
    # when / then: the same user from another address is locked (guesses spread over addresses)
    assert _log_in(client, agent_user.username, PASSWORD, address="127.0.0.2").status_code == 429
    # and so is anyone at that address
    assert _log_in(client, colleague.username, PASSWORD).status_code == 429
    # while a colleague elsewhere logs in
    assert _log_in(client, colleague.username, PASSWORD, address="127.0.0.3").status_code == 302


def test_one_password_sprayed_over_many_users_locks_the_address(client, merchant, agent_user):
    # given: one guess for each of five usernames from one address
    for number in range(5):
        _log_in(client, f"someone-{number}", "Winter2026!")
    # when: a real user's right password from that address
    response = _log_in(client, agent_user.username, PASSWORD)
    # then
    assert response.status_code == 429 and not _logged_in(client)


def test_the_lockout_ends_after_its_cool_off(client, agent_user):
    # given
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _fail(client, agent_user.username, 5)
        assert _log_in(client, agent_user.username, PASSWORD).status_code == 429
        # when
        traveller.shift(timedelta(minutes=15, seconds=1))
        response = _log_in(client, agent_user.username, PASSWORD)
    # then
    assert response.status_code == 302 and _logged_in(client)


def test_staff_see_the_lockout_and_lift_it(client, staff, agent_user):
    # given
    _fail(client, agent_user.username, 5)
    client.force_login(staff)
    attempt = AccessAttempt.objects.get()
    # when: staff find it in the admin
    listing = client.get("/admin/axes/accessattempt/?locked_out=yes")
    # then
    assert listing.status_code == 200
    assert agent_user.username in listing.content.decode()
    # when: and delete it
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    # then: the agent logs in again
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert _log_in(client, agent_user.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_merchant_users_never_see_the_lockouts(client, merchant, other_merchant, role):
    # given: a lockout of another merchant's user
    locked = member_of(other_merchant, "agent")
    _fail(client, locked.username, 5)
    client.force_login(member_of(merchant, role))
    # when
    listing = client.get("/admin/axes/accessattempt/")
    index = client.get("/admin/")
    # then
    assert listing.status_code == 403
    assert "/admin/axes/" not in index.content.decode()
    assert AccessAttempt.objects.get().username == locked.username


# --- Item 4: headers ----------------------------------------------------------------------------


def test_console_pages_are_never_cached_and_carry_a_strict_policy(client, merchant):
    # given
    order = create_order(merchant, "FDC-1001", customer_name="Jane Doe")
    client.force_login(member_of(merchant, "agent"))
    # when
    pages = [client.get(reverse("console:search"), {"q": "FDC"}),
             client.get(reverse("console:order", args=[order.pk]))]  # fmt: skip
    # then
    for response in pages:
        assert response.status_code == 200
        assert (
            response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        )
        assert response["Content-Security-Policy"] == CONSOLE_POLICY
    assert CONSOLE_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def test_the_console_login_and_the_admin_carry_a_policy_and_no_cache(staff_client):
    # when
    login = Client().get(LOGIN)  # signed out
    index = staff_client.get("/admin/")
    # then
    for response in (login, index):
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == ADMIN_POLICY
        assert "no-store" in response["Cache-Control"].split(", ")
    assert "script-src 'self';" in ADMIN_POLICY and "unsafe-eval" not in ADMIN_POLICY


def test_api_answers_are_never_cached(api):
    # when
    found = api.get("/api/v1/orders")
    missing = api.get("/api/v1/orders/NOPE")
    unknown_url = api.get("/api/v1/nothing-here")
    # then
    assert [found.status_code, missing.status_code, unknown_url.status_code] == [200, 404, 404]
    for response in (found, missing, unknown_url):
        assert response["Cache-Control"] == "no-store"
        assert (
            response["Content-Security-Policy"]
            == API_POLICY
            == ("default-src 'none'; frame-ancestors 'none'")
        )


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer ft_not_a_key"}, {"HTTP_X_API_KEY": "ft_not_a_key"}],
    ids=["no key", "unknown bearer key", "unknown X-API-Key"],
)
def test_a_401_names_its_scheme_in_www_authenticate(client, merchant, headers):
    # when
    response = client.get("/api/v1/orders", **headers)
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Cache-Control"] == "no-store"


def test_other_api_errors_name_no_scheme(api):
    response = api.get("/api/v1/orders/NOPE")
    assert response.status_code == 404 and "WWW-Authenticate" not in response


def test_the_customer_page_keeps_its_own_policy_and_cache(client, merchant):
    # given: a page outside the staff pages and the API
    create_order(merchant, "1001")
    # when
    response = client.get(f"/orders/{merchant.merchant_id}/1001")
    # then: its own nonce policy and short private cache, not the staff pages'
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=60"
    assert response["Content-Security-Policy"].startswith(
        "default-src 'none'; style-src 'self' 'nonce-"
    )


# --- Item 20: the YAML schema ---------------------------------------------------------------


def test_a_yaml_1_2_reader_reads_the_exception_codes_as_strings_and_keeps_every_path(client):
    # when
    response = client.get("/api/schema/")
    # then
    assert response.status_code == 200
    text = response.content.decode()
    assert "- '008'" in text
    schema = YAML(typ="safe", pure=True).load(io.StringIO(text))
    codes = schema["components"]["schemas"]["ExceptionCodeEnum"]["enum"]
    assert codes == ["001", "002", "003", "004", "005", "006", "007", "008"]
    assert "post" in schema["paths"]["/api/v1/tracking/{tracking_number}/events"]
    # and YAML 1.1 and 1.2 readers read the same schema, down to examples like '0123456789012'
    assert schema == yaml.safe_load(text)
