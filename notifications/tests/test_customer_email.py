"""Customer email, sent for real over SMTP to a local server that each test starts (aiosmtpd)."""

import email
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from carriers.events import CarrierEvent
from merchants.services import notification_rules_set
from merchants.tests.factories import member_of
from notifications.models import MessageTemplate, Notification, NotificationStatus
from notifications.sending import notifications_send_due
from notifications.unsubscribe import unsubscribe_token
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db


def body(message: email.message.EmailMessage, subtype: str) -> str:
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


def deliver(merchant, order_id="1001", number="SBXDELIVERED1", item=("MUG", 1), **order_fields):
    """An order shipped and then delivered, through the tracking app's one path."""
    if not merchant.orders.filter(order_id=order_id).exists():
        create_order(merchant, order_id, **order_fields)
    shipment = ship(merchant, order_id, number, item).instance
    event = CarrierEvent(occurred_at=timezone.now(), status="delivered", status_detail="delivered",
                         event_type="DELIVERY", description="Delivered")  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")
    return shipment


def customer_email(**filters) -> Notification:
    return Notification.objects.get(channel="email", **filters)


def test_a_delivered_shipment_emails_the_customer_once_in_the_orders_language(merchant, inbox):
    # given
    merchant.support_email = "help@freds.example"
    merchant.save()
    shipment = deliver(merchant, locale="es-MX")
    # when
    report = notifications_send_due()
    # then: one message, to the customer, in Spanish, with the link, the item and both parts
    assert report.sent == 1
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [["jane@example.com"]]
    (message,) = inbox.messages
    assert message["Subject"] == "Tu pedido 1001 ha sido entregado"
    assert message["From"] == "Fred's Discount City <no-reply@flextracker.local>"
    assert message["Reply-To"] == "help@freds.example"
    link = Notification.objects.get(channel="email").payload["trackingPage"]
    assert link.startswith(f"{settings.PUBLIC_BASE_URL}/orders/FDC-01-12345/1001?t=")
    text = body(message, "plain")
    html = body(message, "html")
    assert "Hola, Jane Doe:" in text and "1 × Blue mug" in text and link in text
    assert "En este paquete" in html and "1 × Blue mug" in html
    assert f'href="{link.replace("&", "&amp;")}"' in html and "Seguir mi pedido" in html
    unsubscribe = f"{settings.PUBLIC_BASE_URL}/unsubscribe/{unsubscribe_token(shipment.order_id)}"
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"  # may be folded
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and f'href="{unsubscribe}"' in html
    notification = customer_email()
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == message["Message-ID"]


def test_a_mailbox_for_unsubscribe_mails_is_offered_only_when_configured(merchant, inbox, settings):
    # given
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@flextracker.example"
    shipment = deliver(merchant)
    # when
    notifications_send_due()
    # then
    (message,) = inbox.messages
    link = f"{settings.PUBLIC_BASE_URL}/unsubscribe/{unsubscribe_token(shipment.order_id)}"
    assert message["List-Unsubscribe"].strip() == (
        f"<{link}>, <mailto:unsubscribe@flextracker.example?subject=unsubscribe>"
    )
    assert message["Reply-To"] is None  # the merchant has no support address


def test_while_the_mail_server_is_down_the_email_waits_and_is_sent_once_later(
    merchant, smtp_server
):
    # given: nothing listens on the port yet
    deliver(merchant)
    # when
    first = notifications_send_due()
    # then: kept for later, with the reason
    notification = customer_email()
    assert first.retrying == 1
    assert notification.status == NotificationStatus.PENDING
    assert notification.next_attempt_at > timezone.now() + timedelta(seconds=40)
    assert "unreachable" in notification.last_error
    # when: the server is back, and the sweep runs again (twice)
    inbox = smtp_server.start()
    later = timezone.now() + timedelta(minutes=3)
    notifications_send_due(now=later)
    notifications_send_due(now=later + timedelta(minutes=1))
    # then: exactly one message
    assert len(inbox.envelopes) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)


def test_a_status_the_merchant_did_not_choose_sends_nothing(merchant, inbox):
    # given
    notification_rules_set(merchant=merchant, channel="email", triggers=["out_for_delivery"])
    # when
    deliver(merchant)
    report = notifications_send_due()
    # then
    assert not Notification.objects.filter(channel="email").exists()
    assert (report.sent, inbox.envelopes) == (0, [])


def test_merchant_or_customer_text_cannot_add_a_header(merchant, inbox):
    # given: line breaks in every text that reaches a header
    merchant.name = "Evil\r\nBcc: x@y"
    merchant.support_email = "help@example.com\r\nBcc: z@y"
    merchant.save()
    MessageTemplate.objects.create(
        merchant=merchant, channel="email", trigger="delivered",
        subject="Hi {customer_name}\nCc: {merchant}", body="Hello <b>{customer_name}</b>",
    )  # fmt: skip
    deliver(merchant, customer_name="Jane\r\nBcc: a@b")
    # when
    report = notifications_send_due()
    # then: sent to the customer alone, with no Bcc/Cc and no Reply-To
    assert report.sent == 1
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["jane@example.com"]
    (message,) = inbox.messages
    assert (message["Bcc"], message["Cc"], message["Reply-To"]) == (None, None, None)
    assert message["Subject"] == "Hi Jane Bcc: a@b Cc: Evil Bcc: x@y"
    assert message["From"] == '"Evil Bcc: xy" <no-reply@flextracker.local>'
    html = body(message, "html")
    assert "Hello &lt;b&gt;Jane<br>Bcc: a@b&lt;/b&gt;" in html  # escaped, not markup


def test_a_merchant_template_replaces_placeholders_without_reaching_attributes(merchant, inbox):
    # given: paragraphs as a browser posts them (CRLF), and names that are not ours
    MessageTemplate.objects.create(
        merchant=merchant, channel="email", trigger="delivered",
        subject="{merchant}: {order_id} is {status}",
        body="Hi {customer_name},\r\n\r\n{carrier} {tracking_number}: {items}.\n \n"
             "{order_id.__class__} {unknown}",
    )  # fmt: skip
    deliver(merchant)
    # when
    notifications_send_due()
    # then
    (message,) = inbox.messages
    assert message["Subject"] == "Fred's Discount City: 1001 is Delivered"
    text = body(message, "plain")
    assert text.startswith(
        "Hi Jane Doe,\n\nSandbox (simulated) SBXDELIVERED1: 1 × Blue mug.\n\n"
        "{order_id.__class__} {unknown}\n\n"
    )


def test_no_more_than_the_daily_cap_of_emails_reaches_one_address(merchant, inbox, settings):
    # given: two packages of the same order delivered on one day, and a cap of one
    settings.EMAIL_DAILY_CAP_PER_RECIPIENT = 1
    deliver(merchant, number="SBXDELIVERED1", item=("MUG", 1))
    deliver(merchant, number="SBXDELIVERED2", item=("TOWEL", 1))
    # when
    report = notifications_send_due()
    # then
    assert (report.sent, report.failed, len(inbox.envelopes)) == (1, 1, 1)
    refused = customer_email(status=NotificationStatus.FAILED)
    assert refused.last_error == "Daily limit of 1 email messages to this recipient reached."


def test_a_recipient_the_server_refuses_for_good_is_not_retried(merchant, inbox):
    # given
    inbox.refuse = "550 5.1.1 No such user"
    deliver(merchant)
    # when
    report = notifications_send_due()
    # then
    notification = customer_email()
    assert report.failed == 1
    assert (notification.status, notification.next_attempt_at) == (NotificationStatus.FAILED, None)
    assert "550" in notification.last_error
    assert inbox.envelopes == []


# --- The console: merchants word their own messages and preview them -----------------------


def test_the_console_previews_a_template_as_the_customer_would_see_it(staff_client, merchant):
    # given
    client = staff_client
    template = MessageTemplate.objects.create(
        merchant=merchant, channel="email", trigger="delivered",
        subject="Here at last, {customer_name}", body="<script>alert(1)</script> {items}",
    )  # fmt: skip
    # when
    response = client.get(reverse("admin:notifications_messagetemplate_change", args=[template.pk]))
    # then: the subject, the text and the HTML in a sandboxed frame, all escaped
    html = response.content.decode()
    assert response.status_code == 200
    assert "Here at last, Jane Doe" in html
    assert "<script>alert(1)</script>" not in html
    assert '<iframe title="Email preview" sandbox srcdoc="&lt;!doctype html&gt;' in html
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; 2 × Blue mug" in html
    assert "{customer_name} {merchant} {order_id}" in html  # the placeholder help


def test_a_merchant_admin_words_their_messages_but_not_another_merchants(
    client, merchant, other_merchant
):
    # given
    client.force_login(member_of(merchant, "admin"))
    theirs = MessageTemplate.objects.create(
        merchant=other_merchant, channel="email", trigger="delivered", body="Secret wording"
    )
    # when
    created = client.post(
        reverse("admin:notifications_messagetemplate_add"),
        {"merchant": merchant.pk, "channel": "sms", "trigger": "delivered",
         "body": "{merchant}: delivered! {tracking_link}"},
    )  # fmt: skip
    forged = client.post(
        reverse("admin:notifications_messagetemplate_add"),
        {"merchant": other_merchant.pk, "channel": "sms", "trigger": "delivered", "body": "x"},
    )  # fmt: skip
    opened = client.get(
        reverse("admin:notifications_messagetemplate_change", args=[theirs.pk]), follow=True
    )
    # then
    assert created.status_code == 302
    assert MessageTemplate.objects.filter(merchant=merchant, channel="sms").count() == 1
    assert forged.status_code == 200  # re-shown with an error
    assert not MessageTemplate.objects.filter(merchant=other_merchant, channel="sms").exists()
    assert "doesn’t exist" in opened.content.decode()
    assert "Secret wording" not in opened.content.decode()
