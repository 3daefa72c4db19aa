from django.urls import path

from notifications.api.views import WebhookDetailApi, WebhookEnableApi, WebhooksApi

urlpatterns = [
    path("webhooks", WebhooksApi.as_view(), name="api-webhooks"),
    path("webhooks/<str:webhook_id>", WebhookDetailApi.as_view(), name="api-webhook"),
    path("webhooks/<str:webhook_id>/enable", WebhookEnableApi.as_view(), name="api-webhook-enable"),
]
