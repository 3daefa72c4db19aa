"""Issue 25: the customer hears of each return step by email, sent over real SMTP to a local
server (aiosmtpd), in the order's language."""

import email

import pytest

from merchants.models import NotificationRule, ReturnPolicy, ReturnReason
from merchants.services import RETURN_EMAIL_TRIGGERS, return_policy_save
from notifications.sending import notifications_send_due
from orders.services.returns import (
    ReturnItemInput,
    return_request_approve,
    return_request_create,
    return_request_label,
    return_request_refuse,
)
from orders.tests.returns import deliver, delivered_order

pytestmark = pytest.mark.django_db


def _text(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _returns_on(merchant, **fields) -> ReturnPolicy:
    policy = return_policy_save(policy=ReturnPolicy(
        merchant=merchant, is_enabled=True, shipping_instructions="Drop it at any post office.",
        **fields,
    ))  # fmt: skip
    ReturnReason.objects.create(policy=policy, code="damaged",
                                labels={"en": "Arrived damaged", "fr": "Arrivé abîmé"})  # fmt: skip
    return policy


def _delivered(merchant, inbox, **order):
    """Order 1001 delivered, its delivery's own emails already sent and read."""
    order = delivered_order(merchant, **order)
    notifications_send_due()
    inbox.envelopes.clear()
    return order


def _ask(order, **kw):
    return return_request_create(order=order, items=[ReturnItemInput("MUG", 1)],
                                 reason="damaged", **kw)  # fmt: skip


def _sent(inbox) -> list[email.message.EmailMessage]:
    notifications_send_due()
    return inbox.messages


def test_turning_returns_on_ticks_the_customer_emails_of_every_step(merchant):
    # when
    policy = _returns_on(merchant)
    NotificationRule.objects.filter(trigger="return_received").delete()  # the merchant unticks
    policy.window_days = 14
    return_policy_save(policy=policy)
    # then: ticked once, and a later save does not tick again what the merchant unticked
    rules = merchant.notification_rules.filter(trigger__in=RETURN_EMAIL_TRIGGERS)
    assert sorted(rules.values_list("channel", "trigger")) == [
        ("email", "return_approved"), ("email", "return_label_ready"),
        ("email", "return_refused"), ("email", "return_requested"),
    ]  # fmt: skip


def test_each_step_of_a_return_reaches_the_customers_mailbox(merchant, inbox):
    # given
    _returns_on(merchant, exchange_allowed=True)
    order = _delivered(merchant, inbox)
    # when the customer asks
    request = _ask(order, exchange_variant="Large mug")
    (asked,) = _sent(inbox)
    # then
    assert asked["To"] == "jane@example.com"
    assert asked["Subject"] == "We have your return request for order 1001"
    text = _text(asked)
    assert "Fred's Discount City will look at it" in text
    assert "1 × Blue mug" in text and "You asked to exchange them for: Large mug" in text
    assert "/orders/FDC-01-12345/1001?t=" in text
    # when the merchant approves, then gives the label and the tracking number
    request = return_request_approve(return_request=request, message="Thanks for telling us")
    request = return_request_label(
        return_request=request, tracking_number="SBXDELIVERED0555", carrier="sandbox",
        label_url="https://labels.example/555.pdf",
    )  # fmt: skip
    approved, label = _sent(inbox)[1:]
    assert approved["Subject"] == "Your return for order 1001 is approved"
    assert "Fred's Discount City says: Thanks for telling us" in _text(approved)
    assert "Drop it at any post office." in _text(approved)
    assert label["Subject"] == "Your return for order 1001 is ready to send"
    assert "Print your return label: https://labels.example/555.pdf" in _text(label)
    assert "Return tracking number: SBXDELIVERED0555" in _text(label)
    # when the parcel is delivered back to the merchant
    deliver(request.shipment)
    received = _sent(inbox)[3]
    assert received["Subject"] == "Fred's Discount City has received your return for order 1001"


def test_a_refusal_tells_the_customer_the_merchants_message_in_their_language(merchant, inbox):
    # given a French customer
    _returns_on(merchant)
    request = _ask(_delivered(merchant, inbox, locale="fr-FR"))
    # when
    return_request_refuse(return_request=request, message="Article porté")
    # then
    _asked, refused = _sent(inbox)
    subject = refused["Subject"].strip()  # a long encoded subject may be folded
    assert subject == "Votre retour pour la commande 1001 n'a pas été accepté"
    text = _text(refused)
    assert "Fred's Discount City dit : Article porté" in text
    assert "1 × Blue mug" in text
