"""Webhook subscriptions of API.md, through real HTTP requests. DNS is faked at the process
boundary (`socket.getaddrinfo`); IP-literal URLs need no resolver at all."""

import importlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from flextracker.api.envelope import iso
from inbound.models import InboundMessage
from merchants.services import api_key_issue
from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/tracking"
SUBSCRIPTION = {"url": URL, "events": ["tracking.delivered", "tracking.exception"]}
OWN_SECRET = "my-own-secret-0123456789-abcdef"
EVENT_TYPES = (
    "order.created, order.cancelled, shipment.created, tracking.updated, "
    "tracking.out_for_delivery, tracking.delivered, tracking.available_for_pickup, "
    "tracking.exception, tracking.delayed, tracking.returned, return.requested, "
    "return.approved, return.refused, return.received"
)


@pytest.fixture(autouse=True)
def dns(fake_dns):
    """hooks.example.com is public, internal.example.com private; nothing else resolves."""
    fake_dns(
        {"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.7"},
        others_public=False,
    )


def _error(response) -> dict:
    body = response.json()
    assert body["success"] is False
    return body["error"]


def _delete(api, path: str):
    return api.client.delete(path, HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")


def _shown(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "events": endpoint.event_types,
        "style": endpoint.style,
        "active": True,
        "createdAt": iso(endpoint.created_at),
        "disabledAt": None,
        "disabledReason": "",
    }


# --- Subscribe, read, delete ------------------------------------------------------------------


def test_subscribing_answers_201_with_the_secret_shown_only_once(api, merchant):
    # when
    created = api.post("/api/v1/webhooks", SUBSCRIPTION)
    # then
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    body = created.json()
    assert created.status_code == 201
    assert body == {"success": True, "data": {**_shown(endpoint), "secret": endpoint.secret},
                    "warnings": []}  # fmt: skip
    assert endpoint.public_id.startswith("whk_") and endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["tracking.delivered", "tracking.exception"]
    # and: no read shows the secret again
    listed = api.get("/api/v1/webhooks").json()
    one = api.get(f"/api/v1/webhooks/{endpoint.public_id}").json()
    assert listed["data"] == [_shown(endpoint)]
    assert listed["meta"] == {"pagination": {"page": 1, "limit": 25, "total": 1,
                                             "hasNext": False, "hasPrev": False}}  # fmt: skip
    assert one["data"] == _shown(endpoint)


def test_deleting_answers_200_in_the_envelope_and_the_subscription_is_gone(api, merchant):
    # given
    webhook_id = api.post("/api/v1/webhooks", SUBSCRIPTION).json()["data"]["id"]
    # when
    deleted = _delete(api, f"/api/v1/webhooks/{webhook_id}")
    again = _delete(api, f"/api/v1/webhooks/{webhook_id}")
    # then
    assert (deleted.status_code, again.status_code) == (200, 404)
    assert deleted.json() == {"success": True, "data": {"id": webhook_id, "deleted": True},
                              "warnings": []}  # fmt: skip
    assert _error(again)["code"] == "NOT_FOUND"
    assert api.get(f"/api/v1/webhooks/{webhook_id}").status_code == 404
    assert not WebhookEndpoint.objects.filter(merchant=merchant).exists()


def test_an_unknown_id_is_a_404_in_the_envelope(api):
    response = api.get("/api/v1/webhooks/whk_000000000000000000000000")
    assert response.status_code == 404
    assert _error(response) == {
        "code": "NOT_FOUND", "severity": "hard", "details": {}, "fields": {},
        "message": "Webhook subscription whk_000000000000000000000000 was not found.",
    }  # fmt: skip


def test_a_replay_of_the_creating_request_answers_201_without_the_secret(api, merchant):
    # given
    first = api.post("/api/v1/webhooks", SUBSCRIPTION, HTTP_IDEMPOTENCY_KEY="w-1")
    secret = first.json()["data"]["secret"]
    # when
    again = api.post("/api/v1/webhooks", SUBSCRIPTION, HTTP_IDEMPOTENCY_KEY="w-1")
    # then: the same answer with the secret null, and still one subscription
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert (first.status_code, secret) == (201, endpoint.secret)
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == {"success": True, "data": {**_shown(endpoint), "secret": None},
                            "warnings": []}  # fmt: skip
    assert secret.encode() not in again.content
    assert WebhookEndpoint.objects.filter(merchant=merchant).count() == 1


def _message_id(api) -> str:
    [message] = api.get("/api/v1/messages").json()["data"]
    return message["messageId"]


def test_the_secret_never_enters_the_inbound_log(api, merchant):
    # given: another key of the same merchant, and the subscription deleted since
    created = api.post("/api/v1/webhooks", SUBSCRIPTION)
    secret, webhook_id = created.json()["data"]["secret"], created.json()["data"]["id"]
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    shown = {**_shown(endpoint), "secret": None}
    _api_key, second_key = api_key_issue(merchant=merchant, name="reporting")
    reader = type(api)(api.client, second_key)  # the ApiCaller of conftest.py
    message_id = _message_id(api)
    # when
    while_subscribed = reader.get(f"/api/v1/messages/{message_id}")
    _delete(api, f"/api/v1/webhooks/{webhook_id}")
    after_deletion = reader.get(f"/api/v1/messages/{message_id}")
    listed = reader.get("/api/v1/messages")
    # then: the record says what was answered, with the secret null
    for answer in (while_subscribed, after_deletion):
        assert answer.status_code == 200
        assert answer.json()["data"]["response"] == {
            "status": 201, "body": {"success": True, "data": shown, "warnings": []}}  # fmt: skip
        assert secret.encode() not in answer.content
    assert secret.encode() not in listed.content
    stored = InboundMessage.objects.get(pk=int(message_id))
    assert secret not in stored.response_body
    assert json.loads(stored.response_body)["data"]["secret"] is None


def test_the_migration_forgets_secrets_the_log_kept(merchant):
    # given: an answer logged by the old code, with its secret, and another message
    logged = {"success": True, "data": {"id": "whk_1", "secret": "whsec_old"}, "warnings": []}
    webhook = InboundMessage.objects.create(
        merchant=merchant, channel="api", method="POST", path="/api/v1/webhooks", body=b"{}",
        response_status=201, response_body=json.dumps(logged), outcome="accepted",
    )  # fmt: skip
    order = InboundMessage.objects.create(
        merchant=merchant, channel="api", method="POST", path="/api/v1/orders", body=b"{}",
        response_status=201, response_body='{"data":{"secret":"kept"}}', outcome="accepted",
    )  # fmt: skip
    name = ("orders", "0015_inbound_log_without_webhook_secrets")
    migration = importlib.import_module(".".join([name[0], "migrations", name[1]]))
    models_then = MigrationExecutor(connection).loader.project_state(name).apps
    # when
    migration.forget_webhook_secrets(models_then, None)
    # then
    webhook.refresh_from_db()
    order.refresh_from_db()
    assert json.loads(webhook.response_body) == {
        "success": True, "data": {"id": "whk_1", "secret": None}, "warnings": []}  # fmt: skip
    assert order.response_body == '{"data":{"secret":"kept"}}'


# --- The merchant's own secret ----------------------------------------------------------------


def test_the_merchants_own_secret_is_kept_and_shown_once(api, merchant):
    # when
    created = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "secret": OWN_SECRET})
    # then
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert created.status_code == 201
    assert created.json() == {"success": True, "data": {**_shown(endpoint), "secret": OWN_SECRET},
                              "warnings": []}  # fmt: skip
    assert endpoint.secret == OWN_SECRET
    assert OWN_SECRET.encode() not in api.get(f"/api/v1/messages/{_message_id(api)}").content


def test_the_merchants_own_secret_never_enters_the_inbound_log(api, merchant, staff_client):
    # given
    body = {**SUBSCRIPTION, "secret": OWN_SECRET}
    other_secret = {**body, "secret": OWN_SECRET.upper()}
    # when: subscribed, replayed, the key reused with another secret, and a refused one
    created = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="w-1")
    replayed = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="w-1")
    conflict = api.post("/api/v1/webhooks", other_secret, HTTP_IDEMPOTENCY_KEY="w-1")
    refused = api.post("/api/v1/webhooks", {**body, "url": "https://internal.example.com/t"})
    # then: each answered as it should, and the log holds the bodies with the secret redacted
    assert (created.status_code, replayed.status_code) == (201, 201)
    assert (replayed.json()["data"]["secret"], replayed["Idempotent-Replayed"]) == (None, "true")
    assert (conflict.status_code, _error(conflict)["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert (refused.status_code, _error(refused)["code"]) == (422, "INVALID_EVENT_DATA")
    logged = InboundMessage.objects.filter(merchant=merchant).order_by("pk")
    assert [json.loads(bytes(message.body)) for message in logged] == [
        {**SUBSCRIPTION, "secret": "[redacted]"},
        {**SUBSCRIPTION, "url": "https://internal.example.com/t", "secret": "[redacted]"},
    ]
    for message in logged:
        page = staff_client.get(reverse("admin:inbound_inboundmessage_change", args=[message.pk]))
        assert page.status_code == 200 and b"[redacted]" in page.content
        assert OWN_SECRET.encode() not in page.content
        assert OWN_SECRET.upper().encode() not in page.content


def test_a_null_secret_is_generated(api, merchant):
    created = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "secret": None})
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert created.status_code == 201 and endpoint.secret.startswith("whsec_")
    assert created.json()["data"]["secret"] == endpoint.secret


SECRET_PROBLEM = (
    "Use 24 to 100 printable ASCII characters without spaces, or leave it out and we generate one."
)


@pytest.mark.parametrize(
    "secret",
    ["", "x" * 23, "x" * 101, "with spaces in it 0123456789", "ünïcödé-0123456789-abcdefgh", 123],
)
def test_a_secret_too_short_or_unusable_is_422_and_nothing_is_subscribed(api, secret):
    # when
    response = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "secret": secret})
    # then
    assert response.status_code == 422
    error = _error(response)
    assert (error["code"], error["fields"]) == ("INVALID_EVENT_DATA", {"secret": [SECRET_PROBLEM]})
    assert not WebhookEndpoint.objects.exists()


def test_duplicate_event_types_are_kept_once(api, merchant):
    events = ["tracking.delivered", "order.created", "tracking.delivered"]
    response = api.post("/api/v1/webhooks", {"url": URL, "events": events})
    assert response.json()["data"]["events"] == ["tracking.delivered", "order.created"]


def test_http_is_accepted_on_a_development_server(api, settings):
    # given
    settings.DEBUG = True
    # when
    response = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "url": "http://hooks.example.com/t"})
    # then
    assert response.status_code == 201
    assert response.json()["data"]["url"] == "http://hooks.example.com/t"


# --- Refused URLs (SSRF) ----------------------------------------------------------------------


def _not_public(host: str) -> str:
    return f"The host {host} is not a public internet address."


@pytest.mark.parametrize(
    ("url", "problems"),
    [
        ("http://hooks.example.com/t", ["Use https; plain http is accepted only in development."]),
        ("https://internal.example.com/t", [_not_public("internal.example.com")]),
        ("https://127.0.0.1/t", [_not_public("127.0.0.1")]),
        ("https://192.168.0.10/t", [_not_public("192.168.0.10")]),
        ("https://169.254.169.254/latest/meta-data/",
         [_not_public("169.254.169.254")]),
        ("https://[::ffff:169.254.169.254]/t",
         [_not_public("::ffff:169.254.169.254")]),
        ("https://100.64.0.1/t", [_not_public("100.64.0.1")]),
        ("https://[fe80::1]/t", [_not_public("fe80::1")]),
        ("https://hooks.example.com:8443/t", ["Port 8443 is not allowed; use 443 (or 80)."]),
        ("https://user:pw@hooks.example.com/t",
         ["Credentials in the URL (user:password@) are not allowed."]),
        ("https://nowhere.example.com/t", ["The host nowhere.example.com could not be resolved."]),
    ],
)  # fmt: skip
def test_an_unsafe_url_is_422_naming_the_problem_and_nothing_is_subscribed(api, url, problems):
    # when
    response = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "url": url})
    # then
    assert response.status_code == 422
    error = _error(response)
    assert (error["code"], error["fields"]) == ("INVALID_EVENT_DATA", {"url": problems})
    assert not WebhookEndpoint.objects.exists()


# --- Refused bodies ---------------------------------------------------------------------------


def test_an_unknown_event_type_is_422_naming_the_field(api):
    # when
    response = api.post("/api/v1/webhooks", {"url": URL,
                        "events": ["tracking.delivered", "tracking.shipped"]})  # fmt: skip
    # then
    assert response.status_code == 422
    error = _error(response)
    problem = f'"tracking.shipped" is not an event type; use one of: {EVENT_TYPES}.'
    assert (error["code"], error["fields"]) == ("INVALID_EVENT_DATA", {"events[1]": [problem]})
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": URL}, {"events": ["This field is required."]}),
        ({"url": URL, "events": []}, {"events": ["This list may not be empty."]}),
        ({"events": ["order.created"]}, {"url": ["This field is required."]}),
    ],
)
def test_an_absent_url_or_empty_events_is_400_missing_event_data(api, body, fields):
    response = api.post("/api/v1/webhooks", body)
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["fields"]) == ("MISSING_EVENT_DATA", fields)


def test_the_same_url_twice_is_422_naming_the_existing_subscription(api, merchant):
    # given
    first = api.post("/api/v1/webhooks", SUBSCRIPTION).json()["data"]["id"]
    # when
    response = api.post("/api/v1/webhooks", {"url": URL, "events": ["order.created"]})
    # then
    assert response.status_code == 422
    error = _error(response)
    assert (error["code"], error["details"]) == ("INVALID_EVENT_DATA", {"id": first})
    assert error["fields"] == {"url": [f"Already subscribed as {first}."]}
    assert WebhookEndpoint.objects.filter(merchant=merchant).count() == 1


def test_without_a_key_it_is_401(client):
    response = client.get("/api/v1/webhooks")
    assert response.status_code == 401 and _error(response)["code"] == "UNAUTHORIZED"


# --- Tenancy ----------------------------------------------------------------------------------


def test_another_merchant_cannot_see_list_or_delete_a_subscription(api, other_api, merchant):
    # given
    webhook_id = api.post("/api/v1/webhooks", SUBSCRIPTION).json()["data"]["id"]
    # when
    seen = other_api.get(f"/api/v1/webhooks/{webhook_id}")
    listed = other_api.get("/api/v1/webhooks")
    deleted = _delete(other_api, f"/api/v1/webhooks/{webhook_id}")
    # then
    assert (seen.status_code, deleted.status_code) == (404, 404)
    assert (_error(seen)["code"], _error(deleted)["code"]) == ("NOT_FOUND", "NOT_FOUND")
    assert listed.json()["data"] == []
    assert WebhookEndpoint.objects.filter(merchant=merchant, public_id=webhook_id).exists()


def test_another_merchant_may_subscribe_the_same_url(api, other_api):
    mine = api.post("/api/v1/webhooks", SUBSCRIPTION)
    theirs = other_api.post("/api/v1/webhooks", SUBSCRIPTION)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["data"]["secret"] != theirs.json()["data"]["secret"]


def test_past_the_cap_of_subscriptions_it_is_422(api, merchant):
    # given
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(merchant=merchant, url=f"https://hooks.example.com/{n}", secret="s")
        for n in range(20)
    )
    # when
    response = api.post("/api/v1/webhooks", SUBSCRIPTION)
    # then
    assert response.status_code == 422
    assert _error(response)["message"] == (
        "A merchant can have at most 20 webhook subscriptions; delete one first."
    )
    assert WebhookEndpoint.objects.filter(merchant=merchant).count() == 20


# --- Switching a disabled subscription back on ------------------------------------------------

DISABLED = {
    "is_active": False, "disabled_reason": "Every delivery failed for 72 hours.",
    "consecutive_failures": 130,
}  # fmt: skip


def _disabled(api, merchant) -> WebhookEndpoint:
    webhook_id = api.post("/api/v1/webhooks", SUBSCRIPTION).json()["data"]["id"]
    now = timezone.now()
    WebhookEndpoint.objects.filter(public_id=webhook_id).update(
        **DISABLED, disabled_at=now, failing_since=now - timedelta(hours=72),
        disable_warned_at=now - timedelta(hours=24),
    )  # fmt: skip
    return WebhookEndpoint.objects.get(public_id=webhook_id)


def test_a_disabled_subscription_is_switched_back_on_with_a_clean_record(api, merchant):
    # given
    endpoint = _disabled(api, merchant)
    # when
    response = api.post(f"/api/v1/webhooks/{endpoint.public_id}/enable")
    again = api.post(f"/api/v1/webhooks/{endpoint.public_id}/enable")
    # then
    endpoint.refresh_from_db()
    assert (response.status_code, again.status_code) == (200, 200)
    assert response.json() == {"success": True, "data": _shown(endpoint), "warnings": []}
    assert again.json() == response.json()
    assert (endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason) == (True, None, "")
    assert (endpoint.consecutive_failures, endpoint.failing_since, endpoint.disable_warned_at) == (
        0, None, None)  # fmt: skip


def test_another_merchant_cannot_switch_a_subscription_on(api, other_api, merchant):
    # given
    endpoint = _disabled(api, merchant)
    # when
    response = other_api.post(f"/api/v1/webhooks/{endpoint.public_id}/enable")
    unknown = api.post("/api/v1/webhooks/whk_000000000000000000000000/enable")
    # then: a 404 like an unknown id, and it stays off
    assert (response.status_code, unknown.status_code) == (404, 404)
    assert _error(response) == {
        "code": "NOT_FOUND", "severity": "hard", "details": {}, "fields": {},
        "message": f"Webhook subscription {endpoint.public_id} was not found.",
    }  # fmt: skip
    assert _error(unknown)["code"] == "NOT_FOUND"
    after = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (after.is_active, after.disabled_reason, after.consecutive_failures) == (
        False, DISABLED["disabled_reason"], 130)  # fmt: skip
    assert (after.failing_since, after.disable_warned_at) == (
        endpoint.failing_since, endpoint.disable_warned_at)  # fmt: skip


def test_an_unknown_field_of_a_subscription_is_named_not_dropped_silently(api):
    # when
    created = api.post("/api/v1/webhooks", {**SUBSCRIPTION, "descripton": "ours"})
    # then
    assert created.status_code == 201
    assert [(w["code"], w["field"]) for w in created.json()["warnings"]] == [
        ("UNKNOWN_FIELD", "descripton")
    ]
