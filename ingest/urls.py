"""Orders from merchants' shops (Shopify webhooks), mounted under /hooks/ (not the merchant API)."""

from django.urls import path

from ingest import hooks

urlpatterns = [
    path("shopify/<str:merchant_id>", hooks.shopify_webhook, name="hooks-shopify"),
]
