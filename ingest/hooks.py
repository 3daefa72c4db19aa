"""Webhooks that bring a merchant's orders in from a platform: Shopify, at
`POST /hooks/shopify/<merchantId>` (mounted by `tracking/urls.py` with the other receivers).

The signature is the authentication: the shop named by `X-Shopify-Shop-Domain` must be one of
the merchant's, and `X-Shopify-Hmac-Sha256` must be the HMAC of the raw body with that shop's
secret; otherwise 401, nothing stored, the attempt logged. An authenticated delivery goes into
the inbound message log and through the channel core (route `shopify:<topic>`). Shopify retries
anything but a 2xx for hours and may then drop the subscription, so a record we reject (bad
data, kept in the log for a replay) is still a 200; only our own failure asks for a retry (503).
A redelivery (same `X-Shopify-Webhook-Id`) answers what the first delivery answered.
"""

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from flextracker.api.envelope import api_error_for, request_body_within_limit, success_body
from flextracker.errors import ApiError, PayloadTooLarge
from inbound.models import InboundChannel
from inbound.services import Failure
from ingest.channels.core import channel_deliver
from ingest.channels.shopify import TOPICS, shopify_signature_valid
from ingest.models import ShopifyShop

logger = logging.getLogger(__name__)


class _Unauthorized(ApiError):
    status = 401
    default_code = "UNAUTHORIZED"


@csrf_exempt
def shopify_webhook(request: HttpRequest, merchant_id: str) -> JsonResponse:
    if request.method != "POST":
        error = ApiError("Shopify webhooks are POSTed.", code="METHOD_NOT_ALLOWED")
        error.status = 405
        return _error(error)
    body = request_body_within_limit(request)
    if body is None:
        return _error(PayloadTooLarge("The body is larger than 1 MiB."))
    try:
        return _receive(request, merchant_id, body)
    except DatabaseError as error:  # the shop not read, or the log not written: Shopify retries
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
        merchant=shop.merchant, channel=InboundChannel.SHOPIFY, route=f"shopify:{topic}",
        body=body, content_type=request.content_type or "", source=shop.shop_domain,
        dedupe_key=f"shopify:{webhook_id}"[:255] if webhook_id else None,
    )  # fmt: skip
    if isinstance(outcome, Failure):
        # A non-transient failure (bad data, or a redelivery whose body differs) would fail
        # again on every retry, and Shopify drops a subscription that keeps failing.
        if outcome.transient:
            return _error(outcome.error)
        return JsonResponse(_received("rejected", topic, outcome.replayed, outcome.error))
    return JsonResponse(_received("accepted", topic, outcome.replayed))


def _shop(merchant_id: str, domain: str) -> ShopifyShop | None:
    if not domain:
        return None
    return (
        ShopifyShop.objects.select_related("merchant")
        .filter(
            merchant__merchant_id=merchant_id,
            merchant__is_active=True,
            shop_domain__iexact=domain,
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
