"""Staff alerts (TRACKING.md): exception, failed attempt, return to sender, expired and delayed,
and a webhook endpoint we disabled — to the alert emails, Slack and Teams, once each."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.models import Merchant
from merchants.services import notification_rules_set
from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tests.network import PUBLIC_ADDRESS
from tracking.delays import shipments_flag_delayed
from tracking.polling import poll_due_shipments
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"
TEAMS_URL = "https://fred.webhook.office.com/webhookb2/abc/IncomingWebhook/def"
SLACK = f"https://{PUBLIC_ADDRESS}/services/T000/B000/XXXX"  # the checked address, pinned
TEAMS = f"https://{PUBLIC_ADDRESS}/webhookb2/abc/IncomingWebhook/def"
RECEIVER = f"https://{PUBLIC_ADDRESS}/hooks/tracking"
STAFF_CHANNELS = ("staff_email", "slack", "teams")
ROUTES = [("slack", "slack"), ("staff_email", "ops@fred.example"),
          ("staff_email", "warehouse@fred.example"), ("teams", "teams")]  # fmt: skip
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def public_dns(fake_dns, settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10
    return fake_dns()


@pytest.fixture
def alerting(merchant) -> Merchant:
    merchant.alert_emails = "ops@fred.example\n\n  warehouse@fred.example \nops@fred.example"
    merchant.slack_webhook_url = SLACK_URL
    merchant.teams_webhook_url = TEAMS_URL
    merchant.save()
    return merchant


def _ship_at(merchant, number: str):
    with time_machine.travel(T0, tick=False):
        if not Order.objects.filter(merchant=merchant, order_id="1001").exists():
            create_order(merchant, "1001")
        return ship(merchant, "1001", number, ("MUG", 1)).instance


def _poll_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return poll_due_shipments(now=moment)


def _send_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return notifications_send_due(now=moment)


def _staff_rows(**filters):
    rows = Notification.objects.filter(channel__in=STAFF_CHANNELS, **filters)
    return sorted(rows.values_list("channel", "recipient"))


def _apply(shipment, status: str, detail: str = "unknown", description: str = "News"):
    event = CarrierEvent(occurred_at=timezone.now(), status=status, status_detail=detail,
                         event_type="EXCEPTION", description=description)  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="merchant")


@responses.activate
def test_the_exception_scenario_alerts_staff_once_by_email_slack_and_teams(alerting, mailoutbox):
    # given
    shipment = _ship_at(alerting, "SBXEXCEPTION1")
    responses.post(SLACK, status=200, body="ok")
    responses.post(TEAMS, status=200, body="1")
    # when: the worker polls every ten minutes for two hours
    for step in range(13):
        _poll_at(T0 + step * STEP)
    report = _send_at(T0 + 13 * STEP)
    # then: one alert per route, whatever the number of rounds
    assert Shipment.objects.get(pk=shipment.pk).status == "exception"
    assert _staff_rows(shipment=shipment, trigger="exception") == ROUTES
    assert _staff_rows() == ROUTES
    assert report.sent == report.claimed and report.failed == report.retrying == 0
    link = f"{settings.PUBLIC_BASE_URL}/admin/orders/shipment/{shipment.pk}/change/"
    subject = "[flexTracker] Fred's Discount City: SBXEXCEPTION1 Exception"
    alerts = [message for message in mailoutbox if message.to[0].endswith("@fred.example")]
    assert sorted(message.to[0] for message in alerts) == [
        "ops@fred.example", "warehouse@fred.example"]  # fmt: skip
    email = alerts[0]
    assert (email.subject, email.from_email) == (subject, settings.DEFAULT_FROM_EMAIL)
    assert email.body.splitlines() == [
        "Order: 1001",
        "Carrier: Sandbox (simulated)",
        "Status: Exception (exception, address_issue)",
        "Carrier's description: Address problem: the driver could not find the address",
        f"The customer's page: {Notification.objects.get(channel='slack').payload['trackingPage']}",
        "",
        f"Open it in the console: {link}",
    ]
    slack, teams = (json.loads(call.request.body) for call in responses.calls)
    escaped = [line.replace("&", "&amp;") for line in email.body.splitlines()[:5]]  # mrkdwn
    lines = [f"*{subject}*", *escaped, f"<{link}|Open it in the console>"]
    assert slack == {"text": "\n".join(lines)}
    assert responses.calls[0].request.headers["Host"] == "hooks.slack.com"
    assert (teams["@type"], teams["@context"], teams["summary"], teams["title"]) == (
        "MessageCard", "https://schema.org/extensions", subject, subject)  # fmt: skip
    assert teams["text"].startswith("Order: 1001\n\nCarrier: Sandbox \\(simulated\\)")
    assert teams["text"].endswith(f"[Open it in the console]({link})")
    stored = Notification.objects.get(channel="staff_email", recipient="ops@fred.example")
    assert stored.status == "sent" and stored.provider_message_id.startswith("<")


@pytest.mark.parametrize(
    ("status", "alerted"),
    [("failed_attempt", True), ("return_to_sender", True), ("expired", True),
     ("exception", True), ("in_transit", False), ("delivered", False)],
)  # fmt: skip
def test_which_statuses_alert_staff(alerting, status, alerted):
    shipment = _ship_at(alerting, "SBXDELIVERED1")
    _apply(shipment, status)
    assert _staff_rows(trigger=status) == (ROUTES if alerted else [])


@responses.activate
def test_slack_and_teams_post_the_moves_the_merchant_chose_for_each(alerting):
    # given: Slack follows deliveries, Teams only the alerts
    notification_rules_set(merchant=alerting, channel="slack", triggers=["delivered"])
    shipment = _ship_at(alerting, "SBXDELIVERED1")
    responses.post(SLACK, status=200, body="ok")
    # when
    _apply(shipment, "in_transit")
    _apply(shipment, "delivered", "delivered", "Left at the front door")
    _send_at(timezone.now() + timedelta(minutes=1))
    # then: one post, to Slack, and no staff email for a delivery
    assert _staff_rows() == [("slack", "slack")]
    assert Notification.objects.get(channel="slack").status == "sent"
    assert len(responses.calls) == 1
    text = json.loads(responses.calls[0].request.body)["text"].splitlines()
    assert text[0] == "*[flexTracker] Fred's Discount City: SBXDELIVERED1 Delivered*"
    assert text[1:4] == ["Order: 1001", "Carrier: Sandbox (simulated)",
                         "Status: Delivered (delivered, delivered)"]  # fmt: skip
    assert text[5].startswith(f"The customer's page: {settings.PUBLIC_BASE_URL}/orders/")


def test_staff_choose_the_moves_posted_to_slack_in_the_console(staff_client, alerting):
    # given
    page = staff_client.get(reverse("admin:merchants_merchant_change", args=[alerting.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"slack_triggers": ["delivered", "out_for_delivery"], "teams_triggers": []}
    for prefix in ("delivery_providers", "pickup_locations", "memberships"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    # when
    response = staff_client.post(
        reverse("admin:merchants_merchant_change", args=[alerting.pk]), data
    )
    # then
    assert response.status_code == 302
    chosen = alerting.notification_rules.filter(channel="slack").values_list("trigger", flat=True)
    assert sorted(chosen) == ["delivered", "out_for_delivery"]
    assert not alerting.notification_rules.filter(channel="teams").exists()


def test_a_merchant_without_alert_routes_gets_no_staff_rows(merchant):
    shipment = _ship_at(merchant, "SBXDELIVERED1")
    _apply(shipment, "exception")
    assert _staff_rows() == []


def test_only_the_configured_routes_are_alerted(merchant):
    merchant.teams_webhook_url = TEAMS_URL
    merchant.save()
    shipment = _ship_at(merchant, "SBXDELIVERED1")
    _apply(shipment, "exception")
    assert _staff_rows() == [("teams", "teams")]


def test_the_delayed_check_alerts_once_not_every_round(alerting):
    # given: the LOST scenario goes silent after its fourth step
    shipment = _ship_at(alerting, "SBXLOST1")
    _poll_at(T0 + 5 * STEP)
    Shipment.objects.filter(pk=shipment.pk).update(estimated_delivery_date=None)
    # when: the check runs in many rounds
    flagged = [shipments_flag_delayed(now=T0 + timedelta(hours=hours)) for hours in (70, 80, 90)]
    # then
    assert flagged == [0, 1, 0]
    assert _staff_rows(trigger="delayed") == ROUTES
    alert = Notification.objects.get(channel="slack", trigger="delayed")
    assert alert.payload["tracking"]["trackingNumber"] == "SBXLOST1"


@responses.activate
def test_a_delayed_alert_says_delayed(alerting, mailoutbox):
    shipment = _ship_at(alerting, "SBXLOST1")
    Shipment.objects.filter(pk=shipment.pk).update(
        estimated_delivery_date=T0.date(), status="in_transit", last_event_at=T0
    )
    shipments_flag_delayed(now=T0 + timedelta(hours=19))
    Notification.objects.exclude(channel="staff_email").delete()
    _send_at(T0 + timedelta(hours=19))
    assert [m.subject for m in mailoutbox] == [
        "[flexTracker] Fred's Discount City: SBXLOST1 Delayed"] * 2  # fmt: skip


@pytest.fixture
def failing_endpoint(alerting):
    endpoint, _secret = webhook_endpoint_create(
        merchant=alerting, url="https://hooks.example.com/hooks/tracking",
        event_types=["tracking.updated", "tracking.delivered"],
    )  # fmt: skip
    return endpoint


def _deliver(merchant, number: str):
    create_order(merchant, number)
    shipment = ship(merchant, number, f"SBXDELIVERED{number}", ("MUG", 1)).instance
    _apply(shipment, "delivered", "delivered", "Delivered")


@responses.activate
def test_an_endpoint_disabled_after_72_hours_of_failures_alerts_staff_once(
    alerting, failing_endpoint, mailoutbox
):
    # given: failing for 72 hours, staff told 24 hours ago; the receiver keeps failing
    now = timezone.now()
    failing_endpoint.failing_since = now - timedelta(hours=72)
    failing_endpoint.disable_warned_at = now - timedelta(hours=24)
    failing_endpoint.save()
    responses.post(RECEIVER, status=500)
    responses.post(SLACK, status=200)
    responses.post(TEAMS, status=200)
    _deliver(alerting, "1001")
    # when: two webhook rows fail in the same round, and another event fails later
    notifications_send_due(now=now)
    _deliver(alerting, "1002")
    notifications_send_due(now=now)
    # then: disabled once, one alert per route
    failing_endpoint.refresh_from_db()
    assert failing_endpoint.is_active is False
    since = f"{now - timedelta(hours=72):%Y-%m-%d %H:%M} UTC"
    reason = f"Every delivery failed for 72 hours (since {since})."
    assert failing_endpoint.disabled_reason == reason
    assert _staff_rows(trigger="webhook_disabled") == ROUTES
    assert _staff_rows() == ROUTES
    alerts = [message for message in mailoutbox if message.to[0].endswith("@fred.example")]
    assert len(alerts) == 2
    assert alerts[0].subject == "[flexTracker] Fred's Discount City: webhook endpoint disabled"
    assert "We stopped sending webhooks to https://hooks.example.com/hooks/tracking" in (
        alerts[0].body)  # fmt: skip
    assert f"POST /api/v1/webhooks/{failing_endpoint.public_id}/enable" in alerts[0].body
    endpoint_page = f"/admin/notifications/webhookendpoint/{failing_endpoint.pk}/change/"
    assert endpoint_page in alerts[0].body


@responses.activate
def test_a_410_disables_the_endpoint_and_alerts_staff(alerting, failing_endpoint):
    responses.post(RECEIVER, status=410)
    _deliver(alerting, "1001")
    Notification.objects.filter(channel__in=["slack", "teams"]).delete()
    notifications_send_due()
    failing_endpoint.refresh_from_db()
    assert failing_endpoint.disabled_reason == "410 Gone"
    alert = Notification.objects.get(channel="slack", trigger="webhook_disabled")
    assert alert.payload["endpoint"]["reason"] == "410 Gone"


def _one_alert(merchant, channel: str) -> Notification:
    shipment = _ship_at(merchant, "SBXDELIVERED1")
    _apply(shipment, "exception", "damaged", "Damaged")
    alert = Notification.objects.filter(channel=channel).first()
    Notification.objects.exclude(pk=alert.pk).delete()
    return alert


@responses.activate
def test_a_slack_webhook_that_was_removed_is_not_retried(alerting):
    responses.post(SLACK, status=404, body="no_service")
    alert = _one_alert(alerting, "slack")
    report = notifications_send_due()
    alert.refresh_from_db()
    assert (report.failed, alert.status, alert.attempts) == (1, "failed", 1)
    assert alert.last_error == "Slack answered 404 (no_service): the webhook is gone."


@responses.activate
def test_a_teams_outage_is_retried_later(alerting):
    responses.post(TEAMS, status=503, headers={"Retry-After": "600"})
    alert = _one_alert(alerting, "teams")
    report = notifications_send_due()
    alert.refresh_from_db()
    assert (report.retrying, alert.status) == (1, "pending")
    assert alert.next_attempt_at >= timezone.now() + timedelta(minutes=9)


@responses.activate
def test_a_teams_error_buried_in_a_200_is_a_failure(alerting):
    buried = ("Webhook message delivery failed with error: Microsoft Teams endpoint returned "
              "HTTP error 429 with ContextId tcid=0,server=msgapi")  # fmt: skip
    responses.post(TEAMS, status=200, body=buried)
    alert = _one_alert(alerting, "teams")
    report = notifications_send_due()
    alert.refresh_from_db()
    assert (report.retrying, alert.status) == (1, "pending")
    assert alert.last_error == "Teams answered 429."  # its text is not a short error code
    assert alert.attempt_log.get().response_status == 429


SECRET = "internal-token sk_live_51Hx9 on gateway 10.2.3.4"


@pytest.mark.parametrize(
    ("channel", "url", "status", "body", "error"),
    [
        ("slack", SLACK, 500, f"<html><body><h1>Error</h1><p>{SECRET}</p></body></html>",
         "Slack answered 500."),
        ("teams", TEAMS, 404, json.dumps({"error": {"message": SECRET}}),
         "Teams answered 404: the webhook is gone."),
        ("teams", TEAMS, 200, f"Microsoft Teams endpoint returned HTTP error 429 {SECRET}",
         "Teams answered 429."),
        ("slack", SLACK, 403, "invalid token", "Slack answered 403."),
    ],
    ids=["slack-html", "teams-json-404", "teams-buried-in-200", "slack-not-a-code"],
)  # fmt: skip
@responses.activate
def test_a_chat_answer_that_is_not_an_error_code_is_never_echoed(
    alerting, staff_client, channel, url, status, body, error
):
    # given: the chat webhook answers a body with something that is not ours to show
    responses.post(url, status=status, body=body)
    alert = _one_alert(alerting, channel)
    # when
    notifications_send_due()
    # then: the error says what happened, not what the remote said
    alert.refresh_from_db()
    assert alert.last_error == error
    assert list(alert.attempt_log.values_list("error", flat=True)) == [error]
    page = staff_client.get(
        reverse("admin:notifications_notification_change", args=[alert.pk])
    ).content.decode()
    assert error in page
    for secret in ("sk_live_51Hx9", "internal-token", "10.2.3.4", "invalid token"):
        assert secret not in page


@responses.activate
def test_a_slack_error_code_is_shown(alerting):
    # given: Slack's documented short error codes
    responses.post(SLACK, status=400, body="channel_is_archived\n")
    alert = _one_alert(alerting, "slack")
    # when
    notifications_send_due()
    # then
    alert.refresh_from_db()
    assert alert.last_error == "Slack answered 400 (channel_is_archived)."


@responses.activate
def test_a_chat_webhook_pointing_inside_our_network_is_not_called(alerting, public_dns):
    public_dns["fred.webhook.office.com"] = "10.0.0.5"
    alert = _one_alert(alerting, "teams")
    report = notifications_send_due()
    alert.refresh_from_db()
    assert report.retrying == 1 and len(responses.calls) == 0
    assert alert.last_error.startswith("Refused to call it: The host fred.webhook.office.com")


def test_a_chat_webhook_removed_after_the_alert_was_queued_is_not_retried(alerting):
    alert = _one_alert(alerting, "slack")
    Merchant.objects.filter(pk=alerting.pk).update(slack_webhook_url="")
    assert notifications_send_due().failed == 1
    alert.refresh_from_db()
    assert alert.last_error == "The merchant removed its Slack webhook."


def test_an_alert_subject_keeps_to_one_line(alerting, mailoutbox):
    Merchant.objects.filter(pk=alerting.pk).update(name="Fred's\r\nBcc: victim@example.com")
    _one_alert(alerting, "staff_email")
    assert notifications_send_due().sent == 1
    assert mailoutbox[0].subject == (
        "[flexTracker] Fred's Bcc: victim@example.com: SBXDELIVERED1 Exception")  # fmt: skip
