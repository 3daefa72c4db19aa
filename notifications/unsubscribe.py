"""A customer's "stop messages about this order": the signed link in every email (and its
List-Unsubscribe header, RFC 8058) and what following it does.

The token is the order's row id signed with our secret: it cannot be guessed or moved to another
order, and it never expires (an old email's link must still work).
"""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, Notification, NotificationStatus

_signer = signing.Signer(salt="flextracker.unsubscribe")
CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.SMS)


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


@transaction.atomic
def order_notifications_mute(*, order) -> int:
    """Stops customer emails and SMS about `order` (an orders.Order, passed in: notifications does
    not import orders): marks it muted and cancels what is still waiting to be sent. A message
    already being sent, or queued later, is refused by its channel, which checks the mark.
    Returns the number of messages cancelled; running it twice changes nothing more."""
    locked = type(order).objects.select_for_update().get(pk=order.pk)
    if locked.notifications_muted_at is None:
        locked.notifications_muted_at = timezone.now()
        locked.save(update_fields=["notifications_muted_at", "updated_at"])
    order.notifications_muted_at = locked.notifications_muted_at
    return Notification.objects.filter(
        order_id=order.pk, channel__in=CUSTOMER_CHANNELS, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED, next_attempt_at=None)
