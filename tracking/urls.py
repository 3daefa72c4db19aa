"""Inbound webhooks, mounted under /hooks/ (not the merchant API): pushes from tracking
aggregators, and orders from merchants' shops (Shopify)."""

from django.urls import path

from ingest import hooks
from tracking import push

urlpatterns = [
    path("push/easypost", push.easypost_webhook, name="push-easypost"),
    path("push/aftership", push.aftership_webhook, name="push-aftership"),
    path("shopify/<str:merchant_id>", hooks.shopify_webhook, name="hooks-shopify"),
]
