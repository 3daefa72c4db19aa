from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.urls import include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from flextracker.api.envelope import django_error_json
from flextracker.openapi import Yaml12SafeRenderer, Yaml12SafeRenderer2

# Admin screens of models that moved to another app (issue 20) answer at their new address;
# staff bookmarks and links in old emails keep working.
MOVED_ADMIN_SCREENS = {
    "orders/inboundmessage": "inbound/inboundmessage",
    "orders/processedevent": "inbound/processedevent",
    "orders/inboundfile": "ingest/inboundfile",
    "merchants/formatdictionary": "ingest/formatdictionary",
    "merchants/filesource": "ingest/filesource",
    "merchants/queuesource": "ingest/queuesource",
    "merchants/shopifyshop": "ingest/shopifyshop",
    "merchants/carrieraccount": "tracking/carrieraccount",
}


def moved_admin_screen(request, old: str, rest: str) -> HttpResponsePermanentRedirect:
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(
        f"/admin/{MOVED_ADMIN_SCREENS[old]}/{rest}" + (f"?{query}" if query else "")
    )


urlpatterns = [
    re_path(  # before the admin's own catch-all
        r"^admin/(?P<old>{})/(?P<rest>.*)$".format("|".join(MOVED_ADMIN_SCREENS)),
        moved_admin_screen,
    ),
    path("admin/", admin.site.urls),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            renderer_classes=[
                Yaml12SafeRenderer,
                Yaml12SafeRenderer2,
                OpenApiJsonRenderer,
                OpenApiJsonRenderer2,
            ]
        ),
        name="api-schema",
    ),
    # The split view serves its start-up script as a file, so the page's CSP allows no inline one.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/v1/", include("ingest.api.urls")),
    path("api/v1/", include("inbound.api.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("api/v1/", include("tracking.api.urls")),
    re_path(r"^api/", csrf_exempt(lambda request: django_error_json(request, 404))),
    path("hooks/", include("tracking.urls")),
    path("hooks/", include("ingest.urls")),
    path("console/", include("console.urls")),
    path("", include("console.landing")),
    path("", include("pages.urls")),
]


def handler404(request, exception):
    if request.path.startswith("/api/"):
        return django_error_json(request, 404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return django_error_json(request, 500)
    return defaults.server_error(request)
