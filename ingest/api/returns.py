"""Return requests of API.md (issue 25): GET /api/v1/returns[?status=], GET /api/v1/returns/{id},
POST /api/v1/returns/{id}/approve|refuse|label. Parse, call one orders service, render; every POST
is logged and idempotent (inbound.api.base.InboundApi), and replayed through the same answer
functions (ingest/endpoints.py). Another merchant's return is a 404, like an unknown one."""

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from carriers.vocabulary import CarrierCode
from flextracker.api.envelope import EnvelopePaginationParameters, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, unknown_field_warnings, validated
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result
from merchants.models import Merchant
from orders.models import ReturnRequest, ReturnStatus
from orders.representation import return_json
from orders.selectors import return_request_get_for_merchant, return_request_list
from orders.serializers import ReturnOutputSerializer
from orders.services.returns import (
    return_request_approve,
    return_request_label,
    return_request_refuse,
)

TAGS = ["Returns"]
ACTION_ERRORS = (
    "MISSING_RETURN_DATA", "INVALID_RETURN_DATA", "RETURN_NOT_FOUND", "RETURN_STATUS_CONFLICT",
)  # fmt: skip
ENTITY = "RETURN"
NOT_FOUND_CODE = "RETURN_NOT_FOUND"


class ReturnListQuery(InputSerializer):
    status = serializers.ChoiceField(choices=ReturnStatus.values, required=False, allow_blank=True)


class ApproveInputSerializer(InputSerializer):
    message = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional: shown to the customer with the approval.",
    )


class RefuseInputSerializer(InputSerializer):
    message = serializers.CharField(
        max_length=2000, help_text="Why: the customer reads it on the page and in the email."
    )


class LabelInputSerializer(InputSerializer):
    labelUrl = serializers.URLField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your prepaid return label (https), shown to the customer. May be replaced.",
    )
    trackingNumber = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The return package's tracking number: we track it like any shipment, and the "
        "return becomes `received` when it is delivered back. Set once.",
    )
    carrier = serializers.ChoiceField(
        choices=CarrierCode.values,
        required=False,
        allow_blank=True,
        default="",
        help_text="Detected from the tracking number when left out.",
    )

    def validate_labelUrl(self, url: str) -> str:
        if url and not url.startswith("https://"):
            raise serializers.ValidationError("Use an https address.")
        return url


APPROVE_EXAMPLE = OpenApiExample(
    "Approve", request_only=True, value={"message": "Thanks! Print the label we email you."}
)
REFUSE_EXAMPLE = OpenApiExample(
    "Refuse",
    request_only=True,
    value={"message": "Worn items cannot be returned, sorry. Our team will email you."},
)
LABEL_EXAMPLE = OpenApiExample(
    "Label and tracking number",
    request_only=True,
    value={
        "labelUrl": "https://labels.example.com/returns/RMA-1001.pdf",
        "trackingNumber": "1Z5R89390357567127",
        "carrier": "ups",
    },
)
RETURN_EXAMPLE = OpenApiExample(
    "A return on its way back",
    response_only=True,
    status_codes=["200"],
    value={
        "success": True,
        "data": {
            "returnId": "ret_6f1c2a9b0e4d4c7a8b3e5f10", "orderId": "12345", "status": "in_transit",
            "reason": {"code": "too-small", "label": "Too small"},
            "exchangeVariant": "Size L", "customerComment": "Lovely, but tight.",
            "language": "en", "merchantMessage": "Thanks! Print the label we email you.",
            "items": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 1}],
            "labelUrl": "https://labels.example.com/returns/RMA-1001.pdf",
            "returnShipment": {
                "shipmentId": "0b9ad0f4-3f0e-4a53-9df3-1f3b8f0a2c11",
                "trackingNumber": "1Z5R89390357567127", "carrier": "ups", "carrierName": "UPS",
                "status": "in_transit", "deliveredAt": None,
                "carrierTrackingUrl": "https://www.ups.com/track?tracknum=1Z5R89390357567127",
            },
            "requestedAt": "2026-12-01T09:30:00Z", "approvedAt": "2026-12-01T10:02:00Z",
            "refusedAt": None, "receivedAt": None, "updatedAt": "2026-12-02T08:15:00Z",
            "links": {
                "trackingPage": "https://track.example.com/orders/FDC-01-12345/12345?t=a.b",
                "returnsUrl": "https://track.example.com/returns/FDC-01-12345/12345?t=a.b",
            },
        },
        "warnings": [],
    },
)  # fmt: skip
STATUS_RULE = (
    " A return in another status is a 409 `RETURN_STATUS_CONFLICT` (`details.status` says "
    "which). Another merchant's id is a 404 `RETURN_NOT_FOUND`, like an unknown one."
)


def _return_for(merchant: Merchant, return_id: str) -> ReturnRequest:
    return_request = return_request_get_for_merchant(merchant, return_id)
    if return_request is None:
        raise NotFound(f"Return {return_id} was not found.", code=NOT_FOUND_CODE)
    return return_request


@extend_schema_view(
    get=documented(
        summary="List return requests",
        description="Newest first; `status` keeps one status (requested, approved, refused, "
        "in_transit, received).",
        responses={200: ReturnOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_RETURN_DATA",),
        parameters=[ReturnListQuery, EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="return_list",
    )
)
class ReturnsApi(MerchantApi):
    entity = ENTITY
    not_found_code = NOT_FOUND_CODE

    def get(self, request):
        query = self.validated(ReturnListQuery, request.query_params)
        returns = return_request_list(self.merchant(), status=query.get("status", ""))
        return paginated(request, returns, return_json)


@extend_schema_view(
    get=documented(
        summary="A return request",
        description="Another merchant's id is a 404, like an unknown one.",
        responses={200: ReturnOutputSerializer},
        errors=("RETURN_NOT_FOUND",),
        examples=[RETURN_EXAMPLE],
        tags=TAGS,
        operation_id="return_get",
    )
)
class ReturnDetailApi(MerchantApi):
    entity = ENTITY
    not_found_code = NOT_FOUND_CODE

    def get(self, request, return_id: str):
        return success(return_json(_return_for(self.merchant(), return_id)))


class ReturnActionApi(InboundApi):
    entity = ENTITY
    not_found_code = NOT_FOUND_CODE
    answer_function = None  # (merchant, payload, return_id) -> Result

    def handle(self, merchant: Merchant, payload, return_id: str) -> Result:
        return type(self).answer_function(merchant, payload, return_id)


def return_approve_answer(merchant: Merchant, payload, return_id: str) -> Result:
    """POST /returns/{id}/approve answered (replay calls it too)."""
    data = validated(ApproveInputSerializer, payload, ENTITY)
    return_request = return_request_approve(
        return_request=_return_for(merchant, return_id), message=data["message"]
    )
    return _answer(return_request, ApproveInputSerializer, payload)


def return_refuse_answer(merchant: Merchant, payload, return_id: str) -> Result:
    """POST /returns/{id}/refuse answered (replay calls it too)."""
    data = validated(RefuseInputSerializer, payload, ENTITY)
    return_request = return_request_refuse(
        return_request=_return_for(merchant, return_id), message=data["message"]
    )
    return _answer(return_request, RefuseInputSerializer, payload)


def return_label_answer(merchant: Merchant, payload, return_id: str) -> Result:
    """POST /returns/{id}/label answered (replay calls it too)."""
    data = validated(LabelInputSerializer, payload, ENTITY)
    return_request = return_request_label(
        return_request=_return_for(merchant, return_id),
        label_url=data["labelUrl"],
        tracking_number=data["trackingNumber"],
        carrier=data["carrier"],
    )
    return _answer(return_request, LabelInputSerializer, payload)


def _answer(return_request: ReturnRequest, serializer_class, payload) -> Result:
    warnings = unknown_field_warnings(serializer_class, payload)
    return Result(200, return_json(return_request), warnings)


@extend_schema_view(
    post=documented(
        summary="Approve a requested return",
        description="200 with the return, `approved`; the customer is told (return.approved)."
        + STATUS_RULE,
        request=ApproveInputSerializer,
        responses={200: ReturnOutputSerializer},
        errors=("INVALID_RETURN_DATA", "RETURN_NOT_FOUND", "RETURN_STATUS_CONFLICT"),
        examples=[APPROVE_EXAMPLE, RETURN_EXAMPLE],
        tags=TAGS,
        operation_id="return_approve",
    )
)
class ReturnApproveApi(ReturnActionApi):
    answer_function = staticmethod(return_approve_answer)


@extend_schema_view(
    post=documented(
        summary="Refuse a return, saying why",
        description="200 with the return, `refused`; its units may be asked for again. Only a "
        "return not yet given a tracking number can be refused." + STATUS_RULE,
        request=RefuseInputSerializer,
        responses={200: ReturnOutputSerializer},
        errors=ACTION_ERRORS,
        examples=[REFUSE_EXAMPLE, RETURN_EXAMPLE],
        tags=TAGS,
        operation_id="return_refuse",
    )
)
class ReturnRefuseApi(ReturnActionApi):
    answer_function = staticmethod(return_refuse_answer)


@extend_schema_view(
    post=documented(
        summary="Give an approved return its label and/or tracking number",
        description="200 with the return. `labelUrl`, `trackingNumber`, or both (400 "
        "`MISSING_RETURN_DATA` without either). A tracking number used by another shipment, or "
        "whose carrier cannot be detected, is a 422 `INVALID_RETURN_DATA`; a second, different "
        "tracking number a 409." + STATUS_RULE,
        request=LabelInputSerializer,
        responses={200: ReturnOutputSerializer},
        errors=ACTION_ERRORS,
        examples=[LABEL_EXAMPLE, RETURN_EXAMPLE],
        tags=TAGS,
        operation_id="return_label",
    )
)
class ReturnLabelApi(ReturnActionApi):
    answer_function = staticmethod(return_label_answer)
