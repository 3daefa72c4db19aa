from django.urls import path

from notifications.api.views import (
    TrackingWebhookDetailApi,
    TrackingWebhooksApi,
    WebhookDetailApi,
    WebhookEnableApi,
    WebhooksApi,
)

# Included before tracking's URLs: `tracking/webhook` is no tracking number.
urlpatterns = [
    path("webhooks", WebhooksApi.as_view(), name="api-webhooks"),
    path("webhooks/<str:webhook_id>", WebhookDetailApi.as_view(), name="api-webhook"),
    path("webhooks/<str:webhook_id>/enable", WebhookEnableApi.as_view(), name="api-webhook-enable"),
    path("tracking/webhook", TrackingWebhooksApi.as_view(), name="api-tracking-webhooks"),
    path(
        "tracking/webhook/<str:webhook_id>",
        TrackingWebhookDetailApi.as_view(),
        name="api-tracking-webhook",
    ),
]
