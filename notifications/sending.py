"""Sending the outbox: claim what is due, deliver through its channel, record every attempt,
and retry with exponential backoff and jitter for a day and more (RELIABILITY.md).

A claimed row is leased (status "sending", next attempt LEASE ahead) before anything is sent,
so two workers never send the same row, and a worker that dies between "sent" and "recorded"
causes at most one resend when the lease ends — never a lost message. The resend is the same
message (an email keeps its Message-ID, a webhook its eventId), so it can be recognised. Each row's
lease is renewed just before its send, only if the row is still this claim's, so a slow batch never
sends what another worker took over.

A claim is sent by up to NOTIFICATIONS_SEND_THREADS threads at once, one recipient's messages (a
webhook endpoint's, a Slack channel's, a phone's …) in order by one thread, so a slow receiver
holds up only its own messages. Each thread renews, sends and records its rows on its own
database connection, closed when its work is done.

Twilio cannot recognise a repeated SMS, so an SMS is marked before Twilio is called, and one
abandoned after that is not sent again. The outcome is recorded at once, and recording waits out
a database restart rather than leave the message to be sent again.
"""

import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.channels import (
    OUTCOME_UNKNOWN,
    Channel,
    Delivery,
    DeliveryFailed,
    DeliveryRefused,
)
from notifications.channels.email import EmailChannel
from notifications.channels.platform import PlatformChannel
from notifications.channels.sms import SmsChannel
from notifications.channels.staff import SlackChannel, StaffEmailChannel, TeamsChannel
from notifications.channels.webhook import WebhookChannel
from notifications.models import (
    Channel as ChannelName,
)
from notifications.models import (
    Notification,
    NotificationAttempt,
    NotificationStatus,
)
from notifications.webhook_health import webhook_endpoint_delivered, webhook_endpoint_failed

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=settings.SEND_LEASE_SECONDS)
CLAIM = 100  # rows a worker takes at a time, at least
CLAIM_PER_THREAD = 10
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=2)
GIVE_UP_AFTER = timedelta(hours=26)  # "retries for 24 h+" (API.md)
# Waits between tries to record an outcome while the database is away (0.5 s doubling: 15 s).
RECORD_WAITS = (0.5, 1, 2, 4, 8)
# Channels whose provider takes no idempotency key: a possible duplicate is worse than a loss.
AT_MOST_ONCE = {ChannelName.SMS}

CHANNELS: dict[str, type[Channel]] = {
    ChannelName.WEBHOOK: WebhookChannel,
    ChannelName.EMAIL: EmailChannel,
    ChannelName.SMS: SmsChannel,
    ChannelName.STAFF_EMAIL: StaffEmailChannel,
    ChannelName.SLACK: SlackChannel,
    ChannelName.TEAMS: TeamsChannel,
    ChannelName.PLATFORM: PlatformChannel,
}


@dataclass(slots=True)
class SendReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed again by another worker while this one was busy: theirs now


def notifications_send_due(*, now: datetime | None = None, limit: int | None = None) -> SendReport:
    now = now or timezone.now()
    claimed = _claim(now, limit or _claim_size())
    report = SendReport(claimed=len(claimed))
    for outcome in _send_all(_by_recipient(claimed), now):
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _claim_size() -> int:
    """Several queues for each thread, so that the claim's last one (the round waits for it) is
    a small part of the round."""
    return max(CLAIM, CLAIM_PER_THREAD * settings.NOTIFICATIONS_SEND_THREADS)


def _by_recipient(claimed: Sequence[Notification]) -> list[list[Notification]]:
    """The claim in queues that may be sent side by side: one per recipient, each in the order
    the rows were written; the longest first, so the round is not left waiting on one."""
    queues: dict[tuple, list[Notification]] = {}
    for notification in claimed:
        key = (notification.merchant_id, notification.channel, notification.recipient)
        queues.setdefault(key, []).append(notification)
    return sorted(queues.values(), key=len, reverse=True)


def _send_all(queues: list[list[Notification]], now: datetime) -> list[str]:
    """Each queue sent in order; several at once on their own threads and connections."""
    threads = min(settings.NOTIFICATIONS_SEND_THREADS, len(queues))
    if threads <= 1 or not _threads_can_write():
        return [_deliver(notification, now) for queue in queues for notification in queue]
    waiting: SimpleQueue[list[Notification]] = SimpleQueue()
    for queue in queues:
        waiting.put(queue)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
        sent = [pool.submit(_send_queues, waiting, now) for _ in range(threads)]
    return [outcome for thread in sent for outcome in thread.result()]


def _threads_can_write() -> bool:
    """Not inside a caller's transaction (its rows are seen on its connection only), nor on
    SQLite (development: one writer at a time); there the queues are sent in turn."""
    return not connection.in_atomic_block and connection.vendor != "sqlite"


def _send_queues(waiting: SimpleQueue, now: datetime) -> list[str]:
    """One sending thread: takes queues until none is left, then closes its connections."""
    outcomes = []
    try:
        while True:
            try:
                queue = waiting.get_nowait()
            except Empty:
                return outcomes
            outcomes += [_deliver(notification, now) for notification in queue]
    finally:
        connections.close_all()


def _claim(now: datetime, limit: int) -> list[Notification]:
    due = Q(status=NotificationStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=NotificationStatus.SENDING, next_attempt_at__lte=now)
    with transaction.atomic():
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due | abandoned, channel__in=CHANNELS)
            .select_related("merchant")
            .order_by("created_at")[:limit]
        )
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
            status=NotificationStatus.SENDING, next_attempt_at=now + LEASE
        )
    for notification in claimed:  # the lease's end tells this claim from a later one
        notification.status, notification.next_attempt_at = NotificationStatus.SENDING, now + LEASE
    return claimed


def _lease_renewed(notification: Notification) -> bool:
    """Renews this claim's lease on the row just before its send (and marks an SMS handed over),
    only while the row is still this claim's: past the lease (a slow batch), another worker may
    have claimed it and be sending it; then this one leaves it alone."""
    lease = timezone.now() + LEASE
    changes = {"next_attempt_at": lease}
    if notification.channel in AT_MOST_ONCE:
        changes["handed_over_at"] = timezone.now()
    renewed = Notification.objects.filter(
        pk=notification.pk, status=NotificationStatus.SENDING, handed_over_at__isnull=True,
        next_attempt_at=notification.next_attempt_at,
    ).update(**changes)  # fmt: skip
    if renewed:
        for field, value in changes.items():
            setattr(notification, field, value)
    return bool(renewed)


def _deliver(notification: Notification, now: datetime) -> str:
    started = time.monotonic()
    if notification.channel in AT_MOST_ONCE and notification.handed_over_at is not None:
        unknown = DeliveryRefused(OUTCOME_UNKNOWN)  # abandoned mid-call: it may have arrived
        return _record_durably(notification, now, started, error=unknown, give_up=True)
    if not _lease_renewed(notification):
        return "skipped"
    try:
        delivery = CHANNELS[notification.channel]().send(notification)
    except DeliveryRefused as refused:
        return _record_durably(notification, now, started, error=refused, give_up=True)
    except DeliveryFailed as failed:
        return _record_durably(notification, now, started, error=failed)
    except Exception as error:  # a channel bug: logged, and retried like any failure
        logger.exception("channel %s failed", notification.channel)
        failed = DeliveryFailed(type(error).__name__)
        return _record_durably(notification, now, started, error=failed)
    return _record_durably(notification, now, started, delivery=delivery)


def _record_durably(notification, now, started, **outcome) -> str:
    """_record, tried again while the database cannot be reached (a restart): the message is
    out, and until it is recorded a crash would send it again."""
    attempts, handed_over_at = notification.attempts, notification.handed_over_at
    for wait in RECORD_WAITS:
        try:
            return _record(notification, now, started, **outcome)
        except (OperationalError, InterfaceError):
            logger.warning("recording notification %s failed; trying again", notification.pk)
            # _record changed the row in memory before its transaction was rolled back.
            notification.attempts, notification.handed_over_at = attempts, handed_over_at
            if not connection.in_atomic_block:
                connection.close()  # a restarted server dropped it: the next query reconnects
            time.sleep(wait)
    return _record(notification, now, started, **outcome)


@transaction.atomic
def _record(notification, now, started, *, delivery: Delivery | None = None,
            error: Exception | None = None, give_up: bool = False) -> str:  # fmt: skip
    duration_ms = int((time.monotonic() - started) * 1000)
    NotificationAttempt.objects.create(
        notification=notification, succeeded=delivery is not None, duration_ms=duration_ms,
        response_status=(delivery or error).response_status, error=str(error or "")[:1000],
    )  # fmt: skip
    notification.attempts += 1
    notification.handed_over_at = None
    if delivery is not None:
        notification.status, notification.sent_at = NotificationStatus.SENT, timezone.now()
        notification.provider_message_id = delivery.provider_id[:200]
        notification.next_attempt_at, notification.last_error = None, ""
        outcome = "sent"
    elif give_up or now - notification.created_at > GIVE_UP_AFTER:
        notification.status, notification.next_attempt_at = NotificationStatus.FAILED, None
        notification.last_error = str(error)[:1000]
        outcome = "failed"
    else:
        notification.status = NotificationStatus.PENDING
        notification.next_attempt_at = now + retry_delay(notification.attempts, error)
        notification.last_error = str(error)[:1000]
        outcome = "retrying"
    notification.save()
    if notification.channel == ChannelName.WEBHOOK:
        _endpoint_health(notification, now, delivery=delivery, error=error)
    return outcome


def retry_delay(attempts: int, error: Exception | None) -> timedelta:
    """1, 2, 4 … minutes up to 2 h, ± 20 %; a longer Retry-After is honoured."""
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - spreading retries, not security
    retry_after = getattr(error, "retry_after", None)
    return max(delay, timedelta(seconds=retry_after)) if retry_after else delay


def _endpoint_health(notification: Notification, now: datetime, *,
                     delivery: Delivery | None, error: Exception | None) -> None:  # fmt: skip
    endpoint = {"merchant_id": notification.merchant_id, "public_id": notification.recipient}
    if delivery is not None:
        webhook_endpoint_delivered(**endpoint)
        return
    gone = getattr(error, "response_status", None) == 410
    if isinstance(error, DeliveryRefused) and not gone:
        return  # the endpoint was deleted or disabled: nothing was sent
    webhook_endpoint_failed(**endpoint, now=now, gone=gone)
