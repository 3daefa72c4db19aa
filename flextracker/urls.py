from django.contrib import admin
from django.urls import path

from orders import views as order_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "console/templates/<int:template_id>/preview/",
        order_views.branding_template_preview,
        name="branding_template_preview",
    ),
    path("branding/<int:template_id>/logo.png", order_views.branding_logo, name="branding_logo"),
    path("orders/<str:merchant_id>/<path:order_id>", order_views.order_page, name="order_page"),
]
