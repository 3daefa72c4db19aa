"""Webhooks that bring a merchant's orders in from a platform: Shopify, at
`POST /hooks/shopify/<merchantId>` (mounted by `tracking/urls.py` with the other receivers).

The signature is the authentication: the shop named by `X-Shopify-Shop-Domain` must be one of
the merchant's Shopify connections (a platform connection of kind `shopify`), and
`X-Shopify-Hmac-Sha256` must be the HMAC of the raw body with that connection's webhook secret;
otherwise 401, nothing stored, the attempt logged. An authenticated delivery goes into the
inbound message log and through the channel core (route `shopify:<connection pk>:<topic>`).
Shopify retries anything but a 2xx for hours and may then drop the subscription, so a record we
reject (bad data, kept in the log for a replay) is still a 200; only our own failure asks for a
retry (503).
A redelivery (same `X-Shopify-Webhook-Id`) answers what the first delivery answered.

WooCommerce, at `POST /hooks/woocommerce/<connection public id>` (a platform connection of kind
`woocommerce`): `X-WC-Webhook-Signature` is the HMAC of the raw body with the connection's
webhook secret, checked the same way (401 otherwise). The ping WooCommerce sends when a webhook
is saved (a form body `webhook_id=<id>`, unsigned) is a 200 for a connection we know, or it will
not save the webhook. Route `woocommerce:<connection pk>:<topic>`, deduplicated by
`X-WC-Webhook-Delivery-ID`; the same answers as Shopify's (WooCommerce disables a webhook after
a few failed deliveries in a row, and never retries).
"""

import logging
import re
import uuid
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from flextracker.api.envelope import api_error_for, request_body_within_limit, success_body
from flextracker.errors import ApiError, PayloadTooLarge
from inbound.models import InboundChannel
from inbound.services import Failure, Result
from ingest.channels.core import channel_deliver
from ingest.channels.shopify import TOPICS, shopify_route, shopify_signature_valid
from ingest.channels.woocommerce import TOPICS as WOOCOMMERCE_TOPICS
from ingest.channels.woocommerce import woocommerce_route, woocommerce_signature_valid
from platforms.models import PlatformConnection, PlatformKind

logger = logging.getLogger(__name__)

# What WooCommerce posts when a webhook is saved: a form body, no topic, no signature.
WOOCOMMERCE_PING = re.compile(rb"webhook_id=[0-9]+")


class _Unauthorized(ApiError):
    status = 401
    default_code = "UNAUTHORIZED"


@csrf_exempt
def shopify_webhook(request: HttpRequest, merchant_id: str) -> JsonResponse:
    return _posted(request, "Shopify", lambda body: _receive(request, merchant_id, body))


@csrf_exempt
def woocommerce_webhook(request: HttpRequest, connection_id: str) -> JsonResponse:
    return _posted(
        request, "WooCommerce", lambda body: _receive_woocommerce(request, connection_id, body)
    )


def _posted(
    request: HttpRequest, platform: str, receive: Callable[[bytes], JsonResponse]
) -> JsonResponse:
    if request.method != "POST":
        error = ApiError(f"{platform} webhooks are POSTed.", code="METHOD_NOT_ALLOWED")
        error.status = 405
        return _error(error)
    body = request_body_within_limit(request)
    if body is None:
        return _error(PayloadTooLarge("The body is larger than 1 MiB."))
    try:
        return receive(body)
    except DatabaseError as error:  # the sender not read, or the log not written: a retry
        return _error(api_error_for(error))


def _receive(request: HttpRequest, merchant_id: str, body: bytes) -> JsonResponse:
    domain = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    topic = request.headers.get("X-Shopify-Topic", "").strip()
    shop = _shop(merchant_id, domain)
    signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
    if shop is None or not shopify_signature_valid(body, signature, shop.webhook_secret):
        logger.warning(
            "Shopify webhook refused for merchant %.20s, shop %.255r, topic %.50r: %s",
            merchant_id, domain, topic, "unknown shop" if shop is None else "wrong signature",
        )  # fmt: skip
        return _error(
            _Unauthorized("Unknown shop for this merchant, or the signature does not match.")
        )
    if topic not in TOPICS:
        logger.info("Shopify webhook from %s: topic %.50r is not one we handle", domain, topic)
        return JsonResponse(_received("ignored", topic=topic))
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "").strip()
    outcome = channel_deliver(
        merchant=shop.merchant, channel=InboundChannel.SHOPIFY, route=shopify_route(shop, topic),
        body=body, content_type=request.content_type or "", source=shop.shop_domain,
        dedupe_key=f"shopify:{webhook_id}"[:255] if webhook_id else None,
    )  # fmt: skip
    return _answer(outcome, topic)


def _answer(outcome: Result | Failure, topic: str) -> JsonResponse:
    """A delivery's answer. A non-transient failure (bad data, or a redelivery whose body
    differs) would fail again on every retry, and the platforms drop (Shopify) or disable
    (WooCommerce) a webhook that keeps failing: it is a 200 with the error, kept for a replay.
    Only our own failure asks for a retry (503)."""
    if isinstance(outcome, Failure):
        if outcome.transient:
            return _error(outcome.error)
        return JsonResponse(_received("rejected", topic, outcome.replayed, outcome.error))
    return JsonResponse(_received("accepted", topic, outcome.replayed))


def _receive_woocommerce(request: HttpRequest, connection_id: str, body: bytes) -> JsonResponse:
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip()
    connection = _woocommerce_connection(connection_id)
    if connection is not None and not topic and WOOCOMMERCE_PING.fullmatch(body.strip()):
        logger.info("WooCommerce webhook ping for connection %s", connection.pk)
        return JsonResponse(_received("ping", topic))
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if connection is None or not woocommerce_signature_valid(
        body, signature, connection.webhook_secret
    ):
        logger.warning(
            "WooCommerce webhook refused for connection %.40r, topic %.50r: %s",
            connection_id, topic, "unknown connection" if connection is None else "wrong signature",
        )  # fmt: skip
        return _error(_Unauthorized("Unknown store connection, or the signature does not match."))
    if topic not in WOOCOMMERCE_TOPICS:
        logger.info(
            "WooCommerce webhook for connection %s: topic %.50r ignored", connection.pk, topic
        )
        return JsonResponse(_received("ignored", topic=topic))
    delivery_id = request.headers.get("X-WC-Webhook-Delivery-ID", "").strip()
    outcome = channel_deliver(
        merchant=connection.merchant, channel=InboundChannel.WOOCOMMERCE,
        route=woocommerce_route(connection, topic), body=body,
        content_type=request.content_type or "", source=connection.base_url[:300],
        dedupe_key=f"woocommerce:{connection.pk}:{delivery_id}"[:255] if delivery_id else None,
    )  # fmt: skip
    return _answer(outcome, topic)


def _woocommerce_connection(connection_id: str) -> PlatformConnection | None:
    try:
        public_id = uuid.UUID(connection_id)
    except ValueError:
        return None
    return (
        PlatformConnection.objects.select_related("merchant")
        .filter(
            public_id=public_id,
            kind=PlatformKind.WOOCOMMERCE,
            is_active=True,
            merchant__is_active=True,
        )
        .first()
    )


def _shop(merchant_id: str, domain: str) -> PlatformConnection | None:
    if not domain:
        return None
    return (
        PlatformConnection.objects.select_related("merchant")
        .filter(
            merchant__merchant_id=merchant_id,
            merchant__is_active=True,
            kind=PlatformKind.SHOPIFY,
            shop_domain=domain,
            is_active=True,
        )
        .first()
    )


def _received(
    outcome: str, topic: str, replayed: bool = False, error: ApiError | None = None
) -> dict:
    data = {"received": True, "topic": topic, "outcome": outcome, "replayed": replayed}
    if error is not None:
        data["error"] = error.body()["error"]
    return success_body(data)


def _error(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(), status=error.status)
