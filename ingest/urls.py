"""Orders from merchants' shops (Shopify and WooCommerce webhooks), mounted under /hooks/ (not
the merchant API)."""

from django.urls import path

from ingest import hooks

urlpatterns = [
    path("shopify/<str:merchant_id>", hooks.shopify_webhook, name="hooks-shopify"),
    path("woocommerce/<str:connection_id>", hooks.woocommerce_webhook, name="hooks-woocommerce"),
]
