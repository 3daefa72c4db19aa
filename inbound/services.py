"""The inbound message log and idempotency: every authenticated message is stored raw with its
outcome, and it can be replayed. An API request is logged with its answer in the transaction of
its effect (`inbound_handle`); a channel's record is logged first, committed, then processed
(`inbound_receive`, `inbound_process`), as a webhook or queue message cannot be had again. An API
request sent with `Prefer: respond-async` is checked, logged as queued and answered 202 at once
(`inbound_queue`); the worker applies the queue (ingest/queued.py).

Idempotency keys follow Stripe (RELIABILITY.md): per merchant, bound to a hash of method, path and
body, kept 24 h; the same key and body replays the stored answer, another body is a 409. An API
request sent again while its first is running waits for it and gets its answer; a channel's
delivery whose first is still running is a 409 (transient: retry shortly).
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.renderers import JSONRenderer

from flextracker.api.envelope import success_body
from flextracker.api.views import unknown_field_warnings
from flextracker.db import rows_update
from flextracker.errors import ApiError, Conflict, InFlight
from inbound.models import InboundChannel, InboundMessage, InboundOutcome
from merchants.models import Merchant

logger = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A message still "received" after this long died with its worker; its effect rolled back with it.
IN_FLIGHT_TIMEOUT = timedelta(minutes=2)


@dataclass(slots=True)
class Result:
    """What processing a message answered: HTTP status, the envelope's data and warnings."""

    status: int
    data: object = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    replayed: bool = False
    sent: str = ""  # the answer as recorded in the inbound log: the API sends this text as is
    # Fields of `data` that only the first answer shows (a signing secret): never in the log,
    # so neither a replay nor GET /messages/{id} can show them again. `data` holds them as null.
    shown_once: dict = field(default_factory=dict)

    def body(self) -> dict:
        return success_body(self.data, self.warnings)


@dataclass(slots=True)
class Failure:
    error: ApiError
    replayed: bool = False

    @property
    def transient(self) -> bool:
        """Not the message's fault (our side failed, or its first delivery with this key is
        still being processed): the same message may succeed later, so channels retry it."""
        return self.error.severity == "transient"


Handler = Callable[[Merchant, object], Result]


def unknown_fields_noted(result: Result, serializer_class, payload) -> Result:
    """The answer, warned of each field of `payload` its serializer does not know (API.md
    "Unknown fields": not an error; the logged message keeps them)."""
    result.warnings = [*result.warnings, *unknown_field_warnings(serializer_class, payload)]
    return result


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


# Deeper than any message of ours needs, and far from where Python's recursion gives out in the
# code that validates, stores and renders what was sent.
MAX_JSON_DEPTH = 100
# A \uD800–\uDFFF escape: a surrogate, text only within a pair (which parsing tells).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STRING = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")


def parse_json(body: bytes) -> object:
    """An empty body is an empty object (so a bodiless POST such as "refresh" works, and a
    forgotten body is told which fields are missing). JSON that parses but cannot be stored as
    text (NUL, a lone surrogate) or is nested past MAX_JSON_DEPTH is MALFORMED_JSON too: the
    client's mistake, never a 5xx."""
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except RecursionError as error:
        raise _too_deep() from error
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError("The body is not valid JSON.", code="MALFORMED_JSON") from error
    if b"\x00" in body:  # UTF-16 or UTF-32 (JSON in UTF-8 holds no NUL byte): walk it all
        _check_storable(payload)
        return payload
    if _nested_too_deep(body):
        raise _too_deep()
    if b"\\u0000" in body or _SURROGATE_ESCAPE.search(body) is not None:
        _check_storable(payload)
    return payload


REDACTED = "[redacted]"


def body_redacted(body: bytes, fields: tuple[str, ...]) -> bytes:
    """The body to log: a JSON object's `fields` (top level) replaced by REDACTED when they hold
    a value; any other body as it is."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # refused later, when parsed
        return body
    if not isinstance(payload, dict) or all(payload.get(name) is None for name in fields):
        return body
    redacted = {name: REDACTED if name in fields and value is not None else value
                for name, value in payload.items()}  # fmt: skip
    return json.dumps(redacted, separators=(",", ":")).encode()  # ASCII: a lone surrogate too


def _nested_too_deep(utf8_json: bytes) -> bool:
    """Read from the bytes of valid JSON in UTF-8, as walking what it parsed into costs several
    times the parsing (a batch of 500 events): its brackets outside strings, the innermost pairs
    removed one level at a time."""
    if utf8_json.count(b"[") + utf8_json.count(b"{") <= MAX_JSON_DEPTH:
        return False
    if b"\\" in utf8_json:  # every escape is a backslash and one character: no quote left escaped
        utf8_json = utf8_json.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Brackets inside strings go with them; the strings without any, at once (adjacent quotes
    # removed in pairs only ever join two strings that have nothing between them).
    brackets = _STRING.sub(b"", utf8_json.translate(None, _NOT_STRUCTURE).replace(b'""', b""))
    for _level in range(MAX_JSON_DEPTH):
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


def json_loads_storable(text: str | bytes, **options) -> object:
    """json.loads refusing, as parse_json does, what is too deep or cannot be stored as text: for
    JSON read its own way (a format dictionary's records). ValueError when it is not JSON."""
    try:
        payload = json.loads(text, **options)
    except RecursionError as error:
        raise _too_deep() from error
    _check_storable(payload)
    return payload


def _check_storable(payload: object) -> None:
    """MALFORMED_JSON, naming where, for parsed JSON nested past MAX_JSON_DEPTH or holding text
    that cannot be stored (NUL, a lone surrogate). Walks it without recursion (it may be
    absurdly deep)."""
    _check_text(payload, ())
    stack: list[tuple[object, tuple]] = [(payload, ())]
    while stack:
        value, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise _too_deep()
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            _check_text(key, (*path, key))
            _check_text(item, (*path, key))
            stack.append((item, (*path, key)))


def _check_text(value: object, path: tuple) -> None:
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise ApiError(
            "The body holds the NUL character (\\u0000), which cannot be stored.",
            code="MALFORMED_JSON",
            fields={_json_path(path): ["Remove the NUL character (\\u0000)."]},
        )
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ApiError(
            "The body holds a lone surrogate (an escape \\ud800 to \\udfff outside a pair), "
            "which is not Unicode text.",
            code="MALFORMED_JSON",
            fields={_json_path(path): ["Send text with no lone surrogate."]},
        ) from None


def _too_deep() -> ApiError:
    return ApiError(
        f"The body is nested more than {MAX_JSON_DEPTH} levels deep.",
        code="MALFORMED_JSON",
        details={"maxDepth": MAX_JSON_DEPTH},
    )


def _json_path(path: tuple) -> str:
    """A place in the body as the envelope's `fields` name it (`lineItems[0].name`); a key that is
    not storable text itself is shown escaped."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            step = step.encode(errors="backslashreplace").decode().replace("\x00", "\\u0000")
            text += f".{step}" if text else step
    return text or "body"


def _order_ref(payload: object) -> str:
    """The order a message is about: `orderId` of an endpoint's body or of an event's `data`."""
    if not isinstance(payload, dict):
        return ""
    data = payload.get("data")
    if "orderId" not in payload and isinstance(data, dict):
        payload = data
    return str(payload.get("orderId", ""))[:100]


def inbound_receive(
    *,
    merchant: Merchant,
    method: str,
    path: str,
    body: bytes,
    content_type: str = "",
    idempotency_key: str | None = None,
    channel: str = InboundChannel.API,
    source: str = "",
) -> InboundMessage | Result | Failure:
    """Stores the message (committed at once, so it is never lost) — or, for a repeated
    idempotency key, returns the stored answer or the conflict instead."""
    message = inbound_message(
        merchant=merchant, channel=channel, path=path, body=body, content_type=content_type,
        source=source, method=method,
    )  # fmt: skip
    earlier = _answered_before(message, idempotency_key)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            message.save(force_insert=True)
            return message
    except IntegrityError:
        # Another request with this key got in first: its answer, or "still running".
        return _idempotent_answer(merchant, idempotency_key, message.request_hash) or _in_flight()


def inbound_message(
    *,
    merchant: Merchant,
    channel: str,
    path: str,
    body: bytes,
    content_type: str = "",
    source: str = "",
    method: str = "",
    idempotency_key: str | None = None,
) -> InboundMessage:
    """A message to log, not yet saved."""
    return InboundMessage(
        merchant=merchant, channel=channel, method=method, path=path[:1000],
        content_type=content_type[:200], body=body, request_hash=request_hash(method, path, body),
        source=source[:300], idempotency_key=idempotency_key or None,
    )  # fmt: skip


MAX_IDEMPOTENCY_KEY_LENGTH = InboundMessage._meta.get_field("idempotency_key").max_length


def idempotency_key_problem(key: str) -> str | None:
    """Why a client's Idempotency-Key cannot be kept (None when it can): Stripe's 255 characters
    at most, and no control character (a NUL cannot be stored)."""
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        return f"Use at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters."
    if any(ord(character) < 32 or ord(character) == 127 for character in key):
        return "Use no control characters."
    return None


def _answered_before(message: InboundMessage, key: str | None) -> Result | Failure | None:
    """For a key used before: its answer from the log (or its conflict). Otherwise the key is
    the message's from now on, and None."""
    if not key:
        return None
    earlier = _idempotent_answer(message.merchant, key, message.request_hash)
    if earlier is None:
        message.idempotency_key = key
    return earlier


def _idempotent_answer(merchant: Merchant, key: str, digest: str) -> Result | Failure | None:
    earlier = InboundMessage.objects.filter(merchant=merchant, idempotency_key=key).first()
    if earlier is None:
        return None
    now = timezone.now()
    if now - earlier.received_at > IDEMPOTENCY_WINDOW:
        earlier.idempotency_key = None  # expired: the key is free again
        earlier.save(update_fields=["idempotency_key"])
        return None
    if earlier.request_hash != digest:
        return Failure(
            Conflict(
                "This Idempotency-Key was used with a different request.",
                code="IDEMPOTENCY_CONFLICT",
            )
        )
    if earlier.outcome in (InboundOutcome.ACCEPTED, InboundOutcome.REJECTED):
        return _stored_answer(earlier)
    if earlier.outcome == InboundOutcome.QUEUED:
        return queued_answer(earlier, replayed=True)
    if earlier.outcome == InboundOutcome.RECEIVED and now - earlier.received_at < IN_FLIGHT_TIMEOUT:
        return _in_flight()
    # Failed on our side, or abandoned by a dead worker: free the key so the retry runs again.
    earlier.idempotency_key = None
    earlier.save(update_fields=["idempotency_key"])
    return None


def _in_flight() -> Failure:
    return Failure(
        InFlight("A request with this Idempotency-Key is still being processed; retry shortly.")
    )


def _stored_answer(message: InboundMessage) -> Result | Failure:
    body = message.response()
    if body.get("success"):
        return Result(
            message.response_status, body["data"], body["warnings"], replayed=True,
            sent=message.response_body,
        )  # fmt: skip
    error = body.get("error", {})
    api_error = ApiError(
        error.get("message", ""),
        code=error.get("code"),
        fields=error.get("fields"),
        details=error.get("details"),
    )
    api_error.status = message.response_status
    api_error.severity = error.get("severity", api_error.severity)
    return Failure(api_error, replayed=True)


def inbound_handle(
    message: InboundMessage,
    handler: Handler,
    idempotency_key: str | None = None,
    parse: Callable[[bytes], object] = parse_json,
) -> Result | Failure:
    """Processes a message not logged yet (an API request) and logs it with its answer in the
    transaction of its effect: one transaction and one row written, where logging first costs
    two and an update (API.md allows either; the client that gets no answer sends again).

    A repeated idempotency key answers from the log. A concurrent request with the same key
    cannot log its own: it waits for the first to commit, its effect is undone, and it is
    answered as that key's repeat (or its conflict)."""
    return _keyed(message, idempotency_key, lambda: inbound_process(message, handler, parse))


def inbound_queue(
    message: InboundMessage, check: Callable[[object], object], idempotency_key: str | None = None
) -> Result | Failure:
    """Logs an API message for the worker to apply and answers 202 with where to follow it, once
    `check` (the endpoint's own validation, without the database) passed; otherwise the message
    is logged as rejected with that error. A repeated key answers as in `inbound_handle`: 202
    again while the first is queued, its answer once applied."""
    return _keyed(message, idempotency_key, lambda: _queue(message, check))


def _keyed(
    message: InboundMessage, key: str | None, log: Callable[[], Result | Failure]
) -> Result | Failure:
    """`log` the message, unless its key was used before: then that key's answer. A concurrent
    request with the key that logged first (the unique index refuses ours) answers likewise."""
    earlier = _answered_before(message, key)
    if earlier is not None:
        return earlier
    try:
        return log()
    except IntegrityError:
        earlier = _answered_before(message, key)
        if earlier is not None:
            return earlier
        raise


def _queue(message: InboundMessage, check: Callable[[object], object]) -> Result | Failure:
    try:
        payload = parse_json(bytes(message.body))
        message.order_ref = _order_ref(payload)
        check(payload)
    except ApiError as error:
        _record(message, InboundOutcome.REJECTED, error.status, error.body(), error.code)
        return Failure(error)
    message.outcome = InboundOutcome.QUEUED
    if message.idempotency_key:  # its unique index may refuse it: keep a caller's transaction
        with transaction.atomic():
            message.save(force_insert=True)
    else:  # one statement, committed by itself
        message.save(force_insert=True)
    _wake_worker()
    return queued_answer(message)


# Set while a worker is asked for, or applying the queue (ingest/queued.py): no other is
# asked for meanwhile. Short-lived, so that where the cache is not shared (locmemcache, in
# development) a message still asks for a worker of its own within seconds.
QUEUE_WAKE_KEY = "orders:queued-messages-wake"
QUEUE_WAKE_SECONDS = 2


def _wake_worker() -> None:
    """Asks a worker to apply the queue, unless one was asked for already or is applying it."""
    if cache.add(QUEUE_WAKE_KEY, True, timeout=QUEUE_WAKE_SECONDS):
        async_task("ingest.tasks.apply_queued_messages", task_name="apply queued messages now")


def queued_answer(message: InboundMessage, replayed: bool = False) -> Result:
    result = Result(202, message_json(message), replayed=replayed)
    result.sent = JSONRenderer().render(result.body()).decode()
    return result


def message_json(message: InboundMessage, with_answer: bool = True) -> dict:
    """A logged API message as GET /api/v1/messages/{id} shows it: where it is, and its answer
    (the status and envelope it had, or would have had without `Prefer: respond-async`) — or
    only the answer's status."""
    answered = message.response_status is not None
    response = {"status": message.response_status}
    if answered and with_answer:
        response["body"] = message.response()
    return {
        "messageId": str(message.pk),
        "status": message.outcome,
        "method": message.method,
        "path": message.path,
        "orderId": message.order_ref or None,
        "receivedAt": message.received_at,
        "processedAt": message.processed_at,
        "statusUrl": reverse("api-message", args=[message.pk]),
        "response": response if answered else None,
    }


def inbound_process(
    message: InboundMessage, handler: Handler, parse: Callable[[bytes], object] = parse_json
) -> Result | Failure:
    """Runs `handler` on the message's body; its effect and the recorded outcome commit
    together (the message is logged then, if it was not before). The handler may set
    `message.order_ref` when `parse` alone cannot tell it."""
    try:
        with transaction.atomic():
            payload = parse(bytes(message.body))
            message.order_ref = _order_ref(payload)
            result = handler(message.merchant, payload)
            result.sent = _record(message, InboundOutcome.ACCEPTED, result.status, result.body())
        return result
    except ApiError as error:
        _record(message, InboundOutcome.REJECTED, error.status, error.body(), error.code)
        return Failure(error)


def inbound_reject(message: InboundMessage, error: ApiError) -> Failure:
    """A message refused before it is processed (its Idempotency-Key, say): logged as rejected,
    with the error it is answered."""
    _record(message, InboundOutcome.REJECTED, error.status, error.body(), error.code)
    return Failure(error)


def inbound_record_failure(message: InboundMessage, error: ApiError) -> None:
    """Our own failure (5xx): recorded so staff see it; the key stays retryable."""
    _record(message, InboundOutcome.FAILED, error.status, error.body(), error.code)


RECORDED_FIELDS = [
    "outcome", "response_status", "response_body", "error_code", "processed_at", "order_ref",
]  # fmt: skip


def _record(message, outcome: str, status: int, body: dict, error_code: str = "") -> str:
    """Records the outcome and answer; returns the answer's JSON text."""
    _answered(message, outcome, status, body, error_code)
    message.save(update_fields=RECORDED_FIELDS if message.pk else None)
    return message.response_body


def _answered(message, outcome: str, status: int, body: dict, error_code: str = "") -> None:
    message.outcome = outcome
    message.response_status = status
    message.response_body = JSONRenderer().render(body).decode()  # as the API renders it
    message.error_code = error_code
    message.processed_at = timezone.now()


def inbound_record_all(
    messages: list[InboundMessage], answers: list[Result | ApiError]
) -> list[Result | Failure]:
    """Logs the messages with their answers (an accepted Result, or the ApiError that rejected
    it — or, 5xx, our failure) in one statement, in the transaction of their effect: new messages
    are inserted, queued ones updated."""
    outcomes: list[Result | Failure] = []
    for message, answer in zip(messages, answers, strict=True):
        if isinstance(answer, ApiError):
            failed = answer.status >= 500
            outcome = InboundOutcome.FAILED if failed else InboundOutcome.REJECTED
            _answered(message, outcome, answer.status, answer.body(), answer.code)
            outcomes.append(Failure(answer))
        else:
            _answered(message, InboundOutcome.ACCEPTED, answer.status, answer.body())
            answer.sent = message.response_body
            outcomes.append(answer)
    if messages and messages[0].pk:
        rows_update(InboundMessage, messages, RECORDED_FIELDS)
    else:
        InboundMessage.objects.bulk_create(messages)
    return outcomes
