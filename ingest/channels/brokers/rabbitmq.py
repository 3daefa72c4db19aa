"""RabbitMQ over AMQP 0-9-1 (pika)."""

import logging
import threading
import time
from collections import deque

import pika
from pika.exceptions import AMQPError, ChannelClosedByBroker

from flextracker.urlguard import RABBITMQ, resolve_checked
from ingest.channels.brokers.base import BrokerUnavailable, QueueMessage, Rejection, unavailable_on
from ingest.models import QueueKind, QueueSource

logger = logging.getLogger(__name__)


class RabbitMqBroker:
    kind = QueueKind.RABBITMQ

    def __init__(self, source: QueueSource, *, prefetch: int = 10):
        self.url = source.url
        self.queue = source.queue_name
        self.dead_letter_queue = source.dead_letter_queue
        self.prefetch = max(1, prefetch)
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self._delivered: deque[QueueMessage] = deque()

    def connect(self) -> None:
        try:
            self._open()
        except BrokerUnavailable:
            self.close()
            raise

    def _open(self) -> None:
        with unavailable_on(AMQPError, OSError, ValueError):  # ValueError: a malformed URL
            parameters = pika.URLParameters(self.url)
            _pin_to_checked_address(parameters, self.url)
            parameters.connection_attempts = 1
            parameters.socket_timeout = 10
            parameters.blocked_connection_timeout = 60
            self._connection = pika.BlockingConnection(parameters)
            for name in filter(None, (self.queue, self.dead_letter_queue)):
                self._check_exists(name)
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
            self._channel.basic_qos(prefetch_count=self.prefetch)
            self._channel.basic_consume(self.queue, self._on_message)

    def _check_exists(self, name: str) -> None:
        channel = self._connection.channel()
        try:
            channel.queue_declare(name, passive=True)
        except ChannelClosedByBroker as error:
            raise BrokerUnavailable(f"queue {name!r}: {error.reply_text}") from error
        channel.close()

    def _on_message(self, _channel, method, properties, body: bytes) -> None:
        self._delivered.append(
            QueueMessage(
                body=body,
                tag=(method.delivery_tag, properties),
                message_id=properties.message_id or "",
                content_type=properties.content_type or "",
                receive_count=2 if method.redelivered else 1,
            )
        )

    def receive(self, wait_seconds: float, stop: threading.Event) -> list[QueueMessage]:
        deadline = time.monotonic() + wait_seconds
        with unavailable_on(AMQPError, OSError, AttributeError):  # AttributeError: closed
            while not self._delivered and not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._connection.process_data_events(time_limit=min(remaining, 0.5))
        batch = list(self._delivered)
        self._delivered.clear()
        return batch

    def ack(self, message: QueueMessage) -> None:
        with unavailable_on(AMQPError, OSError, AttributeError):
            self._channel.basic_ack(message.tag[0])

    def retry(self, message: QueueMessage, delay_seconds: float) -> None:
        self.release([message])  # requeued at once; the consumer's backoff spaces the next attempt

    def release(self, messages: list[QueueMessage]) -> None:
        with unavailable_on(AMQPError, OSError, AttributeError):
            for message in messages:
                self._channel.basic_nack(message.tag[0], requeue=True)

    def dead_letter(self, message: QueueMessage, rejection: Rejection) -> None:
        delivery_tag, original = message.tag
        with unavailable_on(AMQPError, OSError, AttributeError):
            if not self.dead_letter_queue:
                self._channel.basic_reject(delivery_tag, requeue=False)
                return
            properties = pika.BasicProperties(
                content_type=original.content_type,
                content_encoding=original.content_encoding,
                message_id=original.message_id,
                correlation_id=original.correlation_id,
                timestamp=original.timestamp,
                type=original.type,
                app_id=original.app_id,
                headers={**(original.headers or {}), **rejection.headers(self.queue)},
                delivery_mode=pika.DeliveryMode.Persistent,
            )
            # Confirmed and routable (mandatory), or this raises and the message stays ours.
            self._channel.basic_publish(
                "", self.dead_letter_queue, message.body, properties, mandatory=True
            )
            self._channel.basic_ack(delivery_tag)

    def idle(self, seconds: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        with unavailable_on(AMQPError, OSError, AttributeError):
            while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                self._connection.process_data_events(time_limit=min(remaining, 0.5))

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._delivered.clear()  # unacknowledged: the broker requeues them on the close
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError):
                logger.info("%s: the connection was already gone", self.queue)


def _pin_to_checked_address(parameters: pika.URLParameters, url: str) -> None:
    """Connects to the address the SSRF guard checked (raises its UnsafeUrl, a ValueError);
    TLS still verifies the URL's host name."""
    address = resolve_checked(url, RABBITMQ)[0]
    if parameters.ssl_options is not None and parameters.ssl_options.server_hostname is None:
        parameters.ssl_options.server_hostname = parameters.host
    parameters.host = str(address)
