"""A customer's "stop messages about this order": the signed link in every email (and its
List-Unsubscribe header, RFC 8058) and what following it does.

The token is the order's row id signed with our secret: it cannot be guessed or moved to another
order, and it never expires (an old email's link must still work). A tracker's delivery contact
(a shipment without an order) has the same link, its token naming the tracker.
"""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, Notification, NotificationStatus

_signer = signing.Signer(salt="flextracker.unsubscribe")
CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.SMS)
TRACKER_PREFIX = "tracker:"


def unsubscribe_token(order_pk: int) -> str:
    return _signer.sign(str(order_pk))


def order_pk_from_token(token: str) -> int | None:
    try:
        value = _signer.unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def unsubscribe_url(order_pk: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[unsubscribe_token(order_pk)])


def tracker_unsubscribe_token(tracker_pk: int) -> str:
    return _signer.sign(f"{TRACKER_PREFIX}{tracker_pk}")


def tracker_pk_from_token(token: str) -> int | None:
    try:
        value = _signer.unsign(token)
    except signing.BadSignature:
        return None
    number = value.removeprefix(TRACKER_PREFIX)
    return int(number) if value.startswith(TRACKER_PREFIX) and number.isdigit() else None


def unsubscribe_link_for(notification) -> str:
    """The link a customer message carries: its order's, or its tracker's (payload `tracker`)."""
    if notification.order_id:
        return unsubscribe_url(notification.order_id)
    tracker = notification.payload.get("tracker")
    if not tracker:
        return ""
    token = tracker_unsubscribe_token(tracker["pk"])
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token])


@transaction.atomic
def order_notifications_mute(*, order) -> int:
    """Stops customer emails and SMS about `order` (an orders.Order, passed in: notifications does
    not import orders): marks it muted and cancels what is still waiting to be sent. A message
    already being sent, or queued later, is refused by its channel, which checks the mark.
    Returns the number of messages cancelled; running it twice changes nothing more."""
    _mark_muted(order)
    return Notification.objects.filter(
        order_id=order.pk, channel__in=CUSTOMER_CHANNELS, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED, next_attempt_at=None)


@transaction.atomic
def tracker_notifications_mute(*, tracker) -> int:
    """order_notifications_mute for a tracker's delivery contact (an orders.Tracker)."""
    _mark_muted(tracker)
    return Notification.objects.filter(
        merchant_id=tracker.merchant_id, order__isnull=True, channel__in=CUSTOMER_CHANNELS,
        status=NotificationStatus.PENDING, payload__tracker__pk=tracker.pk,
    ).update(status=NotificationStatus.CANCELLED, next_attempt_at=None)  # fmt: skip


def _mark_muted(row) -> None:
    locked = type(row).objects.select_for_update().get(pk=row.pk)
    if locked.notifications_muted_at is None:
        locked.notifications_muted_at = timezone.now()
        locked.save(update_fields=["notifications_muted_at", "updated_at"])
    row.notifications_muted_at = locked.notifications_muted_at
