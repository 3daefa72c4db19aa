"""Applying tracking news to a shipment: the one path for polls, pushes and merchant reports."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from carriers.events import CarrierEvent
from carriers.seed002 import seed002_status
from carriers.vocabulary import Status
from merchants.selectors import tracked_carriers
from notifications.services import shipment_status_changed
from orders.links import shipment_page_url, tracker_page_url
from orders.models import Shipment, ShipmentDirection
from orders.representation import shipment_json
from orders.services import order_refresh_status, shipment_lock
from orders.services.returns import return_shipment_status_changed
from tracking.models import TrackingEvent
from tracking.selectors import shipments_with_details


@dataclass(slots=True)
class Applied:
    shipment: Shipment
    new_events: list[TrackingEvent] = field(default_factory=list)
    previous_status: str = Status.UNKNOWN
    previous_detail: str = ""

    @property
    def status_changed(self) -> bool:
        return self.shipment.status != self.previous_status

    @property
    def seed002_status_changed(self) -> bool:
        """Seed 002 tells PICKED_UP from IN_TRANSIT by our detail alone: its webhooks
        (shipment.in_transit after shipment.picked_up) need the change even when ours is none."""
        before = seed002_status(self.previous_status, self.previous_detail)
        return seed002_status(self.shipment.status, self.shipment.status_detail) != before


def event_dedupe_key(event: CarrierEvent) -> str:
    """What makes a scan the same scan: its time, code, status, place and text."""
    parts = (
        event.occurred_at.isoformat(), event.raw_code, event.status, event.status_detail,
        event.location.city, event.location.state, event.location.postal_code,
        event.location.country, event.description,
    )  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _event_row(shipment: Shipment, event: CarrierEvent, source: str, key: str) -> TrackingEvent:
    return TrackingEvent(
        shipment=shipment,
        occurred_at=event.occurred_at,
        status=event.status,
        status_detail=event.status_detail,
        event_type=event.event_type,
        description=event.description[:500],
        city=event.location.city[:100],
        state=event.location.state[:100],
        postal_code=event.location.postal_code[:20],
        country=event.location.country[:2],
        exception_code=event.exception_code,
        recipient=event.recipient[:200],
        signature_url=event.signature_url[:1000],
        source=source,
        raw_code=event.raw_code[:64],
        raw_description=event.raw_description[:500],
        raw=event.raw,
        dedupe_key=key,
    )


@transaction.atomic
def shipment_apply_events(
    *, shipment_id: int, events: Sequence[CarrierEvent], source: str
) -> Applied:
    """Stores the events not seen before; the newest event by carrier time sets the status.

    A duplicate is a no-op, and an older event arriving late is stored but never moves the
    status backwards (TRACKING.md).
    """
    shipment = shipment_lock(shipment_id)
    applied = Applied(
        shipment, previous_status=shipment.status, previous_detail=shipment.status_detail
    )
    by_key = {event_dedupe_key(event): event for event in events}
    known = set(
        TrackingEvent.objects.filter(shipment=shipment, dedupe_key__in=by_key).values_list(
            "dedupe_key", flat=True
        )
    )
    fresh = [(key, event) for key, event in by_key.items() if key not in known]
    if not fresh:
        return applied
    applied.new_events = TrackingEvent.objects.bulk_create(
        _event_row(shipment, event, source, key) for key, event in fresh
    )
    newest = max((event for _key, event in fresh), key=lambda event: event.occurred_at)
    if shipment.last_event_at is None or newest.occurred_at >= shipment.last_event_at:
        _take_status(shipment, newest, source)
        shipment.save()
        if shipment.direction == ShipmentDirection.RETURN:
            # A package coming back tells its return request, no customer of an order.
            if applied.status_changed:
                return_shipment_status_changed(shipment=shipment)
            return applied
        if applied.status_changed and shipment.order_id:
            order_refresh_status(shipment.order)
        # A change of seed 002's status alone (picked_up → arrived_at_facility) adds seed-style
        # webhooks only: the other messages of this status were written at its first change,
        # and their unique keys keep them once.
        if applied.status_changed or applied.seed002_status_changed:
            shipment_status_changed(
                shipment=shipment,
                previous_status=applied.previous_status,
                context=lambda: notification_context(shipment),
            )
    return applied


def notification_context(shipment: Shipment) -> dict:
    """What a message about this shipment shows, frozen when it happens: the tracking object
    (webhooks' `data`) and the customer's signed link to it."""
    merchant = shipment.merchant
    detailed = shipments_with_details(merchant).get(pk=shipment.pk)
    tracking = shipment_json(detailed, tracked=tracked_carriers(merchant))
    page = shipment_page_url(detailed.order, shipment.tracking_number) if detailed.order_id else ""
    # The trackers following it: each tracker's contact is sent to their tracker's page.
    pages = {tracker.external_id: tracker_page_url(merchant.merchant_id, tracker.external_id)
             for tracker in shipment.trackers.all()}  # fmt: skip
    return {"tracking": tracking, "trackingPage": page, "trackerPages": pages}


def _take_status(shipment: Shipment, event: CarrierEvent, source: str) -> None:
    shipment.status = event.status
    shipment.status_detail = event.status_detail
    shipment.status_description = event.description[:500]
    shipment.last_event_at = event.occurred_at
    shipment.last_update_source = source
    if event.status == Status.DELIVERED:
        shipment.delivered_at = event.occurred_at
