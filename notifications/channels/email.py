"""Customer email through Django's email API: SMTP by default, or any django-anymail backend
(SendGrid, Mailgun, Postmark, Amazon SES) chosen by EMAIL_BACKEND (RELIABILITY.md "Email").

A fixed From address (the merchant's name only as its display name), a Reply-To only when the
merchant's support address validates, and nothing from a merchant or a customer reaches a header
without its CR/LF removed. List-Unsubscribe with one-click POST (RFC 8058) on every message, and
at most EMAIL_DAILY_CAP_PER_RECIPIENT emails per address and day (OWASP API4).
"""

import hashlib
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.crypto import salted_hmac

from notifications.channels import Delivery, DeliveryFailed, DeliveryRefused
from notifications.messages import one_line, render_email
from notifications.unsubscribe import unsubscribe_link_for

try:  # installed only where an email service provider is used
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
except ImportError:  # pragma: no cover - depends on the deployment

    class AnymailAPIError(Exception):
        status_code = None

    class AnymailRecipientsRefused(Exception):
        pass


# Characters that would let a display name pose as an address or break out of its quotes.
ADDRESS_SPECIALS = str.maketrans("", "", '<>@"\\')
DISPLAY_NAME_LIMIT = 70


@dataclass(frozen=True, slots=True)
class Contact:
    email: str
    phone: str
    country_code: str = ""  # the region a national phone number is read in


def customer_contact(notification) -> Contact:
    """How the customer a message is about can be reached now, unless they may not be messaged:
    the order's customer, or for a shipment without an order, the delivery contact of the
    tracker the payload names (while it still follows the shipment)."""
    order = notification.order
    if order is not None:
        if order.notifications_muted_at is not None:
            raise DeliveryRefused("unsubscribed")
        return Contact(order.customer_email, order.customer_phone, order.country_code)
    named = notification.payload.get("tracker") or {}
    tracker = None
    if named and notification.shipment_id:
        tracker = notification.shipment.trackers.filter(pk=named.get("pk")).first()
    if tracker is None:
        raise DeliveryRefused("The message has no order.")
    if tracker.notifications_muted_at is not None:
        raise DeliveryRefused("unsubscribed")
    return Contact(tracker.contact_email, tracker.contact_phone)


@contextmanager
def daily_allowance(channel: str, recipient: str, cap: int) -> Iterator[None]:
    """Spends one of the recipient's messages for today (UTC) or refuses when the cap is reached;
    an attempt that raises gives its message back (it was not sent). `add` and `incr` are atomic
    on Redis and the local-memory cache, so concurrent workers cannot pass the cap together."""
    digest = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:32]
    key = f"notify-cap:{channel}:{digest}:{timezone.now():%Y-%m-%d}"
    cache.add(key, 0, timeout=2 * 24 * 3600)
    if cache.incr(key) > cap:
        cache.decr(key)
        raise DeliveryRefused(f"Daily limit of {cap} {channel} messages to this recipient reached.")
    try:
        yield
    except BaseException:
        cache.decr(key)
        raise


def sender(merchant_name: str) -> str:
    """DEFAULT_FROM_EMAIL's address with the merchant's name, cleaned, as its display name."""
    _default_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = one_line(merchant_name.translate(ADDRESS_SPECIALS))[:DISPLAY_NAME_LIMIT].strip()
    return formataddr((name, address)) if name else address


def message_id(notification, from_email: str) -> str:
    """The notification's own Message-ID: the same on every attempt, so a copy sent again after a
    crash is recognisably the same message downstream. A keyed hash, not the row id (which would
    count our messages), at the From address's domain."""
    digest = salted_hmac("flextracker.message-id", str(notification.pk)).hexdigest()[:32]
    domain = parseaddr(from_email)[1].rpartition("@")[2] or str(DNS_NAME)
    return f"<{digest}@{domain}>"


def valid_address(value: str) -> str:
    value = (value or "").strip()
    if not value or "\r" in value or "\n" in value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def unsubscribe_headers(unsubscribe_link: str) -> dict[str, str]:
    targets = [f"<{one_line(unsubscribe_link)}>"]
    mailbox = valid_address(settings.UNSUBSCRIBE_MAILTO)
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


class EmailChannel:
    def send(self, notification) -> Delivery:
        contact = customer_contact(notification)
        recipient = valid_address(notification.recipient)
        if not recipient or not contact.email:
            raise DeliveryRefused("The order has no valid email address.")
        cap = settings.EMAIL_DAILY_CAP_PER_RECIPIENT
        with daily_allowance("email", recipient, cap):
            message = self.message(notification, recipient)
            return _send(message)

    def message(self, notification, recipient: str) -> EmailMultiAlternatives:
        subject, text, html = render_email(notification)
        merchant = notification.merchant
        from_email = sender(merchant.name)
        headers = {"Message-ID": message_id(notification, from_email),
                   "Auto-Submitted": "auto-generated"}  # fmt: skip
        if unsubscribe_link := unsubscribe_link_for(notification):
            headers |= unsubscribe_headers(unsubscribe_link)
        reply_to = valid_address(merchant.support_email)
        message = EmailMultiAlternatives(
            subject=one_line(subject), body=text, from_email=from_email, to=[recipient],
            reply_to=[reply_to] if reply_to else None, headers=headers,
        )  # fmt: skip
        message.attach_alternative(html, "text/html")
        # Read by django-anymail's backends (ignored by SMTP): the provider's records and events
        # name our row. None of the providers we support takes an idempotency key.
        message.metadata = {"notification": str(notification.pk)}
        return message


def _send(message: EmailMultiAlternatives) -> Delivery:
    try:
        sent = get_connection().send_messages([message])
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _text in refused.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise DeliveryRefused(f"The mail server refused the recipient ({codes[0]}).",
                                  response_status=codes[0]) from refused  # fmt: skip
        raise DeliveryFailed(f"The mail server deferred the recipient ({codes}).") from refused
    except smtplib.SMTPDataError as rejected:
        if rejected.smtp_code >= 500:  # the message itself was refused: resending cannot help
            raise DeliveryRefused(f"The mail server refused the message ({rejected.smtp_code}).",
                                  response_status=rejected.smtp_code) from rejected  # fmt: skip
        raise DeliveryFailed(f"The mail server deferred the message ({rejected.smtp_code}).",
                             response_status=rejected.smtp_code) from rejected  # fmt: skip
    except smtplib.SMTPResponseException as error:  # sender refused, auth…: our setup, retried
        raise DeliveryFailed(f"The mail server answered {error.smtp_code}.",
                             response_status=error.smtp_code) from error  # fmt: skip
    except AnymailRecipientsRefused as refused:
        raise DeliveryRefused("The email provider refused the recipient.") from refused
    except AnymailAPIError as error:
        status = getattr(error, "status_code", None)
        if status and 400 <= status < 500 and status not in (408, 429):
            raise DeliveryRefused(f"The email provider answered {status}.",
                                  response_status=status) from error  # fmt: skip
        raise DeliveryFailed(f"The email provider answered {status or 'nothing'}.",
                             response_status=status) from error  # fmt: skip
    except OSError as error:  # refused connection, timeout, disconnection (SMTPException too)
        raise DeliveryFailed(f"Mail server unreachable: {type(error).__name__}") from error
    if not sent:
        raise DeliveryFailed("The email backend sent nothing.")
    return Delivery(provider_id=_provider_id(message))


def _provider_id(message: EmailMultiAlternatives) -> str:
    provider_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    if isinstance(provider_id, set):  # one id per recipient; we send to one
        provider_id = ",".join(sorted(provider_id))
    return provider_id or message.extra_headers["Message-ID"]
