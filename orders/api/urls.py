from django.urls import path

from orders.api import views

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
]
