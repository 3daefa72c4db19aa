"""A worker that stops between the provider's acceptance and our record of it (kill -9, a database
restart): the email sent again is the same message, an SMS is not sent again, and a database that
comes back in time leaves nothing to send again."""

import time
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from notifications import sending
from notifications.channels.email import message_id
from notifications.models import Notification, NotificationAttempt, NotificationStatus
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import deliver
from notifications.tests.test_customer_sms import TWILIO, texting_merchant, twilio  # noqa: F401
from tests.database import TableLock

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The worker process ending mid-send, as kill -9 would (no `except Exception` catches it)."""


@pytest.fixture
def recording_fails_once(monkeypatch):
    """The first outcome to record raises the given error instead of reaching the database."""

    def fail_once_with(error: BaseException) -> None:
        record = sending._record
        calls = []

        def failing(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise error
            return record(*args, **kwargs)

        monkeypatch.setattr(sending, "_record", failing)

    return fail_once_with


def test_an_email_sent_again_after_a_crash_keeps_its_message_id(
    merchant, inbox, recording_fails_once
):
    # given: a delivered email, and a worker killed once the mail server has accepted it
    deliver(merchant)
    # A kill -9 between the server's 250 and our record: no boundary in this process reaches it.
    recording_fails_once(Killed())
    with pytest.raises(Killed):
        notifications_send_due()
    # when: the lease ends and the sweep finds the row abandoned
    notifications_send_due(now=timezone.now() + sending.LEASE + timedelta(seconds=1))
    # then: two copies reached the server, and they are the same message
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@flextracker.local>")
    notification = Notification.objects.get(channel="email")
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert notification.provider_message_id == first["Message-ID"]


def test_two_notifications_have_two_message_ids(merchant, inbox):
    # given: two packages of one order delivered
    deliver(merchant, number="SBXDELIVERED1", item=("MUG", 1))
    deliver(merchant, number="SBXDELIVERED2", item=("TOWEL", 1))
    # when
    notifications_send_due()
    # then
    ids = [message["Message-ID"] for message in inbox.messages]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert set(Notification.objects.values_list("provider_message_id", flat=True)) == set(ids)


def test_a_database_back_within_seconds_leaves_nothing_to_send_again(merchant, inbox, monkeypatch):
    # given: the attempts table locked by another connection, so recording the sent email fails;
    # free again while the worker waits to try again
    deliver(merchant)
    lock = TableLock(NotificationAttempt)
    monkeypatch.setattr(time, "sleep", lambda _seconds: lock.release())
    # when: the worker runs, and the sweep after the lease
    with lock:
        report = notifications_send_due()
    later = notifications_send_due(now=timezone.now() + sending.LEASE + timedelta(seconds=1))
    # then: recorded on the second try, sent once, one attempt in the log
    assert (report.sent, later.claimed) == (1, 0)
    assert len(inbox.envelopes) == 1
    notification = Notification.objects.get(channel="email")
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert list(notification.attempt_log.values_list("succeeded", flat=True)) == [True]


@responses.activate
@pytest.mark.usefixtures("texting_merchant", "twilio")
def test_an_sms_whose_worker_died_during_the_call_is_not_sent_twice(merchant):
    # given: Twilio receives the text, and the worker is killed before the answer reaches it
    def killed_meanwhile(_request):
        raise Killed

    responses.add_callback(responses.POST, TWILIO, callback=killed_meanwhile)
    deliver(merchant)
    with pytest.raises(Killed):
        notifications_send_due()
    # when: the lease ends and the sweep finds the row abandoned
    report = notifications_send_due(now=timezone.now() + sending.LEASE + timedelta(seconds=1))
    # then: Twilio was called once; the row says why it was not sent again
    assert len(responses.calls) == 1
    assert (report.claimed, report.failed) == (1, 1)
    text = Notification.objects.get(channel="sms")
    assert (text.status, text.last_error) == (NotificationStatus.FAILED, sending.OUTCOME_UNKNOWN)
    assert text.handed_over_at is None
    assert NotificationAttempt.objects.filter(notification=text, succeeded=False).count() == 1


@responses.activate
@pytest.mark.usefixtures("texting_merchant", "twilio")
def test_an_sms_abandoned_before_its_turn_is_still_sent(merchant):
    # given: a worker claimed the text and died before calling Twilio (the row is only leased)
    responses.post(TWILIO, status=201, json={"sid": "SM1"})
    deliver(merchant)
    Notification.objects.filter(channel="sms").update(
        status=NotificationStatus.SENDING, next_attempt_at=timezone.now() + sending.LEASE
    )
    # when: the lease ends
    report = notifications_send_due(now=timezone.now() + sending.LEASE + timedelta(seconds=1))
    # then
    assert (report.sent, len(responses.calls)) == (1, 1)
    text = Notification.objects.get(channel="sms")
    assert (text.status, text.provider_message_id) == (NotificationStatus.SENT, "SM1")


def test_an_email_service_provider_is_given_the_notification_and_its_message_id(
    merchant, settings, mailoutbox
):
    # given: an anymail backend (its test ESP records what the provider's API would receive)
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    deliver(merchant)
    # when
    notifications_send_due()
    # then: our row's id as metadata, and the stable Message-ID among the headers sent
    notification = Notification.objects.get(channel="email")
    (message,) = mailoutbox
    params = message.anymail_test_params
    assert params["metadata"] == {"notification": str(notification.pk)}
    sent_id = params["extra_headers"]["Message-ID"]
    assert sent_id == message_id(notification, "no-reply@flextracker.local")
    assert sent_id.endswith("@flextracker.local>")
    assert notification.provider_message_id == sent_id  # the test ESP answers id 0: ours kept
