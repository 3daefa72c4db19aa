"""Reads of orders and shipments, always scoped by the merchant and prefetched for the caller."""

from django.db.models import Prefetch, QuerySet

from merchants.models import Merchant
from orders.models import Order, Shipment, ShipmentItem


def order_queryset_with_details(merchant: Merchant) -> QuerySet[Order]:
    """Orders with everything a page or an API answer shows, in a fixed number of queries."""
    shipments = Shipment.objects.order_by("created_at", "pk").prefetch_related(
        Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item")),
        "events",
    )
    return Order.objects.filter(merchant=merchant).prefetch_related(
        "line_items", Prefetch("shipments", queryset=shipments)
    )


def order_get_for_merchant(merchant: Merchant, order_id: str) -> Order | None:
    return order_queryset_with_details(merchant).filter(order_id=order_id).first()


def order_latest_for_merchant(merchant: Merchant) -> Order | None:
    return order_queryset_with_details(merchant).filter(is_placeholder=False).first()
