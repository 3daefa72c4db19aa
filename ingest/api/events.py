"""POST /events and /events/batch: one envelope for every channel (API.md), applied by
ingest/envelope.py. Each event's `data` means the same Change as its own endpoint's body
(ingest/events.py); its eventId is remembered with its effect, so a repeat is a no-op."""

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from flextracker.openapi import RESPOND_ASYNC, documented
from inbound.api.base import InboundApi
from inbound.api.views import MessageOutputSerializer
from inbound.services import Result
from ingest.envelope import (
    ENVELOPE_ENTITY,
    EventBatchInput,
    EventInput,
    Parsed,
    event_apply,
    event_parsed,
    events_batch_apply,
)
from merchants.models import Merchant

ORDER_CREATED = {
    "eventId": "oms-msg-881", "type": "order.created", "occurredAt": "2026-11-20T15:04:05Z",
    "data": {"orderId": "12345",
             "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 2}]},
}  # fmt: skip
SHIPMENT_CONFIRMED = {
    "eventId": "oms-msg-882", "type": "shipment.confirmed", "occurredAt": "2026-11-21T10:00:00Z",
    "data": {"orderId": "12345", "trackingNumber": "1Z5R89390357567127", "carrier": "ups",
             "items": [{"itemId": "SKU-1", "quantity": 1}]},
}  # fmt: skip


class EventAnswerSerializer(serializers.Serializer):
    """What the matching endpoint answers: the order, or the tracking object of a shipment."""


class EventResultSerializer(serializers.Serializer):
    eventId = serializers.CharField(allow_null=True)
    status = serializers.IntegerField(help_text="The HTTP status this event would have had alone.")
    success = serializers.BooleanField()
    data = serializers.JSONField(required=False)
    error = serializers.DictField(required=False)
    warnings = serializers.ListField(child=serializers.DictField())


@extend_schema_view(
    post=documented(
        summary="One event in the envelope every channel uses",
        description="`data` is the body of the matching endpoint with `orderId`; the answer is "
        "that endpoint's. An `eventId` already applied is a 200 no-op with warning "
        "`DUPLICATE_EVENT`; a rejected event may be sent again with the same id once fixed.",
        request=EventInput,
        responses={
            200: EventAnswerSerializer,
            201: EventAnswerSerializer,
            202: MessageOutputSerializer,
        },
        errors=(
            "MISSING_EVENT_DATA",
            "INVALID_EVENT_DATA",
            "MISSING_ORDER_DATA",
            "INVALID_ORDER_DATA",
            "INVALID_SHIPMENT_DATA",
            "ORDER_NOT_FOUND",
        ),
        examples=[
            OpenApiExample("order.created", request_only=True, value=ORDER_CREATED),
            OpenApiExample("shipment.confirmed", request_only=True, value=SHIPMENT_CONFIRMED),
        ],
        tags=["Events"],
        parameters=[RESPOND_ASYNC],
        operation_id="event_post",
    )
)
class EventsApi(InboundApi):
    entity = ENVELOPE_ENTITY

    def handle(self, merchant: Merchant, payload) -> Result:
        return event_apply(merchant, payload)

    def queued(self, payload) -> Parsed:
        return event_parsed(payload)


@extend_schema_view(
    post=documented(
        summary="Up to 500 events at once; 207 with one result per event, in order",
        description="Each event is applied on its own: one bad event never rejects the others. "
        "More than 500 events is a 413.",
        request=EventBatchInput,
        responses={207: EventResultSerializer},
        many=True,
        errors=("MISSING_EVENT_DATA", "INVALID_EVENT_DATA"),
        examples=[
            OpenApiExample(
                "Two events",
                request_only=True,
                value={"events": [ORDER_CREATED, SHIPMENT_CONFIRMED]},
            )
        ],
        tags=["Events"],
        operation_id="event_batch",
    )
)
class EventsBatchApi(InboundApi):
    entity = ENVELOPE_ENTITY

    def handle(self, merchant: Merchant, payload) -> Result:
        return events_batch_apply(merchant, payload)
