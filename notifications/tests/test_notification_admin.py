"""The notification log in the console: per order, resend, test alerts and test webhook events —
and merchant B never sees nor acts on merchant A's."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from merchants.tests.factories import member_of
from notifications.models import Notification, WebhookEndpoint
from notifications.services import webhook_endpoint_create
from orders.tests.factories import create_order

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notifications_notification_changelist"
SEND_TEST = "admin:notifications_notification_send_test_email"


@pytest.fixture
def sent(merchant) -> Notification:
    order = create_order(merchant, "1001")
    return Notification.objects.create(
        merchant=merchant, order=order, channel="email", recipient="jane@example.com",
        trigger="delivered", dedupe_key="shipment:1:delivered", status="sent", attempts=2,
        provider_message_id="<msg-1@flextracker>", last_error="",
        payload={"trackingPage": "https://example.test/p"},
    )  # fmt: skip


def _resend(client, *notifications):
    return client.post(
        reverse(CHANGELIST),
        {"action": "resend_selected", "_selected_action": [n.pk for n in notifications]},
        follow=True,
    )


def _copies(notification) -> list[tuple[str, str]]:
    rows = Notification.objects.exclude(pk=notification.pk).order_by("pk")
    return list(rows.values_list("dedupe_key", "status"))


def test_the_order_page_shows_its_notification_log(staff_client, sent):
    Notification.objects.filter(pk=sent.pk).update(last_error="SMTPServerDisconnected earlier")
    page = staff_client.get(
        reverse("admin:orders_order_change", args=[sent.order_id])
    ).content.decode()
    for shown in ("jane@example.com", "delivered", "&lt;msg-1@flextracker&gt;",
                  "SMTPServerDisconnected earlier", "Customer email"):  # fmt: skip
        assert shown in page
    assert reverse("admin:notifications_notification_change", args=[sent.pk]) in page


def test_a_merchant_agent_sees_the_log_on_their_order(client, merchant, sent):
    client.force_login(member_of(merchant, "agent"))
    page = client.get(reverse("admin:orders_order_change", args=[sent.order_id])).content.decode()
    assert "&lt;msg-1@flextracker&gt;" in page


def test_a_merchant_admin_resends_as_a_new_row_and_only_once_while_it_waits(client, merchant, sent):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when: resent, then resent again while the copy still waits
    first = _resend(client, sent).content.decode()
    _resend(client, sent)
    # then: one copy, pending; the original is untouched
    assert "1 message(s) queued again." in first
    assert _copies(sent) == [("shipment:1:delivered:resend:1", "pending")]
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("sent", 2)
    copy = Notification.objects.get(dedupe_key__endswith=":resend:1")
    assert (copy.channel, copy.recipient, copy.trigger, copy.order_id, copy.payload) == (
        "email", "jane@example.com", "delivered", sent.order_id, sent.payload)  # fmt: skip


def test_a_sent_copy_can_be_resent_again(staff_client, sent):
    _resend(staff_client, sent)
    Notification.objects.filter(dedupe_key__endswith=":resend:1").update(status="sent")
    copy = Notification.objects.get(dedupe_key__endswith=":resend:1")
    _resend(staff_client, copy)
    assert [key for key, _status in _copies(sent)] == [
        "shipment:1:delivered:resend:1", "shipment:1:delivered:resend:2"]  # fmt: skip


def test_a_row_still_being_sent_is_not_resent(staff_client, sent):
    Notification.objects.filter(pk=sent.pk).update(status="sending")
    page = _resend(staff_client, sent).content.decode()
    assert "1 skipped" in page and _copies(sent) == []


def test_an_agent_cannot_resend(client, merchant, sent):
    client.force_login(member_of(merchant, "agent"))
    listing = client.get(reverse(CHANGELIST)).content.decode()
    _resend(client, sent)
    assert "resend_selected" not in listing and _copies(sent) == []


def test_another_merchants_staff_neither_see_nor_resend(client, other_merchant, sent):
    client.force_login(member_of(other_merchant, "admin"))
    listing = client.get(reverse(CHANGELIST)).content.decode()
    detail = client.get(reverse("admin:notifications_notification_change", args=[sent.pk]))
    order_page = client.get(reverse("admin:orders_order_change", args=[sent.order_id]))
    _resend(client, sent)
    assert "jane@example.com" not in listing
    assert detail.status_code == 302 and order_page.status_code == 302  # "does not exist"
    assert _copies(sent) == []


@pytest.fixture
def endpoint(merchant, fake_dns):
    fake_dns()
    endpoint, _secret = webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/t", event_types=["tracking.delivered"]
    )
    return endpoint


def _send_test_event(client, endpoint):
    return client.post(
        reverse("admin:notifications_webhookendpoint_changelist"),
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
        follow=True,
    )


def test_staff_send_a_test_event_to_a_webhook(staff_client, endpoint):
    page = _send_test_event(staff_client, endpoint).content.decode()
    test = Notification.objects.get()
    assert "Test event queued for https://hooks.example.com/t" in page
    assert (test.channel, test.recipient, test.trigger, test.status) == (
        "webhook", endpoint.public_id, "tracking.updated", "pending")  # fmt: skip
    assert test.payload["data"]["test"] is True
    assert test.payload["data"]["trackingNumber"] == "SBXDELIVERED0000"


def test_another_merchants_admin_cannot_send_a_test_event(client, other_merchant, endpoint):
    client.force_login(member_of(other_merchant, "admin"))
    _send_test_event(client, endpoint)
    assert not Notification.objects.exists()


@pytest.fixture
def alerting(merchant):
    merchant.alert_emails = "ops@fred.example"
    merchant.slack_webhook_url = "https://hooks.slack.com/services/T/B/X"
    merchant.save()
    return merchant


def test_a_merchant_admin_sends_a_test_alert_to_the_merchants_own_routes(client, alerting):
    # given
    user = member_of(alerting, "admin")
    client.force_login(user)
    # when
    listing = client.get(reverse(CHANGELIST)).content.decode()
    form = client.get(reverse(SEND_TEST), {"merchant": alerting.pk})
    done = client.post(reverse(SEND_TEST), {"merchant": alerting.pk, "include_chat": "on"},
                       follow=True)  # fmt: skip
    # then
    assert reverse(SEND_TEST) in listing and form.status_code == 200
    assert "Test alert queued to ops@fred.example, slack." in done.content.decode()
    rows = Notification.objects.order_by("channel")
    assert list(rows.values_list("channel", "recipient", "trigger", "status")) == [
        ("slack", "slack", "test", "pending"),
        ("staff_email", "ops@fred.example", "test", "pending"),
    ]
    assert rows[0].payload == {"requestedBy": user.username}


def test_a_test_alert_can_skip_the_chat_webhooks(staff_client, alerting):
    staff_client.post(reverse(SEND_TEST), {"merchant": alerting.pk})
    assert list(Notification.objects.values_list("channel", flat=True)) == ["staff_email"]


def test_another_merchants_admin_cannot_send_a_test_alert_for_this_merchant(
    client, alerting, other_merchant
):
    client.force_login(member_of(other_merchant, "admin"))
    answer = client.post(reverse(SEND_TEST), {"merchant": alerting.pk, "include_chat": "on"})
    assert answer.status_code == 200 and "Select a valid choice" in answer.content.decode()
    assert not Notification.objects.exists()


def test_an_agent_cannot_send_a_test_alert(client, alerting):
    client.force_login(member_of(alerting, "agent"))
    listing = client.get(reverse(CHANGELIST)).content.decode()
    answer = client.post(reverse(SEND_TEST), {"merchant": alerting.pk})
    assert reverse(SEND_TEST) not in listing and answer.status_code == 403
    assert not Notification.objects.exists()


def _disable(endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason="410 Gone",
        consecutive_failures=3, failing_since=timezone.now() - timedelta(hours=1),
    )  # fmt: skip


def _enable(client, endpoint):
    return client.post(
        reverse("admin:notifications_webhookendpoint_changelist"),
        {"action": "enable", "_selected_action": [endpoint.pk]},
        follow=True,
    )


def test_a_merchant_admin_switches_a_disabled_webhook_back_on(client, merchant, endpoint):
    # given
    _disable(endpoint)
    client.force_login(member_of(merchant, "admin"))
    # when
    page = _enable(client, endpoint).content.decode()
    # then
    endpoint.refresh_from_db()
    assert "Deliveries to https://hooks.example.com/t resume." in page
    assert (endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason) == (True, None, "")
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


@pytest.mark.parametrize("role", ["agent", "other merchant's admin"])
def test_an_agent_or_another_merchants_admin_cannot_switch_it_on(
    client, merchant, other_merchant, endpoint, role
):
    # given
    _disable(endpoint)
    user = member_of(merchant, "agent") if role == "agent" else member_of(other_merchant, "admin")
    client.force_login(user)
    before = WebhookEndpoint.objects.values().get(pk=endpoint.pk)
    # when
    _enable(client, endpoint)
    # then
    assert WebhookEndpoint.objects.values().get(pk=endpoint.pk) == before
