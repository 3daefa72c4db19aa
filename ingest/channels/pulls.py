"""Pulling a platform's API on a schedule (Magento, any OMS with a REST API): each minute the
connections that are due are claimed one at a time (a lease, so two workers never pull the same
one), pulled by their kind's puller, and given their next time. Each record a puller reads goes
through the channel core (ingest/channels/core.py) like any other channel's: logged raw,
deduplicated by a natural key, mapped, applied. A puller saves its cursor after each page, so a
pull cut short goes on where it stopped."""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ingest.channels.magento_pull import magento_pull
from ingest.channels.rest_pull import rest_pull
from notifications.platform_health import platform_connection_failure
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PlatformConnection, PlatformKind
from platforms.services import platform_connection_synced

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# After failures in a row the next pull waits twice as long each time, up to this (or longer
# when the platform's Retry-After says so, up to a day).
LONGEST_BACKOFF = timedelta(hours=6)
LONGEST_RETRY_AFTER = timedelta(days=1)
PULLED_KINDS = (PlatformKind.MAGENTO, PlatformKind.REST_PULL)

# (connection, deadline as time.monotonic()) → the number of records delivered; raises
# PlatformUnavailable / PlatformRefused. Saves connection.pull_cursor as it goes.
Puller = Callable[[PlatformConnection, float], int]
PULLERS: dict[str, Puller] = {
    PlatformKind.MAGENTO: magento_pull,
    PlatformKind.REST_PULL: rest_pull,
}


def platform_connections_pull(*, deadline: float) -> int:
    """Pulls every due connection until none is due or the deadline passes; the records read."""
    records = 0
    while time.monotonic() < deadline:
        connection = _claim_due()
        if connection is None:
            break
        records += platform_connection_pull(connection, deadline=deadline)
    return records


def platform_connection_pull(connection: PlatformConnection, *, deadline: float) -> int:
    """One pull of one connection (the schedule's, or the admin's "Pull now")."""
    records, retry_after = 0, None
    try:
        records = PULLERS[connection.kind](connection, deadline)
    except PlatformUnavailable as error:
        retry_after = error.retry_after
        platform_connection_failure(connection=connection, error=str(error))
    except PlatformRefused as error:
        platform_connection_failure(connection=connection, error=str(error))
    except Exception as error:  # a puller's bug must not stop the other connections
        logger.exception("Pulling %s failed", connection)
        platform_connection_failure(
            connection=connection, error=f"Our error ({type(error).__name__}); staff were told."
        )
    else:
        platform_connection_synced(connection=connection)
        connection.consecutive_failures = 0
    finally:
        PlatformConnection.objects.filter(pk=connection.pk).update(
            leased_until=None, next_pull_at=timezone.now() + _wait(connection, retry_after)
        )
    return records


def _claim_due() -> PlatformConnection | None:
    now = timezone.now()
    due = (
        PlatformConnection.objects.filter(is_active=True, kind__in=PULLED_KINDS)
        .filter(Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
    )
    for candidate in due.order_by("next_pull_at")[:10]:
        claimed = (
            PlatformConnection.objects.filter(pk=candidate.pk)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .update(leased_until=now + LEASE)
        )
        if claimed:
            candidate.refresh_from_db()
            return candidate
    return None


def _wait(connection: PlatformConnection, retry_after: float | None) -> timedelta:
    """Until the next pull: the connection's interval, doubled for each failure in a row after
    the first (up to LONGEST_BACKOFF), and never sooner than the platform asked."""
    every = timedelta(minutes=max(connection.pull_every_minutes, 1))
    failures = connection.consecutive_failures
    wait = (
        min(every * 2 ** min(failures - 1, 10), max(every, LONGEST_BACKOFF)) if failures else every
    )
    if retry_after:
        wait = max(wait, min(timedelta(seconds=retry_after), LONGEST_RETRY_AFTER))
    return wait
