"""Reads of shipments and their events, scoped by merchant and prefetched for the caller."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Q, QuerySet

from carriers.detection import normalize_tracking_number
from carriers.seed002 import SEED002_STATUSES, native_statuses, seed002_status
from carriers.vocabulary import TERMINAL_STATUSES, StatusDetail
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
    shipment_ids: Sequence[str] = (),
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
    if shipment_ids:
        events = events.filter(shipment__public_id__in=_uuids(shipment_ids))
    if tracking_numbers:
        events = events.filter(
            shipment__tracking_number__in=[normalize_tracking_number(n) for n in tracking_numbers]
        )
    if order_ids:
        events = events.filter(shipment__order__order_id__in=order_ids)
    if status:
        events = events.filter(_status_is(status))
    if event_type:
        events = events.filter(event_type=event_type)
    if after:
        events = events.filter(occurred_at__gt=after)
    if before:
        events = events.filter(occurred_at__lt=before)
    return events


def _status_is(status: str) -> Q:
    """Events in our status `status`, or in seed 002's (carriers/seed002.py), detail included."""
    if status not in SEED002_STATUSES:
        return Q(status=status)
    matches = Q()
    for ours in native_statuses(status):
        details = [d for d in StatusDetail.values if seed002_status(ours, d) == status]
        exact = len(details) < len(StatusDetail.values)
        matches |= Q(status=ours, status_detail__in=details) if exact else Q(status=ours)
    return matches


def _uuids(raw: Sequence[str]) -> list[uuid.UUID]:
    """The valid UUIDs among `raw` (another string names no shipment)."""
    valid = []
    for value in raw:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    return valid


def shipment_get_by_public_id(merchant: Merchant, shipment_id: str) -> Shipment | None:
    ids = _uuids([shipment_id])
    return shipments_with_details(merchant).filter(public_id__in=ids).first() if ids else None


def shipments_by_public_ids(merchant: Merchant, shipment_ids: Sequence[str]) -> dict[str, Shipment]:
    shipments = shipments_with_details(merchant).filter(public_id__in=_uuids(shipment_ids))
    return {str(shipment.public_id): shipment for shipment in shipments}


def shipments_in_flight(merchant: Merchant) -> QuerySet[Shipment]:
    """The merchant's shipments not yet in a terminal status, the latest changed first."""
    return (
        shipments_with_details(merchant)
        .exclude(status__in=TERMINAL_STATUSES)
        .order_by("-updated_at", "-pk")
    )


def shipments_of_order(merchant: Merchant, order_id: str) -> QuerySet[Shipment]:
    return (
        shipments_with_details(merchant)
        .filter(order__order_id=order_id)
        .order_by("created_at", "pk")
    )
