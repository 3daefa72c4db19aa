"""Recording a poll round: what the carriers said about its shipments, and when to ask each
again, written for the whole round at once (tracking.services.TrackingNews: a fixed number of
statements however many shipments), with the rules one shipment at a time would follow."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from carriers.base import CarrierRejected, TrackingResult
from carriers.events import CarrierEvent
from carriers.vocabulary import TERMINAL_STATUSES, EventSource, EventType, Status
from flextracker.db import rows_update
from orders.models import Shipment
from tracking import cadence
from tracking.registration import shipments_pushed
from tracking.services import Applied, TrackingNews

logger = logging.getLogger(__name__)

TRANSIENT_BASE = timedelta(minutes=5)
NOT_FOUND_BASE = timedelta(hours=1)


def shipments_record_results(
    *, results: Sequence[tuple[int, TrackingResult]], now: datetime,
    source: str = EventSource.POLL,
) -> list[Applied]:  # fmt: skip
    """Applies what the carriers said about each shipment (status changes are handed to the
    notifications app in the same transaction), then decides when to ask each next. Should the
    round's transaction fail (a deadlock with another writer, a row the database refuses), each
    shipment is recorded on its own, so one cannot lose the others; one that fails again stays
    leased and is asked again when its lease ends. Returns what was applied, in order."""
    try:
        return _record(results, now, source)
    except DatabaseError:
        if len(results) == 1:
            raise
        logger.exception("A round of %d answers failed together; recording each", len(results))
    applied = []
    for result in results:
        try:
            applied += _record([result], now, source)
        except DatabaseError:
            logger.exception("Recording shipment %s failed; it is asked again later", result[0])
    return applied


@transaction.atomic
def _record(results: Sequence[tuple[int, TrackingResult]], now: datetime, source: str):
    news = TrackingNews(shipment_id for shipment_id, _result in results)
    answered = {pk: result for pk, result in results if pk in news.shipments}  # none deleted
    for pk, result in answered.items():
        _take_details(news.shipments[pk], result)  # first, so a status change carries them
    news.apply({pk: result.events for pk, result in answered.items()}, source=source)
    pushed = shipments_pushed(list(answered))
    for pk, result in answered.items():
        _schedule(news.shipments[pk], result, now, pushed=pk in pushed)
    _expire_silent(news, list(answered), now)
    news.flush()
    return [news.applied[pk] for pk in answered]


def _schedule(shipment: Shipment, result: TrackingResult, now: datetime, *, pushed: bool) -> None:
    shipment.last_checked_at = now
    if result.problem:
        shipment.last_error, shipment.next_check_at = result.problem[:500], None
        shipment.consecutive_check_failures += 1
    elif not result.found and shipment.last_event_at is None:
        # "Not found" is usually "not yet" (CARRIERS.md §0): ask again, less and less often.
        shipment.consecutive_check_failures += 1
        shipment.last_error = "The carrier does not know this number yet."
        shipment.next_check_at = now + cadence.backoff(
            failures=shipment.consecutive_check_failures, base=NOT_FOUND_BASE,
            cap=cadence.NOT_FOUND_MAX_BACKOFF,
        )  # fmt: skip
    else:
        shipment.consecutive_check_failures, shipment.last_error = 0, ""
        shipment.next_check_at = cadence.next_check(
            carrier=shipment.carrier, status=shipment.status, now=now,
            delivered_at=shipment.delivered_at, sandbox_step=sandbox_step(), pushed=pushed,
        )  # fmt: skip


def _take_details(shipment: Shipment, result: TrackingResult) -> None:
    if result.estimated_delivery_date:
        shipment.estimated_delivery_date = result.estimated_delivery_date
    if result.estimated_delivery_at:
        shipment.estimated_delivery_at = result.estimated_delivery_at
    shipment.service = shipment.service or result.service[:100]
    if result.origin and not shipment.origin_city:
        shipment.origin_city, shipment.origin_state = result.origin.city, result.origin.state
        shipment.origin_country = result.origin.country
    if result.destination and not shipment.destination_city:
        destination = result.destination
        shipment.destination_city, shipment.destination_state = destination.city, destination.state
        shipment.destination_postal_code = destination.postal_code
        shipment.destination_country = destination.country


def _expire_silent(news: TrackingNews, shipment_ids: list[int], now: datetime) -> None:
    """TRACKING.md: no carrier news for 30 days (the number never moved) ends tracking."""
    silent = [pk for pk in shipment_ids if _is_silent(news.shipments[pk], now)]
    expired = CarrierEvent(
        occurred_at=now, status=Status.EXPIRED, status_detail="unknown",
        event_type=EventType.EXCEPTION,
        description="No news from the carrier for 30 days; tracking stopped.",
        raw_code="EXPIRED", raw_description="flexTracker: no carrier information for 30 days",
    )  # fmt: skip
    news.apply({pk: [expired] for pk in silent}, source=EventSource.POLL)
    for pk in silent:
        news.shipments[pk].next_check_at = None


def _is_silent(shipment: Shipment, now: datetime) -> bool:
    quiet_since = shipment.last_event_at or shipment.created_at
    return shipment.status not in TERMINAL_STATUSES and now - quiet_since >= cadence.EXPIRE_AFTER


def sandbox_step() -> timedelta:
    return timedelta(minutes=settings.SANDBOX_MINUTES_PER_STEP)


def shipments_record_failures(
    *, failures: Sequence[tuple[Shipment, Exception]], now: datetime
) -> None:
    """A transient failure backs off with jitter; a hard one stops polling and says why. One
    executemany for the round's failures."""
    for shipment, error in failures:
        shipment.consecutive_check_failures += 1  # the shipment is leased: no one else counts
        if isinstance(error, CarrierRejected):
            shipment.next_check_at = None
        else:
            shipment.next_check_at = now + cadence.backoff(
                failures=shipment.consecutive_check_failures, base=TRANSIENT_BASE,
                cap=cadence.MAX_BACKOFF, retry_after=error.retry_after,
            )  # fmt: skip
        shipment.last_error, shipment.last_checked_at = str(error)[:500], now
        shipment.updated_at = timezone.now()  # the page says when the carrier was last asked
    rows_update(
        Shipment, [shipment for shipment, _error in failures],
        ["consecutive_check_failures", "last_error", "last_checked_at", "next_check_at",
         "updated_at"],
    )  # fmt: skip


def shipments_defer(*, deferrals: Sequence[tuple[Shipment, datetime]]) -> None:
    """Each shipment asked again at its time (one executemany)."""
    for shipment, when in deferrals:
        shipment.next_check_at = when
    rows_update(Shipment, [shipment for shipment, _when in deferrals], ["next_check_at"])
