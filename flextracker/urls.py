from django.contrib import admin
from django.urls import include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from flextracker.api.envelope import django_error_json
from flextracker.openapi import Yaml12SafeRenderer, Yaml12SafeRenderer2

urlpatterns = [
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
