"""Push webhooks from tracking aggregators (EasyPost, AfterShip): verify, parse, apply.

The signature over the raw body is the authentication: no API key, no CSRF token. Once the
signature holds, every answer is 200 — unknown numbers and other event types included — so the
sender does not retry what can never succeed; what was ignored is logged, not stored. A repeated
delivery changes nothing: the apply service drops events it has already stored.
"""

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from carriers import aggregators
from carriers.aggregators import PayloadInvalid, PushedUpdate
from carriers.vocabulary import EventSource
from flextracker.api.envelope import request_body_within_limit
from orders.models import Shipment
from orders.services import shipment_lock
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
        shipment_ids = _shipment_ids(update)
        if not shipment_ids:
            logger.info(
                "%s push: no shipment has %s number %s; ignored",
                source, update.carrier or "any carrier", update.tracking_number,
            )  # fmt: skip
        for shipment_id in shipment_ids:
            changed += _shipment_take_update(shipment_id, update)
    return changed


def _shipment_ids(update: PushedUpdate) -> list[int]:
    shipments = Shipment.objects.filter(tracking_number=update.tracking_number)
    if update.carrier:
        shipments = shipments.filter(carrier=update.carrier)
    return list(shipments.order_by("pk").values_list("pk", flat=True))


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


@csrf_exempt
@require_POST
def easypost_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, EASYPOST)


@csrf_exempt
@require_POST
def aftership_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, AFTERSHIP)


def _receive(request: HttpRequest, aggregator: _Aggregator) -> JsonResponse:
    secret = getattr(settings, aggregator.signing_key_setting, "")
    if not secret:
        logger.error(
            "%s push refused: %s is not set", aggregator.name, aggregator.signing_key_setting
        )
        return _error(503, "NOT_CONFIGURED", "Receiving these events is not configured.")
    body = request_body_within_limit(request)
    if body is None:
        return _error(413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB.")
    signature = request.headers.get(aggregator.signature_header, "")
    if not aggregator.verify(body, signature, secret):
        logger.warning("%s push refused: missing or wrong signature", aggregator.name)
        return _error(401, "INVALID_SIGNATURE", "The signature does not match the body.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return _error(400, "MALFORMED_JSON", "The body is not valid JSON.")
    if not isinstance(payload, dict):
        return _error(400, "INVALID_PAYLOAD", "The body is not a JSON object.")
    event = payload.get(aggregator.event_field)
    if not isinstance(event, str) or event not in aggregator.tracking_events:
        logger.info(
            "%s push: event %.100r is not a tracking update; ignored", aggregator.name, event
        )
        return JsonResponse({"received": True, "updated": 0})
    try:
        updates = aggregator.parse(payload)
    except PayloadInvalid as error:
        logger.warning("%s push refused: %s", aggregator.name, error)
        return _error(400, "INVALID_PAYLOAD", str(error))
    updated = push_receive(source=aggregator.name, updates=updates)
    return JsonResponse({"received": True, "updated": updated})


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"received": False, "error": {"code": code, "message": message}}, status=status
    )
