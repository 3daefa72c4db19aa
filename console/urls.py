from django.urls import path

from console import dashboard, views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("orders/<int:order_pk>/", views.order_detail, name="order"),
    path("orders/<int:order_pk>/refresh", views.refresh_tracking, name="refresh"),
    path(
        "orders/<int:order_pk>/notifications/<int:notification_pk>/resend",
        views.resend_notification,
        name="resend",
    ),
    path("orders/<int:order_pk>/notes", views.add_note, name="add_note"),
    path("orders/<int:order_pk>/link", views.copy_link, name="copy_link"),
    path("orders/<int:order_pk>/pdf", views.open_pdf, name="pdf"),
    path("dashboard", dashboard.dashboard, name="dashboard"),
    path("returns/", views.returns, name="returns"),
    path("returns/<str:return_id>/", views.return_detail, name="return"),
    path("returns/<str:return_id>/approve", views.return_approve, name="return_approve"),
    path("returns/<str:return_id>/refuse", views.return_refuse, name="return_refuse"),
    path("returns/<str:return_id>/label", views.return_label, name="return_label"),
]
