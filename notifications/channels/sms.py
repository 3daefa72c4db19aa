"""Customer SMS through Twilio's Messages API (a form POST with basic auth; 201 answers the
message's `sid`). Short, with the tracking link, only for orders (or trackers) with a phone
whose customer has not unsubscribed, and at most SMS_DAILY_CAP_PER_RECIPIENT per number and day
(OWASP API4). Only a number that `phonenumbers` finds valid (read in the order's country) is sent
to Twilio.

Twilio takes no idempotency key, so a text is asked for at most once: once the request may have
reached Twilio (a read timeout, a connection broken after sending, a 500, 502 or 504 that may
come after the message was created) the outcome is unknown and the text is not sent again.
Retried later (Retry-After honoured): what Twilio cannot have acted on, a connection or connect
timeout that never reached it, 408, 409, 429 and 503 (it turned the request away). Other 4xx
(an invalid number, a number that opted out with STOP) are Twilio's final word.
"""

import functools
import json

import phonenumbers
import requests
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import NewConnectionError

from flextracker.outbound import retry_after_seconds
from notifications.channels import OUTCOME_UNKNOWN, Delivery, DeliveryFailed, DeliveryRefused
from notifications.channels.email import customer_contact, daily_allowance
from notifications.messages import render_sms

TIMEOUT = 10
MAX_ANSWER_BYTES = 64 * 1024
RETRYABLE = {408, 409, 429, 503}


def e164(phone: str, *, region: str = "") -> str:
    """ "06 12 34 56 78" in FR → "+33612345678"; "" for a number that is not a valid one, which
    is never texted. A number written without its country code is read in `region` (the order's
    country), else in our sender number's country."""
    try:
        number = phonenumbers.parse(phone or "", region.upper() or _sender_region())
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _sender_region() -> str | None:
    return _region_of(settings.TWILIO_FROM_NUMBER)


@functools.lru_cache(maxsize=4)  # once per sender number, not for every order ingest writes
def _region_of(number: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


class SmsChannel:
    def send(self, notification) -> Delivery:
        account, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (account and token and settings.TWILIO_FROM_NUMBER):
            raise DeliveryRefused("SMS not configured")
        contact = customer_contact(notification)
        to = e164(notification.recipient, region=contact.country_code)
        if not to or not contact.phone:
            raise DeliveryRefused(
                _("“%(phone)s” is not a valid phone number; no SMS was sent.")
                % {"phone": notification.recipient[:40]}
            )
        with daily_allowance("sms", to, settings.SMS_DAILY_CAP_PER_RECIPIENT):
            return _post(account, token, to, render_sms(notification))


def _post(account: str, token: str, to: str, body: str) -> Delivery:
    url = f"{settings.TWILIO_API_BASE_URL}/2010-04-01/Accounts/{account}/Messages.json"
    form = {"To": to, "From": settings.TWILIO_FROM_NUMBER, "Body": body}
    try:
        with requests.post(
            url, data=form, auth=(account, token), timeout=TIMEOUT, allow_redirects=False,
            stream=True,
        ) as response:  # fmt: skip
            answer = next(response.iter_content(MAX_ANSWER_BYTES), b"")
            return _judge(response, answer)
    except requests.RequestException as error:
        if _never_reached_twilio(error):
            raise DeliveryFailed(f"Twilio unreachable: {type(error).__name__}") from error
        raise DeliveryRefused(f"{OUTCOME_UNKNOWN} Twilio: {type(error).__name__}.") from error


def _never_reached_twilio(error: requests.RequestException) -> bool:
    """A connect timeout or a connection that could not be opened: no request was sent. A plain
    ConnectionError is also what a connection reset after sending raises."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _judge(response: requests.Response, answer: bytes) -> Delivery:
    status = response.status_code
    try:
        data = json.loads(answer) if answer else {}
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    if 200 <= status < 300:  # accepted, even if the answer is unreadable: never send twice
        return Delivery(provider_id=str(data.get("sid") or ""), response_status=status)
    described = f"Twilio answered {status}" + (
        f" ({data.get('code')}: {data.get('message')})" if data.get("message") else ""
    )
    if status >= 500 and status not in RETRYABLE:
        raise DeliveryRefused(f"{OUTCOME_UNKNOWN} {described}."[:1000], response_status=status)
    if 400 <= status < 500 and status not in RETRYABLE:
        raise DeliveryRefused(described[:1000], response_status=status)
    raise DeliveryFailed(
        described[:1000], response_status=status, retry_after=retry_after_seconds(response.headers)
    )
