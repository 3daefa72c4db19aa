from django.urls import path

from tracking.api import views

urlpatterns = [
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
