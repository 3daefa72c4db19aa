from django.urls import path

from ingest.api import events, orders as views
from inbound.api.views import MessageDetailApi, MessagesApi
from ingest.api.trackers import TrackerDetailApi, TrackersApi
from notifications.api.views import WebhookDetailApi, WebhookEnableApi, WebhooksApi

# Order ids may contain "/", so they are `path` segments; the endpoints under an order come first.
urlpatterns = [
    path("orders", views.OrdersApi.as_view(), name="api-orders"),
    path("orders/<path:order_id>/shipments", views.ShipmentsApi.as_view(), name="api-shipments"),
    path(
        "orders/<path:order_id>/cancellations",
        views.CancellationsApi.as_view(),
        name="api-cancellations",
    ),
    path("orders/<path:order_id>/backorders", views.BackordersApi.as_view(), name="api-backorders"),
    path("orders/<path:order_id>", views.OrderDetailApi.as_view(), name="api-order"),
    path("events", events.EventsApi.as_view(), name="api-events"),
    path("events/batch", events.EventsBatchApi.as_view(), name="api-events-batch"),
    path("trackers", TrackersApi.as_view(), name="api-trackers"),
    path("trackers/<path:tracker_external_id>", TrackerDetailApi.as_view(), name="api-tracker"),
    path("messages", MessagesApi.as_view(), name="api-messages"),
    path("messages/<str:message_id>", MessageDetailApi.as_view(), name="api-message"),
    path("webhooks", WebhooksApi.as_view(), name="api-webhooks"),
    path("webhooks/<str:webhook_id>", WebhookDetailApi.as_view(), name="api-webhook"),
    path("webhooks/<str:webhook_id>/enable", WebhookEnableApi.as_view(), name="api-webhook-enable"),
]
