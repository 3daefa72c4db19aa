"""Reads about notifications, always scoped by the merchant."""

from django.db.models import QuerySet

from merchants.models import Merchant
from notifications.models import WebhookEndpoint


def webhook_endpoints_for(merchant: Merchant) -> QuerySet[WebhookEndpoint]:
    """The merchant's webhook subscriptions, active or not, newest first."""
    return WebhookEndpoint.objects.filter(merchant=merchant).order_by("-created_at", "-id")


def webhook_endpoint_get_for_merchant(merchant: Merchant, public_id: str) -> WebhookEndpoint | None:
    """The merchant's subscription with this public id (`whk_…`); another merchant's is None."""
    return webhook_endpoints_for(merchant).filter(public_id=public_id).first()
