"""Emails in from a merchant's mailbox: imapclient against a local IMAP4rev1 server over a real
socket (imap_server.py), through the schedule's task. An email is flagged \\Seen only after its
outcome is committed; nothing is read twice; the customer hears of what the email started."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from inbound.models import InboundMessage
from inbound.services import inbound_message
from ingest.channels.email_in import email_route
from ingest.channels.email_reading import message_key
from ingest.models import EmailSource
from ingest.tasks import poll_mailboxes
from ingest.tests.email_samples import USPS_NUMBER, create_email_source, order_email, sample
from ingest.tests.imap_server import ImapServer, Mailbox
from notifications.sending import notifications_send_due
from notifications.tests.conftest import inbox, smtp_server, smtp_settings  # noqa: F401 - fixtures
from orders.models import Shipment
from orders.tests.factories import create_order
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def mailbox():
    box = Mailbox()
    server = ImapServer(box).start()
    box.port = server.port
    yield box
    server.stop()


@pytest.fixture
def source(merchant, mailbox, settings) -> EmailSource:
    # The local server listens on loopback: the SSRF guard's development allowance.
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CARRIER_CREDENTIALS = {
        **settings.CARRIER_CREDENTIALS,
        "usps": {**settings.CARRIER_CREDENTIALS["usps"], "client_id": "id", "secret": "s"},
    }
    return create_email_source(
        merchant, imap_host="127.0.0.1", imap_port=mailbox.port, imap_use_tls=False,
        imap_username=mailbox.username, imap_password=mailbox.password,
    )  # fmt: skip


def _fetches_and_flags(mailbox: Mailbox) -> list[str]:
    return [c for c in mailbox.commands if c.startswith(("UID FETCH", "UID STORE"))]


def test_the_first_reading_takes_the_unseen_emails_and_flags_each_after_its_commit(
    merchant, mailbox, source
):
    # given: an email the merchant read long ago, then three new ones
    create_order(merchant, "1001")
    mailbox.append(b"Subject: last year's newsletter\r\n\r\nHello", seen=True)
    mailbox.append(sample("usps_out_for_delivery"))
    mailbox.append(order_email("1001"))
    mailbox.append(sample("fedex_out_for_delivery"))  # no valid number in it
    # when
    read = poll_mailboxes()
    # then: each new email read once, flagged \Seen only after it was fetched and handled
    assert read == "3"
    assert _fetches_and_flags(mailbox) == [
        "UID FETCH 2 (BODY.PEEK[])", "UID STORE 2 +FLAGS (\\Seen)",
        "UID FETCH 3 (BODY.PEEK[])", "UID STORE 3 +FLAGS (\\Seen)",
        "UID FETCH 4 (BODY.PEEK[])", "UID STORE 4 +FLAGS (\\Seen)",
    ]  # fmt: skip
    assert mailbox.seen_uids() == [1, 2, 3, 4]
    outcomes = InboundMessage.objects.order_by("id").values_list("outcome", "error_code", "source")
    assert list(outcomes) == [
        ("accepted", "", "IMAP orders@fred.example@127.0.0.1/INBOX UID 2"),
        ("accepted", "", "IMAP orders@fred.example@127.0.0.1/INBOX UID 3"),
        ("rejected", "NO_TRACKING_NUMBER", "IMAP orders@fred.example@127.0.0.1/INBOX UID 4"),
    ]
    shipments = Shipment.objects.order_by("tracking_number")
    assert [(s.tracking_number, s.order and s.order.order_id) for s in shipments] == [
        ("1Z1202R66698804005", "1001"), (USPS_NUMBER, None),
    ]  # fmt: skip
    source.refresh_from_db()
    assert (source.imap_last_uid, source.imap_uid_validity, source.last_error) == (
        4, mailbox.uid_validity, "",
    )  # fmt: skip


def test_the_next_reading_takes_only_what_arrived_since_and_a_repeat_changes_nothing(
    merchant, mailbox, source
):
    # given: one reading done
    mailbox.append(sample("usps_out_for_delivery"))
    poll_mailboxes()
    # when: nothing new, then the same email delivered to the mailbox again
    assert poll_mailboxes() == "0"
    mailbox.append(sample("usps_out_for_delivery"))
    second = poll_mailboxes()
    # then: the copy is read (and flagged) but answers as the first did: still one row, one shipment
    assert second == "1"
    assert "UID SEARCH UID 2:*" in mailbox.commands
    assert mailbox.seen_uids() == [1, 2]
    assert InboundMessage.objects.count() == 1
    assert Shipment.objects.get().tracking_number == USPS_NUMBER


def test_an_email_not_settled_stays_unseen_and_is_read_next_minute(merchant, mailbox, source):
    # given: the same email reached us by forwarding a moment ago and is still being applied
    raw = sample("usps_out_for_delivery")
    in_flight = inbound_message(
        merchant=merchant, channel="email", path=email_route(source), body=raw,
        content_type="message/rfc822", idempotency_key=message_key(raw),
    )  # fmt: skip
    in_flight.save()
    mailbox.append(raw)
    # when
    first = poll_mailboxes()
    # then: not flagged, not remembered
    source.refresh_from_db()
    assert (first, mailbox.seen_uids(), source.imap_last_uid) == ("0", [], 0)
    # when: the forwarded copy was answered meanwhile, and the next minute comes
    InboundMessage.objects.filter(pk=in_flight.pk).update(
        outcome="rejected", response_status=404, response_body='{"success": false, "error": {}}'
    )
    second = poll_mailboxes()
    # then: it is ours now: flagged, remembered, and logged once
    source.refresh_from_db()
    assert (second, mailbox.seen_uids(), source.imap_last_uid) == ("1", [1], 1)
    assert InboundMessage.objects.count() == 1


def test_a_renumbered_folder_is_read_again_from_its_unseen_emails(merchant, mailbox, source):
    # given
    mailbox.append(sample("usps_out_for_delivery"))
    poll_mailboxes()
    # when: the server rebuilt the folder (new UIDVALIDITY) and a new email came
    mailbox.uid_validity += 1
    mailbox.append(order_email("1001", "SBXDELIVERED1"))
    poll_mailboxes()
    # then
    source.refresh_from_db()
    assert (source.imap_uid_validity, source.imap_last_uid) == (mailbox.uid_validity, 2)
    assert InboundMessage.objects.count() == 2


def test_a_wrong_password_is_said_without_the_password(mailbox, source):
    # given
    mailbox.append(sample("usps_out_for_delivery"))
    source.imap_password = "wrong-secret"
    source.save()
    # when
    assert poll_mailboxes() == "0"
    # then
    source.refresh_from_db()
    assert source.last_error.startswith("Login to 127.0.0.1 failed:")
    assert "wrong-secret" not in source.last_error
    assert mailbox.seen_uids() == [] and not InboundMessage.objects.exists()


def test_a_mailbox_on_a_private_address_is_never_connected_to(mailbox, source, settings):
    # given: production (no development allowance)
    settings.DEBUG = False
    mailbox.append(sample("usps_out_for_delivery"))
    # when
    poll_mailboxes()
    # then
    source.refresh_from_db()
    assert source.last_error.startswith("Refused to connect to 127.0.0.1:")
    assert mailbox.commands == []


def test_the_admin_refuses_a_mailbox_host_on_the_metadata_address(staff_client, merchant):
    # when
    answer = staff_client.post(reverse("admin:ingest_emailsource_add"), {
        "merchant": merchant.pk, "name": "mailbox", "is_active": "on", "order_pattern": "(\\d+)",
        "imap_host": "169.254.169.254", "imap_port": 993, "imap_use_tls": "on",
        "imap_username": "orders", "imap_password": "secret", "imap_folder": "INBOX",
    })  # fmt: skip
    # then
    assert answer.status_code == 200  # the form again, with the error
    assert not EmailSource.objects.exists()
    assert "169.254.169.254" in answer.content.decode()


def test_the_customer_is_told_as_for_any_polled_update(merchant, mailbox, source, inbox):  # noqa: F811
    # given: the store's email names order 1001 and a parcel the carrier will report a problem on
    with time_machine.travel(T0, tick=False):
        create_order(merchant, "1001")
        mailbox.append(order_email("1001", "SBXEXCEPTION1"))
        poll_mailboxes()
    # when: the poller asks the carrier later, and the outbox is sent
    later = T0 + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        poll_due_shipments(now=later)
        report = notifications_send_due(now=later)
    # then: the customer got one email, over SMTP, about order 1001
    assert Shipment.objects.get().status == "exception"
    assert report.sent == 1
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [["jane@example.com"]]
    assert "1001" in inbox.messages[0]["Subject"]
