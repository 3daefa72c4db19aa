"""Applying OMS messages: an endpoint's own body (POST /orders/{orderId}/shipments …) or events in
API.md's envelope (`/events`, `/events/batch`, every channel's records, the queued drain). Raw
message → Change (ingest/events.py) → orders.services.changes_apply → each change answered as its
endpoint answers. Plain functions: the views, the channels, the drain and replay all call them."""

from typing import NamedTuple

from rest_framework import serializers

from flextracker.api.envelope import api_error_for, success_body
from flextracker.api.views import InputSerializer, unknown_field_warnings, validated
from flextracker.errors import ApiError, PayloadTooLarge
from inbound.services import Result
from ingest.api.serializers import OrderRefInput
from ingest.events import EVENT_TYPES, event_change
from merchants.models import Merchant
from orders.representation import order_json, restamp, shipment_json
from orders.services import Change, Outcome, ShipmentConfirmation, changes_apply

MAX_BATCH_EVENTS = 500
WARNING_DUPLICATE_EVENT = "DUPLICATE_EVENT"
ENVELOPE_ENTITY = "EVENT"  # the envelope's own errors: MISSING_EVENT_DATA, INVALID_EVENT_DATA


class EventData(serializers.DictField):
    """A JSON object passed on as it is: its event type's serializer validates it."""

    def run_child_validation(self, data: dict) -> dict:
        return data


class EventInput(InputSerializer):
    eventId = serializers.CharField(max_length=200, help_text="Unique per merchant.")
    type = serializers.ChoiceField(choices=list(EVENT_TYPES))
    occurredAt = serializers.DateTimeField(required=False)
    data = EventData(
        help_text="The body of the matching endpoint, with `orderId`.", allow_empty=False
    )


class EventBatchInput(InputSerializer):
    events = serializers.ListField(child=serializers.JSONField(), allow_empty=False)


class Parsed(NamedTuple):
    """A message as the ledger takes it (or, instead, the error that refused all of it)."""

    event_id: str | None  # None, with event_type, for an endpoint's own message
    event_type: str | None
    change: object  # its Change, or the error of its `data`
    warnings: list[dict[str, str]]  # its unknown fields (API.md), added to its answer


# --- Answers ------------------------------------------------------------------------------------


def change_answer(change: Change, outcome: Outcome) -> Result:
    """What the change's endpoint answers: the shipment's tracking object, or the order as GET
    returns it — from the ledger that applied it, as the change left it (no re-read)."""
    details, status = outcome.details, 201 if outcome.created else 200
    if isinstance(change, ShipmentConfirmation):
        data = shipment_json(outcome.instance, tracked=details.tracked, details=details)
        return Result(status, data, outcome.warnings)
    shipments = details.shipments_of(outcome.instance)
    tracked = details.tracked if shipments else set()  # only shipments show it
    return Result(status, order_json(outcome.instance, tracked=tracked, details=details),
                  outcome.warnings)  # fmt: skip


def changes_answer(
    merchant: Merchant, changes: list, event_ids: list[str | None] | None = None
) -> list[Result | Exception | None]:
    """orders.services.changes_apply, each applied change answered as its endpoint does."""
    answers: dict[int, Result] = {}

    def answer(index: int, outcome: Outcome) -> None:
        answers[index] = change_answer(changes[index], outcome)

    results = changes_apply(
        merchant=merchant, changes=changes, event_ids=event_ids, on_applied=answer
    )
    for index, result in enumerate(results):
        if isinstance(result, Outcome):
            restamp(answers[index].data, result.instance, result.details)
            results[index] = answers[index]
    return results


# --- An endpoint's own message ----------------------------------------------------------------


def message_change(event_type: str, payload, order_id: str | None = None) -> Change:
    """The Change an endpoint's body means; the URL's {orderId} under the rule of a body's
    `orderId` (never trimmed)."""
    if order_id is not None:
        validated(OrderRefInput, {"orderId": order_id}, EVENT_TYPES[event_type].entity)
    return event_change(event_type, payload, order_id)


def message_apply(
    event_type: str, merchant: Merchant, payload, order_id: str | None = None
) -> Result:
    """An endpoint's message applied and answered (ApiError when refused)."""
    [result] = parsed_apply(merchant, [message_parsed(event_type, payload, order_id)])
    if isinstance(result, Exception):
        raise result
    return result


def message_parsed(event_type: str, payload, order_id: str | None = None) -> Parsed:
    """A queued message's change: parsed when it is posted, so a bad body is answered at once,
    and again when the worker applies it (ingest/queued.py)."""
    change = message_change(event_type, payload, order_id)
    return Parsed(
        None, None, change, unknown_field_warnings(EVENT_TYPES[event_type].serializer, payload)
    )


# --- Events in the envelope -------------------------------------------------------------------


def event_parsed(payload) -> Parsed:
    """(eventId, type, the Change — or the error of its `data`, which is the answer unless the
    eventId was applied before); ApiError when the envelope itself is not valid."""
    event = validated(EventInput, payload, ENVELOPE_ENTITY)
    data, order_id = event["data"], None
    if EVENT_TYPES[event["type"]].addresses_order:
        order_id = validated(OrderRefInput, data, ENVELOPE_ENTITY)["orderId"]
    try:
        change = event_change(event["type"], data, order_id)
    except ApiError as error:
        change = error
    endpoint_body = {
        key: value for key, value in data.items() if order_id is None or key != "orderId"
    }
    warnings = [
        *unknown_field_warnings(EventInput, payload),
        *unknown_field_warnings(EVENT_TYPES[event["type"]].serializer, endpoint_body, "data"),
    ]
    return Parsed(event["eventId"], event["type"], change, warnings)


def parsed_apply(merchant: Merchant, parsed: list[Parsed | Exception]) -> list[Result | Exception]:
    """Messages in order, each on its own (a refused one leaves nothing behind), applied
    together: the orders they name are read and written once for all of them. An event's answer
    is its endpoint's, its errors' fields seen from the envelope."""
    answers: list[Result | Exception] = list(parsed)
    valid = [(index, p) for index, p in enumerate(parsed) if isinstance(p, Parsed)]
    results = changes_answer(
        merchant, [p.change for _index, p in valid], [p.event_id for _index, p in valid]
    )
    for (index, message), result in zip(valid, results, strict=True):
        if result is None:  # applied before
            result = Result(200, {"eventId": message.event_id, "type": message.event_type},
                            [_duplicate_warning(message.event_id)])  # fmt: skip
        elif isinstance(result, ApiError) and message.event_id is not None:
            result = _prefixed(result, "data")
        elif isinstance(result, Result):
            result.warnings = [*result.warnings, *message.warnings]
        answers[index] = result
    return answers


def events_apply(merchant: Merchant, payloads: list) -> list[Result | Exception]:
    """Events in order, each on its own, applied together (parsed_apply)."""
    parsed: list[Parsed | Exception] = []
    for payload in payloads:
        try:
            parsed.append(event_parsed(payload))
        except Exception as error:  # an envelope error is this event's answer
            parsed.append(error)
    return parsed_apply(merchant, parsed)


def event_apply(merchant: Merchant, payload) -> Result:
    """One event, all or nothing: its effect and its eventId commit together."""
    [result] = events_apply(merchant, [payload])
    if isinstance(result, Exception):
        raise result
    return result


def events_batch_apply(merchant: Merchant, payload) -> Result:
    """`/events/batch`: 207 with one entry per event, in order; a bad event never stops the
    others."""
    if isinstance(payload, dict) and _longer_than(payload.get("events"), MAX_BATCH_EVENTS):
        raise PayloadTooLarge(f"At most {MAX_BATCH_EVENTS} events per batch.")
    events = validated(EventBatchInput, payload, ENVELOPE_ENTITY)["events"]
    results = events_apply(merchant, events)
    return Result(
        207, [_entry(event, result) for event, result in zip(events, results, strict=True)]
    )


def _entry(event, result: Result | Exception) -> dict:
    event_id = event.get("eventId") if isinstance(event, dict) else None
    if isinstance(result, Exception):
        error = api_error_for(result, entity=ENVELOPE_ENTITY, not_found_code="ORDER_NOT_FOUND")
        return {"eventId": event_id, "status": error.status, "success": False,
                "error": error.body()["error"], "warnings": []}  # fmt: skip
    return {"eventId": event_id, "status": result.status,
            **success_body(result.data, result.warnings)}  # fmt: skip


def _prefixed(error: ApiError, prefix: str) -> ApiError:
    """The inner endpoint's field paths, seen from the envelope (`data.lineItems[0].quantity`)."""
    error.fields = {f"{prefix}.{path}": messages for path, messages in error.fields.items()}
    return error


def _longer_than(value, limit: int) -> bool:
    return isinstance(value, list) and len(value) > limit


def _duplicate_warning(event_id: str) -> dict[str, str]:
    return {
        "code": WARNING_DUPLICATE_EVENT,
        "message": f"Event {event_id} was already applied; nothing changed.",
    }
