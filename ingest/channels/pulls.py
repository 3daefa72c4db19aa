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
from notifications.services import staff_alert_queue
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PlatformConnection, PlatformKind
from platforms.services import platform_connection_failed, platform_connection_synced

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
PULLED_KINDS = (PlatformKind.MAGENTO, PlatformKind.REST_PULL)

# (connection, deadline as time.monotonic()) → the number of records delivered; raises
# PlatformUnavailable / PlatformRefused. Saves connection.pull_cursor as it goes.
Puller = Callable[[PlatformConnection, float], int]
PULLERS: dict[str, Puller] = {
    PlatformKind.MAGENTO: magento_pull,
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
    records = 0
    try:
        records = PULLERS[connection.kind](connection, deadline)
    except (PlatformUnavailable, PlatformRefused) as error:
        _failed(connection, str(error))
    except Exception as error:  # a puller's bug must not stop the other connections
        logger.exception("Pulling %s failed", connection)
        _failed(connection, f"Our error ({type(error).__name__}); staff were told.")
    else:
        platform_connection_synced(connection=connection)
    finally:
        PlatformConnection.objects.filter(pk=connection.pk).update(
            leased_until=None,
            next_pull_at=timezone.now() + timedelta(minutes=max(connection.pull_every_minutes, 1)),
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


def _failed(connection: PlatformConnection, error: str) -> None:
    if platform_connection_failed(connection=connection, error=error):
        staff_alert_queue(
            merchant=connection.merchant, trigger="platform_failing",
            cause=f"platform:{connection.pk}:failing:{connection.last_error_at:%Y%m%d%H%M}",
            payload={"connection": connection.name, "error": error[:500]},
        )  # fmt: skip
