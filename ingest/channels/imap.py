"""Reading merchants' mailboxes over IMAP (imapclient), each minute (ingest.tasks.poll_mailboxes):
the sources not leased are claimed one at a time, their new emails fetched without setting
\\Seen (BODY.PEEK[]), each handed to the channel core, and only once its outcome is committed
flagged \\Seen and remembered as the last UID read. A crash between the two reads that email
again: its Message-ID makes the second reading a no-op.

New means: UIDs above the last one read, in the folder's UIDVALIDITY; the first time (or after the
server renumbered the folder), the UNSEEN ones, so a mailbox's years of old mail are not read.
The host passes the SSRF guard when saved and at every connection, and we connect to the address
it checked (the certificate is still verified against the host's name)."""

import logging
import socket
import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from imapclient import SEEN, IMAPClient, imap4, tls
from imapclient.exceptions import IMAPClientError

from flextracker.urlguard import UnsafeUrl, development_allowance, resolve_host_checked
from ingest.channels.email_in import email_deliver, is_settled
from ingest.models import EmailSource

logger = logging.getLogger(__name__)

IMAP_PORTS = (993, 143)
TIMEOUT_SECONDS = 20
LEASE = timedelta(minutes=5)
MAX_EMAILS_PER_ROUND = 200


class MailboxUnavailable(Exception):
    """The mailbox cannot be read now (said in plain words; tried again next minute)."""


def mailboxes_poll(*, deadline: float) -> int:
    """Reads every claimable mailbox until none is left or the deadline passes; emails read."""
    read, seen = 0, set()
    while time.monotonic() < deadline:
        source = _claim(exclude=seen)
        if source is None:
            break
        seen.add(source.pk)
        read += mailbox_poll(source, deadline=deadline)
    return read


def mailbox_poll(source: EmailSource, *, deadline: float) -> int:
    """One reading of one source's mailbox; its problem, if any, in `last_error`."""
    read, problem = 0, ""
    try:
        with _connected(source) as client:
            read = _read_new(source, client, deadline)
    except MailboxUnavailable as error:
        problem = str(error)
    except (IMAPClientError, OSError) as error:
        problem = f"The mailbox could not be read: {type(error).__name__}: {error}"
    finally:
        EmailSource.objects.filter(pk=source.pk).update(
            leased_until=None, last_polled_at=timezone.now(), last_error=problem[:500]
        )
    return read


def _claim(exclude: set[int]) -> EmailSource | None:
    now = timezone.now()
    free = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    due = EmailSource.objects.filter(free, is_active=True).exclude(imap_host="")
    for candidate in due.exclude(pk__in=exclude).order_by("last_polled_at")[:10]:
        claimed = EmailSource.objects.filter(free, pk=candidate.pk).update(leased_until=now + LEASE)
        if claimed:
            candidate.refresh_from_db()
            return candidate
    return None


def _read_new(source: EmailSource, client: IMAPClient, deadline: float) -> int:
    _folder_select(source, client)
    read = 0
    for uid in _new_uids(source, client)[:MAX_EMAILS_PER_ROUND]:
        if time.monotonic() >= deadline:
            break
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        raw = fetched.get(b"BODY[]")
        if raw is None:  # expunged meanwhile
            continue
        origin = f"IMAP {source.imap_username}@{source.imap_host}/{source.imap_folder} UID {uid}"
        if not is_settled(email_deliver(source=source, raw=raw, origin=origin)):
            break  # our failure: this email and those after it, next minute
        client.add_flags([uid], [SEEN])
        source.imap_last_uid = uid
        EmailSource.objects.filter(pk=source.pk).update(imap_last_uid=uid)
        read += 1
    return read


def _folder_select(source: EmailSource, client: IMAPClient) -> None:
    try:
        selected = client.select_folder(source.imap_folder)
    except IMAPClientError as error:
        raise MailboxUnavailable(
            f"Folder {source.imap_folder!r} cannot be opened: {error}"
        ) from error
    validity = selected.get(b"UIDVALIDITY")
    if validity != source.imap_uid_validity:  # first reading, or the server renumbered it
        source.imap_uid_validity, source.imap_last_uid = validity, 0
        EmailSource.objects.filter(pk=source.pk).update(imap_uid_validity=validity, imap_last_uid=0)


def _new_uids(source: EmailSource, client: IMAPClient) -> list[int]:
    if not source.imap_last_uid:
        return sorted(client.search(["UNSEEN"]))
    # "n:*" always includes the newest message, even when its UID is below n.
    uids = client.search(["UID", f"{source.imap_last_uid + 1}:*"])
    return sorted(uid for uid in uids if uid > source.imap_last_uid)


def _connected(source: EmailSource) -> IMAPClient:
    try:
        address = str(resolve_host_checked(source.imap_host, source.imap_port, IMAP_PORTS)[0])
    except UnsafeUrl as unsafe:
        raise MailboxUnavailable(f"Refused to connect to {source.imap_host}: {unsafe}") from unsafe
    client = _CheckedImapClient(
        source.imap_host, address, port=source.imap_port, ssl=source.imap_use_tls,
        timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    try:
        if not source.imap_use_tls and not development_allowance().covers(source.imap_host):
            client.starttls()  # never a password in clear text outside development
        client.login(source.imap_username, source.imap_password)
    except IMAPClientError as error:
        client.shutdown()
        raise MailboxUnavailable(f"Login to {source.imap_host} failed: {error}") from error
    return client


class _TlsToAddress(tls.IMAP4_TLS):
    def __init__(self, host: str, address: str, port: int, ssl_context, timeout: float):
        self._address = address
        super().__init__(host, port, ssl_context, timeout)

    def _create_socket(self, timeout=None):
        sock = socket.create_connection((self._address, self.port), timeout or self._timeout)
        return tls.wrap_socket(sock, self.ssl_context, self.host)


class _PlainToAddress(imap4.IMAP4WithTimeout):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        self._address = address
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout=None):
        return socket.create_connection((self._address, self.port), timeout or self._timeout)


class _CheckedImapClient(IMAPClient):
    """IMAPClient connected to the address the guard checked, speaking to the host by name."""

    def __init__(self, host: str, address: str, **options):
        self._address = address
        super().__init__(host, **options)

    def _create_IMAP4(self):
        if self.ssl:
            return _TlsToAddress(
                self.host, self._address, self.port, self.ssl_context, TIMEOUT_SECONDS
            )
        return _PlainToAddress(self.host, self._address, self.port, TIMEOUT_SECONDS)
