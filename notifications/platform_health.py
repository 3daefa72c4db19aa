"""A store connection's health as both its sides see it (docs/channels.md "Connection health"):
each pull and each write-back records its outcome on the connection (a success with
platforms.services.platform_connection_synced, a failure here), and the
ALERT_AFTER_FAILURES-th failure in a row raises one staff alert naming the connection and the
error (one per run of failures: the count goes back to 0 on the next success)."""

from django.db import transaction

from notifications.services import staff_alert_queue
from platforms.models import PlatformConnection
from platforms.services import platform_connection_failed

TRIGGER = "platform_failing"


@transaction.atomic
def platform_connection_failure(*, connection: PlatformConnection, error: str) -> bool:
    """Records the failure; True when it raised the staff alert."""
    if not platform_connection_failed(connection=connection, error=error):
        return False
    staff_alert_queue(
        merchant=connection.merchant, trigger=TRIGGER,
        cause=f"platform:{connection.public_id}:failing:{connection.last_error_at.isoformat()}",
        payload={"connection": {
            "pk": connection.pk, "name": connection.name,
            "kind": str(connection.get_kind_display()),
            "failures": connection.consecutive_failures, "error": connection.last_error,
        }},
    )  # fmt: skip
    return True
