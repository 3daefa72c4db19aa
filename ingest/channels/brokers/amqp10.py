"""AMQP 1.0 (python-qpid-proton): the standard protocol of IBM MQ, ActiveMQ (Classic and
Artemis), Azure Service Bus and RabbitMQ (its plugin in 3.x, built in from 4.0).

- One receiver link on the merchant's source address. Its credit is the prefetch, given back one
  by one as messages are settled: never more than `prefetch` unsettled messages in hand.
- Settled only after our commit: `accepted`; our failure → `released` (back to the queue, its
  delivery count left alone: not the message's fault); rejected → a copy (its body and
  properties, the reason added to the application properties) is sent to the dead-letter
  address and settled there by the broker, then the original is accepted. Without a dead-letter
  address the original is settled `rejected` with the reason as its error: the broker's own
  dead-lettering takes it (Azure Service Bus keeps the reason; Artemis, RabbitMQ's
  dead-letter exchange).
- The addresses are the merchant's, checked when we connect: a receiver link with no credit on
  the dead-letter address proves it exists (RabbitMQ 3.x accepts, then drops, a message sent to
  a queue that is not there). Links stay open for the connection's life.
"""

import logging
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from proton import Condition, Data, Delivery, Message, ProtonException, SSLDomain, Timeout, Url
from proton.handlers import MessagingHandler
from proton.reactor import AtLeastOnce, LinkOption
from proton.utils import BlockingConnection

from flextracker.urlguard import RABBITMQ, resolve_checked
from ingest.channels.brokers.base import BrokerUnavailable, QueueMessage, Rejection, unavailable_on
from ingest.models import QueueKind, QueueSource

logger = logging.getLogger(__name__)

# RabbitMQ's AMQP port rules hold for every AMQP 1.0 broker: 5672, and 5671 over TLS.
AMQP = RABBITMQ
CONNECTION_ERRORS = (ProtonException, OSError, ValueError)  # ValueError: a malformed URL


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect: the address the SSRF guard checked, and how to introduce ourselves."""

    url: Url  # scheme, the checked IP address and port; no credentials
    host: str  # the name in the merchant's URL: TLS verifies it, Azure needs it in `open`
    user: str | None
    password: str | None
    virtual_host: str  # the `open` frame's hostname: RabbitMQ reads `vhost:<name>` from it


class _Queue(LinkOption):
    """Names the address a queue (the `queue` capability, as Qpid JMS sends it): IBM MQ takes
    an address without it for a topic, Artemis for a multicast address."""

    def apply(self, link) -> None:
        capabilities = (link.source if link.is_receiver else link.target).capabilities
        capabilities.put_array(False, Data.SYMBOL)
        capabilities.enter()
        capabilities.put_symbol("queue")
        capabilities.exit()


LINK_OPTIONS = [AtLeastOnce(), _Queue()]  # unsettled until we settle; a queue


class _Deliveries(MessagingHandler):
    """Collects what the receiver link delivers; settling is ours (no auto-accept, no credit
    window: the broker class gives credit back as it settles)."""

    def __init__(self):
        super().__init__(prefetch=0, auto_accept=False, auto_settle=False)
        self.incoming: list[tuple[Message, Delivery]] = []

    def on_message(self, event) -> None:
        self.incoming.append((event.message, event.delivery))


class Amqp10Broker:
    kind = QueueKind.AMQP10
    timeout_seconds = 10.0  # connecting, opening a link, the broker settling a dead letter
    heartbeat_seconds = 60.0  # silence after which the connection counts as lost

    def __init__(self, source: QueueSource, *, prefetch: int = 10):
        self.url = source.url
        self.queue = source.queue_name  # the source address
        self.dead_letter_address = source.dead_letter_queue
        self.prefetch = max(1, prefetch)
        self._connection: BlockingConnection | None = None
        self._receiver = None
        self._dead_letters = None
        self._deliveries = _Deliveries()

    def connect(self) -> None:
        try:
            with unavailable_on(*CONNECTION_ERRORS):
                self._open()
        except BrokerUnavailable:
            self.close()
            raise

    def _open(self) -> None:
        endpoint = amqp_endpoint(self.url)
        self._connection = BlockingConnection(
            endpoint.url, timeout=self.timeout_seconds, heartbeat=self.heartbeat_seconds,
            ssl_domain=_client_tls() if endpoint.url.scheme == "amqps" else None,
            user=endpoint.user, password=endpoint.password, virtual_host=endpoint.virtual_host,
            sni=endpoint.host, allow_insecure_mechs=endpoint.url.scheme == "amqp",
            sasl_enabled=True, container_id=f"flextracker-{uuid.uuid4()}",
        )  # fmt: skip
        if self.dead_letter_address:
            # Proof that it exists; left open (RabbitMQ 3.x never answers a link's detach).
            self._receiver_on(self.dead_letter_address, credit=0, handler=_Deliveries())
            self._dead_letters = self._link(
                self.dead_letter_address,
                lambda: self._connection.create_sender(
                    self.dead_letter_address, options=LINK_OPTIONS
                ),
            )
        self._deliveries = _Deliveries()
        self._receiver = self._receiver_on(
            self.queue, credit=self.prefetch, handler=self._deliveries
        )

    def _receiver_on(self, address: str, *, credit: int, handler: _Deliveries):
        return self._link(
            address,
            lambda: self._connection.create_receiver(
                address, credit=credit, handler=handler, options=LINK_OPTIONS
            ),
        )

    @staticmethod
    def _link(address: str, open_link):
        """A link on `address`; a broker that never answers (RabbitMQ, for a missing queue) or
        refuses gets named in the error."""
        try:
            return open_link()
        except ProtonException as error:
            raise BrokerUnavailable(f"address {address!r} could not be opened: {error}") from error

    def receive(self, wait_seconds: float, stop: threading.Event) -> list[QueueMessage]:
        deadline = time.monotonic() + wait_seconds
        with unavailable_on(*CONNECTION_ERRORS, AttributeError):  # AttributeError: closed
            while not self._deliveries.incoming and not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._pump(min(remaining, 0.5), until=lambda: bool(self._deliveries.incoming))
        delivered, self._deliveries.incoming = self._deliveries.incoming, []
        return [queue_message(message, delivery) for message, delivery in delivered]

    def ack(self, message: QueueMessage) -> None:
        self._settle(message, Delivery.ACCEPTED)

    def retry(self, message: QueueMessage, delay_seconds: float) -> None:
        self.release([message])  # back at once; the consumer's backoff spaces the next attempt

    def release(self, messages: list[QueueMessage]) -> None:
        for message in messages:
            self._settle(message, Delivery.RELEASED)

    def dead_letter(self, message: QueueMessage, rejection: Rejection) -> None:
        original, delivery = message.tag
        with unavailable_on(*CONNECTION_ERRORS, AttributeError):
            if not self.dead_letter_address:
                delivery.local.condition = rejected_because(rejection)
                self._settle(message, Delivery.REJECTED)
                return
            # Blocks until the broker settles the copy; refused or timed out, this raises and
            # the original stays unsettled (the broker gives it back when the connection ends).
            self._dead_letters.send(
                dead_letter_copy(original, rejection, self.queue),
                error_states=[Delivery.REJECTED, Delivery.RELEASED, Delivery.MODIFIED],
            )
        self._settle(message, Delivery.ACCEPTED)

    def idle(self, seconds: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        with unavailable_on(*CONNECTION_ERRORS, AttributeError):
            while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                self._pump(min(remaining, 0.5), until=stop.is_set)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        self._receiver = self._dead_letters = None
        self._deliveries.incoming.clear()  # unsettled: the broker gives them back on the close
        if connection is not None:
            try:
                connection.close()
            except (ProtonException, OSError):
                logger.info("%s: the connection was already gone", self.queue)

    def _settle(self, message: QueueMessage, outcome: int) -> None:
        _original, delivery = message.tag
        with unavailable_on(*CONNECTION_ERRORS, AttributeError):
            delivery.update(outcome)
            delivery.settle()
            self._receiver.flow(1)  # the credit it held, for the next message
            transport = self._connection.conn.transport
            self._pump(self.timeout_seconds, until=lambda: not transport.pending())  # sent

    def _pump(self, seconds: float, *, until) -> None:
        """Runs the connection (frames in and out, heartbeats) until `until()` or `seconds`."""
        with suppress(Timeout):
            self._connection.wait(until, timeout=seconds)


def amqp_endpoint(url: str) -> Endpoint:
    """The merchant's URL, taken apart: credentials out of it, its host pinned to the address
    the SSRF guard checked (raises its UnsafeUrl, a ValueError), the path a RabbitMQ vhost."""
    parts = urlsplit(url.strip())
    if parts.scheme not in AMQP.schemes or not parts.hostname:
        raise ValueError("An AMQP 1.0 URL is amqp://host:5672 or amqps://host:5671.")
    address = resolve_checked(url, AMQP)[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    vhost = unquote(parts.path.lstrip("/"))
    return Endpoint(
        url=Url(f"{parts.scheme}://{host}:{parts.port or AMQP.schemes[parts.scheme]}"),
        host=parts.hostname,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        virtual_host=f"vhost:{vhost}" if vhost else parts.hostname,
    )


def queue_message(message: Message, delivery: Delivery) -> QueueMessage:
    properties = message.properties or {}
    key = properties.get("Idempotency-Key")
    return QueueMessage(
        body=_body_bytes(message.body),
        tag=(message, delivery),
        message_id=key if isinstance(key, str) else _text(message.id),
        content_type=str(message.content_type or ""),
        receive_count=(message.delivery_count or 0) + 1,
    )


def rejected_because(rejection: Rejection) -> Condition:
    """The `rejected` outcome's error, in the shape Azure Service Bus's own clients send so that
    it stamps DeadLetterReason and DeadLetterErrorDescription on the dead letter; other brokers
    keep it or ignore it."""
    return Condition(
        "com.microsoft:dead-letter",
        f"{rejection.code}: {rejection.message}"[:1000],
        {
            "DeadLetterReason": rejection.code,
            "DeadLetterErrorDescription": rejection.message[:1000],
            "flextracker-inbound-message-id": str(rejection.inbound_message_id or ""),
        },
    )


def dead_letter_copy(original: Message, rejection: Rejection, address: str) -> Message:
    """A new message with the original's body and properties and the reason. Not the broker's
    annotations (its sequence numbers, lock tokens), nor `user_id` (brokers check it against
    our login)."""
    body = bytes(original.body) if isinstance(original.body, memoryview) else original.body
    return Message(
        body=body, id=original.id, correlation_id=original.correlation_id,
        content_type=original.content_type, content_encoding=original.content_encoding,
        subject=original.subject, creation_time=original.creation_time, durable=True,
        properties={**(original.properties or {}), **rejection.headers(address)},
    )  # fmt: skip


def _body_bytes(body: object) -> bytes:
    """A data section arrives as bytes, an AMQP string (a JMS TextMessage) as str; any other
    value is kept as text, to be refused as not JSON."""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return b"" if body is None else repr(body).encode()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _client_tls() -> SSLDomain:
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)  # the system's CAs, the host name
    return domain
