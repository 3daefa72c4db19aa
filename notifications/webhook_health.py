"""Is a merchant's webhook endpoint still worth sending to? (API.md "Outbound webhooks")

An endpoint is disabled only when every delivery to it has failed for 72 hours, never after a
count of failures: one outage of a busy endpoint fails hundreds of deliveries in minutes.
`failing_since` is the first failure since the last success. When it is 48 hours old the
merchant's staff are alerted, once; the endpoint is disabled by the first failure that finds it
72 hours old and the alert 24 hours old, so the merchant always has a day's notice (an endpoint
whose failures jump past 72 hours, as a quiet one's may, is alerted first). A 410 disables it at
once: the receiver says it is gone. Re-enabling starts afresh.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import WebhookEndpoint
from notifications.services import staff_alert_queue

logger = logging.getLogger(__name__)

DISABLE_AFTER = timedelta(hours=72)
NOTICE = timedelta(hours=24)
GONE = "410 Gone"


def webhook_endpoint_delivered(*, merchant_id: int, public_id: str) -> None:
    """A delivery succeeded: the endpoint is healthy again (written only when it was not)."""
    WebhookEndpoint.objects.filter(
        Q(failing_since__isnull=False) | Q(consecutive_failures__gt=0),
        merchant_id=merchant_id,
        public_id=public_id,
    ).update(consecutive_failures=0, failing_since=None, disable_warned_at=None)


def webhook_endpoint_failed(
    *, merchant_id: int, public_id: str, now: datetime, gone: bool = False
) -> None:
    """A delivery failed at `now`: counted, then alerted or disabled when it is time (above)."""
    endpoints = WebhookEndpoint.objects.filter(
        merchant_id=merchant_id, public_id=public_id, is_active=True
    )
    endpoints.update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce("failing_since", Value(now, output_field=DateTimeField())),
    )
    endpoint = endpoints.select_related("merchant").first()
    if endpoint is None:
        return
    failing_for = now - endpoint.failing_since
    if gone:
        webhook_endpoint_disable(endpoint=endpoint, reason=GONE)
    elif failing_for < DISABLE_AFTER - NOTICE:
        return
    elif endpoint.disable_warned_at is None:
        _alert_before_disabling(endpoint, now)
    elif failing_for >= DISABLE_AFTER and now - endpoint.disable_warned_at >= NOTICE:
        since = f"{endpoint.failing_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        hours = int(failing_for.total_seconds() // 3600)
        reason = f"Every delivery failed for {hours} hours (since {since})."
        webhook_endpoint_disable(endpoint=endpoint, reason=reason)


@transaction.atomic
def _alert_before_disabling(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Only the worker whose update marked the endpoint alerted writes the alert."""
    marked = WebhookEndpoint.objects.filter(pk=endpoint.pk, disable_warned_at__isnull=True).update(
        disable_warned_at=now
    )
    if not marked:
        return
    disable_at = max(endpoint.failing_since + DISABLE_AFTER, now + NOTICE)
    staff_alert_queue(
        merchant=endpoint.merchant,
        trigger="webhook_failing",
        cause=f"webhook:{endpoint.public_id}:failing:{endpoint.failing_since.isoformat()}",
        payload={"endpoint": {"pk": endpoint.pk, "id": endpoint.public_id, "url": endpoint.url,
                              "failingSince": endpoint.failing_since.isoformat(),
                              "disableAt": disable_at.isoformat()}},
    )  # fmt: skip


@transaction.atomic
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Stops deliveries to the endpoint and alerts the merchant's staff. Only the worker whose
    update disabled it alerts: a second one finds it disabled and does nothing (False)."""
    now = timezone.now()
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:500]
    )
    if not disabled:
        return False
    logger.warning("webhook endpoint %s disabled: %s", endpoint.public_id, reason)
    # Disabled again after a re-enable is news again: the moment is part of the cause.
    staff_alert_queue(
        merchant=endpoint.merchant,
        trigger="webhook_disabled",
        cause=f"webhook:{endpoint.public_id}:disabled:{now.isoformat()}",
        payload={"endpoint": {"pk": endpoint.pk, "id": endpoint.public_id, "url": endpoint.url,
                              "reason": reason}},
    )  # fmt: skip
    return True


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """The merchant switches a disabled endpoint back on (console or API): deliveries resume
    with a clean record, so a new outage again has 72 hours before it disables it. Enabling an
    active endpoint changes nothing."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=False).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0,
        failing_since=None, disable_warned_at=None,
    )  # fmt: skip
    endpoint.refresh_from_db()
    return endpoint
