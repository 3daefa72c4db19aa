from django.urls import path

from ingest.api import events, orders, returns, trackers

# Order ids may contain "/", so they are `path` segments; the endpoints under an order come first.
urlpatterns = [
    path("orders", orders.OrdersApi.as_view(), name="api-orders"),
    path("orders/<path:order_id>/shipments", orders.ShipmentsApi.as_view(), name="api-shipments"),
    path(
        "orders/<path:order_id>/cancellations",
        orders.CancellationsApi.as_view(),
        name="api-cancellations",
    ),
    path(
        "orders/<path:order_id>/backorders", orders.BackordersApi.as_view(), name="api-backorders"
    ),
    path("orders/<path:order_id>", orders.OrderDetailApi.as_view(), name="api-order"),
    path("returns", returns.ReturnsApi.as_view(), name="api-returns"),
    path("returns/<str:return_id>", returns.ReturnDetailApi.as_view(), name="api-return"),
    path(
        "returns/<str:return_id>/approve",
        returns.ReturnApproveApi.as_view(),
        name="api-return-approve",
    ),
    path(
        "returns/<str:return_id>/refuse",
        returns.ReturnRefuseApi.as_view(),
        name="api-return-refuse",
    ),
    path(
        "returns/<str:return_id>/label", returns.ReturnLabelApi.as_view(), name="api-return-label"
    ),
    path("events", events.EventsApi.as_view(), name="api-events"),
    path("events/batch", events.EventsBatchApi.as_view(), name="api-events-batch"),
    path("trackers", trackers.TrackersApi.as_view(), name="api-trackers"),
    path(
        "trackers/<path:tracker_external_id>",
        trackers.TrackerDetailApi.as_view(),
        name="api-tracker",
    ),
]
