"""TRACKING.md's `delayed`: not delivered by the end of the estimated delivery date plus a grace
period, or no carrier scan for 72 h while in transit. Raised once per shipment."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from carriers.vocabulary import TERMINAL_STATUSES, Status
from notifications.services import shipment_delayed
from orders.models import Shipment
from orders.services import shipment_lock
from tracking.services import notification_context


def shipment_is_late(shipment: Shipment, now: datetime) -> bool:
    """The destination's time zone is not known to us; the merchant's stands in for it (most
    merchants ship within their own region)."""
    if shipment.status in TERMINAL_STATUSES:
        return False
    if shipment.estimated_delivery_date:
        zone = ZoneInfo(shipment.merchant.time_zone)
        day_after = shipment.estimated_delivery_date + timedelta(days=1)
        deadline = datetime.combine(day_after, time.min, tzinfo=zone) + _grace()
        if now > deadline:
            return True
    silent_for = now - (shipment.last_event_at or now)
    return shipment.status == Status.IN_TRANSIT and silent_for > _no_scan_limit()


def shipments_flag_delayed(*, now: datetime) -> int:
    """Flags the shipments that just became late and hands each over once."""
    possibly_late = (
        Shipment.objects.filter(is_delayed=False)
        .exclude(status__in=TERMINAL_STATUSES)
        .filter(
            Q(estimated_delivery_date__lt=(now + timedelta(days=1)).date())
            | Q(status=Status.IN_TRANSIT, last_event_at__lt=now - _no_scan_limit())
        )
        .select_related("merchant")
    )
    flagged = 0
    for shipment in possibly_late.iterator(chunk_size=500):
        if shipment_is_late(shipment, now) and _flag(shipment.pk):
            flagged += 1
    return flagged


@transaction.atomic
def _flag(shipment_id: int) -> bool:
    shipment = shipment_lock(shipment_id)
    if shipment.is_delayed:
        return False  # another worker got here first
    shipment.is_delayed = True
    shipment.save(update_fields=["is_delayed", "updated_at"])
    shipment_delayed(shipment=shipment, context=lambda: notification_context(shipment))
    return True


def _grace() -> timedelta:
    return timedelta(hours=settings.DELAY_GRACE_HOURS)


def _no_scan_limit() -> timedelta:
    return timedelta(hours=settings.DELAY_NO_SCAN_HOURS)
