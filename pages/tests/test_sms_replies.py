"""A customer texts our Twilio number and gets their order's status and link back (Twilio's
signed inbound-message webhook, answered in TwiML)."""

import pytest
from django.conf import settings

from orders.tests.factories import create_order, ship
from pages.sms_replies import twilio_signature

pytestmark = pytest.mark.django_db

TOKEN = "twilio-auth-token-test"
PATH = "/hooks/twilio/sms"
JANE = "+15125550100"  # the factories' customer phone, "+1 (512) 555-0100", as Twilio writes it


@pytest.fixture(autouse=True)
def twilio(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN


def _text(client, body: str, sender: str = JANE, *, signature: str | None = None):
    form = {"MessageSid": "SM0123456789abcdef0123456789abcdef", "AccountSid": "AC01",
            "From": sender, "To": "+15125550199", "Body": body, "NumMedia": "0"}  # fmt: skip
    url = settings.PUBLIC_BASE_URL + PATH
    signed = twilio_signature(TOKEN, url, {k: [v] for k, v in form.items()})
    return client.post(PATH, form, HTTP_X_TWILIO_SIGNATURE=signature or signed)


def _message(response) -> str:
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/xml")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    return text.removeprefix('<?xml version="1.0" encoding="UTF-8"?><Response>').removesuffix(
        "</Response>"
    )


def test_the_signature_is_twilios_own_published_example():
    form = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+14158675309"], "Digits": ["1234"],
            "From": ["+14158675309"], "To": ["+18005551212"]}  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, form) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_texting_the_order_number_answers_its_status_and_link(client, merchant):
    # given
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 2), ("TOWEL", 1))
    # when
    response = _text(client, " 1001 ")
    # then
    message = _message(response)
    assert message.startswith(
        "<Message>Fred's Discount City order 1001: Shipped. Details: "
        f"{settings.PUBLIC_BASE_URL}/orders/FDC-01-12345/1001?t="
    )
    assert message.endswith("</Message>")


def test_status_answers_the_newest_order_of_this_phone(client, merchant):
    # given
    create_order(merchant, "1001")
    create_order(merchant, "1002")
    # when
    message = _message(_text(client, "status"))
    # then
    assert message.startswith("<Message>Fred's Discount City order 1002: Received. Details: ")


def test_someone_elses_order_number_is_answered_as_no_order(client, merchant, other_merchant):
    # given: order 1001 was placed with another phone
    create_order(merchant, "1001", customer_phone="+1 512 555 0177")
    # when
    message = _message(_text(client, "1001"))
    # then
    assert message == (
        "<Message>We could not find that order for this phone number. Reply with the order "
        "number from your confirmation, or STATUS for your latest order.</Message>"
    )


def test_a_wrong_signature_is_refused_and_nothing_is_told(client, merchant):
    create_order(merchant, "1001")
    response = _text(client, "1001", signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert response.status_code == 403
    assert b"1001" not in response.content


def test_stop_is_left_to_twilio(client, merchant):
    create_order(merchant, "1001")
    assert _message(_text(client, "STOP")) == ""


def test_without_a_twilio_account_the_webhook_is_not_there(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert client.post(PATH, {"Body": "1001"}).status_code == 404
