"""Applying tracking news to a shipment: the one path for polls, pushes and merchant reports."""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from carriers.events import CarrierEvent
from carriers.seed002 import seed002_status
from carriers.vocabulary import Status
from flextracker.db import rows_update
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from notifications.services import shipments_status_changed
from orders.links import shipment_page_url, tracker_page_url
from orders.models import Shipment, ShipmentDirection, Tracker
from orders.representation import shipment_json
from orders.services import orders_refresh_status, shipments_lock
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
    news = TrackingNews([shipment_id])
    if shipment_id not in news.shipments:
        raise Shipment.DoesNotExist(f"Shipment {shipment_id} does not exist.")
    news.apply({shipment_id: events}, source=source)
    news.flush()
    return news.applied[shipment_id]


class TrackingNews:
    """Tracking news for a set of shipments as one unit of work, as the orders ledger is for OMS
    events: the shipments locked (orders first), the news applied in memory (by
    `shipment_apply_events`' rules), then `flush` writes it in a few bulk statements and hands
    the status changes to notifications once per merchant. A fixed number of statements for a
    poll round of any size. Callers may change the shipments' other fields before `flush`."""

    def __init__(self, shipment_ids: Iterable[int]):
        self.shipments = shipments_lock(shipment_ids)
        self.applied = {
            pk: Applied(shipment, previous_status=shipment.status,
                        previous_detail=shipment.status_detail)
            for pk, shipment in self.shipments.items()
        }  # fmt: skip
        self._loaded = {pk: _values(shipment) for pk, shipment in self.shipments.items()}

    def apply(self, events: Mapping[int, Sequence[CarrierEvent]], *, source: str) -> None:
        """Each shipment's events not stored before (one query for them all)."""
        keyed = {
            pk: {event_dedupe_key(event): event for event in shipment_events}
            for pk, shipment_events in events.items()
            if shipment_events and pk in self.shipments
        }
        known = _known_events(keyed)
        for pk, by_key in keyed.items():
            known |= {(pk, row.dedupe_key) for row in self.applied[pk].new_events}  # unwritten
            fresh = [(key, event) for key, event in by_key.items() if (pk, key) not in known]
            if not fresh:
                continue
            shipment = self.shipments[pk]
            self.applied[pk].new_events += [
                _event_row(shipment, event, source, key) for key, event in fresh
            ]
            newest = max((event for _key, event in fresh), key=lambda event: event.occurred_at)
            if shipment.last_event_at is None or newest.occurred_at >= shipment.last_event_at:
                _take_status(shipment, newest, source)

    def flush(self) -> None:
        """The new events, the shipments that changed, their orders' statuses, then the
        hand-over (its messages show the shipments as written)."""
        applied = list(self.applied.values())
        TrackingEvent.objects.bulk_create(
            [row for one in applied for row in one.new_events], batch_size=EVENTS_PER_INSERT
        )
        self._shipments_write()
        changed = [one for one in applied if one.status_changed]
        for one in changed:
            if one.shipment.direction == ShipmentDirection.RETURN:
                # A package coming back tells its return request, no customer of an order.
                return_shipment_status_changed(shipment=one.shipment)
        orders_refresh_status(
            {one.shipment.order_id: one.shipment.order for one in changed if one.shipment.order_id}
            .values()
        )  # fmt: skip
        by_merchant: dict[int, list[Applied]] = {}
        for one in applied:
            # A change of seed 002's status alone (picked_up → arrived_at_facility) adds
            # seed-style webhooks only: the other messages of this status were written at its
            # first change, and their unique keys keep them once.
            if one.shipment.direction == ShipmentDirection.RETURN:
                continue
            if one.status_changed or one.seed002_status_changed:
                by_merchant.setdefault(one.shipment.merchant_id, []).append(one)
        for told in by_merchant.values():
            merchant = told[0].shipment.merchant
            shipments_status_changed(
                merchant=merchant,
                changes=[(one.shipment, one.previous_status) for one in told],
                context=lambda shipments, merchant=merchant: notification_contexts(
                    merchant, shipments
                ),
            )

    def _shipments_write(self) -> None:
        """The changed fields of each shipment, one executemany per set of fields changed (a
        round has a handful: bulk_update's CASE for 500 shipments cost seconds to build)."""
        fields = Shipment._meta.concrete_fields
        now = timezone.now()
        groups: dict[tuple[str, ...], list[Shipment]] = {}
        for pk, shipment in self.shipments.items():
            names = tuple(
                field.attname
                for field, value, old in zip(
                    fields, _values(shipment), self._loaded[pk], strict=True
                )
                if value != old
            )
            # A new event moves updated_at even when it changes nothing else (an older one
            # arriving late): the customer page's version reads no events (order_page_version).
            if names or self.applied[pk].new_events:
                shipment.updated_at = now
                groups.setdefault((*names, "updated_at"), []).append(shipment)
        for names, group in groups.items():
            rows_update(Shipment, group, list(dict.fromkeys(names)))


EVENTS_PER_INSERT = 2000


def _values(shipment: Shipment) -> tuple:
    return tuple(getattr(shipment, field.attname) for field in Shipment._meta.concrete_fields)


def _known_events(keyed: Mapping[int, Mapping[str, CarrierEvent]]) -> set[tuple[int, str]]:
    if not keyed:
        return set()
    return set(
        TrackingEvent.objects.filter(
            shipment_id__in=list(keyed),
            dedupe_key__in={key for keys in keyed.values() for key in keys},
        ).values_list("shipment_id", "dedupe_key")
    )


def notification_context(shipment: Shipment) -> dict:
    """What a message about this shipment shows (see notification_contexts)."""
    return notification_contexts(shipment.merchant, [shipment])[shipment.pk]


def notification_contexts(merchant: Merchant, shipments: Sequence[Shipment]) -> dict[int, dict]:
    """What a message about each of the merchant's shipments shows, by primary key, frozen when
    it happens: the tracking object (webhooks' `data`) and the customer's signed link to it, and
    the pages of the trackers following it (each tracker's contact is sent to their tracker's
    page). A fixed number of queries, however many shipments."""
    detailed = shipments_with_details(merchant).filter(pk__in=[s.pk for s in shipments])
    tracked = tracked_carriers(merchant)
    pages: dict[int, dict[str, str]] = {}
    for tracker in Tracker.objects.filter(shipment__in=[s.pk for s in shipments]).order_by("pk"):
        pages.setdefault(tracker.shipment_id, {})[tracker.external_id] = tracker_page_url(
            merchant.merchant_id, tracker.external_id
        )
    shown = {}
    for shipment in detailed:
        page = ""
        if shipment.order_id:
            shipment.order.merchant = merchant  # the link names it: not read once per order
            page = shipment_page_url(shipment.order, shipment.tracking_number)
        shown[shipment.pk] = {
            "tracking": shipment_json(shipment, tracked=tracked),
            "trackingPage": page,
            "trackerPages": pages.get(shipment.pk, {}),
        }
    return shown


def _take_status(shipment: Shipment, event: CarrierEvent, source: str) -> None:
    shipment.status = event.status
    shipment.status_detail = event.status_detail
    shipment.status_description = event.description[:500]
    shipment.last_event_at = event.occurred_at
    shipment.last_update_source = source
    if event.status == Status.DELIVERED:
        shipment.delivered_at = event.occurred_at
