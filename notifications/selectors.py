"""Reads about notifications, always scoped by the merchant."""

from django.db.models import QuerySet

from merchants.models import Merchant
from notifications.models import WebhookEndpoint


def webhook_endpoints_for(
    merchant: Merchant, *, style: str | None = None
) -> QuerySet[WebhookEndpoint]:
    """The merchant's webhook subscriptions (of one `style` when given), active or not, newest
    first."""
    endpoints = WebhookEndpoint.objects.filter(merchant=merchant)
    if style is not None:
        endpoints = endpoints.filter(style=style)
    return endpoints.order_by("-created_at", "-id")


def webhook_endpoint_get_for_merchant(
    merchant: Merchant, public_id: str, *, style: str | None = None
) -> WebhookEndpoint | None:
    """The merchant's subscription with this public id (`whk_…`, of one `style` when given);
    another merchant's is None."""
    return webhook_endpoints_for(merchant, style=style).filter(public_id=public_id).first()
