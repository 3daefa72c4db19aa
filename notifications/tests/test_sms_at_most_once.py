"""An SMS is asked of Twilio at most once (Twilio takes no idempotency key): once the request may
have reached it, the text is not sent again; what never reached it is retried. Twilio mocked at
the HTTP boundary (responses), or a local port that refuses connections."""

import socket
from datetime import timedelta

import pytest
import requests
import responses
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from urllib3.exceptions import ProtocolError

from merchants.tests.factories import member_of
from notifications import sending
from notifications.channels import OUTCOME_UNKNOWN
from notifications.models import NotificationStatus
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import deliver
from notifications.tests.test_customer_sms import (  # noqa: F401 - fixtures
    TWILIO,
    sent_form,
    sms,
    texting_merchant,
    twilio,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio", "texting_merchant")]

LATER = timedelta(minutes=10)  # past the lease and any first retry


def _two_rounds() -> tuple[sending.SendReport, sending.SendReport]:
    """A sending round now, and one when a retry (or an abandoned lease) would be due."""
    return notifications_send_due(), notifications_send_due(now=timezone.now() + LATER)


@responses.activate
def test_a_text_whose_answer_timed_out_is_not_sent_again(client, merchant):
    # given: Twilio got the request and its answer is lost; later it would accept anything
    responses.post(TWILIO, body=requests.ReadTimeout("read timed out"))
    deliver(merchant)
    # when
    first, second = _two_rounds()
    # then: Twilio was asked once; the row is failed for good and the console says why
    reason = f"{OUTCOME_UNKNOWN} Twilio: ReadTimeout."
    assert len(responses.calls) == 1
    assert (first.failed, second.claimed) == (1, 0)
    text = sms()
    assert (text.status, text.next_attempt_at, text.last_error, text.handed_over_at) == (
        NotificationStatus.FAILED, None, reason, None)  # fmt: skip
    assert list(text.attempt_log.values_list("succeeded", "error")) == [(False, reason)]
    client.force_login(member_of(merchant, "agent"))
    page = client.get(reverse("console:order", args=[text.order_id])).content.decode()
    assert escape(reason) in page


@responses.activate
def test_a_text_whose_connection_broke_after_sending_is_not_sent_again(merchant):
    # given: the connection is reset while Twilio's answer is awaited
    broken = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    responses.post(TWILIO, body=requests.ConnectionError(broken))
    deliver(merchant)
    # when
    _two_rounds()
    # then
    assert len(responses.calls) == 1
    assert (sms().status, sms().last_error) == (
        NotificationStatus.FAILED, f"{OUTCOME_UNKNOWN} Twilio: ConnectionError.")  # fmt: skip


@responses.activate
def test_a_twilio_500_is_not_sent_again(merchant):
    # given: Twilio failed after perhaps creating the message
    responses.post(TWILIO, status=500, json={"code": 20500, "message": "Internal Server Error"})
    deliver(merchant)
    # when
    _two_rounds()
    # then
    assert len(responses.calls) == 1
    assert (sms().status, sms().last_error) == (
        NotificationStatus.FAILED,
        f"{OUTCOME_UNKNOWN} Twilio answered 500 (20500: Internal Server Error).",
    )


@responses.activate
def test_a_connect_timeout_is_retried_and_sent_once(merchant):
    # given: the first connection to Twilio times out; then Twilio accepts
    responses.post(TWILIO, body=requests.ConnectTimeout("connect timed out"))
    deliver(merchant)
    first = notifications_send_due()
    responses.replace(responses.POST, TWILIO, status=201, json={"sid": "SM8"})
    # when
    second = notifications_send_due(now=timezone.now() + LATER)
    third = notifications_send_due(now=timezone.now() + 2 * LATER)
    # then: one try that reached nobody, one text
    assert (first.retrying, second.sent, third.claimed) == (1, 1, 0)
    assert len(responses.calls) == 2
    text = sms()
    assert (text.status, text.provider_message_id, text.attempts) == (
        NotificationStatus.SENT,
        "SM8",
        2,
    )
    assert list(text.attempt_log.order_by("pk").values_list("succeeded", "error")) == [
        (False, "Twilio unreachable: ConnectTimeout"), (True, "")]  # fmt: skip


def test_a_refused_connection_is_retried(merchant, settings):
    # given: Twilio's address refuses connections (a local port nobody listens on)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"
    deliver(merchant)
    # when
    report = notifications_send_due()
    # then: nothing reached Twilio, so it is tried again later
    text = sms()
    assert (report.retrying, text.status, text.last_error) == (
        1, NotificationStatus.PENDING, "Twilio unreachable: ConnectionError")  # fmt: skip
    assert text.handed_over_at is None and text.next_attempt_at > timezone.now()


@responses.activate
def test_a_text_reclaimed_while_its_worker_was_busy_is_sent_by_one_worker(merchant):
    # given: two texts; Twilio is so slow with the first that its worker's lease runs out,
    # and a second worker claims the rows meanwhile
    deliver(merchant, "1001", "SBXDELIVERED1")
    deliver(merchant, "1002", "SBXDELIVERED2", customer_phone="+1 512 555 0111")
    second_worker = {}

    def slow_twilio(request):
        if "report" not in second_worker:
            second_worker["report"] = None  # its own call to Twilio is answered at once
            second_worker["report"] = notifications_send_due(now=timezone.now() + LATER)
        return 201, {}, '{"sid": "SM9"}'

    responses.add_callback(responses.POST, TWILIO, callback=slow_twilio)
    # when
    first_worker = notifications_send_due()
    # then: each number was texted once; the first worker left the second text to the other
    assert sorted(sent_form(call)["To"] for call in responses.calls) == [
        "+15125550100", "+15125550111"]  # fmt: skip
    assert (first_worker.claimed, first_worker.sent, first_worker.skipped) == (2, 1, 1)
    assert (second_worker["report"].claimed, second_worker["report"].sent) == (2, 1)
    assert [sms(recipient=phone).status for phone in ("+1 (512) 555-0100", "+1 512 555 0111")] == [
        NotificationStatus.SENT, NotificationStatus.SENT]  # fmt: skip
