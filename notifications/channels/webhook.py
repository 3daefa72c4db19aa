"""Merchant webhooks (API.md "Outbound webhooks"; RELIABILITY.md "Sending webhooks").

Signed `FlexTracker-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; the URL is
resolved and checked again at every delivery, and we connect to the address we checked (DNS
rebinding); 10 s timeout, no redirects, at most 64 KB of the answer read; 410 stops for good.
"""

import hashlib
import hmac
import ipaddress
import json
import time
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.models import WebhookEndpoint
from notifications.urlguard import UnsafeWebhookUrl, resolve_checked

TIMEOUT = 10
MAX_ANSWER_BYTES = 64 * 1024
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


class _PinnedAddress(HTTPAdapter):
    """Connects to an address we checked while TLS still verifies the URL's own host name."""

    def __init__(self, host: str):
        self.host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.host
        kwargs["assert_hostname"] = self.host
        super().init_poolmanager(*args, **kwargs)


def _pinned_url(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class WebhookChannel:
    def send(self, notification) -> Delivery:
        endpoint = WebhookEndpoint.objects.filter(
            merchant_id=notification.merchant_id, public_id=notification.recipient
        ).first()
        if endpoint is None or not endpoint.is_active:
            raise DeliveryRefused("The subscription was deleted or disabled.")
        try:
            addresses = resolve_checked(endpoint.url, settings.DEBUG)
        except UnsafeWebhookUrl as unsafe:
            raise DeliveryFailed(f"Refused to call it: {unsafe}") from unsafe
        body = webhook_body(notification)
        return self._post(endpoint, addresses[0], body)

    def _post(self, endpoint: WebhookEndpoint, address, body: bytes) -> Delivery:
        host = urlsplit(endpoint.url).hostname
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flexTracker-Webhooks/1.0",
            "Host": urlsplit(endpoint.url).netloc,
            SIGNATURE_HEADER: signature(endpoint.secret, int(time.time()), body),
        }
        session = requests.Session()
        session.mount("https://", _PinnedAddress(host))  # plain http only exists in DEBUG
        try:
            url = _pinned_url(endpoint.url, address)
            with session.post(
                url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False,
                stream=True,
            ) as response:  # fmt: skip
                next(response.iter_content(MAX_ANSWER_BYTES), b"")  # read a bounded part only
                return _judge(response)
        except requests.RequestException as error:
            raise DeliveryFailed(f"{type(error).__name__}") from error


def _judge(response: requests.Response) -> Delivery:
    status = response.status_code
    if 200 <= status < 300:
        return Delivery(response_status=status)
    if status == 410:
        raise DeliveryRefused("The receiver answered 410 Gone.", response_status=status)
    retry_after = response.headers.get("Retry-After", "")
    raise DeliveryFailed(
        f"The receiver answered {status}.",
        response_status=status,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )
