"""Every address a merchant configures in the console goes through the SSRF guard when saved:
Slack and Teams webhooks, SFTP hosts, queue URLs (carrier base URLs: tracking/tests/
test_carrier_base_url.py). DNS answers come from a fake resolver (the process boundary)."""

import pytest
from django.urls import reverse

from ingest.models import FileSource, QueueSource
from ingest.tests.channel_samples import CSV_MAPPING, dictionary
from merchants.models import Merchant
from merchants.tests.factories import member_of
from tests.network import PUBLIC_ADDRESS

pytestmark = pytest.mark.django_db

SLACK = "https://hooks.slack.example/services/T0/B0/xyz"


@pytest.fixture(autouse=True)
def dns(fake_dns):
    fake_dns(
        {
            "hooks.slack.example": PUBLIC_ADDRESS,
            "sftp.fred.example": PUBLIC_ADDRESS,
            "mq.fred.example": PUBLIC_ADDRESS,
            "internal.fred.example": "10.0.0.5",
        },
        others_public=False,
    )


def _not_public(host: str) -> str:
    return f"The host {host} is not a public internet address."


def _merchant_form(merchant: Merchant, **values) -> dict:
    return {"name": merchant.name, "is_active": "on", "time_zone": "UTC", "locale": "en",
            "tracking_link_lifetime_days": "180",
            "delivery_providers-TOTAL_FORMS": "0", "delivery_providers-INITIAL_FORMS": "0",
            "pickup_locations-TOTAL_FORMS": "0", "pickup_locations-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0", **values}  # fmt: skip


# --- Slack and Teams --------------------------------------------------------------------------


def test_a_merchant_admin_cannot_send_staff_alerts_to_our_network(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    change = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    # when
    response = client.post(
        change,
        _merchant_form(
            merchant,
            slack_webhook_url="https://internal.fred.example/services/x",
            teams_webhook_url="http://169.254.169.254/latest/meta-data/",
        ),
    )
    # then
    assert response.context["adminform"].form.errors == {
        "slack_webhook_url": [_not_public("internal.fred.example")],
        "teams_webhook_url": ["Use https; plain http is accepted only in development."],
    }
    merchant.refresh_from_db()
    assert (merchant.slack_webhook_url, merchant.teams_webhook_url) == ("", "")


def test_a_merchant_admin_sets_a_public_slack_webhook(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when
    response = client.post(
        reverse("admin:merchants_merchant_change", args=[merchant.pk]),
        _merchant_form(merchant, slack_webhook_url=SLACK),
    )
    # then
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.slack_webhook_url == SLACK


# --- Queues -------------------------------------------------------------------------------------


def _queue_form(merchant, **values) -> dict:
    return {"merchant": merchant.pk, "name": "oms", "kind": "rabbitmq", "queue_name": "orders",
            "is_active": "on", **values}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"url": "amqp://fred:pw@10.0.0.5:5672/%2F"},
            {"url": [_not_public("10.0.0.5")]},
        ),
        (
            {"url": "amqp://fred:pw@mq.fred.example:15672/%2F"},
            {"url": ["Port 15672 is not allowed; use 5672 (or 5671)."]},
        ),
        (
            {"kind": "sqs", "url": "https://internal.fred.example/123/orders", "queue_name": ""},
            {"url": [_not_public("internal.fred.example")]},
        ),
        (
            {"kind": "sqs", "url": "https://mq.fred.example/123/orders", "queue_name": "",
             "dead_letter_queue": "https://[fd00:ec2::254]/123/dlq"},
            {"dead_letter_queue": [_not_public("fd00:ec2::254")]},
        ),
    ],
)  # fmt: skip
def test_staff_cannot_point_a_queue_at_our_network(staff_client, merchant, values, errors):
    # when
    response = staff_client.post(
        reverse("admin:ingest_queuesource_add"), _queue_form(merchant, **values)
    )
    # then
    assert response.context["adminform"].form.errors == errors
    assert not QueueSource.objects.exists()


def test_staff_set_up_a_queue_on_a_public_broker(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:ingest_queuesource_add"),
        _queue_form(merchant, url="amqps://fred:pw@mq.fred.example/%2F"),
    )
    # then
    assert response.status_code == 302
    assert QueueSource.objects.get().url == "amqps://fred:pw@mq.fred.example/%2F"


# --- SFTP ---------------------------------------------------------------------------------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def _sftp_form(merchant, **values) -> dict:
    return {"merchant": merchant.pk, "name": "their sftp", "kind": "sftp",
            "dictionary": dictionary(merchant, "csv", CSV_MAPPING).pk, "directory": "/outbox",
            "file_pattern": "*.csv", "archive_directory": "/archive", "error_directory": "/error",
            "port": 22, "username": "oms", "password": "pw", "host_key": HOST_KEY,
            "is_active": "on", **values}  # fmt: skip


@pytest.mark.parametrize(
    ("host", "port", "problem"),
    [
        ("127.0.0.1", 22, _not_public("127.0.0.1")),
        ("internal.fred.example", 22, _not_public("internal.fred.example")),
        ("sftp.fred.example", 6379, "Port 6379 is not allowed; use 22 (or 2222)."),
    ],
)
def test_staff_cannot_point_an_sftp_source_at_our_network(
    staff_client, merchant, host, port, problem
):
    # when
    response = staff_client.post(
        reverse("admin:ingest_filesource_add"), _sftp_form(merchant, host=host, port=port)
    )
    # then
    assert response.context["adminform"].form.errors == {"host": [problem]}
    assert not FileSource.objects.exists()


def test_staff_set_up_an_sftp_source_on_a_public_host(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:ingest_filesource_add"), _sftp_form(merchant, host="sftp.fred.example")
    )
    # then
    assert response.status_code == 302
    assert FileSource.objects.get().host == "sftp.fred.example"
