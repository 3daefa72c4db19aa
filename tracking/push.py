"""Push webhooks from tracking aggregators (EasyPost, AfterShip, Shippo): verify, parse, apply.

The signature over the raw body is the authentication: no API key, no CSRF token. Once the
signature holds, the body is kept in the push log (`PushMessage`) with what we made of it, and
every answer is 200 — unknown numbers and other event types included — so the sender does not
retry what can never succeed; a malformed body is a 400 in API.md's envelope, kept with its
reason. A repeated delivery changes nothing: the apply service drops events it has already stored.
"""

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carriers import aggregators
from carriers.aggregators import PayloadInvalid, PushedUpdate
from carriers.vocabulary import EventSource
from flextracker.api.envelope import request_body_within_limit, success_body
from flextracker.errors import ApiError
from orders.models import Shipment
from orders.services import shipment_lock
from tracking.models import AggregatorRegistration, PushMessage, PushOutcome
from tracking.services import shipment_apply_events

logger = logging.getLogger(__name__)


# --- Service -----------------------------------------------------------------------------------


def push_receive(*, source: str, updates: Sequence[PushedUpdate]) -> int:
    """Applies each update to every shipment with its number (and its carrier, when the
    aggregator named one of ours); returns how many shipments changed. `source` names the
    aggregator in the logs; the events are stored as pushes.

    Every merchant's shipment with the number is updated, not one merchant's: the aggregator
    follows a number, not a merchant, and a number is unique per carrier in practice, so two
    merchants holding it (a marketplace and its seller, a re-imported order) ship the same
    package and both want the news.
    """
    changed = 0
    for update in updates:
        _registrations_pushed(update, source)
        shipment_ids = _shipment_ids(update)
        if not shipment_ids:
            logger.info(
                "%s push: no shipment has %s number %s; ignored",
                source, update.carrier or "any carrier", update.tracking_number,
            )  # fmt: skip
        for shipment_id in shipment_ids:
            changed += _shipment_take_update(shipment_id, update)
    return changed


def _shipments(update: PushedUpdate):
    shipments = Shipment.objects.filter(tracking_number=update.tracking_number)
    if update.carrier:
        shipments = shipments.filter(carrier=update.carrier)
    return shipments


def _shipment_ids(update: PushedUpdate) -> list[int]:
    return list(_shipments(update).order_by("pk").values_list("pk", flat=True))


def _registrations_pushed(update: PushedUpdate, aggregator: str) -> None:
    """The admin shows when the aggregator last told us about a shipment it follows for us."""
    AggregatorRegistration.objects.filter(
        shipment__in=_shipments(update), aggregator=aggregator
    ).update(last_push_at=timezone.now())


@transaction.atomic
def _shipment_take_update(shipment_id: int, update: PushedUpdate) -> bool:
    shipment = shipment_lock(shipment_id)
    estimate_changed = _estimate_take(shipment, update)  # first: a hand-over carries it
    applied = shipment_apply_events(
        shipment_id=shipment_id, events=update.events, source=EventSource.PUSH
    )
    return bool(applied.new_events) or estimate_changed


def _estimate_take(shipment: Shipment, update: PushedUpdate) -> bool:
    """The update's delivery estimate, unless the shipment already knows newer scans than any
    in the update (a late delivery's estimate is older than the one we hold)."""
    day, at = update.estimated_delivery_date, update.estimated_delivery_at
    if day is None and at is None:
        return False
    newest = max((event.occurred_at for event in update.events), default=None)
    if newest is not None and shipment.last_event_at and newest < shipment.last_event_at:
        return False
    day = day or at.date()
    if at is None and day == shipment.estimated_delivery_date:
        at = shipment.estimated_delivery_at  # the same day: keep the hour another source gave
    if (shipment.estimated_delivery_date, shipment.estimated_delivery_at) == (day, at):
        return False
    shipment.estimated_delivery_date, shipment.estimated_delivery_at = day, at
    shipment.save(update_fields=["estimated_delivery_date", "estimated_delivery_at", "updated_at"])
    return True


# --- Views -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Aggregator:
    name: str
    signing_key_setting: str
    signature_header: str
    event_field: str  # where the payload names its event type
    tracking_events: frozenset[str]
    verify: Callable[[bytes, str, str], bool]
    parse: Callable[[dict], list[PushedUpdate]]


EASYPOST = _Aggregator(
    name="easypost",
    signing_key_setting="EASYPOST_WEBHOOK_SECRET",
    signature_header="X-Hmac-Signature",
    event_field="description",
    tracking_events=aggregators.EASYPOST_TRACKING_EVENTS,
    verify=aggregators.verify_easypost,
    parse=aggregators.parse_easypost,
)
AFTERSHIP = _Aggregator(
    name="aftership",
    signing_key_setting="AFTERSHIP_WEBHOOK_SECRET",
    signature_header="Aftership-Hmac-Sha256",
    event_field="event",
    tracking_events=aggregators.AFTERSHIP_TRACKING_EVENTS,
    verify=aggregators.verify_aftership,
    parse=aggregators.parse_aftership,
)
SHIPPO = _Aggregator(
    name="shippo",
    signing_key_setting="SHIPPO_WEBHOOK_SECRET",
    signature_header="Shippo-Auth-Signature",
    event_field="event",
    tracking_events=aggregators.SHIPPO_TRACKING_EVENTS,
    verify=aggregators.verify_shippo,
    parse=aggregators.parse_shippo,
)


@csrf_exempt
@require_POST
def easypost_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, EASYPOST)


@csrf_exempt
@require_POST
def aftership_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, AFTERSHIP)


@csrf_exempt
@require_POST
def shippo_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, SHIPPO)


class _Refused(ApiError):
    """A push we do not take; `status` per instance (the envelope's severity stays hard)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message, code=code)
        self.status = status
        self.severity = "transient" if status >= 500 else "hard"


def _receive(request: HttpRequest, aggregator: _Aggregator) -> JsonResponse:
    secret = getattr(settings, aggregator.signing_key_setting, "")
    if not secret:
        logger.error(
            "%s push refused: %s is not set", aggregator.name, aggregator.signing_key_setting
        )
        return _error(_Refused(503, "NOT_CONFIGURED", "Receiving these events is not configured."))
    body = request_body_within_limit(request)
    if body is None:
        return _error(_Refused(413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB."))
    signature = request.headers.get(aggregator.signature_header, "")
    if not aggregator.verify(body, signature, secret):
        logger.warning("%s push refused: missing or wrong signature", aggregator.name)
        return _error(_Refused(401, "INVALID_SIGNATURE", "The signature does not match the body."))
    return _take(aggregator, body)


def _take(aggregator: _Aggregator, body: bytes) -> JsonResponse:
    """A signed body: kept in the push log with its outcome, whatever it holds."""
    log = PushMessage(aggregator=aggregator.name, body=body)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return _rejected(log, _Refused(400, "MALFORMED_JSON", "The body is not valid JSON."))
    if not isinstance(payload, dict):
        return _rejected(log, _Refused(400, "INVALID_PAYLOAD", "The body is not a JSON object."))
    event = payload.get(aggregator.event_field)
    log.event = event[:100] if isinstance(event, str) else ""
    if not isinstance(event, str) or event not in aggregator.tracking_events:
        logger.info(
            "%s push: event %.100r is not a tracking update; ignored", aggregator.name, event
        )
        return _answered(log, PushOutcome.IGNORED, updated=0)
    try:
        updates = aggregator.parse(payload)
    except PayloadInvalid as error:
        logger.warning("%s push refused: %s", aggregator.name, error)
        return _rejected(log, _Refused(400, "INVALID_PAYLOAD", str(error)))
    log.tracking_number = ",".join(update.tracking_number for update in updates)[:100]
    _answered(log, PushOutcome.ACCEPTED, updated=0)  # kept before it is applied: never lost
    updated = push_receive(source=aggregator.name, updates=updates)
    PushMessage.objects.filter(pk=log.pk).update(shipments_updated=updated)
    return _answer(PushOutcome.ACCEPTED, updated)


def _answered(log: PushMessage, outcome: str, *, updated: int) -> JsonResponse:
    log.outcome, log.response_status, log.shipments_updated = outcome, 200, updated
    log.save()
    return _answer(outcome, updated)


def _answer(outcome: str, updated: int) -> JsonResponse:
    return JsonResponse(success_body({"received": True, "outcome": outcome, "updated": updated}))


def _rejected(log: PushMessage, error: _Refused) -> JsonResponse:
    log.outcome, log.response_status = PushOutcome.REJECTED, error.status
    log.error_code, log.reason = error.code, error.message[:500]
    log.save()
    return _error(error)


def _error(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(), status=error.status)
