"""Reads for the console: an order the user may see, and everything that happened to it, in a
fixed number of queries whatever the number of shipments, events or messages."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from inbound.models import InboundMessage
from notifications.models import Channel, Notification
from orders.models import AuditEntry, Order, OrderNote, Shipment
from orders.selectors import orders_visible_to, shipment_queryset_with_details

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
    shipments = shipment_queryset_with_details().filter(order=order).order_by("created_at", "pk")
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
