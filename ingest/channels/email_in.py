"""Handing a received email to the channel core, whichever way it came (SMTP, IMAP)."""

from inbound.models import InboundChannel
from inbound.services import Failure, Result
from ingest.channels.core import channel_deliver
from ingest.channels.email_reading import message_key
from ingest.models import EmailSource

CONTENT_TYPE = "message/rfc822"


def email_route(source: EmailSource) -> str:
    return f"email:{source.pk}"


def email_deliver(*, source: EmailSource, raw: bytes, origin: str) -> Result | Failure:
    """Logs the email and applies it. The same email again (its Message-ID) answers what the
    first delivery answered and changes nothing; a copy whose bytes differ (another relay's
    trace headers) is a Conflict, and changes nothing either."""
    return channel_deliver(
        merchant=source.merchant, channel=InboundChannel.EMAIL, route=email_route(source),
        body=raw, content_type=CONTENT_TYPE, source=origin[:300], dedupe_key=message_key(raw),
    )  # fmt: skip


def is_settled(answer: Result | Failure) -> bool:
    """Whether the email is ours now — applied, rejected with its reason (kept in the log), or
    had before — so its sender may forget it. Only our own failure asks for it again."""
    return not (isinstance(answer, Failure) and answer.transient)
