"""The project's URLs plus the benchmarks' floors: `POST /api/bench/floor` and
`GET /bench/page-floor`.

The floor is the least an authenticated JSON ingest endpoint can do on this stack: the same
middleware, DRF with the project's default authentication (API key), permission and throttle,
JSON parsing, and one SQL INSERT of the body. Ours/floor is then our own overhead. Served only
when `ROOT_URLCONF=bench.floor_urls` (bench/ingest.py, bench/page.py); the table `bench_floor` is
created by the benchmark, never by migrations.

The page floor is the least a customer page can cost on this stack: the project's middleware and
an HTML answer of BENCH_PAGE_BYTES bytes (the benchmarked page's size), without a query, a
cache or a template (bench/page.py).
"""

import json
import os

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from flextracker import urls as project_urls


class FloorApi(APIView):
    """Project defaults for authentication, permission and throttling; one INSERT; 201."""

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor (body) VALUES (%s::jsonb)", [json.dumps(request.data)]
            )
        return Response({"success": True}, status=201)


PAGE_BYTES = b"<!doctype html>".ljust(int(os.environ.get("BENCH_PAGE_BYTES", "0")), b" ")


def page_floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE_BYTES)


# First: the project's catch-all `^api/` (404 in the envelope) would otherwise answer it.
urlpatterns = [
    path("api/bench/floor", FloorApi.as_view()),
    path("bench/page-floor", page_floor),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
