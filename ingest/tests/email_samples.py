"""Shipping emails for the email channel's tests: the carriers' real ones (fixtures/email) and a
merchant's own "your order has shipped" email as a store platform writes it."""

import smtplib
from email import policy
from email.message import EmailMessage
from pathlib import Path

from ingest.models import EmailSource

FIXTURES = Path(__file__).parent / "fixtures" / "email"
UPS_NUMBER = "1Z1202R66698804005"  # passes UPS's check digit (its API's documented test number)
USPS_NUMBER = "92748931508577307776690000"  # the USPS email's own, which validates


def sample(carrier: str) -> bytes:
    return (FIXTURES / f"mailandpackages_{carrier}.eml").read_bytes()


def ups_email(number: str = UPS_NUMBER, message_id: str = "<ups-1@ups.example>") -> bytes:
    """UPS's "out for delivery" email with a number that validates (the fixture's was altered)."""
    raw = sample("ups_out_for_delivery").replace(b"1Z2345YY0678901234", number.encode())
    return f"Message-ID: {message_id}\r\n".encode() + raw


def order_email(
    order_id: str = "1001",
    number: str = UPS_NUMBER,
    *,
    message_id: str = "<shipped-1001@freds.example>",
    sender: str = "shop@freds.example",
) -> bytes:
    """The merchant's store telling its customer the order shipped (a copy is forwarded to us)."""
    message = EmailMessage()
    message["From"] = f"Fred's Discount City <{sender}>"
    message["To"] = "jane@example.com"
    message["Subject"] = f"Your order #{order_id} is on its way!"
    message["Message-ID"] = message_id
    message.set_content(
        f"Hi Jane,\n\nGood news: order #{order_id} has shipped.\n"
        f"Tracking number: {number}\n\nThanks for shopping with us!\n"
    )
    message.add_alternative(
        f"<html><body><p>Hi Jane,</p><p>Good news: order <b>#{order_id}</b> has shipped.</p>"
        f"<p>Tracking number: <a href='https://track.example/?n={number}'>{number}</a></p>"
        "</body></html>",
        subtype="html",
    )
    message.set_boundary("==flextracker-test==")  # the same email is the same bytes
    return message.as_bytes(policy=policy.SMTP)  # CRLF, as it travels


def create_email_source(merchant, **fields) -> EmailSource:
    return EmailSource.objects.create(merchant=merchant, name=fields.pop("name", "store"), **fields)


def smtp_send(port: int, raw: bytes, to: str, sender: str = "forwarder@freds.example") -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, [to], raw)
