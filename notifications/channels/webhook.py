"""Merchant webhooks (API.md "Outbound webhooks"; RELIABILITY.md "Sending webhooks").

Signed `FlexTracker-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, or in the
`tracking-api` style (seed 002) `sha256=<hex HMAC-SHA256(secret, body)>`; the URL is
resolved and checked again at every delivery, and we connect to the address we checked (DNS
rebinding); 10 s timeout, no redirects, at most 64 KB of the answer read; 410 stops for good.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from carriers.seed002 import seed002_event, seed002_status
from carriers.vocabulary import Status
from flextracker.outbound import retry_after_seconds
from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.channels.http import Answer, post_checked
from notifications.models import WebhookEndpoint, WebhookStyle

SIGNATURE_HEADER = "FlexTracker-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _native_signature(secret: str, body: bytes) -> str:
    return signature(secret, int(time.time()), body)


def seed002_signature(secret: str, body: bytes) -> str:
    """Seed 002's `verifyWebhookSignature`: `sha256=` and the hex HMAC of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _tracking_object(payload: dict) -> dict:
    """What happened, frozen when it happened: an order event's `data`, or the tracking object
    of a status change (tracking.services.notification_contexts)."""
    return payload.get("data") or payload.get("tracking") or {}


def seed002_data(payload: dict) -> dict:
    """The `data` of seed 002's webhook payload, read off our tracking object: the status in its
    vocabulary, and the place and recipient of the latest event (events are newest first)."""
    tracking = _tracking_object(payload)
    latest = (tracking.get("events") or [{}])[0]
    status = tracking.get("status") or Status.UNKNOWN
    return {
        "shipmentId": tracking.get("shipmentId"),
        "trackingNumber": tracking.get("trackingNumber"),
        "status": seed002_status(status, tracking.get("statusDetail") or ""),
        "description": tracking.get("statusDescription"),
        "location": latest.get("location"),
        "recipient": latest.get("recipient"),
        "deliveredAt": tracking.get("deliveredAt"),
        "orderId": tracking.get("orderId"),
        # Beyond seed 002's example payload: its own handleTrackingUpdate reads `events[0]` on
        # an EXCEPTION, so the events (newest first) travel too.
        "events": [
            seed002_event(event, tracking.get("trackingNumber"))
            for event in tracking.get("events") or []
        ],
    }


@dataclass(frozen=True, slots=True)
class Style:
    """How a subscription's deliveries speak (API.md): their `data`, and their signature."""

    data: Callable[[dict], dict]  # (the notification's payload) -> the body's `data`
    signature: Callable[[str, bytes], str]  # (secret, raw body) -> the header's value


STYLES = {
    WebhookStyle.NATIVE: Style(_tracking_object, _native_signature),
    WebhookStyle.TRACKING_API: Style(seed002_data, seed002_signature),
}


def webhook_body(notification, style: Style = STYLES[WebhookStyle.NATIVE]) -> bytes:
    return json.dumps(
        {
            "eventId": f"evt_{notification.pk}",
            "eventType": notification.trigger,
            "timestamp": notification.created_at.isoformat().replace("+00:00", "Z"),
            "data": style.data(notification.payload),
        },
        separators=(",", ":"),
    ).encode()


class WebhookChannel:
    def send(self, notification) -> Delivery:
        endpoint = WebhookEndpoint.objects.filter(
            merchant_id=notification.merchant_id, public_id=notification.recipient
        ).first()
        if endpoint is None or not endpoint.is_active:
            raise DeliveryRefused("The subscription was deleted or disabled.")
        style = STYLES[endpoint.style]
        body = webhook_body(notification, style)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flexTracker-Webhooks/1.0",
            SIGNATURE_HEADER: style.signature(endpoint.secret, body),
        }
        return _judge(post_checked(endpoint.url, body=body, headers=headers))


def _judge(answer: Answer) -> Delivery:
    status = answer.status
    if 200 <= status < 300:
        return Delivery(response_status=status)
    if status == 410:
        raise DeliveryRefused("The receiver answered 410 Gone.", response_status=status)
    raise DeliveryFailed(
        f"The receiver answered {status}.",
        response_status=status,
        retry_after=retry_after_seconds(answer.headers),
    )
