"""The SMTP listener of the email channel (`manage.py receive_email`, aiosmtpd): merchants
forward emails to an email source's address, `<token>@INBOUND_EMAIL_DOMAIN`. A recipient that is
no active source's address is refused at RCPT (550), before any data is sent; an email over
INBOUND_EMAIL_MAX_BYTES is refused at DATA (552, aiosmtpd's SIZE limit). An accepted email is
logged and applied before we answer 250; only our own failure answers 451, so the sending server
tries again later."""

import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from ingest.channels.email_in import email_deliver, is_settled
from ingest.models import EmailSource

logger = logging.getLogger(__name__)


def email_source_for_address(address: str) -> EmailSource | None:
    """The active email source whose address this is (the local part, any case)."""
    token, _, domain = address.strip().strip("<>").rpartition("@")
    if not token or domain.lower() != settings.INBOUND_EMAIL_DOMAIN.lower():
        return None
    return (
        EmailSource.objects.select_related("merchant")
        .filter(address_token=token.lower(), is_active=True)
        .first()
    )


def email_receive(recipients: list[str], raw: bytes, sender: str) -> bool:
    """Each recipient source's copy logged and applied; False when one must be sent again."""
    settled = True
    for address in recipients:
        source = email_source_for_address(address)
        if source is None:  # deactivated between RCPT and DATA
            continue
        answer = email_deliver(source=source, raw=raw, origin=f"SMTP from <{sender}> to {address}")
        settled = settled and is_settled(answer)
    return settled


def _in_worker_thread(function):
    """`function` run off the event loop (the ORM is synchronous), its database connection
    closed after it: a pool thread may not run again for hours."""

    def run(*args):
        try:
            return function(*args)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)


class InboundEmailHandler:
    """aiosmtpd's handler."""

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, options):
        source = await _in_worker_thread(email_source_for_address)(address)
        if source is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):
        raw = envelope.original_content or b""
        try:
            settled = await _in_worker_thread(email_receive)(
                envelope.rcpt_tos, raw, envelope.mail_from or ""
            )
        except Exception:
            logger.exception("An inbound email could not be logged")
            settled = False
        if not settled:
            return "451 4.3.0 Temporarily unable to process the message; try again later"
        return "250 2.0.0 Message accepted"


class _LenientSmtp(SMTP):
    # Carriers' HTML emails carry lines past RFC 5321's 1,000 characters, and the servers that
    # forward them pass such lines on (Postfix does); refusing them would lose real emails.
    line_length_limit = 64 * 1024


class _Listener(Controller):
    def factory(self):
        return _LenientSmtp(self.handler, **self.SMTP_kwargs)


def smtp_listener(host: str, port: int) -> Controller:
    """A listener (not started): start() serves on its own thread."""
    return _Listener(
        InboundEmailHandler(), hostname=host, port=port,
        data_size_limit=settings.INBOUND_EMAIL_MAX_BYTES,
        server_hostname=settings.INBOUND_EMAIL_DOMAIN,
    )  # fmt: skip
