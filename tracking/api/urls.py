from django.urls import path

from tracking.api import seed002, views

urlpatterns = [
    # Seed 002's own paths, before `tracking/<str:tracking_number>/…` could take them.
    path("tracking", seed002.TrackingInTransitApi.as_view(), name="api-tracking-in-transit"),
    path(
        "tracking/lookup/<path:load_id>",
        seed002.TrackingLookupApi.as_view(),
        name="api-tracking-lookup",
    ),
    path("track/shipment", seed002.TrackShipmentApi.as_view(), name="api-track-shipment"),
    path("track/shipments", seed002.TrackShipmentsApi.as_view(), name="api-track-shipments"),
    path("track/details", seed002.TrackDetailsApi.as_view(), name="api-track-details"),
    path("track/update", seed002.TrackUpdateApi.as_view(), name="api-track-update"),
    path(
        "shipments/<str:shipment_id>/track",
        seed002.ShipmentTrackApi.as_view(),
        name="api-shipment-track",
    ),
    path("tracking/batch", views.TrackingBatchApi.as_view(), name="api-tracking-batch"),
    path("tracking/events", views.TrackingEventsListApi.as_view(), name="api-tracking-events"),
    path(
        "tracking/<str:tracking_number>/events",
        views.TrackingReportApi.as_view(),
        name="api-tracking-report",
    ),
    path(
        "tracking/<str:tracking_number>/refresh",
        views.TrackingRefreshApi.as_view(),
        name="api-tracking-refresh",
    ),
    path("tracking/<str:tracking_number>", views.TrackingDetailApi.as_view(), name="api-tracking"),
]
