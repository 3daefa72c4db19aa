"""Webhook subscriptions of API.md (POST/GET /api/v1/webhooks, GET/DELETE /api/v1/webhooks/{id}):
parse, call one notifications service, render. A subscription is named by its public id
(`whk_…`), never the row id; the signing secret appears only in the answer to its creation, which
the inbound log records without it (so its replays and GET /messages/{id} cannot show it)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import EnvelopePaginationParameters, iso, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, validated
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result
from merchants.models import Merchant
from notifications.models import WebhookEndpoint, WebhookEventType
from notifications.selectors import webhook_endpoint_get_for_merchant, webhook_endpoints_for
from notifications.services import (
    MAX_WEBHOOK_ENDPOINTS,
    MIN_MERCHANT_SECRET,
    webhook_endpoint_create,
    webhook_endpoint_delete,
)
from notifications.webhook_health import webhook_endpoint_enable

TAGS = ["Webhooks"]
EVENTS_HELP = "One or more of: " + ", ".join(f"`{value}`" for value in WebhookEventType.values)


@extend_schema_field(
    {"type": "array", "minItems": 1, "items": {"type": "string", "enum": WebhookEventType.values}}
)
class EventTypesField(serializers.ListField):
    """Strings here; the notifications service names each unknown one (`events[1]`)."""

    child = serializers.CharField(max_length=100)


class WebhookInputSerializer(InputSerializer):
    url = serializers.URLField(
        max_length=2000,
        help_text="https, port 443 or 80, no user:password@; every address its host resolves "
        "to must be public (checked again before every delivery).",
    )
    events = EventTypesField(allow_empty=False, max_length=50, help_text=EVENTS_HELP)
    # Length and characters are the service's rule: one message for every way it is wrong.
    secret = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"Optional: your own signing secret, at least {MIN_MERCHANT_SECRET} printable "
        "ASCII characters without spaces (at most 100); we sign every delivery with it. Left out "
        "(or null), we generate a `whsec_…` one.",
    )


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The subscription's id, `whk_…`.")
    url = serializers.URLField()
    events = EventTypesField()
    active = serializers.BooleanField(
        help_text="False once we stopped delivering: the receiver answered 410, or every "
        "delivery to it failed for 72 hours (your alert addresses are told 24 hours before). See "
        "`disabledAt` and `disabledReason`; POST /api/v1/webhooks/{id}/enable resumes it."
    )
    createdAt = serializers.DateTimeField()
    disabledAt = serializers.DateTimeField(allow_null=True)
    disabledReason = serializers.CharField()


class WebhookCreatedSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="Verifies our `FlexTracker-Signature` header: yours when you sent one, else "
        "a generated `whsec_…`. Shown only in this first answer; store it now. A replay of this "
        "request (same Idempotency-Key and body) and GET /api/v1/messages/{id} answer the same "
        "201 with `secret` null: we never show it again. Lost it? Delete the subscription and "
        "subscribe again.",
    )


class WebhookDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()


def webhook_json(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "active": endpoint.is_active,
        "createdAt": iso(endpoint.created_at),
        "disabledAt": iso(endpoint.disabled_at),
        "disabledReason": endpoint.disabled_reason,
    }


WEBHOOK_EXAMPLE = OpenApiExample(
    "Subscribe",
    request_only=True,
    value={
        "url": "https://your-app.example/webhooks/tracking",
        "events": ["tracking.delivered", "tracking.exception"],
    },
)
CREATE_DESCRIPTION = f"""\
201 with the subscription and its signing `secret` (yours when the body gives one, at least
{MIN_MERCHANT_SECRET} characters; else generated), which no other answer shows again: a replay of
this request with the same Idempotency-Key and body answers the same 201 with `"secret": null`,
and so does the message's record at GET /api/v1/messages/{{id}}.

Errors use the EVENT codes (a subscription is about events): 400 `MISSING_EVENT_DATA` when `url`
or `events` is absent or empty; 422 `INVALID_EVENT_DATA` when the URL is not https (http only on
a development server), uses a port other than 443/80, carries credentials, cannot be resolved, or
resolves to any private, loopback, link-local, shared or metadata address (`fields.url` says
which); for an unknown event type (`fields["events[1]"]`); for a URL this merchant already
subscribed (`details.id` names it: delete it to change its events); for a `secret` shorter than
{MIN_MERCHANT_SECRET} characters, longer than 100, or with spaces or non-ASCII characters
(`fields.secret`); and past {MAX_WEBHOOK_ENDPOINTS} subscriptions."""


@extend_schema_view(
    post=documented(
        summary="Subscribe a URL to webhook events",
        description=CREATE_DESCRIPTION,
        request=WebhookInputSerializer,
        responses={201: WebhookCreatedSerializer},
        errors=("MISSING_EVENT_DATA", "INVALID_EVENT_DATA"),
        examples=[WEBHOOK_EXAMPLE],
        tags=TAGS,
        operation_id="webhook_create",
    ),
    get=documented(
        summary="List webhook subscriptions",
        description="Newest first, without their secrets.",
        responses={200: WebhookOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_EVENT_DATA",),
        parameters=[EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="webhook_list",
    ),
)
class WebhooksApi(InboundApi):
    """POST: subscribe (201, with the secret once). GET: the merchant's subscriptions."""

    entity = "EVENT"
    not_found_code = "NOT_FOUND"
    unlogged_fields = ("secret",)

    def handle(self, merchant: Merchant, payload) -> Result:
        return webhook_create_answer(merchant, payload)

    def get(self, request):
        return paginated(request, webhook_endpoints_for(self.merchant()), webhook_json)


@extend_schema_view(
    get=documented(
        summary="A webhook subscription",
        description="Without its secret. Another merchant's id is a 404, like an unknown one.",
        responses={200: WebhookOutputSerializer},
        errors=("NOT_FOUND",),
        tags=TAGS,
        operation_id="webhook_get",
    ),
    delete=documented(
        summary="Delete a webhook subscription",
        description='200 with `{"id", "deleted": true}` in the envelope (every answer has '
        "one). Nothing more is sent to the URL. Deleting it again is a 404.",
        responses={200: WebhookDeletedSerializer},
        errors=("NOT_FOUND",),
        tags=TAGS,
        operation_id="webhook_delete",
    ),
)
class WebhookDetailApi(MerchantApi):
    entity = "EVENT"
    not_found_code = "NOT_FOUND"

    def _endpoint(self, webhook_id: str) -> WebhookEndpoint:
        endpoint = webhook_endpoint_get_for_merchant(self.merchant(), webhook_id)
        if endpoint is None:
            raise NotFound(f"Webhook subscription {webhook_id} was not found.", code="NOT_FOUND")
        return endpoint

    def get(self, request, webhook_id: str):
        return success(webhook_json(self._endpoint(webhook_id)))

    def delete(self, request, webhook_id: str):
        endpoint = self._endpoint(webhook_id)
        webhook_endpoint_delete(endpoint=endpoint)
        return success({"id": webhook_id, "deleted": True})


class WebhookEnableInputSerializer(InputSerializer):
    """No fields: the subscription is named by the URL."""


@extend_schema_view(
    post=documented(
        summary="Switch a disabled webhook subscription back on",
        description="200 with the subscription, active again: deliveries resume with a clean "
        "record, so a new outage again has 72 hours before it disables it. Messages that failed "
        "meanwhile are not sent again. Enabling an active subscription changes nothing (200). "
        "The body is ignored. Another merchant's id is a 404, like an unknown one.",
        request=WebhookEnableInputSerializer,
        responses={200: WebhookOutputSerializer},
        errors=("NOT_FOUND",),
        tags=TAGS,
        operation_id="webhook_enable",
    )
)
class WebhookEnableApi(InboundApi):
    entity = "EVENT"
    not_found_code = "NOT_FOUND"

    def handle(self, merchant: Merchant, payload, webhook_id: str) -> Result:
        return webhook_enable_answer(merchant, payload, webhook_id)


def webhook_create_answer(merchant: Merchant, payload) -> Result:
    """POST /webhooks's message answered (a plain function: replay calls it too)."""
    data = validated(WebhookInputSerializer, payload, "EVENT")
    endpoint, secret = webhook_endpoint_create(
        merchant=merchant, url=data["url"], event_types=data["events"],
        secret=data.get("secret"),
    )  # fmt: skip
    logged = {**webhook_json(endpoint), "secret": None}
    return Result(201, logged, shown_once={"secret": secret})


def webhook_enable_answer(merchant: Merchant, _payload, webhook_id: str) -> Result:
    """POST /webhooks/{id}/enable answered (replay calls it too)."""
    endpoint = webhook_endpoint_get_for_merchant(merchant, webhook_id)
    if endpoint is None:
        raise NotFound(f"Webhook subscription {webhook_id} was not found.", code="NOT_FOUND")
    return Result(200, webhook_json(webhook_endpoint_enable(endpoint=endpoint)))
