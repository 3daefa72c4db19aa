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
from django.utils import timezone

from carriers.base import (
    Carrier,
    CarrierRejected,
    CarrierUnavailable,
    Credentials,
    TrackingResult,
    TrackQuery,
)
from carriers.registry import CARRIERS
from carriers.sandbox import Sandbox
from carriers.vocabulary import TERMINAL_STATUSES
from flextracker import ratelimit
from flextracker.outbound import GuardedSession
from flextracker.urlguard import WEB
from orders.models import Shipment
from tracking.models import CarrierAccount
from tracking.recording import shipments_defer, shipments_record_failures, shipments_record_results

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=settings.POLL_LEASE_SECONDS)
WINDOW_MARGIN_SECONDS = 2
DEFER_SPREAD_SECONDS = 50


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
        outcomes = [call.result() for call in asked if call in answered]  # in order
    finally:  # a late call ends on its own (the HTTP timeouts), its answer unread
        pool.shutdown(wait=wait_seconds is None, cancel_futures=True)
    _record_outcomes(outcomes, now, report)
    return report


def _record_outcomes(outcomes, now: datetime, report: PollReport) -> None:
    """The round's answers, failures and deferrals, each kind written together."""
    results, failures, deferrals = [], [], []
    for batch, outcome in outcomes:
        if isinstance(outcome, BudgetSpent):
            # Spread over the next window, so its budget is not spent in one burst at its start.
            next_window = timezone.now() + timedelta(seconds=ratelimit.seconds_to_next_window())
            spread = timedelta(seconds=random.uniform(0, DEFER_SPREAD_SECONDS))  # noqa: S311
            deferrals += [(shipment, next_window + spread) for shipment in batch]
        elif isinstance(outcome, Exception):
            failures += [(shipment, outcome) for shipment in batch]
        else:
            results += [
                (shipment.pk, outcome.get(shipment.tracking_number)
                 or TrackingResult(shipment.tracking_number, found=False))
                for shipment in batch
            ]  # fmt: skip
    shipments_defer(deferrals=deferrals)
    shipments_record_failures(failures=failures, now=now)
    applied = shipments_record_results(results=results, now=now) if results else []
    report.deferred += len(deferrals)
    report.failed += len(failures)
    report.refreshed += len(applied)
    report.status_changes += [one.shipment.pk for one in applied if one.status_changed]


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


def _record_not_tracked(shipments) -> None:
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
        next_check_at=None, last_error="Not tracked: no carrier credentials for this merchant."
    )


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
