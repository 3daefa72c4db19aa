"""Every write to notifications: webhook subscriptions (API.md /webhooks) and the outbox.

Errors use API.md's EVENT codes (a subscription is about events; the table has no WEBHOOK code):
400 MISSING_EVENT_DATA for an absent or empty `url` or `events`, 422 INVALID_EVENT_DATA for a
value that is present but wrong. `fields` names the API's fields (`url`, `events`).
"""

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from flextracker.errors import InvalidData, MissingData
from merchants.models import Merchant
from notifications.models import Channel, Notification, WebhookEndpoint, WebhookEventType
from notifications.urlguard import check_webhook_url
from tracking.carriers.vocabulary import Status

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# OWASP API4: a caller cannot make us fan every event out to unbounded URLs.
MAX_WEBHOOK_ENDPOINTS = 20
KNOWN_EVENT_TYPES = ", ".join(WebhookEventType.values)


def webhook_endpoint_create(
    *, merchant: Merchant, url: str, event_types: list[str]
) -> tuple[WebhookEndpoint, str]:
    """Subscribes `url` to `event_types`; returns the endpoint and its signing secret, which the
    merchant sees this once (it is kept in clear only because signing needs it).

    The URL's host is resolved and checked (SSRF) before anything is written: the DNS lookup is
    network I/O and must not run while this transaction holds locks. One subscription per URL
    and merchant (a database constraint), so a retried POST cannot double every delivery.
    """
    url = (url or "").strip()
    event_types = _required_and_known(url, event_types)
    problems = check_webhook_url(url, allow_http=settings.DEBUG)
    if problems:
        raise InvalidData(
            "This URL cannot receive webhooks.", code="INVALID_EVENT_DATA", fields={"url": problems}
        )
    # Counted without a lock: concurrent creates can pass the cap slightly; it still bounds fan-out.
    if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_WEBHOOK_ENDPOINTS:
        raise InvalidData(
            f"A merchant can have at most {MAX_WEBHOOK_ENDPOINTS} webhook subscriptions; "
            "delete one first.",
            code="INVALID_EVENT_DATA",
        )
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(
                merchant=merchant, url=url, event_types=event_types, secret=secret
            )
    except IntegrityError:
        existing = WebhookEndpoint.objects.filter(merchant=merchant, url=url).first()
        if existing is None:
            raise
        raise InvalidData(
            "This URL is already subscribed; delete that subscription to change its events.",
            code="INVALID_EVENT_DATA",
            fields={"url": [f"Already subscribed as {existing.public_id}."]},
            details={"id": existing.public_id},
        ) from None
    return endpoint, secret


def _required_and_known(url: str, event_types: list[str]) -> list[str]:
    """At least one known event type, duplicates removed, in the merchant's order."""
    missing = {
        name: ["This field is required."]
        for name, value in (("url", url), ("events", event_types))
        if not value
    }
    if missing:
        raise MissingData("Required fields are missing.", code="MISSING_EVENT_DATA", fields=missing)
    unknown = {
        f"events[{index}]": [f'"{name}" is not an event type; use one of: {KNOWN_EVENT_TYPES}.']
        for index, name in enumerate(event_types)
        if name not in WebhookEventType.values
    }
    if unknown:
        raise InvalidData(
            "Some event types are unknown.", code="INVALID_EVENT_DATA", fields=unknown
        )
    return list(dict.fromkeys(event_types))


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Unsubscribes: the endpoint and its secret are deleted."""
    endpoint.delete()


# --- The hand-over: tracking tells notifications about every status change, here only --------

WEBHOOK_EVENT_BY_STATUS = {
    Status.OUT_FOR_DELIVERY: WebhookEventType.TRACKING_OUT_FOR_DELIVERY,
    Status.DELIVERED: WebhookEventType.TRACKING_DELIVERED,
    Status.AVAILABLE_FOR_PICKUP: WebhookEventType.TRACKING_AVAILABLE_FOR_PICKUP,
    Status.EXCEPTION: WebhookEventType.TRACKING_EXCEPTION,
    Status.FAILED_ATTEMPT: WebhookEventType.TRACKING_EXCEPTION,
    Status.RETURN_TO_SENDER: WebhookEventType.TRACKING_RETURNED,
}


def webhook_event_types_for(status: str) -> list[str]:
    specific = WEBHOOK_EVENT_BY_STATUS.get(status)
    return [WebhookEventType.TRACKING_UPDATED, *([specific] if specific else [])]


def shipment_status_changed(*, shipment, previous_status: str, context: dict) -> list[Notification]:
    """The one function the tracking app calls when a shipment's status changes (STYLE.md:
    explicit calls, no signals). It writes the outbox rows in the caller's transaction: the
    customer's email/SMS when the merchant chose this status, and the merchant's webhooks. The
    unique key (merchant, channel, recipient, dedupe_key) makes each message exist once."""
    status = shipment.status
    cause = f"shipment:{shipment.pk}:{status}"
    rows = [
        *_customer_rows(shipment, status, cause),
        *_webhook_rows(shipment.merchant, webhook_event_types_for(status), cause, shipment),
    ]
    payloads = {"previousStatus": previous_status, "status": status, **context}
    for row in rows:
        row.payload = {**payloads, **row.payload}
    return _queue(rows)


def _queue(rows: list[Notification]) -> list[Notification]:
    """Writes the rows and, in the same transaction (django-q2's ORM broker), a task to send
    them now: both commit or neither does. The schedule's sweep catches any lost task."""
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if created:
        async_task("notifications.tasks.send_notifications", task_name="send notifications now")
    return created


def _customer_rows(shipment, status: str, cause: str) -> list[Notification]:
    order = shipment.order
    if order is None:
        return []
    merchant = shipment.merchant
    chosen = set(
        merchant.notification_rules.filter(trigger=status).values_list("channel", flat=True)
    )
    contacts = {
        Channel.EMAIL: merchant.email_notifications_enabled and order.customer_email,
        Channel.SMS: merchant.sms_notifications_enabled and order.customer_phone,
    }
    return [
        Notification(merchant=merchant, order=order, shipment=shipment, channel=channel,
                     recipient=recipient, trigger=status, dedupe_key=cause)
        for channel, recipient in contacts.items()
        if recipient and channel in chosen
    ]  # fmt: skip


def _webhook_rows(merchant, event_types: list[str], cause: str, shipment) -> list[Notification]:
    endpoints = WebhookEndpoint.objects.filter(merchant=merchant, is_active=True)
    return [
        Notification(merchant=merchant, order_id=shipment.order_id, shipment=shipment,
                     channel=Channel.WEBHOOK, recipient=endpoint.public_id, trigger=event_type,
                     dedupe_key=f"{cause}:{event_type}", payload={"eventType": event_type})
        for endpoint in endpoints
        for event_type in event_types
        if event_type in endpoint.event_types
    ]  # fmt: skip


def shipment_delayed(*, shipment, context: dict) -> list[Notification]:
    """The tracking app's hand-over when a shipment becomes late (once per shipment)."""
    rows = _webhook_rows(
        shipment.merchant, [WebhookEventType.TRACKING_DELAYED], f"shipment:{shipment.pk}:delayed",
        shipment,
    )  # fmt: skip
    for row in rows:
        row.payload = {**row.payload, "status": shipment.status, **context}
    return _queue(rows)
