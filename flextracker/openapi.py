"""OpenAPI documentation helpers: every endpoint lists its envelope, examples and each error code
it can answer with, so an OMS developer can integrate from /api/docs/ alone."""

import re
from collections import defaultdict

import yaml
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.renderers import OpenApiYamlRenderer, OpenApiYamlRenderer2
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from flextracker.api.envelope import ErrorEnvelopeSerializer, enveloped

ERRORS = {
    "UNAUTHORIZED": (401, "Missing, unknown or revoked API key."),
    "MALFORMED_JSON": (
        400,
        "The body is not valid JSON, is nested more than 100 levels deep, or holds a NUL "
        "character (\\u0000) or a lone surrogate (\\ud800 to \\udfff outside a pair), which are "
        "not text; `fields` names where.",
    ),
    "LENGTH_REQUIRED": (
        411,
        "A chunked body (Transfer-Encoding: chunked) on a server that cannot read one; send it "
        "with a Content-Length. (Our production servers read chunked bodies.)",
    ),
    "INVALID_REQUEST": (
        400,
        "The URL or query holds a NUL character, or the `FlexTracker-Style` header names no style.",
    ),
    "MISSING_ORDER_DATA": (400, "A required field is absent or empty."),
    "MISSING_SHIPMENT_DATA": (400, "A required field is absent or empty."),
    "MISSING_TRACKER_DATA": (400, "A required field is absent or empty."),
    "MISSING_EVENT_DATA": (400, "A required field is absent or empty."),
    "INVALID_ORDER_DATA": (422, "A value is present but wrong."),
    "INVALID_SHIPMENT_DATA": (
        422,
        "A value is present but wrong (e.g. shipping more than ordered).",
    ),
    "INVALID_TRACKER_DATA": (422, "A value is present but wrong."),
    "INVALID_EVENT_DATA": (422, "A value is present but wrong."),
    "MISSING_RETURN_DATA": (400, "A required field is absent or empty."),
    "INVALID_RETURN_DATA": (
        422,
        "A value is wrong: an unknown status, a label URL that is not https, a tracking number "
        "already used or whose carrier cannot be told.",
    ),
    "INVALID_MESSAGE_DATA": (422, "A query value is wrong (an unknown status)."),
    "INVALID_TRACKING_DATA": (
        422,
        "A value is wrong: an unknown carrier, or a number several carriers use "
        "(`details.candidates`).",
    ),
    "ORDER_NOT_FOUND": (404, "No such order for this merchant."),
    "TRACKING_NOT_FOUND": (
        404,
        "No such tracking number (or shipmentId) for this merchant; `details.trackingNumber`, and "
        "`details.provider` when known.",
    ),
    "TRACKING_NOT_AVAILABLE": (
        404,
        "(Seed-002 style) A shipment we track whose carrier has reported nothing yet; transient: "
        "`details.reason`, `details.retryAfter` (seconds until the next check) and a `Retry-After` "
        "header.",
    ),
    "NOT_FOUND": (404, "No such object for this merchant."),
    "RETURN_NOT_FOUND": (404, "No such return request for this merchant."),
    "RETURN_STATUS_CONFLICT": (
        409,
        "The return is in a status that does not allow this step; `details.status` says which.",
    ),
    "MESSAGE_NOT_FOUND": (404, "No such message posted to the API by this merchant."),
    "IDEMPOTENCY_CONFLICT": (
        409,
        "Idempotency-Key reused with another body. (The same request sent again while its"
        " first is still running waits for it and gets its answer.)",
    ),
    "PAYLOAD_TOO_LARGE": (413, "Body over 1 MiB, or a batch over its limit."),
    "RATE_LIMITED": (429, "Over the key's rate; see Retry-After."),
    "INTERNAL_SERVER_ERROR": (500, "Unexpected failure; retry later."),
    "SERVICE_UNAVAILABLE": (503, "A dependency is down; retry later."),
}
EVERY_REQUEST = (
    "UNAUTHORIZED", "INVALID_REQUEST", "NOT_FOUND", "RATE_LIMITED", "INTERNAL_SERVER_ERROR",
    "SERVICE_UNAVAILABLE",
)  # fmt: skip
TRANSIENT = {
    "RATE_LIMITED",
    "INTERNAL_SERVER_ERROR",
    "SERVICE_UNAVAILABLE",
    "TRACKING_NOT_AVAILABLE",
}
EVERY_POST = ("MALFORMED_JSON", "LENGTH_REQUIRED", "IDEMPOTENCY_CONFLICT", "PAYLOAD_TOO_LARGE")

FIELD_EXAMPLES = {
    "MISSING_ORDER_DATA": {"lineItems": ["This field is required."]},
    "INVALID_ORDER_DATA": {
        "lineItems[0].quantity": ["Ensure this value is greater than or equal to 1."]
    },
    "INVALID_SHIPMENT_DATA": {
        "items[0].quantity": [
            "Only 1 of SKU-1 can be in this shipment (ordered 2, shipped 1, cancelled 0)."
        ]
    },
    "MISSING_SHIPMENT_DATA": {"trackingNumber": ["This field is required."]},
}

ERROR_DETAILS_EXAMPLES = {
    "RETURN_STATUS_CONFLICT": {"status": "refused"},
    "RATE_LIMITED": {"retryAfter": 42},
    "TRACKING_NOT_FOUND": {"trackingNumber": "1234567890", "provider": "FEDEX"},
    "TRACKING_NOT_AVAILABLE": {"reason": "Package not yet in carrier system", "retryAfter": 3600},
}

STYLE_PARAMETER = OpenApiParameter(
    "FlexTracker-Style",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    enum=["native", "tracking-api"],
    description="Optional: answer in this style rather than the API key's. Another value: 400 "
    "`INVALID_REQUEST`.",
)
STYLED = (
    "Answered in the API key's style (or the `FlexTracker-Style` header's): `native` "
    "(TRACKING.md's lower-case statuses) or `tracking-api` (seed 002's object: `shipmentId, "
    "trackingNumber, proNumber, provider, service, status` (`LABEL_CREATED` … `RETURNED`), "
    "`statusDescription, estimatedDelivery, actualDelivery, weight, origin, destination, events, "
    "lastUpdated`)."
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional. The same key and body within 24 h replays the first answer (with "
    "header `Idempotent-Replayed: true`) and changes nothing; another body is a 409. At most 255 "
    "characters and no control character, else 422 (`INVALID_<ENTITY>_DATA`) with the field "
    "`Idempotency-Key`, logged as rejected.",
)

RESPOND_ASYNC = OpenApiParameter(
    "Prefer",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    enum=["respond-async"],
    description="Optional (RFC 7240). `respond-async`: the body is checked and the message "
    "queued, answered `202` at once with its `statusUrl` (also the `Location` header); the worker "
    "applies it within seconds, in the order posted, and `GET statusUrl` then shows the answer it "
    "would have had (`response`). For volume: the 202 costs about a third of a synchronous "
    "one. Errors in the body itself (400, 422 for a value) are still answered at once; those "
    "that depend on the merchant's data (an unknown item, shipping more than ordered) show in "
    "`response`. The answer carries `Preference-Applied: respond-async`.",
)


def _error_example(code: str) -> OpenApiExample:
    status, message = ERRORS[code]
    details = ERROR_DETAILS_EXAMPLES.get(code, {})
    return OpenApiExample(
        code,
        value={
            "success": False,
            "error": {
                "code": code,
                "message": message,
                "severity": "transient" if code in TRANSIENT else "hard",
                "details": details,
                "fields": FIELD_EXAMPLES.get(code, {}),
            },
        },
        response_only=True,
        status_codes=[str(status)],
    )


def error_responses(codes: tuple[str, ...]) -> dict[int, OpenApiResponse]:
    by_status = defaultdict(list)
    for code in dict.fromkeys(codes):
        by_status[ERRORS[code][0]].append(code)
    return {
        status: OpenApiResponse(
            ErrorEnvelopeSerializer,
            description=" · ".join(f"`{code}`: {ERRORS[code][1]}" for code in status_codes),
            examples=[_error_example(code) for code in status_codes],
        )
        for status, status_codes in by_status.items()
    }


def documented(
    *,
    summary: str,
    responses: dict[int, type],
    errors: tuple[str, ...] = (),
    request=None,
    many: bool = False,
    paginated: bool = False,
    examples: list[OpenApiExample] = (),
    parameters: list[OpenApiParameter] = (),
    description: str = "",
    tags: list[str] | None = None,
    operation_id: str | None = None,
):
    """extend_schema for one operation: success envelopes, errors, examples, idempotency."""
    post = request is not None
    all_errors = EVERY_REQUEST + (EVERY_POST if post else ()) + errors
    success = {
        status: enveloped(serializer, many=many, paginated=paginated)
        for status, serializer in responses.items()
    }
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={**success, **error_responses(all_errors)},
        examples=list(examples),
        parameters=[*parameters, *([IDEMPOTENCY_KEY] if post else [])],
        tags=tags,
        operation_id=operation_id,
    )


# --- Answers whose shape the request picks (the API style) --------------------------------------


class OneOf(serializers.Serializer):
    """For the schema only: data that is one of `variants` (subclasses name them)."""

    variants: tuple[type[serializers.Serializer], ...] = ()


def one_of(name: str, *variants: type[serializers.Serializer]) -> type[OneOf]:
    return type(name, (OneOf,), {"variants": variants})


class OneOfExtension(OpenApiSerializerExtension):
    target_class = OneOf
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return {
            "oneOf": [
                auto_schema.resolve_serializer(variant, direction).ref
                for variant in self.target.variants
            ]
        }


# --- The YAML schema, read the same by YAML 1.1 and 1.2 readers ---------------------------------

# PyYAML's dumper quotes a string only when PyYAML itself (its own YAML 1.1 subset) would read it
# as another type. Other readers take more plain scalars for non-strings, and a schema must read
# the same everywhere: the enum value '008' is the integer 8 to a YAML 1.2 reader such as the one
# openapi-python-client uses (ruamel.yaml), which then drops every operation that uses the enum.
# So the dumper also knows, and quotes, what these read as non-strings:
_EXTRA_RESOLVERS = (
    # YAML 1.2 (core schema, and ruamel.yaml's reading of it, which also allows "_" and "0o"):
    # "008", "1e3", "1_0e3", "0o17"
    (
        "tag:yaml.org,2002:int",
        r"[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+",
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
        r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?",
        "-+.0123456789",
    ),
    # YAML 1.1's booleans that PyYAML leaves out (ruamel.yaml and go-yaml read them in 1.1 mode)
    ("tag:yaml.org,2002:bool", r"y|Y|n|N", "yYnN"),
)


class _Yaml12QuotingDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


for _tag, _pattern, _first in _EXTRA_RESOLVERS:
    _Yaml12QuotingDumper.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


def _str_representer(dumper, data):
    scalar = dumper.represent_str(data)
    scalar.style = "|" if "\n" in data else None  # as drf-spectacular writes descriptions
    return scalar


_Yaml12QuotingDumper.add_representer(str, _str_representer)


class Yaml12SafeRenderer(OpenApiYamlRenderer):
    """drf-spectacular's YAML, re-written so every string a YAML 1.2 reader would take for a
    number is quoted. drf-spectacular builds its dumper inside `render`, so its output (plain
    data once read back) is dumped again; the schema is small and rendered rarely."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        text = super().render(data, accepted_media_type, renderer_context)
        plain = yaml.safe_load(text)
        dumped = yaml.dump(
            plain,
            Dumper=_Yaml12QuotingDumper,
            default_flow_style=False,
            sort_keys=False,
            allow_unicode=True,
        )
        return dumped.encode("utf-8")


class Yaml12SafeRenderer2(Yaml12SafeRenderer):
    media_type = OpenApiYamlRenderer2.media_type


# --- Path parameters ------------------------------------------------------------------------------

# What each `{name}` in a path is, with an example (a generated client's docstring, the docs' "Try
# it out", and the examples schemathesis tries first). The values match the schema's own examples.
PATH_PARAMETERS = {
    "order_id": ("The order's `orderId`, as the merchant sent it.", "12345"),
    "tracking_number": ("The shipment's `trackingNumber`.", "1Z5R89390357567127"),
    "tracker_external_id": ("The tracker's `trackerExternalId`.", "TRK-1001"),
    "message_id": ("The `messageId` answered when the message was posted.", "1"),
    "webhook_id": ("The `id` answered when the webhook was made.", "whk_0123456789abcdef01234567"),
    "return_id": ("The return's `returnId`.", "ret_6f1c2a9b0e4d4c7a8b3e5f10"),
}


def document_path_parameters(result, generator, request, public):
    """drf-spectacular post-processing hook: describes the path parameters named above, where the
    view does not already."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", ()):
                known = PATH_PARAMETERS.get(parameter["name"])
                if parameter["in"] == "path" and known:
                    parameter.setdefault("description", known[0])
                    parameter.setdefault("example", known[1])
    return result
