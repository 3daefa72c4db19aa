"""Every write to notifications: webhook subscriptions (API.md /webhooks) and the outbox.

Errors use API.md's EVENT codes (a subscription is about events; the table has no WEBHOOK code):
400 MISSING_EVENT_DATA for an absent or empty `url` or `events`, 422 INVALID_EVENT_DATA for a
value that is present but wrong. `fields` names the API's fields (`url`, `events`).
"""

import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from carriers.seed002 import seed002_status
from carriers.vocabulary import STAFF_ALERT_STATUSES, TERMINAL_STATUSES, Status
from flextracker.errors import InvalidData, MissingData
from flextracker.urlguard import check_url
from merchants.models import Merchant, NotificationTrigger
from notifications.models import (
    WEBHOOK_EVENT_TYPES,
    Channel,
    Notification,
    NotificationStatus,
    SeedWebhookEventType,
    WebhookEndpoint,
    WebhookEventType,
    WebhookStyle,
)
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# OWASP API4: a caller cannot make us fan every event out to unbounded URLs.
MAX_WEBHOOK_ENDPOINTS = 20
MIN_MERCHANT_SECRET = 24  # API.md: a merchant's own secret has at least 24 characters
# Printable ASCII, no spaces: the same bytes whatever encoding the merchant's receiver assumes.
MERCHANT_SECRET_SHAPE = re.compile(r"[!-~]+")


def webhook_endpoint_create(
    *, merchant: Merchant, url: str, event_types: list[str], secret: str | None = None,
    style: str = WebhookStyle.NATIVE,
) -> tuple[WebhookEndpoint, str]:  # fmt: skip
    """Subscribes `url` to `event_types` of its `style`'s vocabulary; returns the endpoint and
    its signing secret, which the merchant sees this once (it is kept in clear only because
    signing needs it): the merchant's own `secret` when given (API.md: at least 24 characters),
    else a generated one.

    The URL's host is resolved and checked (SSRF) before anything is written: the DNS lookup is
    network I/O and must not run while this transaction holds locks. One subscription per URL
    and merchant (a database constraint), so a retried POST cannot double every delivery.
    """
    url = (url or "").strip()
    event_types = _required_and_known(url, event_types, WEBHOOK_EVENT_TYPES[style])
    secret = _merchant_secret(secret) or WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    problems = check_url(url)
    if problems:
        raise InvalidData(
            "This URL cannot receive webhooks.", code="INVALID_EVENT_DATA", fields={"url": problems}
        )
    # Counted without a lock: concurrent creates can pass the cap slightly; it still bounds fan-out.
    if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_WEBHOOK_ENDPOINTS:
        raise InvalidData(
            f"A merchant can have at most {MAX_WEBHOOK_ENDPOINTS} webhook subscriptions; "
            "delete one first.",
            code="INVALID_EVENT_DATA",
        )
    try:
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(
                merchant=merchant, url=url, event_types=event_types, secret=secret, style=style
            )
    except IntegrityError:
        existing = WebhookEndpoint.objects.filter(merchant=merchant, url=url).first()
        if existing is None:
            raise
        raise InvalidData(
            "This URL is already subscribed; delete that subscription to change its events.",
            code="INVALID_EVENT_DATA",
            fields={"url": [f"Already subscribed as {existing.public_id}."]},
            details={"id": existing.public_id},
        ) from None
    return endpoint, secret


def _required_and_known(url: str, event_types: list[str], known: list[str]) -> list[str]:
    """At least one known event type, duplicates removed, in the merchant's order."""
    missing = {
        name: ["This field is required."]
        for name, value in (("url", url), ("events", event_types))
        if not value
    }
    if missing:
        raise MissingData("Required fields are missing.", code="MISSING_EVENT_DATA", fields=missing)
    unknown = {
        f"events[{index}]": [f'"{name}" is not an event type; use one of: {", ".join(known)}.']
        for index, name in enumerate(event_types)
        if name not in known
    }
    if unknown:
        raise InvalidData(
            "Some event types are unknown.", code="INVALID_EVENT_DATA", fields=unknown
        )
    return list(dict.fromkeys(event_types))


def _merchant_secret(secret: str | None) -> str | None:
    if secret is None:
        return None
    max_length = WebhookEndpoint._meta.get_field("secret").max_length
    if MIN_MERCHANT_SECRET <= len(secret) <= max_length and MERCHANT_SECRET_SHAPE.fullmatch(secret):
        return secret
    problem = (
        f"Use {MIN_MERCHANT_SECRET} to {max_length} printable ASCII characters without spaces, "
        "or leave it out and we generate one."
    )
    raise InvalidData(
        "This signing secret cannot be used.",
        code="INVALID_EVENT_DATA",
        fields={"secret": [problem]},
    )


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Unsubscribes: the endpoint and its secret are deleted."""
    endpoint.delete()


# --- The hand-over: tracking tells notifications about every status change, here only --------

WEBHOOK_EVENT_BY_STATUS = {
    Status.OUT_FOR_DELIVERY: WebhookEventType.TRACKING_OUT_FOR_DELIVERY,
    Status.DELIVERED: WebhookEventType.TRACKING_DELIVERED,
    Status.AVAILABLE_FOR_PICKUP: WebhookEventType.TRACKING_AVAILABLE_FOR_PICKUP,
    Status.EXCEPTION: WebhookEventType.TRACKING_EXCEPTION,
    Status.FAILED_ATTEMPT: WebhookEventType.TRACKING_EXCEPTION,
    Status.RETURN_TO_SENDER: WebhookEventType.TRACKING_RETURNED,
}


def webhook_event_types_for(status: str, detail: str = "") -> list[str]:
    """The event types a change to `status` (and `detail`) is, in every style's vocabulary:
    their names never overlap, so each subscription matches the ones of its own style."""
    specific = WEBHOOK_EVENT_BY_STATUS.get(status)
    seed002 = f"shipment.{seed002_status(status, detail).lower()}"
    return [WebhookEventType.TRACKING_UPDATED, *([specific] if specific else []), seed002]


def shipments_status_changed(
    *, merchant: Merchant, changes: Sequence[tuple[Any, str]],
    context: Callable[[list], dict[int, dict]],
) -> list[Notification]:  # fmt: skip
    """The one function the tracking app calls when shipments' statuses change (STYLE.md:
    explicit calls, no signals): `changes` are (shipment, previous status) of one merchant, each
    shipment with its new status. It writes the outbox rows in the caller's transaction: the
    customer's email/SMS when the merchant chose this status (the order's customer and the
    delivery contacts of the trackers following the shipment), the merchant's webhooks, a staff
    alert for exception, failed_attempt, return_to_sender and expired (TRACKING.md), and the
    write-back to the store. The unique key (merchant, channel, recipient, dedupe_key) makes each
    message exist once: one alert per shipment and status. `context(shipments)` builds what the
    messages show, by shipment primary key; it is called once, for the shipments with a message.
    A fixed number of queries, however many changes: the same rows as telling each in turn."""
    shipments = [shipment for shipment, _previous in changes]
    chosen = _chosen_channels(merchant, {shipment.status for shipment in shipments})
    trackers = _trackers_following(shipments) if any(chosen.values()) else {}
    endpoints = list(WebhookEndpoint.objects.filter(merchant=merchant, is_active=True))
    platform_rows = _platform_rows(merchant, shipments)
    told = []
    for shipment, previous_status in changes:
        rows = _status_rows(merchant, shipment, chosen, trackers.get(shipment.pk, []), endpoints)
        rows += platform_rows.get(shipment.pk, [])
        if rows:
            told.append((shipment, previous_status, rows))
    if not told:
        return []
    shown_by_shipment = context([shipment for shipment, _previous, _rows in told])
    rows = []
    for shipment, previous_status, rows_of_shipment in told:
        shown = dict(shown_by_shipment[shipment.pk])
        tracker_pages = shown.pop("trackerPages", {})
        payloads = {"previousStatus": previous_status, "status": shipment.status, **shown}
        for row in rows_of_shipment:
            row.payload = {**payloads, **row.payload}
            tracker = row.payload.get("tracker")
            if tracker:  # a tracker's customer follows the tracker's own page
                row.payload["trackingPage"] = tracker_pages.get(tracker["externalId"], "")
        rows += rows_of_shipment
    _name_packages(rows)
    return _queue(rows)


def _status_rows(merchant, shipment, chosen: dict[str, set[str]], trackers: list,
                 endpoints: list) -> list[Notification]:  # fmt: skip
    """One shipment's messages about its new status, but the write-back to the store."""
    status = shipment.status
    cause = f"shipment:{shipment.pk}:{status}"
    order = shipment.order if shipment.order_id else None
    return [
        *_once_per_recipient([
            *_customer_rows(merchant, order, trigger=status, cause=cause, shipment=shipment,
                            chosen=chosen[status]),
            *_tracker_rows(merchant, shipment, trackers, trigger=status, cause=cause,
                           chosen=chosen[status]),
        ]),
        *_webhook_rows(merchant, webhook_event_types_for(status, shipment.status_detail), cause,
                       shipment=shipment, endpoints=endpoints),
        *_staff_rows(merchant, trigger=status, cause=cause, shipment=shipment,
                     alert=status in STAFF_ALERT_STATUSES, chosen=chosen[status]),
    ]  # fmt: skip


def _queue(rows: list[Notification]) -> list[Notification]:
    """Writes the rows and, in the same transaction (django-q2's ORM broker), a task to send
    them now: both commit or neither does. The schedule's sweep catches any lost task."""
    _merge_or_delay(rows)
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if created:
        async_task("notifications.tasks.send_notifications", task_name="send notifications now")
    return created


def _customer_rows(merchant, order, *, trigger: str, cause: str, shipment=None, chosen=None):
    """The customer's email and SMS, when the merchant chose this trigger and has the contact,
    and the customer has not unsubscribed from this order. `chosen`: the channels chosen for
    `trigger`, when the caller read them already."""
    if order is None or order.notifications_muted_at is not None:
        return []
    if chosen is None:
        chosen = _chosen_channels(merchant, {trigger})[trigger]
    contacts = {
        Channel.EMAIL: merchant.email_notifications_enabled and order.customer_email,
        Channel.SMS: merchant.sms_notifications_enabled and order.customer_phone,
    }
    return [
        Notification(merchant=merchant, order=order, shipment=shipment, channel=channel,
                     recipient=recipient, trigger=trigger, dedupe_key=cause)
        for channel, recipient in contacts.items()
        if recipient and channel in chosen
    ]  # fmt: skip


def _trackers_following(shipments: Sequence) -> dict[int, list]:
    """The unmuted trackers following each shipment, by shipment primary key (one query)."""
    # The reverse relation: notifications does not import the orders app.
    tracker_model = Notification._meta.get_field(
        "shipment"
    ).related_model.trackers.rel.related_model
    following = defaultdict(list)
    for tracker in tracker_model.objects.filter(
        shipment__in=[shipment.pk for shipment in shipments], notifications_muted_at__isnull=True
    ).order_by("pk"):
        following[tracker.shipment_id].append(tracker)
    return following


def _tracker_rows(merchant, shipment, trackers: list, *, trigger: str, cause: str,
                  chosen: set[str]) -> list[Notification]:  # fmt: skip
    """The delivery contacts of the `trackers` following a shipment, with or without an order:
    API.md gives them the notifications an order's customer gets (an order that never arrives
    must not leave them untold). The payload names the tracker, whose contact the channels
    check again when sending. `chosen`: the channels chosen for `trigger`."""
    if not chosen:
        return []
    rows = []
    for tracker in trackers:
        contacts = {
            Channel.EMAIL: merchant.email_notifications_enabled and tracker.contact_email,
            Channel.SMS: merchant.sms_notifications_enabled and tracker.contact_phone,
        }
        shown = {"pk": tracker.pk, "externalId": tracker.external_id,
                 "name": tracker.contact_name, "locale": tracker.locale}  # fmt: skip
        rows += [
            Notification(merchant=merchant, shipment=shipment, channel=channel,
                         recipient=recipient.strip(), trigger=trigger, dedupe_key=cause,
                         payload={"tracker": shown})
            for channel, recipient in contacts.items()
            if recipient and channel in chosen
        ]  # fmt: skip
    return rows


def _once_per_recipient(rows: list[Notification]) -> list[Notification]:
    """The first row for each channel and recipient: the order's customer who also follows a
    tracker with the same address or phone is told once. Compared as written apart from case
    and punctuation, which the unique key alone would count as two people."""
    seen, kept = set(), []
    for row in rows:
        same_person = (row.channel, re.sub(r"[^\w@.+]", "", row.recipient.lower()))
        if same_person not in seen:
            seen.add(same_person)
            kept.append(row)
    return kept


def _webhook_rows(merchant, event_types: list[str], cause: str, *, order_id: int | None = None,
                  shipment=None, endpoints=None) -> list[Notification]:  # fmt: skip
    if endpoints is None:
        endpoints = WebhookEndpoint.objects.filter(merchant=merchant, is_active=True)
    order_id = shipment.order_id if shipment is not None else order_id
    return [
        Notification(merchant=merchant, order_id=order_id, shipment=shipment,
                     channel=Channel.WEBHOOK, recipient=endpoint.public_id, trigger=event_type,
                     dedupe_key=f"{cause}:{event_type}", payload={"eventType": event_type})
        for endpoint in endpoints
        for event_type in event_types
        if event_type in endpoint.event_types
    ]  # fmt: skip


def _staff_rows(merchant, *, trigger: str, cause: str, shipment=None, alert: bool = True,
                chosen: set[str] = frozenset()) -> list[Notification]:  # fmt: skip
    """An alert goes to every alert address, and to Slack and Teams when configured (the
    recipient names the service: the URL is read from the merchant when sending). A move that
    is no alert goes to Slack or Teams only when the merchant chose it for that service
    (`chosen`: the channels chosen for `trigger`)."""
    routes = [
        (Channel.STAFF_EMAIL, address)
        for address in (dict.fromkeys(merchant.alert_email_list) if alert else ())
    ]
    routes += [
        (channel, name)
        for channel, name, url in ((Channel.SLACK, "slack", merchant.slack_webhook_url),
                                   (Channel.TEAMS, "teams", merchant.teams_webhook_url))
        if url and (alert or name in chosen)
    ]  # fmt: skip
    order_id = shipment.order_id if shipment is not None else None
    return [
        Notification(merchant=merchant, order_id=order_id, shipment=shipment, channel=channel,
                     recipient=recipient, trigger=trigger, dedupe_key=cause)
        for channel, recipient in routes
    ]  # fmt: skip


def _platform_rows(merchant, shipments: Sequence) -> dict[int, list[Notification]]:
    """The write-backs to the store each shipment's order came from (platforms/writers.py), by
    shipment primary key, when its connection writes the new status back. The payload says what
    to write: a note for a chosen status, and whether to complete the order (every shipment of it
    delivered; of several delivered together, the last one completes it). Two queries at most."""
    links = {}
    for shipment in shipments:
        link = (
            shipment.order.attributes.get(PLATFORM_ORDER_ATTRIBUTE) if shipment.order_id else None
        )
        if isinstance(link, dict) and link.get("connection"):
            links[shipment.pk] = link
    if not links:
        return {}
    connections = {
        str(connection.public_id): connection
        for connection in PlatformConnection.objects.filter(
            merchant=merchant, is_active=True,
            public_id__in={str(link["connection"]) for link in links.values()},
        )
    }  # fmt: skip
    completing = _orders_completed_by(
        [shipment for shipment in shipments if shipment.pk in links], connections, links
    )
    rows = {}
    for shipment in shipments:
        connection = connections.get(str(links.get(shipment.pk, {}).get("connection")))
        if connection is None or not connection.writes_back(shipment.status):
            continue
        if connection.writes_to_shipments and not shipment.source_reference:
            continue  # a shipment the platform did not make (one an OMS posted): nowhere to write
        write_note = shipment.status in connection.write_back_statuses
        order_delivered = completing.get(shipment.order_id) is shipment
        complete_order = connection.complete_on_delivery and order_delivered
        if not (write_note or complete_order):
            continue  # one package of several delivered: nothing to write yet
        payload = {
            "platformOrder": links[shipment.pk],
            "sourceReference": shipment.source_reference,
            "writeNote": write_note,
            "completeOrder": complete_order,
            "orderDelivered": order_delivered,
        }
        rows[shipment.pk] = [
            Notification(merchant=merchant, order=shipment.order, shipment=shipment,
                         channel=Channel.PLATFORM, recipient=str(connection.public_id),
                         trigger=shipment.status, dedupe_key=f"shipment:{shipment.pk}:"
                         f"{shipment.status}", payload=payload)
        ]  # fmt: skip
    return rows


def _orders_completed_by(shipments: Sequence, connections: dict, links: dict) -> dict[int, Any]:
    """For each order whose every shipment is now delivered, the shipment among `shipments` that
    completes it: the last of them delivered (as if they had been told one after another)."""
    delivered = {
        shipment.order_id: shipment
        for shipment in shipments
        if shipment.status == Status.DELIVERED
        and str(links[shipment.pk]["connection"]) in connections
    }
    if not delivered:
        return {}
    # The reverse relation: notifications does not import the orders app.
    shipment_model = Notification._meta.get_field("shipment").related_model
    unfinished = set(
        shipment_model.objects.filter(order_id__in=list(delivered))
        .exclude(status=Status.DELIVERED)
        .values_list("order_id", flat=True)
    )
    return {order_id: last for order_id, last in delivered.items() if order_id not in unfinished}


def shipment_delayed(*, shipment, context: Callable[[], dict]) -> list[Notification]:
    """The tracking app's hand-over when a shipment becomes late (once per shipment): the
    tracking.delayed webhooks and a staff alert. `context()`: what the messages show, as
    shipments_status_changed's gives for one shipment."""
    cause = f"shipment:{shipment.pk}:delayed"
    rows = [
        *_webhook_rows(shipment.merchant, [WebhookEventType.TRACKING_DELAYED], cause,
                       shipment=shipment),
        *_staff_rows(shipment.merchant, trigger="delayed", cause=cause, shipment=shipment),
    ]  # fmt: skip
    if not rows:
        return []
    shown = context()
    shown.pop("trackerPages", None)  # no customer is told of a delay
    for row in rows:
        row.payload = {**row.payload, "status": shipment.status, **shown}
    return _queue(rows)


def staff_alert_queue(*, merchant: Merchant, trigger: str, cause: str,
                      payload: dict) -> list[Notification]:  # fmt: skip
    """A staff alert about `cause` to every route of the merchant's alerts (alert emails, Slack,
    Teams), once per route and cause; in the caller's transaction."""
    rows = _staff_rows(merchant, trigger=trigger, cause=cause)
    for row in rows:
        row.payload = payload
    return _queue(rows)


# --- Order events: the orders app hands over what happened to an order ----------------------

ORDER_EVENTS = {
    # event: (the webhook event type, the customer's trigger)
    "order.created": (WebhookEventType.ORDER_CREATED, NotificationTrigger.ORDER_RECEIVED),
    "order.cancelled": (WebhookEventType.ORDER_CANCELLED, NotificationTrigger.ITEMS_CANCELLED),
    "shipment.created": (WebhookEventType.SHIPMENT_CREATED, None),
    "items.backordered": (None, NotificationTrigger.ITEMS_BACKORDERED),
    "return.requested": (WebhookEventType.RETURN_REQUESTED, NotificationTrigger.RETURN_REQUESTED),
    "return.approved": (WebhookEventType.RETURN_APPROVED, NotificationTrigger.RETURN_APPROVED),
    "return.refused": (WebhookEventType.RETURN_REFUSED, NotificationTrigger.RETURN_REFUSED),
    "return.label_ready": (None, NotificationTrigger.RETURN_LABEL_READY),
    "return.received": (WebhookEventType.RETURN_RECEIVED, NotificationTrigger.RETURN_RECEIVED),
}


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One hand-over of `order_events`: what happened to `order` (see there)."""

    order: Any
    event: str
    data: dict
    occurrence: str = ""
    shipment: Any = None


def order_events(*, merchant: Merchant, events: Sequence[OrderEvent]) -> list[Notification]:
    """The orders app's hand-over, in its transaction: webhooks for subscribed endpoints (body
    `{"eventId", "eventType", "timestamp", "data": data}`, API.md "Outbound webhooks") and the
    customer's email/SMS when the merchant chose the trigger. For any number of events of one
    merchant (a batch of OMS events): its endpoints and rules are read once, the rows written in
    one statement.

    `event` is "order.created" (customer trigger order_received), "order.cancelled"
    (items_cancelled; also a partial cancellation), "shipment.created" (webhooks only, with
    `shipment`) or "items.backordered" (items_backordered; no webhook type exists for it); for
    a return request (orders/services/returns.py) "return.requested", "return.approved",
    "return.refused", "return.received" (webhook and customer trigger of the same name) and
    "return.label_ready" (the customer only), `data` the return's API representation and
    `occurrence` its id.
    `data` is JSON: `{"orderId", "status", "items": [...], "links": {"trackingPage"}}` for
    orders, `{"orderId", "trackingNumber", "carrier", ...}` for shipments. `occurrence` tells
    repeated events apart (the second partial cancellation of an order is news too); the same
    event with the same occurrence is written once.
    """
    if not events:
        return []
    kinds = [ORDER_EVENTS[event.event] for event in events]
    endpoints = (
        list(WebhookEndpoint.objects.filter(merchant=merchant, is_active=True))
        if any(webhook_type for webhook_type, _trigger in kinds)
        else []
    )
    chosen = _chosen_channels(merchant, {trigger for _type, trigger in kinds if trigger})
    rows = []
    for event, (webhook_type, trigger) in zip(events, kinds, strict=True):
        order, shipment = event.order, event.shipment
        cause = f"shipment:{shipment.pk}:created" if shipment else f"order:{order.pk}:{event.event}"
        cause += f":{event.occurrence}" if event.occurrence else ""
        rows_of_event = [
            *(_webhook_rows(merchant, [webhook_type], cause, order_id=order.pk, shipment=shipment,
                            endpoints=endpoints) if webhook_type else []),
            *(_customer_rows(merchant, order, trigger=trigger, cause=cause, shipment=shipment,
                             chosen=chosen[trigger]) if trigger else []),
        ]  # fmt: skip
        page = (event.data.get("links") or {}).get("trackingPage", "")
        for row in rows_of_event:
            row.payload = {**row.payload, "data": event.data, "trackingPage": page}
        rows += rows_of_event
    return _queue(rows)


def shipment_statuses_told(
    *, merchant: Merchant, shipments: Sequence[tuple[Any, dict]]
) -> list[Notification]:
    """The orders app's hand-over when a placeholder order is filled in: its customer is known at
    last, so the customer is told the current status of each of its shipments, as the merchant's
    rules say — what a status change that reached the placeholder found no one to tell. The cause
    is the status change's own, so a status already told is not told again. `shipments`: each
    with what its messages show (`{"tracking", "trackingPage"}`, as shipments_status_changed's
    `context`), in the caller's transaction."""
    chosen = _chosen_channels(merchant, {shipment.status for shipment, _shown in shipments})
    rows = []
    for shipment, shown in shipments:
        status = shipment.status
        rows_of_shipment = _customer_rows(
            merchant, shipment.order, trigger=status, cause=f"shipment:{shipment.pk}:{status}",
            shipment=shipment, chosen=chosen[status],
        )  # fmt: skip
        for row in rows_of_shipment:
            row.payload = {"status": status, **shown}
        rows += rows_of_shipment
    _name_packages(rows)
    return _queue(rows) if rows else []


# --- Split orders: which package a customer message is about, and one message for several -----

CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.SMS)


def _name_packages(rows: list[Notification]) -> None:
    """Adds `package` to the payload of each customer message about a shipment of a split order
    (more than one package, or items still to ship): `{"numbers": [n], "of": total, "remaining":
    packages besides these still on their way, "itemsToShip": bool}`, numbered by the order the
    shipments were created in, cancelled ones left out. Frozen now, like the rest of the
    payload: the message tells where the order stood when it happened. Two queries in all."""
    about_orders = [row for row in rows if _is_customer_message_of_order(row)]
    if not about_orders:
        return
    order_ids = {row.order_id for row in about_orders}
    # The models by relation: notifications does not import the orders app.
    shipment_model = Notification._meta.get_field("shipment").related_model
    line_item_model = (
        shipment_model._meta.get_field("order")
        .related_model._meta.get_field("line_items")
        .related_model
    )
    packages: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, order_id, status in (
        shipment_model.objects.filter(order_id__in=order_ids)
        .exclude(status=Status.CANCELLED)
        .order_by("created_at", "pk")
        .values_list("pk", "order_id", "status")
    ):
        packages[order_id].append((pk, status))
    unshipped = set(
        line_item_model.objects.filter(
            order_id__in=order_ids,
            quantity_ordered__gt=F("quantity_shipped") + F("quantity_cancelled"),
        ).values_list("order_id", flat=True)
    )
    for row in about_orders:
        package = _package(row.shipment_id, packages[row.order_id], row.order_id in unshipped)
        if package:
            row.payload = {**row.payload, "package": package}


def _is_customer_message_of_order(row: Notification) -> bool:
    return (
        row.channel in CUSTOMER_CHANNELS
        and row.order_id is not None
        and row.shipment_id is not None
        and "tracker" not in row.payload
    )


def _package(shipment_id: int, packages: list[tuple[int, str]], items_to_ship: bool):
    numbers = [pk for pk, _status in packages]
    if shipment_id not in numbers or (len(numbers) == 1 and not items_to_ship):
        return None  # a cancelled shipment, or the order's one and only package
    remaining = sum(
        1 for pk, status in packages if pk != shipment_id and status not in TERMINAL_STATUSES
    )
    return {"numbers": [numbers.index(shipment_id) + 1], "of": len(numbers),
            "remaining": remaining, "itemsToShip": items_to_ship}  # fmt: skip


def _merge_or_delay(rows: list[Notification]) -> None:
    """A customer message about a package of a split order waits CUSTOMER_MESSAGE_MERGE_SECONDS
    before it is sent; another of the same order, channel, recipient and status queued meanwhile
    is folded into the waiting one (its packages added to the payload) and kept as a MERGED row,
    whose unique key still makes its cause told once. The order rows are locked first, so two
    transactions about one order queue one after the other and cannot both miss the waiting
    message; the waiting rows are locked too, so the sender cannot claim one while it changes
    (the sender skips locked rows; one it claimed first is no longer pending and not merged
    into). Rows are changed in place; waiting rows already stored are saved here."""
    seconds = settings.CUSTOMER_MESSAGE_MERGE_SECONDS
    mergeable = [
        row for row in rows if "package" in row.payload and row.channel in CUSTOMER_CHANNELS
    ]
    if not mergeable or seconds <= 0:
        return
    now = timezone.now()
    for row in mergeable:
        row.next_attempt_at = now + timedelta(seconds=seconds)
    order_ids = sorted({row.order_id for row in mergeable})
    order_model = Notification._meta.get_field("order").related_model
    list(order_model.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")
         .values_list("pk", flat=True))  # fmt: skip
    merchant_id = mergeable[0].merchant_id  # a hand-over is about one merchant
    waiting = {
        _merge_key(row): row
        for row in Notification.objects.select_for_update()
        .filter(merchant_id=merchant_id, order_id__in=order_ids, channel__in=CUSTOMER_CHANNELS,
                status=NotificationStatus.PENDING, attempts=0, handed_over_at__isnull=True,
                payload__has_key="package")
        .order_by("-created_at", "-pk")  # the last one read wins: the oldest is merged into
    }  # fmt: skip
    stored = set(
        Notification.objects.filter(
            merchant_id=merchant_id, channel__in=CUSTOMER_CHANNELS,
            dedupe_key__in={row.dedupe_key for row in mergeable},
        ).values_list("channel", "recipient", "dedupe_key")
    )  # fmt: skip
    changed = []
    for row in mergeable:
        if (row.channel, row.recipient, row.dedupe_key) in stored:
            continue  # told already: the unique key drops it
        target = waiting.get(_merge_key(row))
        if target is None:
            waiting[_merge_key(row)] = row  # the next of this batch merges into this one
            continue
        target.payload = {**target.payload, "package": _packages_merged(target, row)}
        row.status, row.next_attempt_at = NotificationStatus.MERGED, None
        row.payload = {**row.payload, "mergedInto": target.dedupe_key}
        if target.pk is not None:
            changed.append(target)
    if changed:
        Notification.objects.bulk_update(changed, ["payload"])


def _merge_key(row: Notification) -> tuple:
    return (row.order_id, row.channel, row.recipient, row.trigger)


def _packages_merged(target: Notification, row: Notification) -> dict:
    """The waiting message's packages and the new one's; what remains as the newer one saw it,
    the packages now told together left out. The newer one counted the waiting one's packages
    as remaining unless they were delivered (the one status whose message tells what remains)."""
    newer = row.payload["package"]
    numbers = sorted({*target.payload["package"]["numbers"], *newer["numbers"]})
    remaining = newer["remaining"]
    if row.trigger != Status.DELIVERED:
        remaining = max(remaining - (len(numbers) - len(newer["numbers"])), 0)
    return {**newer, "numbers": numbers, "remaining": remaining}


def _chosen_channels(merchant: Merchant, triggers: set[str]) -> dict[str, set[str]]:
    """The channels the merchant chose for each of `triggers` (one query)."""
    chosen: dict[str, set[str]] = {trigger: set() for trigger in triggers}
    if triggers:
        rules = merchant.notification_rules.filter(trigger__in=triggers)
        for trigger, channel in rules.values_list("trigger", "channel"):
            chosen[trigger].add(channel)
    return chosen


# --- The console: resend, test messages ------------------------------------------------------

RESEND_MARK = ":resend:"


def notification_resend(*, notification: Notification) -> Notification | None:
    """A new outbox row copying `notification` (the original and its attempt log stay as they
    were). Two people resending the same row at once make one copy: the copies are numbered and
    the number is part of the unique key. None while the row or an earlier copy of it is still
    waiting to be sent."""
    if notification.status in (NotificationStatus.PENDING, NotificationStatus.SENDING):
        return None  # it is still being sent: a copy would send it twice
    base = notification.dedupe_key.split(RESEND_MARK)[0]
    copies = Notification.objects.filter(
        merchant_id=notification.merchant_id, channel=notification.channel,
        recipient=notification.recipient, dedupe_key__startswith=f"{base}{RESEND_MARK}",
    )  # fmt: skip
    if copies.filter(status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]).exists():
        return None
    copy = Notification(
        merchant_id=notification.merchant_id, order_id=notification.order_id,
        shipment_id=notification.shipment_id, channel=notification.channel,
        recipient=notification.recipient, trigger=notification.trigger,
        dedupe_key=f"{base}{RESEND_MARK}{copies.count() + 1}", payload=notification.payload,
    )  # fmt: skip
    with transaction.atomic():
        created = _queue([copy])
    return created[0] if created else None


SAMPLE_SHIPMENT_ID = "00000000-0000-4000-8000-000000000000"
SAMPLE_TRACKING = {
    "shipmentId": SAMPLE_SHIPMENT_ID,
    "trackingNumber": "SBXDELIVERED0000", "carrier": "sandbox", "carrierName": "Sandbox",
    "service": "Ground", "status": "in_transit", "statusDetail": "arrived_at_facility",
    "statusDescription": "Arrived at facility", "estimatedDelivery": "2026-11-25",
    "deliveredAt": None, "delayed": False,
    "origin": {"city": "Austin", "state": "TX", "country": "US"},
    "destination": {"city": "Denver", "state": "CO", "postalCode": "80202", "country": "US"},
    "orderId": "TEST-ORDER", "items": [{"itemId": "SKU-1", "name": "Sample item", "quantity": 1}],
    "events": [{"eventId": "evt_test", "shipmentId": SAMPLE_SHIPMENT_ID,
                "timestamp": "2026-11-21T10:00:00Z",
                "status": "in_transit", "statusDetail": "arrived_at_facility",
                "eventType": "TRANSIT", "description": "Arrived at facility",
                "location": {"city": "Dallas", "state": "TX", "postalCode": "75201",
                             "country": "US"},
                "exceptionCode": None, "exceptionReason": None, "recipient": None,
                "signatureUrl": None, "source": "poll", "carrierCode": "SBX-ARRIVED_AT_FACILITY",
                "carrierDescription": "Arrived at facility"}],
    "test": True,
}  # fmt: skip


TEST_EVENT_TYPES = {
    WebhookStyle.NATIVE: WebhookEventType.TRACKING_UPDATED,
    WebhookStyle.TRACKING_API: SeedWebhookEventType.IN_TRANSIT,
}


def webhook_endpoint_send_test(*, endpoint: WebhookEndpoint) -> Notification:
    """A tracking.updated event (shipment.in_transit in seed 002's style) with sample data
    (marked `"test": true` in the native style), queued like any other: the URL is checked again
    at delivery and the attempt shows in the log."""
    event_type = TEST_EVENT_TYPES[endpoint.style]
    return _send_test(
        endpoint.merchant, Channel.WEBHOOK, endpoint.public_id, event_type,
        {"eventType": event_type, "data": SAMPLE_TRACKING},
    )  # fmt: skip


def staff_alert_send_test(*, merchant: Merchant, requested_by: str,
                          include_chat: bool = True) -> list[Notification]:  # fmt: skip
    """A test alert to every alert address of the merchant (and its Slack and Teams webhooks):
    only to where the merchant's alerts go, so the console cannot mail anyone else."""
    routes = _staff_rows(merchant, trigger="test", cause="test")
    return [
        _send_test(merchant, row.channel, row.recipient, "test", {"requestedBy": requested_by})
        for row in routes
        if include_chat or row.channel == Channel.STAFF_EMAIL
    ]


def _send_test(merchant, channel: str, recipient: str, trigger: str, payload: dict):
    row = Notification(
        merchant=merchant, channel=channel, recipient=recipient, trigger=trigger,
        dedupe_key=f"test:{secrets.token_hex(8)}", payload=payload,
    )  # fmt: skip
    with transaction.atomic():
        _queue([row])
    return row
