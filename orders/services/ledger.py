"""The unit of work behind every write to orders, line items and shipments.

A Ledger loads and locks, in a fixed number of queries, every order, line item and shipment a
set of changes touches (one change or a batch of 500); the rules in orders.py change those rows
in memory, in order; `flush` writes them back in a few bulk statements and hands the order
events to notifications in one call. Rules check before they change anything, so a change that
is refused leaves nothing behind and the next one sees the ledger as it was.
"""

from collections.abc import Iterable, Sequence
from functools import cached_property

from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone

from inbound.models import ProcessedEvent
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from notifications.services import OrderEvent, order_events, shipment_statuses_told
from orders.links import shipment_page_url
from orders.models import LineItem, Order, Shipment, ShipmentItem
from orders.representation import shipment_json

ANOTHER_ORDER = object()  # owner of a shipment that belongs to an order outside the ledger


def _values(instance: models.Model) -> tuple:
    return tuple(getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields)


def _foreign_keys_sync(row: models.Model) -> None:
    """A parent assigned before it was inserted: its primary key, now that it has one."""
    for field in type(row)._meta.concrete_fields:
        if field.is_relation and field.is_cached(row):
            parent = getattr(row, field.name)
            if parent is not None and getattr(row, field.attname) != parent.pk:
                setattr(row, field.attname, parent.pk)


class Ledger:
    """In-memory orders of one merchant, locked for this transaction (see the module)."""

    def __init__(
        self,
        merchant: Merchant,
        *,
        order_ids: Iterable[str],
        shipment_keys: Iterable[tuple[str, str]] = (),
        event_ids: Iterable[str] = (),
    ):
        self.merchant = merchant
        self.orders: dict[str, Order] = {}
        self._line_items: dict[str, dict[str, LineItem]] = {}
        self._shipments: dict[tuple[str, str], Shipment] = {}  # (carrier, tracking number)
        self._owner: dict[tuple[str, str], object] = {}  # key → order_id, None or ANOTHER_ORDER
        self._order_shipments: dict[str, list[Shipment]] = {}
        self._shipment_items: dict[tuple[str, str], dict[str, ShipmentItem]] = {}
        self._events: dict[tuple[str, str], list] = {}
        self._loaded: dict[int, tuple] = {}  # id(row) → its values as read
        self._saved: dict[int, models.Model] = {}  # rows to insert or update, in order
        self._deleted: list[models.Model] = []
        self._notices: list[tuple] = []
        self._statuses_to_tell: list[Shipment] = []
        self.processed_event_ids: set[str] = set()
        self._load(sorted(set(order_ids)), set(shipment_keys), sorted(set(event_ids)))

    # --- Loading ---------------------------------------------------------------------------

    def _load(self, order_ids, shipment_keys, event_ids) -> None:
        merchant = self.merchant
        if event_ids:
            self.processed_event_ids = set(
                ProcessedEvent.objects.filter(merchant=merchant, event_id__in=event_ids)
                .values_list("event_id", flat=True)
            )  # fmt: skip
        # Locks in primary-key order, so two batches sharing orders cannot deadlock.
        orders = Order.objects.select_for_update().filter(merchant=merchant, order_id__in=order_ids)
        for order in orders.order_by("pk"):
            order.merchant = merchant
            self._track(order)
            self.order_add(order)
        by_pk = {order.pk: order for order in self.orders.values()}
        line_items = {}
        if by_pk:
            locked = LineItem.objects.select_for_update().filter(order__in=list(by_pk))
            for item in locked.order_by("pk"):
                item.order = by_pk[item.order_id]
                self._track(item)
                line_items[item.pk] = item
                self._line_items[item.order.order_id][item.item_id] = item
        numbers = sorted({number for _carrier, number in shipment_keys})
        if not by_pk and not numbers:
            return
        shipments = (
            Shipment.objects.select_for_update()
            .filter(Q(order__in=list(by_pk)) | Q(tracking_number__in=numbers), merchant=merchant)
            .prefetch_related(Prefetch("items", queryset=ShipmentItem.objects.order_by("pk")))
            .prefetch_related("events")
            .order_by("created_at", "pk")
        )
        for shipment in shipments:
            self._shipment_loaded(shipment, by_pk, line_items)

    def _shipment_loaded(self, shipment: Shipment, by_pk: dict, line_items: dict) -> None:
        key = (shipment.carrier, shipment.tracking_number)
        shipment.merchant = self.merchant
        self._track(shipment)
        self._shipments[key] = shipment
        self._events[key] = list(shipment.events.all())
        order = by_pk.get(shipment.order_id)
        if shipment.order_id is None:
            self._owner[key] = None
        elif order is None:
            self._owner[key] = ANOTHER_ORDER
        else:
            self.shipment_attach(shipment, order)
        items = {}
        for shipment_item in shipment.items.all():
            line_item = line_items.get(shipment_item.line_item_id)
            if line_item is not None:
                shipment_item.line_item = line_item
                shipment_item.shipment = shipment
                self._track(shipment_item)
                items[line_item.item_id] = shipment_item
        self._shipment_items[key] = items

    def _track(self, row: models.Model) -> None:
        self._loaded[id(row)] = _values(row)

    # --- What the rules read and change ----------------------------------------------------

    def order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def order_add(self, order: Order) -> Order:
        self.orders[order.order_id] = order
        self._line_items[order.order_id] = {}
        self._order_shipments[order.order_id] = []
        return order

    def line_items(self, order: Order) -> dict[str, LineItem]:
        """The order's line items by item id (the rules add to and remove from it)."""
        return self._line_items[order.order_id]

    def shipment(self, carrier: str, tracking_number: str) -> Shipment | None:
        return self._shipments.get((carrier, tracking_number))

    def shipment_owner(self, shipment: Shipment) -> object:
        """The order id the shipment belongs to, None (a tracker's), or ANOTHER_ORDER."""
        return self._owner[(shipment.carrier, shipment.tracking_number)]

    def shipment_add(self, shipment: Shipment) -> Shipment:
        key = (shipment.carrier, shipment.tracking_number)
        self._shipments[key] = shipment
        self._shipment_items[key] = {}
        self._events[key] = []
        self._owner[key] = None
        return shipment

    def shipment_attach(self, shipment: Shipment, order: Order) -> None:
        key = (shipment.carrier, shipment.tracking_number)
        shipment.order = order
        self._owner[key] = order.order_id
        self._order_shipments[order.order_id].append(shipment)

    def shipment_items_of(self, shipment: Shipment) -> dict[str, ShipmentItem]:
        """The shipment's items by item id (the rules add to and remove from it)."""
        return self._shipment_items[(shipment.carrier, shipment.tracking_number)]

    def save(self, row: models.Model) -> None:
        """Like row.save(): written at `flush` (updated_at moves even when nothing else did)."""
        self._saved.setdefault(id(row), row)

    def delete(self, row: models.Model) -> None:
        self._saved.pop(id(row), None)
        if row.pk is not None:
            self._deleted.append(row)

    def notify(self, *, order: Order, event: str, data: dict, occurrence_of=None, shipment=None):
        """notifications.order_events, at flush (the rows name the primary keys written then)."""
        self._notices.append((order, event, data, occurrence_of, shipment))

    def notify_status(self, *, shipment: Shipment) -> None:
        """notifications.shipment_statuses_told, at flush: the customer is told the shipment's
        status as it is then."""
        self._statuses_to_tell.append(shipment)

    def processed_event_add(self, event_id: str) -> None:
        self.processed_event_ids.add(event_id)
        self.save(ProcessedEvent(merchant=self.merchant, event_id=event_id, response_status=200))

    @cached_property
    def tracked(self) -> set[str]:
        return tracked_carriers(self.merchant)

    # --- What answers show (orders.representation's Details) ----------------------------------

    def line_items_of(self, order: Order) -> list[LineItem]:
        items = self._line_items[order.order_id].values()
        return sorted(items, key=lambda i: (i.position, i.pk is None, i.pk or 0))

    def shipments_of(self, order: Order) -> list[Shipment]:
        return self._order_shipments[order.order_id]

    def items_of(self, shipment: Shipment) -> list[ShipmentItem]:
        return list(self.shipment_items_of(shipment).values())

    def events_of(self, shipment: Shipment) -> list:
        return self._events[(shipment.carrier, shipment.tracking_number)]

    # --- Writing back ----------------------------------------------------------------------

    def flush(self) -> None:
        """Deletions first (an item dropped and added again in one batch is a new row), then
        inserts and updates by model, parents first; then the notices. Once, at the end of the
        unit of work: the rows are not tracked again after they are written."""
        for model in (ShipmentItem, LineItem):
            gone = [row.pk for row in self._deleted if isinstance(row, model)]
            if gone:
                model.objects.filter(pk__in=gone).delete()
        self._deleted.clear()
        now = timezone.now()
        by_model: dict[type, list[models.Model]] = {}
        for row in self._saved.values():
            by_model.setdefault(type(row), []).append(row)
        self._saved.clear()
        written = {m: by_model.pop(m, []) for m in (Order, LineItem, Shipment, ShipmentItem)}
        for model, rows in written.items():
            self._write(model, rows, now)
        self._orders_touch(written, now)
        for model, rows in by_model.items():  # history rows and processed events: inserts only
            model.objects.bulk_create(rows)
        self._notify()

    def _orders_touch(self, written: dict[type, list[models.Model]], now) -> None:
        """An order's updated_at moves with every change to what it shows (its page's data
        version, orders.selectors.order_page_version): its line items' changes and their
        cancellations and backorders included, which do not always save the order itself."""
        saved_orders = {row.pk for row in written.get(Order, [])}
        touched = {row.order_id for row in written.get(LineItem, [])} - saved_orders
        if touched:
            Order.objects.filter(pk__in=touched).update(updated_at=now)

    def _write(self, model: type[models.Model], rows: Sequence[models.Model], now) -> None:
        new = [row for row in rows if row.pk is None]
        if new:
            model.objects.bulk_create(new)
        fields = model._meta.concrete_fields
        stamped = any(f.name == "updated_at" for f in fields)
        changed: dict[tuple[str, ...], list[models.Model]] = {}
        inserted = {id(row) for row in new}
        for row in rows:
            if id(row) in inserted:
                continue
            _foreign_keys_sync(row)
            before = self._loaded.get(id(row))
            names = tuple(
                f.name
                for f, value, old in zip(fields, _values(row), before, strict=True)
                if value != old and not f.primary_key
            )
            if stamped:
                row.updated_at = now
                names += ("updated_at",)
            if names:
                changed.setdefault(names, []).append(row)
        for names, group in changed.items():
            names = tuple(dict.fromkeys(names))
            if len(group) == 1:  # a single event's order: bulk_update's CASE costs 3× to build
                row = group[0]
                model.objects.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
            else:
                model.objects.bulk_update(group, names)

    def _notify(self) -> None:
        events = [
            OrderEvent(order, event, data, str(occurrence.pk) if occurrence else "", shipment)
            for order, event, data, occurrence, shipment in self._notices
        ]
        self._notices.clear()
        order_events(merchant=self.merchant, events=events)
        if self._statuses_to_tell:
            shipments = [(shipment, self._shown(shipment)) for shipment in self._statuses_to_tell]
            self._statuses_to_tell.clear()
            shipment_statuses_told(merchant=self.merchant, shipments=shipments)

    def _shown(self, shipment: Shipment) -> dict:
        """What a message about the shipment shows, as tracking.services.notification_context."""
        return {
            "tracking": shipment_json(shipment, tracked=self.tracked, details=self),
            "trackingPage": shipment_page_url(shipment.order, shipment.tracking_number),
        }
