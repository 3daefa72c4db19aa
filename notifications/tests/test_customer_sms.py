"""Customer SMS through Twilio's REST API, mocked at the HTTP boundary (responses)."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from merchants.services import notification_rules_set
from merchants.tests.factories import member_of
from notifications.messages import gsm_length
from notifications.models import MessageTemplate, Notification, NotificationStatus
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import deliver

pytestmark = pytest.mark.django_db

TWILIO = "https://api.twilio.test/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"


@pytest.fixture
def twilio(settings):
    settings.TWILIO_API_BASE_URL = "https://api.twilio.test"
    settings.TWILIO_ACCOUNT_SID = "AC0123456789abcdef"
    settings.TWILIO_AUTH_TOKEN = "token-for-tests"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    return settings


@pytest.fixture
def texting_merchant(merchant):
    merchant.sms_notifications_enabled = True
    merchant.email_notifications_enabled = False
    merchant.save()
    return merchant


def sms(**filters) -> Notification:
    return Notification.objects.get(channel="sms", **filters)


def sent_form(call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


@responses.activate
def test_a_delivered_shipment_texts_the_customer_a_short_message_with_the_link(
    texting_merchant, twilio
):
    # given
    responses.post(TWILIO, status=201, json={"sid": "SM0123456789abcdef", "status": "queued"})
    deliver(texting_merchant)
    # when
    report = notifications_send_due()
    # then
    assert report.sent == 1
    (call,) = responses.calls
    form = sent_form(call)
    link = sms().payload["trackingPage"]
    assert form["To"] == "+15125550100" and form["From"] == "+15005550006"
    assert (
        form["Body"] == f"Fred's Discount City: your order 1001 has been delivered. Details: {link}"
    )
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert (sms().status, sms().provider_message_id) == (
        NotificationStatus.SENT,
        "SM0123456789abcdef",
    )


@responses.activate
def test_a_spanish_sms_stays_in_the_gsm_alphabet(texting_merchant, twilio):
    # given
    responses.post(TWILIO, status=201, json={"sid": "SM1"})
    deliver(texting_merchant, locale="es-MX")
    # when
    notifications_send_due()
    # then: accents outside GSM 03.38 dropped, so a part holds 160 characters, not 70
    body = sent_form(responses.calls[0])["Body"]
    assert body.startswith("Fred's Discount City: tu pedido 1001 ha sido entregado. Detalles: http")
    assert gsm_length(body) == len(body)


@responses.activate
def test_a_merchants_sms_template_is_used(texting_merchant, twilio):
    # given
    MessageTemplate.objects.create(
        merchant=texting_merchant, channel="sms", trigger="delivered",
        body="{merchant}: {items} arrived!\nSee {tracking_link}",
    )  # fmt: skip
    responses.post(TWILIO, status=201, json={"sid": "SM2"})
    deliver(texting_merchant)
    # when
    notifications_send_due()
    # then
    link = sms().payload["trackingPage"]
    assert sent_form(responses.calls[0])["Body"] == (
        f"Fred's Discount City: 1 × Blue mug arrived! See {link}"
    )


@responses.activate
def test_a_merchants_sms_template_without_the_link_still_carries_it(texting_merchant, twilio):
    MessageTemplate.objects.create(
        merchant=texting_merchant, channel="sms", trigger="delivered", body="Delivered!"
    )
    responses.post(TWILIO, status=201, json={"sid": "SM6"})
    deliver(texting_merchant)
    notifications_send_due()
    link = sms().payload["trackingPage"]
    assert sent_form(responses.calls[0])["Body"] == f"Delivered! {link}"


@responses.activate
def test_twilio_busy_is_retried_after_its_retry_after_and_sends_once(texting_merchant, twilio):
    # given
    responses.post(TWILIO, status=429, headers={"Retry-After": "600"},
                   json={"code": 20429, "message": "Too Many Requests", "status": 429})  # fmt: skip
    deliver(texting_merchant)
    # when
    first = notifications_send_due()
    # then: waits at least the 10 minutes Twilio asked for
    notification = sms()
    assert first.retrying == 1 and notification.status == NotificationStatus.PENDING
    assert notification.next_attempt_at >= timezone.now() + timedelta(seconds=590)
    assert notification.last_error == "Twilio answered 429 (20429: Too Many Requests)"
    # when: later, Twilio accepts it; a second sweep finds nothing to do
    responses.replace(responses.POST, TWILIO, status=201, json={"sid": "SM3"})
    later = timezone.now() + timedelta(minutes=11)
    notifications_send_due(now=later)
    notifications_send_due(now=later + timedelta(minutes=5))
    # then
    assert len(responses.calls) == 2
    assert (sms().status, sms().provider_message_id) == (NotificationStatus.SENT, "SM3")


@responses.activate
def test_an_invalid_number_is_refused_for_good_with_twilios_reason(texting_merchant, twilio):
    # given
    message = "The 'To' number +15125550100 is not a valid phone number."
    responses.post(TWILIO, status=400, json={"code": 21211, "message": message, "status": 400})
    deliver(texting_merchant)
    # when
    report = notifications_send_due()
    # then
    notification = sms()
    assert report.failed == 1
    assert (notification.status, notification.next_attempt_at) == (NotificationStatus.FAILED, None)
    assert notification.last_error == f"Twilio answered 400 (21211: {message})"


@responses.activate
def test_without_twilio_credentials_nothing_is_sent(texting_merchant, settings):
    # given
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    deliver(texting_merchant)
    # when
    report = notifications_send_due()
    # then
    assert report.failed == 1 and len(responses.calls) == 0
    assert (sms().status, sms().last_error) == (NotificationStatus.FAILED, "SMS not configured")


@responses.activate
def test_no_sms_when_the_merchant_did_not_enable_it_or_choose_the_status(merchant, twilio):
    # given: SMS off for this merchant; and on, but not for "delivered", for the second order
    deliver(merchant, "1001", "SBXDELIVERED1")
    merchant.sms_notifications_enabled = True
    merchant.save()
    notification_rules_set(merchant=merchant, channel="sms", triggers=["out_for_delivery"])
    deliver(merchant, "1002", "SBXDELIVERED2")
    # when
    notifications_send_due()
    # then
    assert not Notification.objects.filter(channel="sms").exists()
    assert len(responses.calls) == 0


@responses.activate
def test_no_sms_for_an_order_without_a_phone(texting_merchant, twilio):
    deliver(texting_merchant, customer_phone="")
    notifications_send_due()
    assert not Notification.objects.filter(channel="sms").exists()
    assert len(responses.calls) == 0


@responses.activate
def test_no_more_than_the_daily_cap_of_sms_reaches_one_number(texting_merchant, twilio, settings):
    # given
    settings.SMS_DAILY_CAP_PER_RECIPIENT = 1
    responses.post(TWILIO, status=201, json={"sid": "SM4"})
    deliver(texting_merchant, number="SBXDELIVERED1", item=("MUG", 1))
    deliver(texting_merchant, number="SBXDELIVERED2", item=("TOWEL", 1))
    # when
    report = notifications_send_due()
    # then
    assert (report.sent, report.failed, len(responses.calls)) == (1, 1, 1)
    assert sms(status=NotificationStatus.FAILED).last_error == (
        "Daily limit of 1 sms messages to this recipient reached."
    )


@responses.activate
def test_a_twilio_failure_gives_the_daily_allowance_back(texting_merchant, twilio, settings):
    # given: a cap of one, and Twilio down for the first attempt
    settings.SMS_DAILY_CAP_PER_RECIPIENT = 1
    responses.post(TWILIO, status=503)
    deliver(texting_merchant)
    notifications_send_due()
    # when
    responses.replace(responses.POST, TWILIO, status=201, json={"sid": "SM5"})
    report = notifications_send_due(now=timezone.now() + timedelta(minutes=3))
    # then: the failed attempt did not use up the one message of the day
    assert report.sent == 1


@responses.activate
def test_a_french_mobile_is_texted_in_its_international_form(texting_merchant, twilio):
    # given: our sender number is American; the order's address is in France
    responses.post(TWILIO, status=201, json={"sid": "SM7"})
    deliver(texting_merchant, customer_phone="06 12 34 56 78",
            shipping_address={"city": "Paris", "country_code": "FR"})  # fmt: skip
    # when
    report = notifications_send_due()
    # then
    assert report.sent == 1
    assert sent_form(responses.calls[0])["To"] == "+33612345678"


@responses.activate
def test_a_number_that_is_not_valid_is_never_sent_and_the_console_says_why(
    client, texting_merchant, twilio
):
    # given: a French mobile on an American order cannot be dialled (it is not +10612345678)
    deliver(texting_merchant, customer_phone="06 12 34 56 78")
    # when
    report = notifications_send_due()
    # then
    reason = "“06 12 34 56 78” is not a valid phone number; no SMS was sent."
    assert (report.sent, report.failed, len(responses.calls)) == (0, 1, 0)
    assert (sms().status, sms().next_attempt_at, sms().last_error) == (
        NotificationStatus.FAILED, None, reason
    )  # fmt: skip
    client.force_login(member_of(texting_merchant, "agent"))
    page = client.get(reverse("console:order", args=[sms().order_id])).content.decode()
    assert escape(reason) in page
