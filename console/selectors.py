"""Reads for the console: an order the user may see, and everything that happened to it, in a
fixed number of queries whatever the number of shipments, events or messages."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from inbound.models import InboundMessage
from merchants.selectors import merchants_visible_to, user_sees_all_merchants
from notifications.models import Channel, Notification
from orders.models import AuditEntry, Order, OrderNote, ReturnRequest, Shipment
from orders.selectors import (
    orders_visible_to,
    return_request_queryset_with_details,
    shipment_queryset_with_details,
)
from platforms.models import PlatformConnection

MAX_ROWS = 200  # per list on the story screen; older rows stay in the admin


@dataclass(frozen=True, slots=True)
class WriteBack:
    """An outbox row writing to the merchant's store, with the connection's health beside it, so
    an agent sees a store that is down (and that the write waits, not lost)."""

    row: Notification
    connection: PlatformConnection | None  # None: the connection was removed since


@dataclass(frozen=True, slots=True)
class OrderStory:
    order: Order
    shipments: list[Shipment]
    notifications: list[Notification]  # to the customer and to staff
    webhook_deliveries: list[Notification]
    write_backs: list[WriteBack]
    inbound_messages: list[InboundMessage]
    notes: list[OrderNote]
    audit_entries: list[AuditEntry]
    return_requests: list[ReturnRequest]


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
        notifications=[n for n in sent if n.channel not in (Channel.WEBHOOK, Channel.PLATFORM)],
        webhook_deliveries=[n for n in sent if n.channel == Channel.WEBHOOK],
        write_backs=_write_backs(order, [n for n in sent if n.channel == Channel.PLATFORM]),
        inbound_messages=list(inbound.order_by("-received_at", "-pk")[:MAX_ROWS]),
        notes=list(order.notes.all()[:MAX_ROWS]),
        audit_entries=list(order.audit_entries.all()[:MAX_ROWS]),
        return_requests=list(
            return_request_queryset_with_details().filter(order=order).order_by("-created_at")
        ),
    )


def _write_backs(order: Order, rows: list[Notification]) -> list[WriteBack]:
    """The rows with their connections, read in one query (the order's merchant's only)."""
    if not rows:
        return []
    connections = {
        str(connection.public_id): connection
        for connection in PlatformConnection.objects.filter(
            merchant_id=order.merchant_id, public_id__in={row.recipient for row in rows}
        )
    }
    return [WriteBack(row, connections.get(row.recipient)) for row in rows]


def return_requests_visible_to(user: AbstractBaseUser) -> QuerySet[ReturnRequest]:
    """The return requests of the user's merchants (every merchant's for flexEngage staff), with
    what the console shows of them, in a fixed number of queries."""
    requests = return_request_queryset_with_details()
    if user_sees_all_merchants(user):
        return requests
    return requests.filter(merchant__in=merchants_visible_to(user).values("pk"))


def return_request_list_for_user(user: AbstractBaseUser, *, status: str = "") -> list:
    """Newest first, MAX_ROWS at most; `status` one of orders.models.ReturnStatus, or all."""
    requests = return_requests_visible_to(user).order_by("-created_at", "-pk")
    if status:
        requests = requests.filter(status=status)
    return list(requests[:MAX_ROWS])


def return_request_for_user(user: AbstractBaseUser, return_id: str) -> ReturnRequest | None:
    return return_requests_visible_to(user).filter(public_id=return_id).first()
