"""Reads of orders and shipments, always scoped by the merchant and prefetched for the caller."""

import re
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet

from merchants.models import Merchant
from merchants.selectors import merchants_visible_to, user_sees_all_merchants
from orders.models import Order, Shipment, ShipmentItem, Tracker
from tracking.carriers.detection import normalize_tracking_number

# What the customer page shows of an event (orders.tracking_page): a long history is hundreds of
# rows, and reading only these fields makes each row cheaper to build.
PAGE_EVENT_FIELDS = ("shipment", "occurred_at", "status", "status_detail", "description", "city",
                     "state", "country")  # fmt: skip


def shipment_queryset_with_details(*, event_fields: tuple[str, ...] = ()) -> QuerySet[Shipment]:
    """Shipments with their items and events, as every page and answer shows them; only
    `event_fields` of the events when given."""
    # Events are tracking's model (named through the relation: orders does not import tracking);
    # the carrier's raw payload is kept for support and shown nowhere, so it is not read.
    events = Shipment.events.rel.related_model.objects.defer("raw")
    if event_fields:
        events = events.only(*event_fields)
    return Shipment.objects.prefetch_related(
        Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item")),
        Prefetch("events", queryset=events),
    )


def order_queryset_with_details(
    merchant: Merchant, *, event_fields: tuple[str, ...] = ()
) -> QuerySet[Order]:
    """Orders with everything a page or an API answer shows, in a fixed number of queries."""
    shipments = shipment_queryset_with_details(event_fields=event_fields)
    shipments = shipments.order_by("created_at", "pk")
    return (
        Order.objects.filter(merchant=merchant)
        .select_related("merchant")
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


def order_for_page(merchant: Merchant, order_id: str) -> Order | None:
    """The order as the customer page shows it (order_get_for_merchant, lighter events)."""
    orders = order_queryset_with_details(merchant, event_fields=PAGE_EVENT_FIELDS)
    return orders.filter(order_id=order_id).first()


def order_latest_for_merchant(merchant: Merchant) -> Order | None:
    return order_queryset_with_details(merchant).filter(is_placeholder=False).first()


def order_search(
    merchant: Merchant,
    *,
    search: str = "",
    status: str = "",
    updated_after: datetime | None = None,
) -> QuerySet[Order]:
    """API.md's list filters. `search` matches an order id, tracking number, email or phone
    exactly (normalized), or a part of the customer's name."""
    orders = order_queryset_with_details(merchant).order_by("-updated_at", "-pk")
    if status:
        orders = orders.filter(status=status)
    if updated_after:
        orders = orders.filter(updated_at__gt=updated_after)
    if search := search.strip():
        matches = (
            Q(order_id=search)
            | Q(shipments__tracking_number=normalize_tracking_number(search))
            | Q(customer_email=search.lower())
            | Q(customer_name__icontains=search)
        )
        digits = re.sub(r"\D", "", search)
        if len(digits) >= 7:
            matches |= Q(customer_phone_digits__endswith=digits[-10:])
        ids = Order.objects.filter(merchant=merchant).filter(matches).values("pk")
        orders = orders.filter(pk__in=ids)
    return orders


def tracker_queryset_with_details(merchant: Merchant) -> QuerySet[Tracker]:
    """The merchant's trackers with everything an answer shows, in a fixed number of queries."""
    shipments = shipment_queryset_with_details().select_related("order")
    return (
        Tracker.objects.filter(merchant=merchant)
        .select_related("merchant", "order")
        .prefetch_related(Prefetch("shipment", queryset=shipments))
    )


def tracker_get_for_merchant(merchant: Merchant, external_id: str) -> Tracker | None:
    return tracker_queryset_with_details(merchant).filter(external_id=external_id).first()


def tracker_list(merchant: Merchant, *, group_id: str = "") -> QuerySet[Tracker]:
    trackers = tracker_queryset_with_details(merchant).order_by("-created_at", "-pk")
    return trackers.filter(group_id=group_id) if group_id else trackers


def trackers_in_group(merchant: Merchant, group_id: str) -> list[Tracker]:
    return list(tracker_queryset_with_details(merchant).filter(group_id=group_id).order_by("pk"))
