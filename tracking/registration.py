"""Registering new shipments with the aggregator their carrier is routed through (a merchant's
own `AggregatorRoute`, else the platform's `AGGREGATOR_ROUTES`), so its pushes keep them fresh
and polling falls back to a slow safety check (tracking/cadence.PUSHED_INTERVAL).

The `AggregatorRegistration` row is the outbox: a sweep creates one per new shipment on a routed
carrier, claims the due ones under a lease (no network call inside a transaction), calls the
aggregator, and records the attempt — registered, backed off after a transient failure (429,
5xx, timeout), or given up on a refusal with its reason. Why not the notifications outbox: it
sits below tracking, so its channels could not read the routes nor call carriers/registration.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from carriers.base import CarrierUnavailable
from carriers.registration import RegistrationRefused, register
from carriers.vocabulary import TERMINAL_STATUSES
from orders.models import Shipment
from tracking import cadence
from tracking.models import AggregatorRegistration, AggregatorRoute, RegistrationState

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
NEW_FOR = timedelta(days=7)  # older shipments found unregistered are left to polling
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 8  # about a day of backing off
HISTORY_KEPT = 20
PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class _Account:
    aggregator: str
    api_key: str


def registrations_run(*, now: datetime | None = None, limit: int = 100) -> int:
    """The schedule's round: new shipments on routed carriers get a row, due rows are tried.
    Returns how many attempts were made."""
    now = now or timezone.now()
    registrations_create(now=now)
    due = _claim_due(now, limit)
    for registration in due:
        registration_attempt(registration=registration, now=now)
    return len(due)


def registrations_create(*, now: datetime) -> int:
    """One pending registration per recent, unfinished, unregistered shipment whose carrier is
    routed through an aggregator for its merchant."""
    own = {
        (route.merchant_id, route.carrier): route
        for route in AggregatorRoute.objects.filter(is_active=True)
    }
    created = 0
    for shipment in _unregistered(now, own):
        aggregator, account = _route_of(shipment, own)
        try:
            with transaction.atomic():
                AggregatorRegistration.objects.create(
                    shipment=shipment, aggregator=aggregator, account=account, next_attempt_at=now
                )
        except IntegrityError:  # another worker's sweep made it first
            continue
        created += 1
    return created


def _unregistered(now: datetime, own: dict[tuple[int, str], AggregatorRoute]):
    routed = Q(carrier__in=list(settings.AGGREGATOR_ROUTES))
    for merchant_id, carrier in own:
        routed |= Q(merchant_id=merchant_id, carrier=carrier)
    return (
        Shipment.objects.filter(routed, created_at__gte=now - NEW_FOR)
        .exclude(status__in=TERMINAL_STATUSES)
        .filter(aggregator_registration__isnull=True)
        .only("pk", "merchant", "carrier")
        .order_by("pk")[:500]
    )


def _route_of(shipment: Shipment, own: dict[tuple[int, str], AggregatorRoute]) -> tuple[str, str]:
    """(aggregator, account) for a routed shipment: its merchant's own route first."""
    route = own.get((shipment.merchant_id, shipment.carrier))
    if route is not None:
        return route.aggregator, f"route:{route.pk}"
    return settings.AGGREGATOR_ROUTES[shipment.carrier], PLATFORM


def _claim_due(now: datetime, limit: int) -> list[AggregatorRegistration]:
    with transaction.atomic():
        due = list(
            AggregatorRegistration.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("shipment")
            .filter(next_attempt_at__lte=now, state=RegistrationState.PENDING)
            .order_by("next_attempt_at")[:limit]
        )
        AggregatorRegistration.objects.filter(pk__in=[r.pk for r in due]).update(
            next_attempt_at=now + LEASE
        )
    return due


def _account(registration: AggregatorRegistration) -> _Account | None:
    """The account the row names, and only for its shipment's merchant: another merchant's
    route is never used, even if the row were to name it."""
    if registration.account == PLATFORM:
        key = settings.AGGREGATOR_API_KEYS.get(registration.aggregator, "")
        return _Account(registration.aggregator, key) if key else None
    route_pk = registration.account.removeprefix("route:")
    route = AggregatorRoute.objects.filter(
        pk=int(route_pk) if route_pk.isdigit() else None,
        merchant_id=registration.shipment.merchant_id,
        is_active=True,
    ).first()
    return _Account(route.aggregator, route.api_key) if route else None


def registration_attempt(*, registration: AggregatorRegistration, now: datetime) -> None:
    """One call to the aggregator (outside any transaction), then its outcome recorded."""
    shipment = registration.shipment
    account = _account(registration)
    if account is None:
        _record(registration, now, refused="No active aggregator account for this shipment.")
        return
    try:
        registered = register(
            account.aggregator, number=shipment.tracking_number, carrier=shipment.carrier,
            api_key=account.api_key, base_url=settings.AGGREGATOR_BASE_URLS[account.aggregator],
        )  # fmt: skip
    except CarrierUnavailable as error:
        _record(registration, now, transient=str(error), retry_after=error.retry_after)
    except RegistrationRefused as error:
        _record(registration, now, refused=str(error))
    else:
        _record(registration, now, external_id=registered.external_id)


def _record(
    registration: AggregatorRegistration, now: datetime, *, refused: str = "",
    transient: str = "", retry_after: float | None = None, external_id: str | None = None,
) -> None:  # fmt: skip
    registration.attempts += 1
    if external_id is not None:
        outcome, detail = "registered", external_id
        registration.state, registration.registered_at = RegistrationState.REGISTERED, now
        registration.external_id, registration.next_attempt_at = external_id, None
        registration.last_error = ""
    elif transient and registration.attempts < MAX_ATTEMPTS:
        outcome, detail = "retry", transient
        registration.last_error = transient[:500]
        registration.next_attempt_at = now + cadence.backoff(
            failures=registration.attempts, base=RETRY_BASE, cap=RETRY_CAP,
            retry_after=retry_after,
        )  # fmt: skip
    else:
        reason = refused or f"Gave up after {registration.attempts} attempts: {transient}"
        outcome, detail = "refused", reason
        registration.state, registration.next_attempt_at = RegistrationState.REFUSED, None
        registration.last_error = reason[:500]
    registration.history = [
        *registration.history[-(HISTORY_KEPT - 1) :],
        {"at": now.isoformat(), "outcome": outcome, "detail": detail[:300]},
    ]
    registration.save()
    if outcome == "registered":
        _poll_slowly(registration.shipment_id, now)
    logger.info(
        "registration of shipment %s with %s: attempt %s %s %s", registration.shipment_id,
        registration.aggregator, registration.attempts, outcome, detail[:300],
    )  # fmt: skip


def _poll_slowly(shipment_id: int, now: datetime) -> None:
    """Pushes keep it fresh now: its next poll is the safety check, hours away."""
    safety = now + cadence.jittered(cadence.PUSHED_INTERVAL)
    Shipment.objects.filter(pk=shipment_id, next_check_at__lt=safety).update(next_check_at=safety)


def shipments_pushed(shipment_ids: list[int]) -> set[int]:
    """Those of the shipments an aggregator pushes us news of (one query)."""
    return set(
        AggregatorRegistration.objects.filter(
            shipment_id__in=shipment_ids, state=RegistrationState.REGISTERED
        ).values_list("shipment_id", flat=True)
    )
