"""Merchant webhooks (API.md "Outbound webhooks"; RELIABILITY.md "Sending webhooks").

Signed `FlexTracker-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; the URL is
resolved and checked again at every delivery, and we connect to the address we checked (DNS
rebinding); 10 s timeout, no redirects, at most 64 KB of the answer read; 410 stops for good.
"""

import hashlib
import hmac
import json
import time

from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.channels.http import Answer, post_checked, retry_after_seconds
from notifications.models import WebhookEndpoint

SIGNATURE_HEADER = "FlexTracker-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def webhook_body(notification) -> bytes:
    payload = notification.payload
    data = payload.get("data") or payload.get("tracking") or {}
    return json.dumps(
        {
            "eventId": f"evt_{notification.pk}",
            "eventType": notification.trigger,
            "timestamp": notification.created_at.isoformat().replace("+00:00", "Z"),
            "data": data,
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
        body = webhook_body(notification)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flexTracker-Webhooks/1.0",
            SIGNATURE_HEADER: signature(endpoint.secret, int(time.time()), body),
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
        retry_after=retry_after_seconds(answer),
    )
