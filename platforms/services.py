"""A connection's health, as the console shows it: the last good sync, the last error, and how
many calls failed in a row (staff are alerted when that reaches ALERT_AFTER_FAILURES)."""

from django.db.models import F
from django.utils import timezone

from platforms.models import PlatformConnection

ALERT_AFTER_FAILURES = 3


def platform_connection_synced(*, connection: PlatformConnection) -> None:
    PlatformConnection.objects.filter(pk=connection.pk).update(
        last_sync_at=timezone.now(), consecutive_failures=0
    )


def platform_connection_failed(*, connection: PlatformConnection, error: str) -> bool:
    """Records a failed call; True when this failure is the one that should alert staff (the
    ALERT_AFTER_FAILURES-th in a row: one alert per run of failures)."""
    PlatformConnection.objects.filter(pk=connection.pk).update(
        last_error=error[:500], last_error_at=timezone.now(),
        consecutive_failures=F("consecutive_failures") + 1,
    )  # fmt: skip
    connection.refresh_from_db(fields=["consecutive_failures", "last_error", "last_error_at"])
    return connection.consecutive_failures == ALERT_AFTER_FAILURES
