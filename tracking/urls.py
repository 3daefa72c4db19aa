"""Pushes from tracking aggregators, mounted under /hooks/ (not the merchant API)."""

from django.urls import path

from tracking import push

urlpatterns = [
    path("push/easypost", push.easypost_webhook, name="push-easypost"),
    path("push/aftership", push.aftership_webhook, name="push-aftership"),
    path("push/shippo", push.shippo_webhook, name="push-shippo"),
]
