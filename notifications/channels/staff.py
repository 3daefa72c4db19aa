"""Staff alerts: the merchant's alert email list, and its Slack and Microsoft Teams incoming
webhooks (TRACKING.md: exception, failed attempt, return to sender, expired, delayed; and a
merchant webhook endpoint failing for 48 hours, and one we disabled). Slack and Teams also get the
status moves the merchant chose for them (delivered, out for delivery …), in the same card.

Every alert is written from the outbox row alone: the payload froze the tracking object when it
happened, so a retry a day later still says what staff were told then. Slack and Teams URLs are
merchant-supplied, so they go through the same SSRF check and pinned address as webhooks.
"""

import json
import re
import smtplib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from carriers.vocabulary import Status
from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.channels.email import message_id
from notifications.channels.http import judge_chat_answer, post_checked

TRIGGER_WORDS = {
    **{status.value: status.label for status in Status},  # lazy: read when a message is made
    "delayed": "Delayed",
    "webhook_disabled": "webhook endpoint disabled",
    "webhook_failing": "webhook endpoint failing",
    "platform_failing": "store connection failing",
    "test": "test alert",
}
SHIPMENT_ALERT_TRIGGERS = frozenset({*Status.values, "delayed"})
HEADERS = {"Content-Type": "application/json", "User-Agent": "flexTracker-Alerts/1.0"}
# Teams' connectors answer 200 and bury the real status in the text ("Webhook message delivery
# failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId …").
TEAMS_BURIED_ERROR = re.compile(rb"returned HTTP error (\d{3})")


@dataclass(frozen=True, slots=True)
class StaffAlert:
    title: str  # the email's subject, the chat message's title
    lines: list[str]
    link: str  # the console page to act from


def _one_line(text: str) -> str:
    """Carrier and merchant text in a subject or title: no line breaks (a header injection),
    no runs of spaces."""
    return re.sub(r"\s+", " ", str(text or "")).strip()


def _console(name: str, pk: int | None) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse(name, args=[pk])}" if pk else ""


def staff_alert(notification) -> StaffAlert:
    merchant = _one_line(notification.merchant.name)
    payload = notification.payload
    what = str(TRIGGER_WORDS.get(notification.trigger, notification.trigger))
    if notification.trigger in SHIPMENT_ALERT_TRIGGERS:
        return _shipment_alert(notification, merchant, what)
    if notification.trigger in WEBHOOK_ALERTS:
        endpoint = payload.get("endpoint", {})
        return StaffAlert(
            title=f"[flexTracker] {merchant}: {what}",
            lines=WEBHOOK_ALERTS[notification.trigger](endpoint),
            link=_console("admin:notifications_webhookendpoint_change", endpoint.get("pk")),
        )
    if notification.trigger == "platform_failing":
        connection = payload.get("connection", {})
        return StaffAlert(
            title=f"[flexTracker] {merchant}: {what}: {_one_line(connection.get('name', ''))}",
            lines=_platform_failing(connection),
            link=_console("admin:platforms_platformconnection_change", connection.get("pk")),
        )
    return StaffAlert(
        title=f"[flexTracker] {merchant}: {what}",
        lines=[f"A test alert, sent by {payload.get('requestedBy', 'flexTracker')}.",
               "If you can read this, this channel receives flexTracker's staff alerts."],
        link=f"{settings.PUBLIC_BASE_URL}{reverse('admin:index')}",
    )  # fmt: skip


def _utc(moment: str) -> str:
    return f"{datetime.fromisoformat(moment).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _webhook_failing(endpoint: dict) -> list[str]:
    return [
        f"Every webhook delivery to {endpoint.get('url', '')} has failed since "
        f"{_utc(endpoint['failingSince'])}; we keep retrying them.",
        f"Unless one succeeds, we stop sending to it at {_utc(endpoint['disableAt'])}.",
        "Check that the receiver is up and answers 2xx.",
    ]


def _webhook_disabled(endpoint: dict) -> list[str]:
    return [
        f"We stopped sending webhooks to {endpoint.get('url', '')}",
        f"Reason: {endpoint.get('reason', '')}",
        "Once the receiver works again, switch the subscription back on in the console or with "
        f"POST /api/v1/webhooks/{endpoint.get('id', '')}/enable.",
    ]


def _platform_failing(connection: dict) -> list[str]:
    return [
        f"The connection {_one_line(connection.get('name', ''))} "
        f"({connection.get('kind', '')}) failed {connection.get('failures', '')} times in a row.",
        f"Last error: {_one_line(connection.get('error', ''))}",
        "Pulls are tried again later and write-backs wait in the outbox: nothing is lost. "
        "Check the store's address and credentials, then use Test connection.",
    ]


WEBHOOK_ALERTS = {"webhook_failing": _webhook_failing, "webhook_disabled": _webhook_disabled}


def _shipment_alert(notification, merchant: str, what: str) -> StaffAlert:
    tracking = notification.payload.get("tracking") or {}
    number = _one_line(tracking.get("trackingNumber", ""))
    events = tracking.get("events") or [{}]
    description = _one_line(tracking.get("statusDescription", ""))
    carrier_text = _one_line(events[0].get("carrierDescription", ""))  # the newest event's
    lines = [
        f"Order: {tracking.get('orderId') or '(no order: a tracker)'}",
        f"Carrier: {tracking.get('carrierName') or tracking.get('carrier', '')}",
        f"Status: {what} ({tracking.get('status', '')}, {tracking.get('statusDetail', '')})",
        f"Carrier's description: {description}",
    ]
    if carrier_text and carrier_text != description:
        lines.append(f"Carrier's own text: {carrier_text}")
    if page := notification.payload.get("trackingPage"):
        lines.append(f"The customer's page: {page}")
    return StaffAlert(
        title=f"[flexTracker] {merchant}: {number} {what}",
        lines=lines,
        link=_console("admin:orders_shipment_change", notification.shipment_id),
    )


class StaffEmailChannel:
    """Plain text from our fixed From address; Django's email API refuses CR/LF in headers."""

    def send(self, notification) -> Delivery:
        alert = staff_alert(notification)
        stable_id = message_id(notification, settings.DEFAULT_FROM_EMAIL)
        message = EmailMessage(
            subject=_one_line(alert.title),
            body="\n".join([*alert.lines, "", f"Open it in the console: {alert.link}"]),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
            headers={"Message-ID": stable_id},
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as refused:
            raise DeliveryRefused("The mail server refused the address.") from refused
        except (smtplib.SMTPException, OSError) as error:  # our server or the network: retry
            raise DeliveryFailed(f"{type(error).__name__}: {error}"[:300]) from error
        return Delivery(provider_id=stable_id)


class SlackChannel:
    """An incoming webhook: `{"text": …}` in Slack's mrkdwn, where &, < and > must be escaped."""

    def send(self, notification) -> Delivery:
        alert = staff_alert(notification)
        lines = [f"*{_slack_escape(alert.title)}*", *map(_slack_escape, alert.lines)]
        if alert.link:
            lines.append(f"<{alert.link}|Open it in the console>")
        body = json.dumps({"text": "\n".join(lines)}).encode()
        answer = post_checked(_configured(notification, "slack"), body=body, headers=HEADERS)
        judge_chat_answer(answer, "Slack")
        return Delivery(response_status=answer.status)


def _configured(notification, service: str) -> str:
    """The merchant's URL now (it may have been changed since the row was written)."""
    url = getattr(notification.merchant, f"{service}_webhook_url")
    if not url:
        raise DeliveryRefused(f"The merchant removed its {service.title()} webhook.")
    return url


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TeamsChannel:
    """An incoming webhook taking a MessageCard; its text is Markdown, so carrier text is
    escaped to stay text."""

    def send(self, notification) -> Delivery:
        alert = staff_alert(notification)
        text = "\n\n".join(_markdown_escape(line) for line in alert.lines)
        if alert.link:
            text += f"\n\n[Open it in the console]({alert.link})"
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": alert.title,
            "title": alert.title,
            "text": text,
        }
        body = json.dumps(card).encode()
        answer = post_checked(_configured(notification, "teams"), body=body, headers=HEADERS)
        buried = TEAMS_BURIED_ERROR.search(answer.body) if answer.status < 300 else None
        judge_chat_answer(replace(answer, status=int(buried[1])) if buried else answer, "Teams")
        return Delivery(response_status=answer.status)


def _markdown_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()<>#+!|])", r"\\\1", text)
