"""The API's plumbing: key authentication, the per-key rate limit, API.md's envelope, the one
exception handler, pagination, and JSON errors for whatever Django answers under /api/."""

import logging
import math
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from flextracker.errors import ApiError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
AUTHENTICATE_HEADER = 'Bearer realm="api"'


# --- The envelope ------------------------------------------------------------------------------


def success_body(
    data: Any, warnings: Iterable[dict[str, str]] = (), meta: dict | None = None
) -> dict:
    """API.md's success envelope: the one place it is built."""
    body = {"success": True, "data": data, "warnings": list(warnings)}
    if meta is not None:
        body["meta"] = meta
    return body


def success(
    data: Any,
    *,
    status: int = 200,
    warnings: Iterable[dict[str, str]] = (),
    meta: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(success_body(data, warnings, meta), status=status, headers=headers)


class _Transient(ApiError):
    severity = "transient"


def _api_error(status: int, code: str, message: str, **extra) -> ApiError:
    error_class = _Transient if status in (429, 500, 503) else ApiError
    error = error_class(message, code=code, **extra)
    error.status = status
    return error


MISSING_CODES = {"required", "blank", "null", "empty"}


def _field_errors(detail, path: str = "") -> dict[str, list]:
    """DRF's nested error tree as API.md's `fields`: {"lineItems[0].quantity": [ErrorDetail]}."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            flat |= _field_errors(value, f"{path}.{name}" if path and name else path or name)
        return flat
    if isinstance(detail, list) and detail and not isinstance(detail[0], str):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat |= _field_errors(value, f"{path}[{index}]")
        return flat
    return {path or "body": list(detail) if isinstance(detail, list) else [detail]}


def validation_error(detail, entity: str) -> ApiError:
    """MISSING_<ENTITY>_DATA (400) when every problem is an absent value, else INVALID (422)."""
    fields = _field_errors(detail)
    codes = {
        getattr(message, "code", "invalid") for messages in fields.values() for message in messages
    }
    plain = {path: [str(message) for message in messages] for path, messages in fields.items()}
    if codes <= MISSING_CODES:
        return _api_error(
            400, f"MISSING_{entity}_DATA", "Required fields are missing.", fields=plain
        )
    return _api_error(422, f"INVALID_{entity}_DATA", "Some fields are not valid.", fields=plain)


def api_error_for(
    exc: Exception, *, entity: str = "ORDER", not_found_code: str = "NOT_FOUND"
) -> ApiError:
    """Every exception an API request can raise, as an ApiError of API.md's table; `entity` and
    `not_found_code` are the endpoint's (MerchantApi)."""
    match exc:
        case ApiError():
            return exc
        case exceptions.ValidationError():
            return validation_error(exc.detail, entity)
        case exceptions.ParseError() | exceptions.UnsupportedMediaType():
            return _api_error(400, "MALFORMED_JSON", "The body is not valid JSON.")
        case exceptions.NotAuthenticated() | exceptions.AuthenticationFailed():
            return _api_error(
                401, "UNAUTHORIZED", "Send a valid API key as `Authorization: Bearer <key>`."
            )
        case exceptions.Throttled():
            wait = math.ceil(exc.wait or 60)
            return _api_error(429, "RATE_LIMITED", f"Too many requests; retry in {wait} s.",
                              details={"retryAfter": wait})  # fmt: skip
        case exceptions.MethodNotAllowed():
            return _api_error(405, "METHOD_NOT_ALLOWED", str(exc.detail))
        case exceptions.NotFound() | Http404():
            return _api_error(404, not_found_code, "Not found.")
        case RequestDataTooBig():
            return _api_error(413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB.")
        case DatabaseError():
            logger.exception("Database unavailable during an API request")
            return _api_error(
                503, "SERVICE_UNAVAILABLE", "The service is unavailable; retry later."
            )
        case exceptions.APIException():
            return _api_error(exc.status_code, str(exc.default_code).upper(), str(exc.detail))
    logger.exception("Unexpected error during an API request", exc_info=exc)
    return _api_error(
        500, "INTERNAL_SERVER_ERROR", "Something went wrong on our side; retry later."
    )


def error_response(error: ApiError) -> Response:
    headers = {}
    if error.severity == "transient" and "retryAfter" in error.details:
        headers["Retry-After"] = str(error.details["retryAfter"])
    if error.status == 401:
        headers["WWW-Authenticate"] = AUTHENTICATE_HEADER  # RFC 9110: every 401 names its scheme
    return Response(error.body(), status=error.status, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response:
    view = context.get("view")
    return error_response(
        api_error_for(exc, entity=getattr(view, "entity", "ORDER"),
                      not_found_code=getattr(view, "not_found_code", "NOT_FOUND"))
    )  # fmt: skip


def django_error_json(request, status: int) -> JsonResponse:
    """Django's own 404/500 (unknown URLs, crashes outside DRF) in the envelope under /api/."""
    error = (
        _api_error(404, "NOT_FOUND", "No such endpoint.")
        if status == 404
        else _api_error(
            500, "INTERNAL_SERVER_ERROR", "Something went wrong on our side; retry later."
        )
    )
    return JsonResponse(error.body(), status=status)


class ApiBodyLimitMiddleware:
    """413 in the envelope for API bodies over 1 MiB, before anything reads them; a chunked body
    read (or refused with 411), never taken as empty; and 400 for a URL or query holding the NUL
    character, which no database text column can store."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            "\x00" in request.path
            or "\x00" in request.META.get("QUERY_STRING", "")
            or any("\x00" in value for values in request.GET.lists() for value in values[1])
        ):
            return _nul_refused(request)
        if _chunked(request):
            return _chunked_read(request) or self.get_response(request)
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                error = _api_error(413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB.")
                return JsonResponse(error.body(), status=413)
        return self.get_response(request)


def _chunked(request) -> bool:
    """A body sent in chunks (Transfer-Encoding: chunked), so with no Content-Length."""
    encodings = request.META.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (encoding.strip() for encoding in encodings) and not request.META.get(
        "CONTENT_LENGTH"
    )


def _chunked_read(request) -> HttpResponse | None:
    """Django reads a body by its Content-Length, so a chunked one would be taken as empty (the
    message lost, its log 0 bytes). A server that removes the chunking and marks the end of the
    body (`wsgi.input_terminated`: gunicorn) lets us read it, up to 1 MiB; one that passes the
    chunks on raw, or not at all (runserver), gets 411: the client sends it with a length."""
    if not request.META.get("wsgi.input_terminated"):
        return _refused(request, 411, "LENGTH_REQUIRED", "Send the body with a Content-Length.")
    body = LimitedStream(request.META["wsgi.input"], MAX_BODY_BYTES + 1).read()
    if len(body) > MAX_BODY_BYTES:
        return _refused(request, 413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB.")
    # Where WSGIRequest would have read it from, had it known the length; and the length.
    request._stream = BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))
    return None


def _refused(request, status: int, code: str, message: str) -> HttpResponse:
    if not request.path.startswith("/api/"):
        return HttpResponse(message, status=status, content_type="text/plain")
    return JsonResponse(_api_error(status, code, message).body(), status=status)


def _nul_refused(request) -> HttpResponse:
    if not request.path.startswith("/api/"):
        return HttpResponseBadRequest("The address holds a NUL character.")
    error = _api_error(400, "INVALID_REQUEST", "The URL or query holds a NUL character.")
    return JsonResponse(error.body(), status=400)


# --- Pagination --------------------------------------------------------------------------------


class EnvelopePagination(BasePagination):
    """`page` and `limit` (default 25, max 100); a page past the end is empty, not an error."""

    default_limit = 25
    max_limit = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.page = _positive_int(request.query_params.get("page"), 1, "page")
        self.limit = min(_positive_int(request.query_params.get("limit"), 25, "limit"), 100)
        self.total = queryset.count()
        start = (self.page - 1) * self.limit
        if start >= self.total:
            return []  # past the end: no query with an absurd offset
        return list(queryset[start : start + self.limit])

    def meta(self) -> dict:
        return {
            "pagination": {
                "page": self.page,
                "limit": self.limit,
                "total": self.total,
                "hasNext": self.page * self.limit < self.total,
                "hasPrev": self.page > 1,
            }
        }


def paginated(request, queryset, render) -> Response:
    """A list endpoint's answer: one page of `queryset`, each item through `render`."""
    paginator = EnvelopePagination()
    page = paginator.paginate_queryset(queryset, request)
    return success([render(item) for item in page], meta=paginator.meta())


def _positive_int(raw: str | None, default: int, name: str) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise exceptions.ValidationError({name: ["Use a whole number of 1 or more."]})
    return int(raw)


# --- OpenAPI documentation of the envelope ----------------------------------------------------


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The field it is about, when one.")


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    hasNext = serializers.BooleanField()
    hasPrev = serializers.BooleanField()


class MetaSerializer(serializers.Serializer):
    pagination = PaginationSerializer()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable code from API.md's table, e.g. INVALID_SHIPMENT_DATA."
    )
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=["hard", "transient"])
    details = serializers.DictField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Offending fields by path, e.g. {"lineItems[0].quantity": ["..."]}.',
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = ErrorSerializer()


_envelopes: dict[tuple, type[serializers.Serializer]] = {}


def enveloped(
    serializer_class: type[serializers.Serializer], *, many: bool = False, paginated: bool = False
) -> type[serializers.Serializer]:
    """The success envelope around a data serializer, for the OpenAPI schema."""
    key = (serializer_class, many, paginated)
    if key not in _envelopes:
        fields = {
            "success": serializers.BooleanField(default=True),
            "data": serializer_class(many=many),
            "warnings": WarningSerializer(many=True),
        }
        if paginated:
            fields["meta"] = MetaSerializer()
        name = serializer_class.__name__.removesuffix("Serializer") + ("List" if many else "")
        _envelopes[key] = type(f"{name}Envelope", (serializers.Serializer,), fields)
    return _envelopes[key]


class EnvelopePaginationParameters(serializers.Serializer):
    """The list endpoints' `page` and `limit` query parameters, for the schema."""

    page = serializers.IntegerField(required=False, min_value=1, default=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=25)


def request_body_within_limit(request: HttpRequest) -> bytes | None:
    """The raw body of a webhook we receive, or None when it is over MAX_BODY_BYTES (checked
    before reading when its length is declared)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= MAX_BODY_BYTES else None


# --- API.md's formats ---------------------------------------------------------------------


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
