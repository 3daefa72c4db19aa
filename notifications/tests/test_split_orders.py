"""A split order's customer messages (issue #24 item 7): each names its package and what remains,
and messages of one order about the same status, queued within CUSTOMER_MESSAGE_MERGE_SECONDS,
reach the customer as one. Emails over real SMTP (aiosmtpd), SMS at Twilio's HTTP boundary."""

import email
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from carriers.events import CarrierEvent
from notifications.models import MessageTemplate, Notification, NotificationStatus
from notifications.sending import notifications_send_due
from notifications.services import shipments_status_changed
from notifications.tests.test_customer_sms import TWILIO, sent_form
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

EVENT_TYPES = {"in_transit": "TRANSIT", "delivered": "DELIVERY", "exception": "EXCEPTION"}
WINDOW = 120


@pytest.fixture
def merge_window(settings):
    settings.CUSTOMER_MESSAGE_MERGE_SECONDS = WINDOW
    return timedelta(seconds=WINDOW)


def split_order(merchant, order_id="1001", email_address="Jane@Example.com"):
    """An order in two packages: the mugs first, then the tea towel; everything shipped."""
    create_order(merchant, order_id, customer_email=email_address)
    mugs = ship(merchant, order_id, f"SBX{order_id}MUGS", ("MUG", 2)).instance
    towel = ship(merchant, order_id, f"SBX{order_id}TOWEL", ("TOWEL", 1)).instance
    return mugs, towel


def move(shipment, status: str) -> None:
    """The carrier reports `status` for the shipment, through the tracking app's one path."""
    event = CarrierEvent(occurred_at=timezone.now(), status=status, status_detail=status,
                         event_type=EVENT_TYPES[status], description=status)  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def text(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html(message: email.message.EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def subjects(inbox) -> list[str]:
    return [message["Subject"] for message in inbox.messages]


def test_the_first_of_two_packages_delivered_is_named_and_the_other_said_to_be_on_its_way(
    merchant, inbox
):
    # given
    mugs, towel = split_order(merchant)
    # when: the mugs arrive
    move(mugs, "delivered")
    notifications_send_due()
    # then: package 1 of 2, the other still coming; not the whole order
    (first,) = inbox.messages
    assert first["Subject"] == "Package 1 of 2 of your order 1001 has been delivered"
    assert (
        "Package 1 of 2 of your order 1001 from Fred's Discount City has been delivered. The "
        "other package is still on its way; the tracking page shows where it is."
    ) in " ".join(text(first).split())
    assert "enjoy" not in text(first) and "enjoy" not in html(first)
    # when: the tea towel arrives too
    move(towel, "delivered")
    notifications_send_due()
    # then: now the order has been delivered
    last = inbox.messages[1]
    assert last["Subject"] == "Your order 1001 has been delivered"
    assert "We hope you enjoy it!" in text(last)


def test_three_packages_say_how_many_are_still_on_their_way(merchant, inbox):
    # given: the mugs in two packages and the towel in a third
    create_order(merchant, "1001")
    first = ship(merchant, "1001", "SBX1", ("MUG", 1)).instance
    ship(merchant, "1001", "SBX2", ("MUG", 1))
    ship(merchant, "1001", "SBX3", ("TOWEL", 1))
    # when
    move(first, "delivered")
    notifications_send_due()
    # then
    (message,) = inbox.messages
    assert message["Subject"] == "Package 1 of 3 of your order 1001 has been delivered"
    assert "2 more packages are still on their way; the tracking page shows where they are." in (
        " ".join(text(message).split())
    )


def test_the_only_package_so_far_delivered_says_some_items_have_not_shipped(merchant, inbox):
    # given: the mugs shipped, the tea towel not yet
    create_order(merchant, "1001")
    mugs = ship(merchant, "1001", "SBXMUGS", ("MUG", 2)).instance
    # when
    move(mugs, "delivered")
    notifications_send_due()
    # then
    (message,) = inbox.messages
    body = " ".join(text(message).split())
    assert (
        "The package of your order 1001 from Fred's Discount City has been delivered. Some items "
        "have not shipped yet; we will let you know when they do."
    ) in body
    assert "enjoy" not in body


def test_a_problem_with_the_second_package_names_it(merchant, inbox):
    # given
    _mugs, towel = split_order(merchant)
    # when
    move(towel, "exception")
    notifications_send_due()
    # then
    (message,) = [m for m in inbox.messages if m["To"] == "jane@example.com"]
    assert message["Subject"] == ("An update on the delivery of package 2 of 2 of your order 1001")
    assert "The delivery of package 2 of 2 of your order 1001 has run into a problem." in (
        " ".join(text(message).split())
    )


def test_two_packages_shipped_together_are_told_in_one_email_once_the_window_ends(
    merchant, inbox, merge_window
):
    # given
    mugs, towel = split_order(merchant)
    # when: both reported in transit, one after the other
    move(mugs, "in_transit")
    move(towel, "in_transit")
    early = notifications_send_due()
    # then: nothing yet, while the window lasts
    assert (early.claimed, inbox.envelopes) == (0, [])
    # when: the window has passed
    report = notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then: one email about both packages
    assert report.sent == 1
    (message,) = inbox.messages
    assert message["Subject"] == "2 packages of your order 1001 are on their way"
    assert "2 packages of your order 1001 have shipped and are on their way." in text(message)
    rows = Notification.objects.filter(channel="email").order_by("created_at", "pk")
    assert [(row.shipment_id, row.status) for row in rows] == [
        (mugs.pk, NotificationStatus.SENT), (towel.pk, NotificationStatus.MERGED)
    ]  # fmt: skip
    assert rows[0].payload["package"]["numbers"] == [1, 2]


def test_both_packages_delivered_within_the_window_read_as_the_order_delivered(
    merchant, inbox, merge_window
):
    # given
    mugs, towel = split_order(merchant)
    # when
    move(mugs, "delivered")
    move(towel, "delivered")
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then: one email, the whole order delivered
    (message,) = inbox.messages
    assert message["Subject"] == "Your order 1001 has been delivered"
    assert "We hope you enjoy it!" in text(message)


def test_a_package_after_the_first_message_was_sent_gets_its_own_email(
    merchant, inbox, merge_window
):
    # given: the mugs' message sent once its window passed
    mugs, towel = split_order(merchant)
    move(mugs, "in_transit")
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # when: the tea towel ships later
    move(towel, "in_transit")
    notifications_send_due(now=timezone.now() + 2 * merge_window + timedelta(seconds=1))
    # then: two emails, each naming its package
    assert subjects(inbox) == [
        "Package 1 of 2 of your order 1001 is on its way",
        "Package 2 of 2 of your order 1001 is on its way",
    ]


def test_the_same_status_told_again_is_not_merged_twice(merchant, inbox, merge_window):
    # given: the mugs' message waiting
    mugs, towel = split_order(merchant)
    move(mugs, "in_transit")
    move(towel, "in_transit")
    # when: the towel's move is handed over again (a replay: the same cause)
    shipments_status_changed(
        merchant=merchant, changes=[(towel, "pre_transit")],
        context=lambda _shipments: {towel.pk: {"tracking": {}, "trackingPage": ""}},
    )  # fmt: skip
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then: still two packages, one email
    assert subjects(inbox) == ["2 packages of your order 1001 are on their way"]
    assert Notification.objects.filter(channel="email").count() == 2


def test_another_orders_messages_are_never_merged(merchant, other_merchant, inbox, merge_window):
    # given: two orders of the same customer, and another merchant's order with the same number
    first_order = split_order(merchant, "1001")
    second_order = split_order(merchant, "1002")
    elsewhere = split_order(other_merchant, "1001")
    # when: a package of each ships at the same time
    for mugs, _towel in (first_order, second_order, elsewhere):
        move(mugs, "in_transit")
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then: one email per order, each about its own
    assert sorted(subjects(inbox)) == [
        "Package 1 of 2 of your order 1001 is on its way",
        "Package 1 of 2 of your order 1001 is on its way",
        "Package 1 of 2 of your order 1002 is on its way",
    ]
    merged = Notification.objects.filter(status=NotificationStatus.MERGED)
    assert not merged.exists()
    assert {row.merchant_id for row in Notification.objects.filter(channel="email")} == {
        merchant.pk, other_merchant.pk
    }  # fmt: skip


def test_staff_alerts_are_neither_delayed_nor_merged(merchant, inbox, merge_window):
    # given
    merchant.alert_emails = "ops@fred.example"
    merchant.save()
    mugs, towel = split_order(merchant)
    # when: both packages run into a problem
    move(mugs, "exception")
    move(towel, "exception")
    notifications_send_due()
    # then: staff hear of each at once; the customer once the window ends, in one email
    assert [m["To"] for m in inbox.messages] == ["ops@fred.example", "ops@fred.example"]
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    customer = [m["Subject"] for m in inbox.messages if m["To"] == "jane@example.com"]
    assert customer == ["An update on the delivery of 2 packages of your order 1001"]


def test_a_merchant_template_still_words_a_split_orders_message(merchant, inbox):
    # given
    MessageTemplate.objects.create(merchant=merchant, channel="email", trigger="delivered",
                                   subject="{merchant}: {order_id} is {status}",
                                   body="Hi {customer_name}")  # fmt: skip
    mugs, _towel = split_order(merchant)
    # when
    move(mugs, "delivered")
    notifications_send_due()
    # then
    (message,) = inbox.messages
    assert message["Subject"] == "Fred's Discount City: 1001 is Delivered"


@pytest.fixture
def texting(merchant, settings):
    settings.TWILIO_API_BASE_URL = "https://api.twilio.test"
    settings.TWILIO_ACCOUNT_SID = "AC0123456789abcdef"
    settings.TWILIO_AUTH_TOKEN = "token-for-tests"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    merchant.sms_notifications_enabled, merchant.email_notifications_enabled = True, False
    merchant.save()
    return merchant


@responses.activate
def test_a_text_names_the_package_delivered_while_the_other_is_still_coming(texting, merge_window):
    # given
    responses.post(TWILIO, status=201, json={"sid": "SM1"})
    mugs, _towel = split_order(texting)
    # when
    move(mugs, "delivered")
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then
    (call,) = responses.calls
    link = Notification.objects.get(channel="sms").payload["trackingPage"]
    assert sent_form(call)["Body"] == (
        "Fred's Discount City: package 1 of 2 of your order 1001 has been delivered, the rest is "
        f"still to come. Details: {link}"
    )


@responses.activate
def test_two_packages_in_transit_together_are_one_text(texting, merge_window):
    # given
    responses.post(TWILIO, status=201, json={"sid": "SM1"})
    mugs, towel = split_order(texting)
    # when
    move(mugs, "in_transit")
    move(towel, "in_transit")
    notifications_send_due()
    assert not responses.calls  # the window is not over
    notifications_send_due(now=timezone.now() + merge_window + timedelta(seconds=1))
    # then
    (call,) = responses.calls
    link = Notification.objects.get(channel="sms", status=NotificationStatus.SENT).payload[
        "trackingPage"
    ]
    assert sent_form(call)["Body"] == (
        f"Fred's Discount City: 2 packages of your order 1001 are on their way. Track them: {link}"
    )
