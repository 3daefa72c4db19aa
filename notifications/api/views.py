"""Webhook subscriptions of API.md (POST/GET /api/v1/webhooks, GET/DELETE /api/v1/webhooks/{id}):
parse, call one notifications service, render. A subscription is named by its public id
(`whk_…`), never the row id; the signing secret appears only in the answer to its creation, which
the inbound log records without it (so its replays and GET /messages/{id} cannot show it)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import EnvelopePaginationParameters, iso, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, unknown_field_warnings, validated
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result
from merchants.models import Merchant
from notifications.models import (
    ANY_WEBHOOK_EVENT_TYPES,
    SeedWebhookEventType,
    WebhookEndpoint,
    WebhookEventType,
    WebhookStyle,
)
from notifications.selectors import webhook_endpoint_get_for_merchant, webhook_endpoints_for
from notifications.services import (
    MAX_WEBHOOK_ENDPOINTS,
    MIN_MERCHANT_SECRET,
    webhook_endpoint_create,
    webhook_endpoint_delete,
)
from notifications.webhook_health import webhook_endpoint_enable

TAGS = ["Webhooks"]


def _events_help(names: list[str]) -> str:
    return "One or more of: " + ", ".join(f"`{name}`" for name in names)


def _event_types_field(names: list[str]) -> type[serializers.ListField]:
    @extend_schema_field(
        {"type": "array", "minItems": 1, "items": {"type": "string", "enum": names}}
    )
    class EventTypesField(serializers.ListField):
        """Strings here; the notifications service names each unknown one (`events[1]`)."""

        child = serializers.CharField(max_length=100)

    return EventTypesField


EventTypesField = _event_types_field(ANY_WEBHOOK_EVENT_TYPES)
SeedEventTypesField = _event_types_field(SeedWebhookEventType.values)


class SeedWebhookInputSerializer(InputSerializer):
    """POST /tracking/webhook: seed 002's body."""

    url = serializers.URLField(
        max_length=2000,
        help_text="https, port 443 or 80, no user:password@; every address its host resolves "
        "to must be public (checked again before every delivery).",
    )
    events = SeedEventTypesField(
        allow_empty=False, max_length=50, help_text=_events_help(SeedWebhookEventType.values)
    )
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


STYLE_HELP = (
    "Left out: the API key's style (`native` unless the key was issued `tracking-api`). "
    "`native`: our event types, body and `t=…,v1=…` signature. `tracking-api`: "
    "seed 002's event names (`shipment.delivered` …), its `data` (`shipmentId`, "
    "`trackingNumber`, `status` in upper case, `description`, `location`, `recipient`, "
    "`deliveredAt`, `orderId`) and `FlexTracker-Signature: sha256=<hex HMAC-SHA256(secret, raw "
    "body)>`, as POST /api/v1/tracking/webhook makes them."
)


class WebhookInputSerializer(SeedWebhookInputSerializer):
    events = EventTypesField(
        allow_empty=False,
        max_length=50,
        help_text=_events_help(WebhookEventType.values)
        + "; or, in the `tracking-api` style, of: "
        + ", ".join(f"`{name}`" for name in SeedWebhookEventType.values),
    )
    style = serializers.ChoiceField(
        choices=WebhookStyle.values, required=False, help_text=STYLE_HELP
    )


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The subscription's id, `whk_…`.")
    url = serializers.URLField()
    events = EventTypesField()
    style = serializers.ChoiceField(choices=WebhookStyle.values, help_text=STYLE_HELP)
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
        "style": endpoint.style,
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
        return webhook_create_answer(merchant, payload, default_style=self.request.style)

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
    style: str | None = None  # any style's subscription

    def _endpoint(self, webhook_id: str) -> WebhookEndpoint:
        endpoint = webhook_endpoint_get_for_merchant(self.merchant(), webhook_id, style=self.style)
        if endpoint is None:
            raise NotFound(f"Webhook subscription {webhook_id} was not found.", code="NOT_FOUND")
        return endpoint

    def get(self, request, webhook_id: str):
        return success(webhook_json(self._endpoint(webhook_id)))

    def delete(self, request, webhook_id: str):
        endpoint = self._endpoint(webhook_id)
        webhook_endpoint_delete(endpoint=endpoint)
        return success({"id": webhook_id, "deleted": True})


SEED_STYLE = WebhookStyle.TRACKING_API
SEED_WEBHOOK_EXAMPLE = OpenApiExample(
    "Configure tracking webhooks (seed 002)",
    request_only=True,
    value={
        "url": "https://your-app.com/webhooks/tracking",
        "events": [
            "shipment.picked_up", "shipment.in_transit", "shipment.delivered", "shipment.exception",
        ],
        "secret": "your_webhook_secret_key_0123456789",
    },
)  # fmt: skip
SEED_CREATE_DESCRIPTION = f"""\
Seed 002's "Configure Tracking Webhooks": a subscription in the `tracking-api` style, the same as
POST /api/v1/webhooks with `"style": "tracking-api"`. Events: seed 002's names, each sent when a
shipment's status changes to the matching seed-002 status
({", ".join(f"`{name}`" for name in SeedWebhookEventType.values)}). Each delivery's body is
`{{"eventId", "eventType", "timestamp", "data": {{"shipmentId", "trackingNumber", "status",
"description", "location", "recipient", "deliveredAt", "orderId"}}}}` (`status` in seed 002's
upper case), signed `FlexTracker-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (seed
002's `verifyWebhookSignature`); receivers dedupe on `eventId`. Retries, the attempt log and
replay are those of every subscription.

{CREATE_DESCRIPTION}"""


@extend_schema_view(
    post=documented(
        summary="Subscribe a URL to seed 002's tracking webhooks",
        description=SEED_CREATE_DESCRIPTION,
        request=SeedWebhookInputSerializer,
        responses={201: WebhookCreatedSerializer},
        errors=("MISSING_EVENT_DATA", "INVALID_EVENT_DATA"),
        examples=[SEED_WEBHOOK_EXAMPLE],
        tags=TAGS,
        operation_id="tracking_webhook_create",
    ),
    get=documented(
        summary="List seed 002 style webhook subscriptions",
        description="The `tracking-api` style subscriptions, newest first, without their "
        "secrets. GET /api/v1/webhooks lists every style.",
        responses={200: WebhookOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_EVENT_DATA",),
        parameters=[EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="tracking_webhook_list",
    ),
)
class TrackingWebhooksApi(WebhooksApi):
    """Seed 002's POST/GET /tracking/webhook: WebhooksApi for `tracking-api` subscriptions."""

    def handle(self, merchant: Merchant, payload) -> Result:
        return tracking_webhook_create_answer(merchant, payload)

    def get(self, request):
        endpoints = webhook_endpoints_for(self.merchant(), style=SEED_STYLE)
        return paginated(request, endpoints, webhook_json)


@extend_schema_view(
    get=documented(
        summary="A seed 002 style webhook subscription",
        description="Without its secret. A native subscription's id, or another merchant's, "
        "is a 404, like an unknown one.",
        responses={200: WebhookOutputSerializer},
        errors=("NOT_FOUND",),
        tags=TAGS,
        operation_id="tracking_webhook_get",
    ),
    delete=documented(
        summary="Delete a seed 002 style webhook subscription",
        description='200 with `{"id", "deleted": true}`. Nothing more is sent to the URL. '
        "Deleting it again is a 404.",
        responses={200: WebhookDeletedSerializer},
        errors=("NOT_FOUND",),
        tags=TAGS,
        operation_id="tracking_webhook_delete",
    ),
)
class TrackingWebhookDetailApi(WebhookDetailApi):
    style = SEED_STYLE


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


def webhook_create_answer(
    merchant: Merchant, payload, default_style: str = WebhookStyle.NATIVE
) -> Result:
    """POST /webhooks's message answered (a plain function: replay calls it too, in the native
    style unless the body names one: the log keeps no key's style)."""
    data = validated(WebhookInputSerializer, payload, "EVENT")
    unknown = unknown_field_warnings(WebhookInputSerializer, payload)
    return _created(merchant, data, data.get("style") or default_style, unknown)


def tracking_webhook_create_answer(merchant: Merchant, payload) -> Result:
    """POST /tracking/webhook's message answered (replay calls it too): seed 002's style."""
    data = validated(SeedWebhookInputSerializer, payload, "EVENT")
    unknown = unknown_field_warnings(SeedWebhookInputSerializer, payload)
    return _created(merchant, data, WebhookStyle.TRACKING_API, unknown)


def _created(merchant: Merchant, data: dict, style: str, warnings: list[dict]) -> Result:
    endpoint, secret = webhook_endpoint_create(
        merchant=merchant, url=data["url"], event_types=data["events"],
        secret=data.get("secret"), style=style,
    )  # fmt: skip
    logged = {**webhook_json(endpoint), "secret": None}
    return Result(201, logged, warnings, shown_once={"secret": secret})


def webhook_enable_answer(merchant: Merchant, _payload, webhook_id: str) -> Result:
    """POST /webhooks/{id}/enable answered (replay calls it too)."""
    endpoint = webhook_endpoint_get_for_merchant(merchant, webhook_id)
    if endpoint is None:
        raise NotFound(f"Webhook subscription {webhook_id} was not found.", code="NOT_FOUND")
    return Result(200, webhook_json(webhook_endpoint_enable(endpoint=endpoint)))
