"""Emails in over SMTP: a real aiosmtpd listener running our handler on 127.0.0.1, fed by
smtplib with the carriers' real emails and a merchant's own shipping confirmation. Every email
accepted at DATA is in the inbound log, applied or rejected with its reason; an unknown
recipient is refused before DATA."""

import smtplib

import pytest
from django.urls import reverse

from inbound.models import InboundMessage
from ingest.channels.email_reading import email_read, order_ids_find, tracking_numbers_find
from ingest.channels.smtp import smtp_listener
from ingest.models import DEFAULT_ORDER_PATTERN
from ingest.replay import inbound_replay
from ingest.tests.email_samples import (
    UPS_NUMBER,
    USPS_NUMBER,
    create_email_source,
    order_email,
    sample,
    smtp_send,
    ups_email,
)
from merchants.tests.factories import member_of
from notifications.tests.smtp import free_port
from orders.models import Shipment, ShipmentItem
from orders.tests.factories import create_order

pytestmark = pytest.mark.django_db(transaction=True)  # the listener's thread commits


@pytest.fixture
def listener(settings):
    settings.INBOUND_EMAIL_DOMAIN = "in.flextracker.test"
    settings.INBOUND_EMAIL_MAX_BYTES = 200_000
    controller = smtp_listener("127.0.0.1", free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
def usps_tracked(settings):
    """USPS can be polled with the platform's credentials (none are asked in these tests)."""
    settings.CARRIER_CREDENTIALS = {
        **settings.CARRIER_CREDENTIALS,
        "usps": {**settings.CARRIER_CREDENTIALS["usps"], "client_id": "id", "secret": "s"},
    }


def _lines(raw: bytes) -> list[bytes]:
    """The email's lines, as SMTP carries them (CRLF, a last line end added)."""
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")


def _numbers(raw: bytes) -> list[tuple[str, str]]:
    return [(found.number, found.carrier) for found in tracking_numbers_find(email_read(raw))]


# --- Reading: MIME, check digits, order references ---------------------------------------------


def test_the_usps_email_yields_its_valid_number_and_not_the_altered_one_in_its_links():
    # given: an encoded-word subject, quoted-printable soft breaks inside the number, and links
    # holding 92123456508577307776690000, whose check digit fails
    raw = sample("usps_out_for_delivery")
    # when / then
    assert _numbers(raw) == [(USPS_NUMBER, "usps")]
    assert email_read(raw).subject.startswith("USPS® Expected Delivery on Wednesday")


def test_numbers_that_fail_their_check_digit_are_not_tracking_numbers():
    # the fixtures' authors altered UPS's and FedEx's numbers; Amazon UK's is Amazon Logistics'
    for name in ("ups_out_for_delivery", "fedex_out_for_delivery", "amazon_uk_shipped",
                 "amazon_shipped"):  # fmt: skip
        assert _numbers(sample(name)) == [], name


def test_a_valid_ups_number_is_found_behind_a_non_breaking_space_once():
    assert _numbers(ups_email()) == [(UPS_NUMBER, "ups")]


def test_the_default_order_rule_reads_amazons_order_number_and_not_words():
    found = order_ids_find(
        email_read(sample("amazon_shipped")), header="", pattern=DEFAULT_ORDER_PATTERN
    )
    assert found[0] == "123-1234567-1234567"
    assert all(any(char.isdigit() for char in order_id) for order_id in found)


def test_a_header_rule_wins_over_the_pattern():
    raw = b"X-Order-Id: A-77\r\n" + order_email("1001")
    assert order_ids_find(email_read(raw), header="X-Order-Id", pattern=DEFAULT_ORDER_PATTERN) == [
        "A-77"
    ]


# --- Over SMTP -----------------------------------------------------------------------------------


def test_a_shipping_confirmation_becomes_the_orders_shipment_once(merchant, listener):
    # given
    create_order(merchant, "1001")
    source = create_email_source(merchant)
    # when: the store's email is forwarded to the source's address, twice (a retried relay)
    smtp_send(listener, order_email("1001"), source.address)
    smtp_send(listener, order_email("1001"), source.address)
    # then: one shipment with the items awaiting shipment, one log row, accepted
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.order.order_id, shipment.tracking_number, shipment.carrier) == (
        "1001", UPS_NUMBER, "ups",
    )  # fmt: skip
    items = ShipmentItem.objects.filter(shipment=shipment).order_by("line_item__item_id")
    assert [(item.line_item.item_id, item.quantity) for item in items] == [
        ("MUG", 2), ("TOWEL", 1),
    ]  # fmt: skip
    (logged,) = InboundMessage.objects.filter(merchant=merchant)
    assert (logged.channel, logged.outcome, logged.order_ref) == ("email", "accepted", "1001")
    assert logged.idempotency_key == "email:<shipped-1001@freds.example>"
    assert bytes(logged.body) == order_email("1001")  # the RFC 822 bytes, kept as sent
    assert logged.response()["data"]["shipments"][0]["trackingNumber"] == UPS_NUMBER


def test_the_carriers_later_email_about_the_same_parcel_changes_nothing(merchant, listener):
    # given: the order shipped by the store's email
    create_order(merchant, "1001")
    source = create_email_source(merchant)
    smtp_send(listener, order_email("1001"), source.address)
    # when: UPS's own "out for delivery" email about the parcel (no order number in it)
    smtp_send(listener, ups_email(), source.address)
    # then: still the one shipment, on the order
    assert list(Shipment.objects.values_list("order__order_id", "tracking_number")) == [
        ("1001", UPS_NUMBER)
    ]
    assert InboundMessage.objects.filter(outcome="accepted").count() == 2


def test_a_number_without_an_order_is_followed_as_track_any_number_does(
    merchant, listener, usps_tracked
):
    # given
    source = create_email_source(merchant)
    # when: USPS's email, which names no order, arrives twice
    smtp_send(listener, sample("usps_out_for_delivery"), source.address)
    smtp_send(listener, sample("usps_out_for_delivery"), source.address)
    # then: one shipment without an order, due for its first poll
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.order, shipment.tracking_number, shipment.carrier) == (
        None, USPS_NUMBER, "usps",
    )  # fmt: skip
    assert shipment.next_check_at is not None
    (logged,) = InboundMessage.objects.all()
    assert logged.outcome == "accepted"
    assert logged.idempotency_key.startswith("email-sha256:")  # the sample has no Message-ID
    assert logged.response()["warnings"][0]["code"] == "ORDER_NOT_MATCHED"


def test_an_email_without_a_valid_number_is_kept_rejected_with_its_reason(
    merchant, listener, staff_client
):
    # given
    source = create_email_source(merchant)
    # when: FedEx's email, whose number fails its check digit
    smtp_send(listener, sample("fedex_out_for_delivery"), source.address)
    # then: accepted at SMTP (it is ours now), logged as rejected, visible in the console
    (logged,) = InboundMessage.objects.all()
    assert (logged.outcome, logged.error_code) == ("rejected", "NO_TRACKING_NUMBER")
    assert _lines(bytes(logged.body)) == _lines(sample("fedex_out_for_delivery"))
    assert not Shipment.objects.exists()
    page = staff_client.get(reverse("admin:inbound_inboundmessage_change", args=[logged.pk]))
    assert "No tracking number with a valid check digit was found" in page.content.decode()
    # and the source's "received" link lists it
    listing = staff_client.get(reverse("admin:inbound_inboundmessage_changelist"),
                               {"path": f"email:{source.pk}"})  # fmt: skip
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    another = staff_client.get(reverse("admin:inbound_inboundmessage_changelist"),
                               {"path": "email:0"})  # fmt: skip
    assert another.context["cl"].result_count == 0


def test_garbage_is_kept_rejected_as_unreadable(merchant, listener):
    source = create_email_source(merchant)
    smtp_send(listener, b"\x00\x01\x02 binary noise \xff\xfe", source.address)
    (logged,) = InboundMessage.objects.all()
    assert (logged.outcome, logged.error_code) == ("rejected", "UNREADABLE_EMAIL")


def test_a_sender_not_accepted_is_rejected_and_replays_once_the_rule_is_fixed(merchant, listener):
    # given: the source takes emails from UPS only
    create_order(merchant, "1001")
    source = create_email_source(merchant, accepted_senders="@ups.com")
    # when
    smtp_send(listener, order_email("1001"), source.address)
    # then
    logged = InboundMessage.objects.get()
    assert (logged.outcome, logged.error_code) == ("rejected", "SENDER_NOT_ACCEPTED")
    assert not Shipment.objects.exists()
    # when: the merchant adds its store's address, and staff replay the email
    source.accepted_senders = "@ups.com\nshop@freds.example"
    source.save()
    inbound_replay(logged)
    # then
    logged.refresh_from_db()
    assert logged.outcome == "accepted"
    assert Shipment.objects.get().order.order_id == "1001"


def test_an_unknown_recipient_is_refused_before_data(merchant, listener):
    # given
    create_email_source(merchant, is_active=False, name="old")
    inactive = merchant.email_sources.get().address
    # when / then: 550 at RCPT, for a stranger's address and for a deactivated source's
    for address in ("nobody@in.flextracker.test", inactive, "x@elsewhere.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp_send(listener, order_email("1001"), address)
        assert refused.value.recipients[address][0] == 550
    assert not InboundMessage.objects.exists()


def test_an_email_over_the_size_limit_is_refused(merchant, listener):
    source = create_email_source(merchant)
    huge = order_email("1001") + b"\r\n" + b"x" * 250_000
    # smtplib announces the size (the listener advertises SIZE), so it is refused at MAIL FROM
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp_send(listener, huge, source.address)
    assert refused.value.smtp_code == 552
    assert not InboundMessage.objects.exists()


def test_one_merchants_address_never_touches_another_merchants_orders(
    merchant, other_merchant, listener
):
    # given: both have an order 1001; the email goes to the other merchant's address
    create_order(merchant, "1001")
    create_order(other_merchant, "1001")
    theirs = create_email_source(other_merchant)
    # when
    smtp_send(listener, order_email("1001"), theirs.address)
    # then
    assert list(Shipment.objects.values_list("merchant__merchant_id", flat=True)) == [
        other_merchant.merchant_id
    ]
    assert not InboundMessage.objects.filter(merchant=merchant).exists()


# --- The console ---------------------------------------------------------------------------------


def test_a_merchant_admin_sees_only_its_own_email_sources_and_never_the_password(
    client, merchant, other_merchant
):
    # given
    mine = create_email_source(merchant, imap_host="imap.freds.example",
                               imap_username="orders", imap_password="mailbox-secret")  # fmt: skip
    theirs = create_email_source(other_merchant, name="theirs")
    client.force_login(member_of(merchant, "admin"))
    # when
    listing = client.get(reverse("admin:ingest_emailsource_changelist")).content.decode()
    page = client.get(reverse("admin:ingest_emailsource_change", args=[mine.pk]))
    other = client.get(reverse("admin:ingest_emailsource_change", args=[theirs.pk]))
    # then
    assert mine.address in listing and theirs.address not in listing
    assert mine.address in page.content.decode()
    assert "mailbox-secret" not in page.content.decode()
    assert other.status_code == 302  # Django's "does not exist" redirect, nothing shown
