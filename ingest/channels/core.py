"""One record from a channel other than the API (a line of a dropped file, a queue message, a
Shopify webhook): logged raw in the inbound message log, turned into event envelopes (API.md
`/events`) by the mapper its route names, and applied by the same code as `POST /events`.

A route is stored with the message (in `InboundMessage.path`) so a replay maps the raw record
again — after staff fixed the merchant's format dictionary, say:
- `envelope`: the record already is our envelope (one event, or `{"events": [...]}`);
- `dictionary:<id>`: the merchant's format dictionary `<id>` maps it;
- `shopify:<connection pk>:<topic>`: a Shopify webhook of that connection and topic
  (`shopify:<topic>` before Shopify stores were platform connections);
- `magento:<connection pk>`: an order pulled from that Magento connection.
- `woocommerce:<connection pk>:<topic>`: a WooCommerce webhook of that connection and topic.
- `email:<email source pk>`: an email (RFC 822), applied by its channel's own function
  (ingest/channels/email.py): it confirms shipments, or follows numbers that have no order.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from flextracker.api.envelope import api_error_for
from flextracker.errors import ApiError
from inbound.models import InboundMessage
from inbound.services import (
    Failure,
    Result,
    inbound_message,
    inbound_process,
    inbound_receive,
    inbound_record_all,
    inbound_record_failure,
    parse_json,
)
from ingest.channels.dictionaries import dictionary_mapper
from ingest.channels.email import email_apply
from ingest.channels.magento import map_magento
from ingest.channels.shopify import shopify_mapper
from ingest.channels.woocommerce import woocommerce_mapper
from ingest.envelope import event_apply, events_apply
from merchants.models import Merchant

logger = logging.getLogger(__name__)

# (merchant, the route's argument) → what turns a raw record into the events it means; either
# raises ApiError saying why not
Mapper = Callable[[Merchant, str], Callable[[bytes], list[dict]]]


def map_envelope(body: bytes) -> list[dict]:
    payload = parse_json(body)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return payload["events"]
    return [payload]


MAPPERS: dict[str, Mapper] = {
    "envelope": lambda _merchant, _argument: map_envelope,
    "dictionary": dictionary_mapper,
    "shopify": shopify_mapper,
    "magento": lambda merchant, pk: functools.partial(map_magento, merchant, pk),
    "woocommerce": woocommerce_mapper,
}

# Routes whose records are not events alone: (merchant, the route's argument, the logged
# message) → its answer, or ApiError saying why not.
APPLIERS: dict[str, Callable[[Merchant, str, InboundMessage], Result]] = {
    "email": email_apply,
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


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    body: bytes
    source: str = ""
    content_type: str = ""
    dedupe_key: str | None = None


def channel_deliver_all(
    *, merchant: Merchant, channel: str, route: str, records: list[ChannelRecord]
) -> list[Result | Failure]:
    """channel_deliver for each record, in order — for records that can be had again until they
    are answered: a file's from its last checkpoint, a queue's until acknowledged. They are
    applied together, as `/events/batch` applies events: each record still all or nothing,
    answered on its own, and logged with its answer in the transaction of the effect (API.md
    allows either). Should a record take effect only in part, a dedupe key be seen before, or
    our side fail, that transaction is undone and the records go one at a time through
    channel_deliver."""
    if not _seen_before(merchant, records):
        messages = [
            inbound_message(merchant=merchant, channel=channel, path=route, body=record.body,
                            content_type=record.content_type, source=record.source,
                            idempotency_key=record.dedupe_key)
            for record in records
        ]  # fmt: skip
        try:
            with transaction.atomic():
                return inbound_record_all(messages, _apply_together(merchant, route, messages))
        except (_PartlyApplied, IntegrityError):  # IntegrityError: a key logged meanwhile
            pass
        except Exception:
            logger.exception("Records from %s applied together failed; one at a time.",
                             records[0].source)  # fmt: skip
    return [
        channel_deliver(merchant=merchant, channel=channel, route=route, body=record.body,
                        content_type=record.content_type, source=record.source,
                        dedupe_key=record.dedupe_key)
        for record in records
    ]  # fmt: skip


def channel_deliver_unseen(
    *, merchant: Merchant, channel: str, route: str, records: list[ChannelRecord]
) -> int:
    """channel_deliver_all for the records whose dedupe key is not logged yet (a pulled API's
    record read again, unchanged); the number delivered."""
    logged = set(
        InboundMessage.objects.filter(
            merchant=merchant, idempotency_key__in=[record.dedupe_key for record in records]
        ).values_list("idempotency_key", flat=True)
    )
    new = [record for record in records if record.dedupe_key not in logged]
    if new:
        channel_deliver_all(merchant=merchant, channel=channel, route=route, records=new)
    return len(new)


def _seen_before(merchant: Merchant, records: list[ChannelRecord]) -> bool:
    """Whether a record's dedupe key is logged already, or twice among them (a redelivery)."""
    keys = [record.dedupe_key for record in records if record.dedupe_key]
    if not keys:
        return False
    logged = InboundMessage.objects.filter(merchant=merchant, idempotency_key__in=keys)
    return len(set(keys)) < len(keys) or logged.exists()


class _PartlyApplied(Exception):
    """A record some of whose events took effect and some not: it must take none."""


def _apply_together(merchant: Merchant, route: str, messages: list[InboundMessage]):
    """Each message's answer: its Result, or the ApiError that refused all of it."""
    try:
        map_record = _mapper(merchant, route)
    except ApiError as error:  # each record refused alike (no such dictionary, say)
        return [error] * len(messages)
    records: list[list[dict] | ApiError] = []
    for message in messages:
        try:
            records.append(_events_of(message, map_record))
        except ApiError as error:
            records.append(error)
    applied = iter(events_apply(
        merchant, [event for events in records if isinstance(events, list) for event in events]
    ))  # fmt: skip
    answers: list[Result | ApiError] = []
    for events in records:
        if isinstance(events, ApiError):
            answers.append(events)
            continue
        results = [next(applied) for _event in events]
        refused = [result for result in results if isinstance(result, Exception)]
        if not refused:
            answers.append(_record_answer(events, results))
        elif len(refused) == len(results) and isinstance(refused[0], ApiError):
            answers.append(refused[0])  # as alone: its first event's error, nothing of it applied
        else:
            raise _PartlyApplied
    return answers


def channel_process(message: InboundMessage) -> Result | Failure:
    """Maps and applies a logged record; the effect and the outcome commit together. Bad data is
    recorded as rejected with its error, our own failure as failed; either can be replayed."""
    try:
        return inbound_process(message, _handler(message), parse=bytes)
    except Exception as exc:
        error = api_error_for(exc)
        inbound_record_failure(message, error)
        return Failure(error)


def _handler(message: InboundMessage):
    name, _, argument = message.path.partition(":")
    if name in APPLIERS:
        return lambda merchant, _body: APPLIERS[name](merchant, argument, message)

    def handle(merchant: Merchant, _body: bytes) -> Result:
        return _apply_events(merchant, _events_of(message, _mapper(merchant, message.path)))

    return handle


def _events_of(message: InboundMessage, map_record: Callable[[bytes], list[dict]]) -> list[dict]:
    """The record's events (ApiError when it holds none, or cannot be mapped)."""
    events = map_record(bytes(message.body))
    message.order_ref = _first_order_id(events)  # kept when an event is rejected, too
    if not events:
        raise ApiError("The record holds no event.", code="EMPTY_RECORD")
    return events


def _mapper(merchant: Merchant, route: str) -> Callable[[bytes], list[dict]]:
    name, _, argument = route.partition(":")
    if name not in MAPPERS:
        raise ApiError(f"No mapper for route {route!r}.", code="UNKNOWN_ROUTE")
    return MAPPERS[name](merchant, argument)


def _apply_events(merchant: Merchant, events: list[dict]) -> Result:
    """All of a record's events or none of them (the caller's transaction)."""
    return _record_answer(events, [event_apply(merchant, event) for event in events])


def _record_answer(events: list[dict], results: list[Result]) -> Result:
    """A record's answer: each of its events' answers, in order, and all their warnings."""
    answers = [
        {"eventId": event.get("eventId"), "type": event.get("type"), "status": result.status,
         "data": result.data, "warnings": result.warnings}
        for event, result in zip(events, results, strict=True)
    ]  # fmt: skip
    return Result(200, answers, [warning for result in results for warning in result.warnings])


def _first_order_id(events: list[dict]) -> str:
    for event in events:
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict) and data.get("orderId"):
            return str(data["orderId"])[:100]
    return ""
