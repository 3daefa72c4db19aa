"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd): customer emails and staff alerts are
sent to it over SMTP and read back as a mailbox would."""

import email
import socket
from email import policy

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps what it receives; `refuse` answers RCPT with that reply."""

    def __init__(self):
        self.envelopes = []
        self.refuse = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int):
        self.inbox = Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> Inbox:
        self.controller.start()
        return self.inbox

    def stop(self) -> None:
        self.controller.stop()
