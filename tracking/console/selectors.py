"""Reads for the console: an order the user may see, and everything that happened to it, in a
fixed number of queries whatever the number of shipments, events or messages."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch

from notifications.models import Channel, Notification
from orders.models import AuditEntry, InboundMessage, Order, OrderNote, Shipment, ShipmentItem
from orders.search import orders_visible_to

MAX_ROWS = 200  # per list on the story screen; older rows stay in the admin


@dataclass(frozen=True, slots=True)
class OrderStory:
    order: Order
    shipments: list[Shipment]
    notifications: list[Notification]  # to the customer and to staff
    webhook_deliveries: list[Notification]
    inbound_messages: list[InboundMessage]
    notes: list[OrderNote]
    audit_entries: list[AuditEntry]


def order_for_user(user: AbstractBaseUser, order_pk: int) -> Order | None:
    return orders_visible_to(user).select_related("merchant").filter(pk=order_pk).first()


def order_story(order: Order) -> OrderStory:
    shipments = (
        Shipment.objects.filter(order=order)
        .order_by("created_at", "pk")
        .prefetch_related(
            Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item")), "events"
        )
    )
    sent = list(
        Notification.objects.filter(order=order)
        .select_related("shipment")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")[:MAX_ROWS]
    )
    inbound = InboundMessage.objects.filter(merchant_id=order.merchant_id, order_ref=order.order_id)
    return OrderStory(
        order=order,
        shipments=list(shipments),
        notifications=[n for n in sent if n.channel != Channel.WEBHOOK],
        webhook_deliveries=[n for n in sent if n.channel == Channel.WEBHOOK],
        inbound_messages=list(inbound.order_by("-received_at", "-pk")[:MAX_ROWS]),
        notes=list(order.notes.all()[:MAX_ROWS]),
        audit_entries=list(order.audit_entries.all()[:MAX_ROWS]),
    )
