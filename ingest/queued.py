"""Messages posted with `Prefer: respond-async` (inbound/api/base.py) were checked, logged as
queued and answered 202. The worker applies them here, oldest first, a chunk at a time as
`/events/batch` applies its events — each message still on its own — and records each one's
answer: the status and envelope it would have had without the preference."""

import time
from collections import defaultdict

from django.core.cache import cache
from django.db import transaction

from flextracker.api.envelope import api_error_for
from inbound.models import InboundMessage, InboundOutcome
from inbound.services import (
    QUEUE_WAKE_KEY,
    QUEUE_WAKE_SECONDS,
    Result,
    inbound_record_all,
    parse_json,
)
from ingest.endpoints import api_endpoint
from ingest.envelope import Parsed, parsed_apply

CHUNK = 200
# Applying a chunk costs a fixed number of statements whatever its size: once caught up, a drain
# waits this long for the next one to gather (the latency it adds is this, at most).
GATHER_SECONDS = 0.5
# How long a drain waits for more once the queue is empty: while messages keep coming, one task
# goes on applying them rather than a task being queued for each (the broker's poll is a second).
# Longer than a wake-up is held back (QUEUE_WAKE_SECONDS), so a message that did not ask for a
# worker because one was just asked for is seen by that worker's drain.
IDLE_SECONDS = QUEUE_WAKE_SECONDS + 0.5


def queued_drain(deadline: float) -> tuple[int, bool]:
    """Applies the queue until it stays empty for IDLE_SECONDS, or the deadline (time.monotonic)
    passes: (how many were applied, whether it ended empty). While it runs, no other worker is
    asked for (QUEUE_WAKE_KEY, where the cache is shared); a message queued as it ends is seen by
    its last look, or asks for a worker of its own."""
    applied, idle_until = 0, time.monotonic() + IDLE_SECONDS
    while time.monotonic() < deadline:
        cache.set(QUEUE_WAKE_KEY, True, timeout=QUEUE_WAKE_SECONDS)
        count = queued_apply()
        if not count and time.monotonic() >= idle_until:
            cache.delete(QUEUE_WAKE_KEY)
            count = queued_apply()  # committed before its wake-up found the key: ours to apply
            if not count:
                return applied, True
        applied += count
        if count:
            idle_until = time.monotonic() + IDLE_SECONDS
        if count < CHUNK:  # caught up: let the next chunk gather, as it costs per chunk
            time.sleep(GATHER_SECONDS if count else 0.2)
    return applied, False


def queued_apply(limit: int = CHUNK) -> int:
    """Applies up to `limit` queued messages and returns how many. Workers running at once take
    different messages (SKIP LOCKED); a merchant's are applied in the order they were posted."""
    with transaction.atomic():
        messages = list(
            InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(outcome=InboundOutcome.QUEUED)
            .select_related("merchant")
            .order_by("id")[:limit]
        )
        by_merchant: dict[int, list[InboundMessage]] = defaultdict(list)
        for message in messages:
            by_merchant[message.merchant_id].append(message)
        for merchant_messages in by_merchant.values():
            _apply(merchant_messages)
    return len(messages)


def _apply(messages: list[InboundMessage]) -> None:
    answers = parsed_apply(messages[0].merchant, [_parsed(message) for message in messages])
    # A refusal is its ApiError; anything else is our failure, recorded as a 5xx.
    inbound_record_all(messages, [answer if isinstance(answer, Result) else api_error_for(answer)
                                  for answer in answers])  # fmt: skip


def _parsed(message: InboundMessage) -> Parsed | Exception:
    try:
        endpoint, arguments = api_endpoint(message.path)
        return endpoint.queued(parse_json(bytes(message.body)), **arguments)
    except Exception as error:  # this message's answer; the others go on
        return error
