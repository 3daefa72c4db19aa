"""Reads of shipments and their events, scoped by merchant and prefetched for the caller."""

from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from carriers.detection import normalize_tracking_number
from merchants.models import Merchant
from orders.models import Shipment
from orders.selectors import shipment_queryset_with_details
from tracking.models import TrackingEvent


def shipments_with_details(merchant: Merchant) -> QuerySet[Shipment]:
    return shipment_queryset_with_details().filter(merchant=merchant).select_related("order")


def shipment_get_by_number(
    merchant: Merchant, tracking_number: str, carrier: str = ""
) -> Shipment | None:
    """The merchant's shipment with this number (the newest, if several carriers share it)."""
    shipments = shipments_with_details(merchant).filter(
        tracking_number=normalize_tracking_number(tracking_number)
    )
    if carrier:
        shipments = shipments.filter(carrier=carrier)
    return shipments.order_by("-created_at", "-pk").first()


def shipments_by_numbers(
    merchant: Merchant, tracking_numbers: Sequence[str]
) -> dict[str, Shipment]:
    normalized = {normalize_tracking_number(number) for number in tracking_numbers}
    found: dict[str, Shipment] = {}
    for shipment in (
        shipments_with_details(merchant)
        .filter(tracking_number__in=normalized)
        .order_by("created_at", "pk")
    ):
        found[shipment.tracking_number] = shipment  # the newest wins
    return found


def tracking_events_list(
    merchant: Merchant,
    *,
    tracking_numbers: Sequence[str] = (),
    order_ids: Sequence[str] = (),
    status: str = "",
    event_type: str = "",
    after: datetime | None = None,
    before: datetime | None = None,
) -> QuerySet[TrackingEvent]:
    events = (
        TrackingEvent.objects.filter(shipment__merchant=merchant)
        .select_related("shipment__order")
        .order_by("-occurred_at", "-pk")
    )
    if tracking_numbers:
        events = events.filter(
            shipment__tracking_number__in=[normalize_tracking_number(n) for n in tracking_numbers]
        )
    if order_ids:
        events = events.filter(shipment__order__order_id__in=order_ids)
    if status:
        events = events.filter(status=status)
    if event_type:
        events = events.filter(event_type=event_type)
    if after:
        events = events.filter(occurred_at__gt=after)
    if before:
        events = events.filter(occurred_at__lt=before)
    return events
