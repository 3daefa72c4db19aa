"""Polling carriers: claim the shipments that are due, ask each carrier in batches within its
account's rate (several calls at once), record what it said, and decide when to ask again.

A claimed shipment is leased: its next check moves LEASE ahead before any carrier is called, so
a worker killed mid-round loses nothing — the shipment is simply due again when the lease ends.
"""

import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from carriers.base import (
    Carrier,
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    TrackingResult,
    TrackQuery,
)
from carriers.events import CarrierEvent
from carriers.registry import CARRIERS
from carriers.sandbox import Sandbox
from carriers.vocabulary import TERMINAL_STATUSES, EventSource, EventType, Status
from flextracker import ratelimit
from flextracker.outbound import GuardedSession
from flextracker.urlguard import WEB
from orders.models import Shipment
from orders.services import shipment_lock
from tracking import cadence
from tracking.models import CarrierAccount
from tracking.registration import shipment_is_pushed
from tracking.services import Applied, shipment_apply_events

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=settings.POLL_LEASE_SECONDS)
WINDOW_MARGIN_SECONDS = 2
DEFER_SPREAD_SECONDS = 50
TRANSIENT_BASE = timedelta(minutes=5)
NOT_FOUND_BASE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Account:
    """Whom we ask as: a merchant's own carrier account or the platform's credentials."""

    key: str  # names the rate budget
    carrier: str
    credentials: Credentials | None
    requests_per_minute: int | None  # None: no budget (the sandbox)
    # A base URL the merchant's account chose (not the platform's): every call goes through the
    # SSRF guard, connecting only to the address it checked.
    guarded: bool = False


@dataclass(slots=True)
class PollReport:
    claimed: int = 0
    refreshed: int = 0
    failed: int = 0
    deferred: int = 0
    not_tracked: int = 0
    status_changes: list[int] = field(default_factory=list)


def poll_due_shipments(*, now: datetime | None = None, limit: int = 500) -> PollReport:
    now = now or timezone.now()
    return poll_shipments(_claim_due(now, limit), now=now)


def _claim_due(now: datetime, limit: int) -> list[Shipment]:
    with transaction.atomic():
        due = list(
            Shipment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(next_check_at__lte=now)
            .order_by("next_check_at")[:limit]
        )
        Shipment.objects.filter(pk__in=[s.pk for s in due]).update(next_check_at=now + LEASE)
    return due


def poll_shipments(
    shipments: Sequence[Shipment], *, now: datetime, wait_seconds: float | None = None
) -> PollReport:
    """Asks the carriers about claimed shipments and records the answers — those that came within
    `wait_seconds` when it is given: the others stay leased and are asked again when it ends."""
    report = PollReport(claimed=len(shipments))
    jobs = []
    for account, group in _by_account(shipments).items():
        if account is None:
            _record_not_tracked(group)
            report.not_tracked += len(group)
            continue
        size = _carrier_class(account.carrier).batch_size
        carrier = _carrier(account)  # one per account and round: its HTTP connections are reused
        jobs += [(account, carrier, group[s : s + size]) for s in range(0, len(group), size)]
    pool = ThreadPoolExecutor(max_workers=settings.POLL_CONCURRENCY)
    try:
        asked = [pool.submit(_ask, job) for job in jobs]
        answered, _late = wait(asked, timeout=wait_seconds)
        for call in asked:  # in order
            if call in answered:
                _record_outcome(*call.result(), now, report)
    finally:  # a late call ends on its own (the HTTP timeouts), its answer unread
        pool.shutdown(wait=wait_seconds is None, cancel_futures=True)
    return report


def _record_outcome(batch, outcome, now: datetime, report: PollReport) -> None:
    if isinstance(outcome, BudgetSpent):
        # Spread over the next window, so its budget is not spent in one burst at its start.
        next_window = timezone.now() + timedelta(seconds=ratelimit.seconds_to_next_window())
        _defer(batch, next_window + timedelta(seconds=random.uniform(0, DEFER_SPREAD_SECONDS)))  # noqa: S311
        report.deferred += len(batch)
        return
    if isinstance(outcome, Exception):
        shipment_record_failure(shipments=batch, error=outcome, now=now)
        report.failed += len(batch)
        return
    for shipment in batch:
        result = outcome.get(shipment.tracking_number) or TrackingResult(
            shipment.tracking_number, found=False
        )
        applied = shipment_record_result(shipment_id=shipment.pk, result=result, now=now)
        report.refreshed += 1
        if applied.status_changed:
            report.status_changes.append(shipment.pk)


class BudgetSpent(Exception):
    """The account's requests for this minute are spent: ask again in the next one."""


def _ask(job: tuple[Account, Carrier, list[Shipment]]) -> tuple[list[Shipment], dict | Exception]:
    """One carrier call (runs in a pool thread: no database here). The budget is taken right
    before the call; in a window's last seconds from both minutes, as the carrier may count the
    call in either."""
    account, carrier, batch = job
    if account.requests_per_minute is not None and not ratelimit.take(
        account.key, account.requests_per_minute, straddle_seconds=WINDOW_MARGIN_SECONDS
    ):
        return batch, BudgetSpent()
    queries = [TrackQuery(s.tracking_number, s.created_at) for s in batch]
    try:
        return batch, carrier.track(queries)
    except (CarrierUnavailable, CarrierRejected) as error:
        return batch, error
    except Exception as error:  # an adapter bug must not stop the round
        logger.exception("%s adapter failed", account.carrier)
        return batch, CarrierUnavailable(f"{account.carrier}: {type(error).__name__}")


def _carrier_class(code: str) -> type[Carrier]:
    return CARRIERS[code]


def _carrier(account: Account) -> Carrier:
    if account.carrier == Sandbox.code:
        return Sandbox(minutes_per_step=settings.SANDBOX_MINUTES_PER_STEP)
    session = GuardedSession(WEB) if account.guarded else None
    return _carrier_class(account.carrier)(account.credentials, cache, session=session)


def _by_account(shipments: Sequence[Shipment]) -> dict[Account | None, list[Shipment]]:
    own = {
        (a.merchant_id, a.carrier): a
        for a in CarrierAccount.objects.filter(
            merchant_id__in={s.merchant_id for s in shipments}, is_active=True
        )
    }
    groups: dict[Account | None, list[Shipment]] = {}
    for shipment in shipments:
        account = _account(shipment, own.get((shipment.merchant_id, shipment.carrier)))
        groups.setdefault(account, []).append(shipment)
    return groups


def _account(shipment: Shipment, own: CarrierAccount | None) -> Account | None:
    carrier = shipment.carrier
    if carrier == Sandbox.code:
        return Account("sandbox", carrier, None, None)
    if carrier not in CARRIERS:
        return None
    platform = settings.CARRIER_CREDENTIALS.get(carrier, {})
    if own is not None:
        credentials = Credentials(own.client_id, own.secret, own.base_url or platform["base_url"])
        return Account(
            f"account:{own.pk}", carrier, credentials, own.requests_per_minute,
            guarded=bool(own.base_url),
        )  # fmt: skip
    if not platform.get("secret"):
        return None
    credentials = Credentials(platform["client_id"], platform["secret"], platform["base_url"])
    return Account(
        f"platform:{carrier}", carrier, credentials, settings.CARRIER_REQUESTS_PER_MINUTE[carrier]
    )


def _defer(shipments, when: datetime) -> None:
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(next_check_at=when)


def _record_not_tracked(shipments) -> None:
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
        next_check_at=None, last_error="Not tracked: no carrier credentials for this merchant."
    )


def shipment_record_failure(*, shipments, error: Exception, now: datetime) -> None:
    """A transient failure backs off with jitter; a hard one stops polling and says why."""
    for shipment in shipments:
        failures = shipment.consecutive_check_failures + 1
        if isinstance(error, CarrierRejected):
            next_check_at = None
        else:
            next_check_at = now + cadence.backoff(
                failures=failures, base=TRANSIENT_BASE, cap=cadence.MAX_BACKOFF,
                retry_after=error.retry_after,
            )  # fmt: skip
        Shipment.objects.filter(pk=shipment.pk).update(
            consecutive_check_failures=F("consecutive_check_failures") + 1,
            last_error=str(error)[:500],
            last_checked_at=now,
            next_check_at=next_check_at,
            updated_at=now,  # the page says when the carrier was last asked
        )


@transaction.atomic
def shipment_record_result(
    *, shipment_id: int, result: TrackingResult, now: datetime, source: str = EventSource.POLL
) -> Applied:
    """Applies what the carrier said (a status change is handed to the notifications app, in
    this transaction), then decides when to ask next."""
    details = shipment_lock(shipment_id)
    _take_details(details, result)  # first, so a status change is handed over with them
    details.save()
    applied = shipment_apply_events(shipment_id=shipment_id, events=result.events, source=source)
    shipment = applied.shipment
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
            delivered_at=shipment.delivered_at, sandbox_step=_sandbox_step(),
            pushed=shipment_is_pushed(shipment.pk),
        )  # fmt: skip
    shipment.save()
    return _expire_if_silent(applied, now)


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


def _expire_if_silent(applied: Applied, now: datetime) -> Applied:
    """TRACKING.md: no carrier news for 30 days (the number never moved) ends tracking."""
    shipment = applied.shipment
    quiet_since = shipment.last_event_at or shipment.created_at
    if shipment.status in TERMINAL_STATUSES or now - quiet_since < cadence.EXPIRE_AFTER:
        return applied
    expired = CarrierEvent(
        occurred_at=now, status=Status.EXPIRED, status_detail="unknown",
        event_type=EventType.EXCEPTION,
        description="No news from the carrier for 30 days; tracking stopped.",
        raw_code="EXPIRED", raw_description="flexTracker: no carrier information for 30 days",
    )  # fmt: skip
    expiry = shipment_apply_events(
        shipment_id=shipment.pk, events=[expired], source=EventSource.POLL
    )
    Shipment.objects.filter(pk=shipment.pk).update(next_check_at=None)
    return Applied(expiry.shipment, expiry.new_events, previous_status=applied.previous_status)


def _sandbox_step() -> timedelta:
    return timedelta(minutes=settings.SANDBOX_MINUTES_PER_STEP)


REFRESH_MIN_INTERVAL = timedelta(seconds=60)


class RefreshTooSoon(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Checked less than a minute ago; retry in {retry_after} s.")
        self.retry_after = retry_after


def shipment_refresh(
    *, shipment_id: int, now: datetime | None = None, wait_seconds: float | None = None
) -> PollReport:
    """Asks the carrier now (console and API "refresh"), at most once a minute per shipment,
    through the same path as the poller (waiting at most `wait_seconds` for its answer)."""
    now = now or timezone.now()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.last_checked_at and now - shipment.last_checked_at < REFRESH_MIN_INTERVAL:
            waited = (now - shipment.last_checked_at).total_seconds()
            raise RefreshTooSoon(max(int(REFRESH_MIN_INTERVAL.total_seconds() - waited), 1))
        shipment.last_checked_at, shipment.next_check_at = now, now + LEASE
        shipment.save(update_fields=["last_checked_at", "next_check_at", "updated_at"])
    return poll_shipments([shipment], now=now, wait_seconds=wait_seconds)


# A customer's "Check for updates" asks the carrier at most this often per shipment.
CUSTOMER_CHECK_INTERVAL = timedelta(minutes=5)
CUSTOMER_CHECK_WAIT_SECONDS = 4  # what a person waits for a page


def shipment_check_for_customer(shipment: Shipment, *, now: datetime | None = None) -> bool:
    """A customer's "Check for updates": the same bounded refresh as the console's, unless the
    carrier was asked in the last CUSTOMER_CHECK_INTERVAL or the shipment can change no more.
    True when the carrier was asked."""
    now = now or timezone.now()
    if shipment.status in TERMINAL_STATUSES:
        return False
    if shipment.last_checked_at and now - shipment.last_checked_at < CUSTOMER_CHECK_INTERVAL:
        return False
    try:
        shipment_refresh(shipment_id=shipment.pk, now=now,
                         wait_seconds=CUSTOMER_CHECK_WAIT_SECONDS)  # fmt: skip
    except RefreshTooSoon:  # another visitor's check got there first
        return False
    return True


@dataclass(frozen=True, slots=True)
class RefreshSummary:
    """A refresh asked for by a person, told in a sentence for them (console and admin)."""

    text: str
    ran: bool  # False: asked too soon, nothing was done
    tracked: bool = True  # False: we hold no credentials for that carrier


def shipment_refresh_summary(shipment: Shipment) -> RefreshSummary:
    try:
        report = shipment_refresh(shipment_id=shipment.pk)
    except RefreshTooSoon as too_soon:
        return RefreshSummary(f"{shipment}: {too_soon}", ran=False)
    if report.not_tracked:
        return RefreshSummary(
            f"{shipment}: not tracked (no carrier credentials).", ran=True, tracked=False
        )
    shipment.refresh_from_db()
    problem = f" — {shipment.last_error}" if shipment.last_error else ""
    return RefreshSummary(f"{shipment}: {shipment.get_status_display()}{problem}", ran=True)
