"""Reads of orders and shipments, always scoped by the merchant and prefetched for the caller."""

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import Count, F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from carriers.vocabulary import Status
from merchants.models import BrandingTemplate, Merchant
from merchants.selectors import merchants_visible_to, return_policy_for, user_sees_all_merchants
from orders.models import (
    Order,
    ReturnItem,
    ReturnRequest,
    Shipment,
    ShipmentDirection,
    ShipmentItem,
    Tracker,
)
from orders.return_rules import Delivered, ReturnOption, return_options

# What the customer page shows of an event (pages.tracking_page). A long history is hundreds of
# rows: they are read as plain rows, which cost half as much to build as model instances.
PAGE_EVENT_FIELDS = ("occurred_at", "status", "status_detail", "description", "city", "state",
                     "country", "recipient", "signature_url")  # fmt: skip


def shipment_queryset_with_details(*, events: bool = True) -> QuerySet[Shipment]:
    """Shipments with their items and events, as every answer shows them; without the events
    for a page, which reads them with `with_history`."""
    lookups = [Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item"))]
    if events:
        # The carrier's raw payload is kept for support and shown nowhere, so it is not read.
        lookups.append(Prefetch("events", queryset=_events().defer("raw")))
    return Shipment.objects.prefetch_related(*lookups)


def _events() -> QuerySet:
    # Events are tracking's model, named through the relation: orders does not import tracking.
    return Shipment.events.rel.related_model.objects.all()


def with_history(shipments: Iterable[Shipment], *, newest: int | None = None) -> None:
    """Give each shipment `history`: its events as the customer page shows them (rows of
    PAGE_EVENT_FIELDS), newest first, all in one query (only its `newest` when given), and
    `event_count`, how many it has in all."""
    shipments = list(shipments)
    history: dict[int, list] = defaultdict(list)
    counts: dict[int, int] = {}
    if shipments:
        rows = _events().filter(shipment__in=shipments)
        rows = rows.annotate(in_all=Window(Count("pk"), partition_by=[F("shipment")]))
        if newest is not None:
            rows = rows.annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F("shipment")],
                    order_by=[F("occurred_at").desc(), F("pk").desc()],
                )
            ).filter(position__lte=newest)
        rows = rows.order_by("shipment", "-occurred_at", "-pk").values_list(
            "shipment", "in_all", *PAGE_EVENT_FIELDS, named=True
        )
        for row in rows:
            history[row.shipment].append(row)
            counts[row.shipment] = row.in_all
    for shipment in shipments:
        shipment.history = history[shipment.pk]
        shipment.event_count = counts.get(shipment.pk, 0)


def order_queryset_with_details(merchant: Merchant, *, events: bool = True) -> QuerySet[Order]:
    """Orders with everything a page or an API answer shows, in a fixed number of queries."""
    shipments = shipment_queryset_with_details(events=events).order_by("created_at", "pk")
    return (
        Order.objects.filter(merchant=merchant)
        .select_related("merchant__return_policy")
        .prefetch_related("line_items", Prefetch("shipments", queryset=shipments))
    )


def orders_visible_to(user: AbstractBaseUser) -> QuerySet[Order]:
    """Every order of every merchant for flexEngage staff (no merchant filter, so the
    cross-merchant indexes answer); a member's merchants' otherwise."""
    if user_sees_all_merchants(user):
        return Order.objects.all()
    return Order.objects.filter(merchant__in=merchants_visible_to(user).values("pk"))


def order_get_for_merchant(merchant: Merchant, order_id: str) -> Order | None:
    return order_queryset_with_details(merchant).filter(order_id=order_id).first()


def order_for_page(
    merchant: Merchant, order_id: str, *, newest_events: int | None = None
) -> Order | None:
    """The order as the customer page shows it: its shipments' events as `history` rows (only
    the `newest_events` of each when given, see with_history). A link written with the number
    alone ("1001") opens the order named "#1001" (a Shopify name): a "#" cannot stand unencoded
    in a link."""
    for spelling in order_id_spellings([order_id]):
        if order := _order_for_page(merchant, newest_events, order_id=spelling):
            return order
    return None


def order_for_phone(phone_digits: str, order_id: str = "") -> Order | None:
    """The order a customer texting from this phone asks about (the SMS reply): the one with
    that id when given, else their newest; only ever an order placed with this phone, of an
    active merchant, so a text never tells a stranger's order."""
    if not phone_digits:
        return None
    orders = Order.objects.filter(customer_phone_digits=phone_digits, merchant__is_active=True)
    if order_id:
        orders = orders.filter(order_id__in=order_id_spellings([order_id.lstrip("#")]))
    return orders.select_related("merchant").order_by("-created_at", "-pk").first()


def order_id_spellings(order_ids: list[str]) -> list[str]:
    """The ids a customer link may mean, in order: as written, then each as a Shopify name
    ("1001" → "#1001": a "#" cannot stand unencoded in a link)."""
    return [*order_ids, *(f"#{i}" for i in order_ids if i and not i.startswith("#"))]


def order_for_shipping_email(merchant: Merchant, order_ids: list[str]) -> Order | None:
    """The first of `order_ids` (as written, or as a Shopify name) naming one of the merchant's
    orders, with its line items and its shipments' items (a shipping email's order)."""
    spellings = order_id_spellings(order_ids)
    if not spellings:
        return None
    orders = Order.objects.filter(merchant=merchant, order_id__in=spellings).prefetch_related(
        "line_items", "shipments__items__line_item"
    )
    found = {order.order_id: order for order in orders}
    return next((found[order_id] for order_id in spellings if order_id in found), None)


def order_id_for_tracking_numbers(merchant: Merchant, tracking_numbers: list[str]) -> str | None:
    """The order a shipment of the merchant's with one of these numbers belongs to, if any."""
    shipments = Shipment.objects.filter(
        merchant=merchant, tracking_number__in=tracking_numbers, order__isnull=False
    )
    return shipments.values_list("order__order_id", flat=True).first()


def order_destination_country(merchant: Merchant, order_id: str) -> str:
    countries = Order.objects.filter(merchant=merchant, order_id=order_id).values_list(
        "country_code", flat=True
    )
    return countries.first() or ""


def order_exists(merchant: Merchant, order_id: str) -> bool:
    return Order.objects.filter(merchant=merchant, order_id=order_id).exists()


def order_id_get_by_attribute(merchant: Merchant, attribute: str, value: str) -> str | None:
    """The id of the merchant's order whose `attributes[attribute]` is `value`. Not indexed: for
    rare lookups only."""
    orders = Order.objects.filter(merchant=merchant, **{f"attributes__{attribute}": value})
    return orders.values_list("order_id", flat=True).first()


def order_for_verification(merchant: Merchant, order_ids: list[str]) -> Order | None:
    """Just what the customer page's "confirm it is your order" compares, in one query whether or
    not the order exists (the first of `order_ids` that does, read as order_for_page reads them)."""
    order_ids = order_id_spellings(order_ids)
    orders = Order.objects.filter(merchant=merchant, order_id__in=order_ids)
    found = {o.order_id: o for o in orders.only("order_id", "customer_email", "postal_code")}
    return next((found[order_id] for order_id in order_ids if order_id in found), None)


class PageVersion(NamedTuple):
    order_id: str  # as stored
    locale: str
    version: str


def order_page_version(merchant: Merchant, order_id: str) -> PageVersion | None:
    """The order a page link names (spelt as order_for_page reads it), its locale and the version
    of what its page shows, in one query: a text that changes whenever any of it changes. The
    order's updated_at moves with every change to the order and its line items (the ledger),
    each shipment's with every change to it, a new event included (tracking.services); a
    shipment added or taken away changes the count; and the merchant's branding templates' newest
    updated_at and count move when one is saved, added or deleted."""
    order_ids = order_id_spellings([order_id])
    with connections[Order.objects.db].cursor() as cursor:  # the replica, when routed there
        cursor.execute(_page_version_sql(len(order_ids)), [merchant.pk, *order_ids])
        found = {row[0]: row for row in cursor.fetchall()}
    row = next((found[i] for i in order_ids if i in found), None)
    if row is None:
        return None
    return PageVersion(row[0], row[1], "|".join(str(part) for part in row[2:]))


@functools.cache
def _page_version_sql(spellings: int) -> str:
    # Written out rather than built by the ORM: on a cached page view (pages/page_cache.py)
    # building this query cost as much as the rest of the view.
    ids = ", ".join(["%s"] * spellings)
    orders, shipments = Order._meta.db_table, Shipment._meta.db_table
    templates = BrandingTemplate._meta.db_table
    # the models' table names; every value a parameter
    return f"""SELECT o.order_id, o.locale, o.updated_at, MAX(s.updated_at), COUNT(s.id),
        (SELECT MAX(t.updated_at) FROM {templates} t WHERE t.merchant_id = o.merchant_id),
        (SELECT COUNT(*) FROM {templates} t WHERE t.merchant_id = o.merchant_id)
        FROM {orders} o LEFT JOIN {shipments} s ON s.order_id = o.id
        WHERE o.merchant_id = %s AND o.order_id IN ({ids})
        GROUP BY o.id, o.order_id, o.locale, o.updated_at, o.merchant_id"""  # noqa: S608


def order_latest_for_page(merchant: Merchant) -> Order | None:
    """The merchant's newest order, as the customer page shows it (order_for_page)."""
    return _order_for_page(merchant, None, is_placeholder=False)


def _order_for_page(merchant: Merchant, newest_events: int | None, **lookups) -> Order | None:
    """The order with its shipments' `history` and its return requests (`returns_for_page`)."""
    orders = order_queryset_with_details(merchant, events=False).prefetch_related(
        Prefetch("return_requests", queryset=_returns_for_page(), to_attr="returns_for_page")
    )
    order = orders.filter(**lookups).first()
    if order:
        with_history(order.shipments.all(), newest=newest_events)
    return order


def _returns_for_page() -> QuerySet[ReturnRequest]:
    """An order's return requests, newest first, as its page shows them (their order is the
    one prefetching them)."""
    requests = ReturnRequest.objects.select_related("shipment")
    return requests.prefetch_related(_return_items()).order_by("-created_at", "-pk")


def tracker_queryset_with_details(merchant: Merchant, *, events: bool = True) -> QuerySet[Tracker]:
    """The merchant's trackers with everything an answer shows, in a fixed number of queries."""
    shipments = shipment_queryset_with_details(events=events).select_related("order")
    return (
        Tracker.objects.filter(merchant=merchant)
        .select_related("merchant__return_policy", "order__merchant", "location")
        .prefetch_related(
            Prefetch("shipment", queryset=shipments),
            "merchant__delivery_providers",
            "merchant__templates",
        )
    )


def tracker_get_for_merchant(merchant: Merchant, external_id: str) -> Tracker | None:
    return tracker_queryset_with_details(merchant).filter(external_id=external_id).first()


def tracker_list(merchant: Merchant, *, group_id: str = "") -> QuerySet[Tracker]:
    trackers = tracker_queryset_with_details(merchant).order_by("-created_at", "-pk")
    return trackers.filter(group_id=group_id) if group_id else trackers


def tracker_for_page(merchant: Merchant, external_id: str) -> Tracker | None:
    """The tracker as the customer page shows it: its shipment's events as `history` rows."""
    return next(iter(_trackers_for_page(merchant, external_id=external_id)), None)


def trackers_in_group(merchant: Merchant, group_id: str) -> list[Tracker]:
    """A group's trackers as the customer page shows them (tracker_for_page)."""
    return _trackers_for_page(merchant, group_id=group_id)


def _trackers_for_page(merchant: Merchant, **lookups) -> list[Tracker]:
    trackers = tracker_queryset_with_details(merchant, events=False).filter(**lookups)
    trackers = list(trackers.order_by("pk"))
    with_history(tracker.shipment for tracker in trackers if tracker.shipment_id)
    return trackers


# --- Returns -----------------------------------------------------------------------------------


def return_request_queryset_with_details() -> QuerySet[ReturnRequest]:
    """Return requests with what their answer, the page and the console show, in a fixed number
    of queries; the caller scopes them."""
    return ReturnRequest.objects.select_related(
        "order__merchant__return_policy", "shipment"
    ).prefetch_related(_return_items())


def _return_items() -> Prefetch:
    return Prefetch("items", queryset=ReturnItem.objects.select_related("line_item").order_by("pk"))


def return_request_queryset(merchant: Merchant) -> QuerySet[ReturnRequest]:
    """The merchant's return requests with what their answer shows."""
    return return_request_queryset_with_details().filter(merchant=merchant)


def return_request_list(merchant: Merchant, *, status: str = "") -> QuerySet[ReturnRequest]:
    """Newest first; `status` one of orders.models.ReturnStatus, or "" for all."""
    requests = return_request_queryset(merchant).order_by("-created_at", "-pk")
    return requests.filter(status=status) if status else requests


def return_request_get_for_merchant(merchant: Merchant, return_id: str) -> ReturnRequest | None:
    return return_request_queryset(merchant).filter(public_id=return_id).first()


def deliveries_of_order(order: Order) -> list[Delivered]:
    """The order's units in delivered outbound packages, with when each was delivered."""
    rows = ShipmentItem.objects.filter(
        shipment__order=order,
        shipment__status=Status.DELIVERED,
        shipment__direction=ShipmentDirection.OUTBOUND,
    ).values_list("line_item_id", "quantity", "shipment__delivered_at", "shipment__updated_at")
    return [Delivered(item, quantity, at or updated) for item, quantity, at, updated in rows]


def order_return_options(order: Order, *, now: datetime | None = None) -> list[ReturnOption]:
    """What the customer may return of each line item now (the page's form), in the order's
    line item order; empty when the merchant offers no returns. Free for an order read by
    order_for_page (its shipments and items are prefetched)."""
    policy = return_policy_for(order.merchant)
    if policy is None:
        return []
    line_items = list(order.line_items.all())
    deliveries = [
        Delivered(part.line_item_id, part.quantity, shipment.delivered_at or shipment.updated_at)
        for shipment in order.shipments.all()
        if shipment.status == Status.DELIVERED and shipment.direction == ShipmentDirection.OUTBOUND
        for part in shipment.items.all()
    ]
    options = return_options(policy, line_items, deliveries, now or timezone.now())
    return [options[item.pk] for item in line_items]
