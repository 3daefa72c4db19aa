"""One record from a channel other than the API (a line of a dropped file, a queue message, a
Shopify webhook): logged raw in the inbound message log, turned into event envelopes (API.md
`/events`) by the mapper its route names, and applied by the same code as `POST /events`.

A route is stored with the message (in `InboundMessage.path`) so a replay maps the raw record
again — after staff fixed the merchant's format dictionary, say:
- `envelope`: the record already is our envelope (one event, or `{"events": [...]}`);
- `dictionary:<id>`: the merchant's format dictionary `<id>` maps it;
- `shopify:<topic>`: a Shopify webhook of that topic.
"""

from collections.abc import Callable

from flextracker.api import api_error_for
from flextracker.errors import ApiError
from merchants.models import Merchant
from orders.channels.dictionaries import map_with_dictionary
from orders.channels.shopify import map_shopify
from orders.models import InboundMessage
from orders.services.inbound import (
    Failure,
    Result,
    inbound_process,
    inbound_receive,
    inbound_record_failure,
    parse_json,
)

# (merchant, the route's argument, the raw record) → the events it means, or ApiError saying why not
Mapper = Callable[[Merchant, str, bytes], list[dict]]


def map_envelope(merchant: Merchant, argument: str, body: bytes) -> list[dict]:
    payload = parse_json(body)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return payload["events"]
    return [payload]


MAPPERS: dict[str, Mapper] = {
    "envelope": map_envelope,
    "dictionary": map_with_dictionary,
    "shopify": map_shopify,
}


def channel_deliver(
    *,
    merchant: Merchant,
    channel: str,
    route: str,
    body: bytes,
    content_type: str = "",
    source: str = "",
    dedupe_key: str | None = None,
) -> Result | Failure:
    """Logs the record (committed before anything else, so it is never lost) and processes it.
    A `dedupe_key` seen before (a redelivered webhook) answers what the first delivery answered,
    with `replayed` set, and changes nothing."""
    received = inbound_receive(
        merchant=merchant, method="", path=route, body=body, content_type=content_type,
        idempotency_key=dedupe_key, channel=channel, source=source,
    )  # fmt: skip
    if not isinstance(received, InboundMessage):
        return received
    return channel_process(received)


def channel_process(message: InboundMessage) -> Result | Failure:
    """Maps and applies a logged record; the effect and the outcome commit together. Bad data is
    recorded as rejected with its error, our own failure as failed; either can be replayed."""
    try:
        return inbound_process(message, _handler(message), parse=bytes)
    except Exception as exc:
        error = api_error_for(exc, None)
        inbound_record_failure(message, error)
        return Failure(error)


def _handler(message: InboundMessage):
    name, _, argument = message.path.partition(":")

    def handle(merchant: Merchant, body: bytes) -> Result:
        mapper = MAPPERS.get(name)
        if mapper is None:
            raise ApiError(f"No mapper for route {message.path!r}.", code="UNKNOWN_ROUTE")
        events = mapper(merchant, argument, body)
        return _apply_events(merchant, message, events)

    return handle


def _apply_events(merchant: Merchant, message: InboundMessage, events: list[dict]) -> Result:
    """All of a record's events or none of them (the caller's transaction)."""
    from orders.api.events import EventsApi  # the API imports the services this module uses

    if not events:
        raise ApiError("The record holds no event.", code="EMPTY_RECORD")
    applier = EventsApi()
    message.order_ref = _first_order_id(events)  # kept when an event is rejected, too
    results = []
    for event in events:
        result = applier.apply(merchant, event)
        results.append({"eventId": event.get("eventId"), "type": event.get("type"),
                        "status": result.status, "data": result.data,
                        "warnings": result.warnings})  # fmt: skip
    warnings = [warning for result in results for warning in result["warnings"]]
    return Result(200, results, warnings)


def _first_order_id(events: list[dict]) -> str:
    for event in events:
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict) and data.get("orderId"):
            return str(data["orderId"])[:100]
    return ""
