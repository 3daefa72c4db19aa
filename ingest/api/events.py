"""POST /events and /events/batch: one envelope for every channel (API.md). Each event is handed
to the same handler as its own endpoint; its eventId is remembered with its effect, so a repeat
is a no-op."""

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import api_error_for
from flextracker.api.views import InputSerializer
from flextracker.errors import ApiError, PayloadTooLarge
from flextracker.openapi import RESPOND_ASYNC, documented
from inbound.api.base import InboundApi
from inbound.api.views import MessageOutputSerializer
from inbound.services import Result
from ingest.api.orders import (
    BackordersApi,
    CancellationsApi,
    OrdersApi,
    ShipmentsApi,
    changes_answer,
)
from ingest.api.serializers import OrderRefInput
from merchants.models import Merchant

MAX_BATCH_EVENTS = 500
WARNING_DUPLICATE_EVENT = "DUPLICATE_EVENT"

# type → (the endpoint whose handler applies it, whether it addresses an existing order)
HANDLERS = {
    "order.created": (OrdersApi, False),
    "shipment.confirmed": (ShipmentsApi, True),
    "order.cancelled": (CancellationsApi, True),
    "items.backordered": (BackordersApi, True),
}


class EventData(serializers.DictField):
    """A JSON object passed on as it is: the matching endpoint's serializer validates it."""

    def run_child_validation(self, data: dict) -> dict:
        return data


class EventInput(InputSerializer):
    eventId = serializers.CharField(max_length=200, help_text="Unique per merchant.")
    type = serializers.ChoiceField(choices=list(HANDLERS))
    occurredAt = serializers.DateTimeField(required=False)
    data = EventData(
        help_text="The body of the matching endpoint, with `orderId`.", allow_empty=False
    )


def _prefixed(error: ApiError, prefix: str) -> ApiError:
    """The inner endpoint's field paths, seen from the envelope (`data.lineItems[0].quantity`)."""
    error.fields = {f"{prefix}.{path}": messages for path, messages in error.fields.items()}
    return error


# A message as the ledger takes it: (eventId, type, its Change or the error of its `data`) — the
# first two None for an endpoint's own message — or the error that refused all of it.
Parsed = tuple[str | None, str | None, object]


def apply_parsed(merchant: Merchant, parsed: list[Parsed | Exception]) -> list[Result | Exception]:
    """Messages in order, each on its own (a refused one leaves nothing behind), applied
    together: the orders they name are read and written once for all of them. An event's answer
    is its endpoint's, its errors' fields seen from the envelope."""
    answers: list[Result | Exception] = list(parsed)
    valid = [(index, p) for index, p in enumerate(parsed) if isinstance(p, tuple)]
    results = changes_answer(
        merchant,
        [change for _index, (_event_id, _type, change) in valid],
        [event_id for _index, (event_id, _type, _change) in valid],
    )
    for (index, (event_id, event_type, _change)), result in zip(valid, results, strict=True):
        if result is None:  # applied before
            result = Result(200, {"eventId": event_id, "type": event_type},
                            [_duplicate_warning(event_id)])  # fmt: skip
        elif isinstance(result, ApiError) and event_id is not None:
            result = _prefixed(result, "data")
        answers[index] = result
    return answers


class EventApplier(InboundApi):
    entity = "EVENT"

    def apply(self, merchant: Merchant, payload) -> Result:
        """One event, all or nothing: its effect and its eventId commit together."""
        [result] = self.apply_all(merchant, [payload])
        if isinstance(result, Exception):
            raise result
        return result

    def apply_all(self, merchant: Merchant, payloads: list) -> list[Result | Exception]:
        """Events in order, each on its own (a refused one leaves nothing behind), applied
        together: the orders they name are read and written once for all of them."""
        parsed = []
        for payload in payloads:
            try:
                parsed.append(self._parsed(payload))
            except Exception as error:  # an envelope error is this event's answer
                parsed.append(error)
        return apply_parsed(merchant, parsed)

    def _parsed(self, payload) -> Parsed:
        """(eventId, type, the Change — or the error of its `data`, which is the answer unless
        the eventId was applied before)."""
        event = self.validated(EventInput, payload)
        view_class, needs_order = HANDLERS[event["type"]]
        kwargs = {}
        if needs_order:
            kwargs["order_id"] = self.validated(OrderRefInput, event["data"])["orderId"]
        try:
            change = view_class().change(event["data"], **kwargs)
        except ApiError as error:
            change = error
        return event["eventId"], event["type"], change


def _longer_than(value, limit: int) -> bool:
    return isinstance(value, list) and len(value) > limit


def _duplicate_warning(event_id: str) -> dict[str, str]:
    return {
        "code": WARNING_DUPLICATE_EVENT,
        "message": f"Event {event_id} was already applied; nothing changed.",
    }


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


class EventBatchInput(InputSerializer):
    events = serializers.ListField(child=serializers.JSONField(), allow_empty=False)


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
class EventsApi(EventApplier):
    def handle(self, merchant: Merchant, payload) -> Result:
        return self.apply(merchant, payload)

    def queued(self, payload) -> Parsed:
        return self._parsed(payload)


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
class EventsBatchApi(EventApplier):
    def handle(self, merchant: Merchant, payload) -> Result:
        if isinstance(payload, dict) and _longer_than(payload.get("events"), MAX_BATCH_EVENTS):
            raise PayloadTooLarge(f"At most {MAX_BATCH_EVENTS} events per batch.")
        events = self.validated(EventBatchInput, payload)["events"]
        results = self.apply_all(merchant, events)
        pairs = zip(events, results, strict=True)
        return Result(207, [self._entry(event, result) for event, result in pairs])

    def _entry(self, event, result: Result | Exception) -> dict:
        event_id = event.get("eventId") if isinstance(event, dict) else None
        if isinstance(result, Exception):  # one event's failure does not stop the others
            error = api_error_for(result, self)
            return {"eventId": event_id, "status": error.status, "success": False,
                    "error": error.body()["error"], "warnings": []}  # fmt: skip
        return {"eventId": event_id, "status": result.status, "success": True,
                "data": result.data, "warnings": result.warnings}  # fmt: skip
