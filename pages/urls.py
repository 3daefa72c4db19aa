"""What customers open from an email or a text, and the branding preview staff open."""

from django.urls import path

from pages import sms_replies, views
from pages.unsubscribe import unsubscribe_view

urlpatterns = [
    path(
        "console/templates/<int:template_id>/preview/",
        views.branding_template_preview,
        name="branding_template_preview",
    ),
    path("branding/<int:template_id>/logo.png", views.branding_logo, name="branding_logo"),
    path("orders/<str:merchant_id>/", views.order_lookup, name="order_lookup"),
    path("orders/<str:merchant_id>/<path:order_id>", views.order_page, name="order_page"),
    path("returns/<str:merchant_id>/<path:order_id>", views.returns_page, name="returns_page"),
    path(
        "trackers/<str:merchant_id>/<path:tracker_external_id>",
        views.tracker_page,
        name="tracker_page",
    ),
    path("groups/<str:merchant_id>/<path:group_id>", views.group_page, name="group_page"),
    path("unsubscribe/<str:token>", unsubscribe_view, name="unsubscribe"),
    path("hooks/twilio/sms", sms_replies.sms_reply, name="hooks-twilio-sms"),
]
