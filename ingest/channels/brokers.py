"""The brokers a merchant's OMS may publish to, behind one interface (`Broker`), for the
consumer loop in `ingest/channels/queues.py`. Each one receives, acknowledges, gives back and
dead-letters messages in its own terms; none of them touches our database.

Broker-side choices (docs/channels.md, "Queues"):
- RabbitMQ (pika): the queue and the dead-letter queue are the merchant's: checked passively,
  never declared. `basic_qos` prefetch; publisher confirms, so a dead letter is acknowledged
  only once the broker holds its copy. Without a dead-letter queue a rejected message is
  rejected without requeue (the queue's own dead-letter exchange gets it, if it has one).
- SQS (boto3, the default credential chain: our role, which the merchant's queue policy
  admits): long polling; a message is invisible while held, and a keeper thread extends that
  (`change_message_visibility`) before it ends; a message we failed is left undeleted with a
  growing invisibility, so it comes back; rejected ones go to the dead-letter queue URL with
  the reason as message attributes, then are deleted.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Protocol
from urllib.parse import urlsplit

import boto3
import pika
from botocore.exceptions import BotoCoreError, ClientError
from pika.exceptions import AMQPError, ChannelClosedByBroker

from flextracker.urlguard import RABBITMQ, SQS, resolve_checked
from ingest.models import QueueKind, QueueSource

logger = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker cannot be reached or refused an operation; reconnect later. What was not
    acknowledged goes back to the queue (RabbitMQ when the connection closes, SQS when the
    message's invisibility ends)."""


@dataclass(slots=True)
class QueueMessage:
    body: bytes
    tag: object  # what the broker needs to settle it: delivery tag and properties, the message
    message_id: str = ""  # the publisher's id for it, if any: the dedupe key
    content_type: str = ""
    receive_count: int = 1


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message went to the dead-letter queue."""

    code: str
    message: str
    inbound_message_id: int | None

    def headers(self, queue: str) -> dict[str, str]:
        return {
            "flextracker-error-code": self.code,
            "flextracker-error-message": self.message[:1000],
            "flextracker-inbound-message-id": str(self.inbound_message_id or ""),
            "flextracker-source-queue": queue,
        }


class Broker(Protocol):
    kind: ClassVar[str]
    queue: str  # its name, for the inbound log's `source`

    def connect(self) -> None: ...
    def receive(self, wait_seconds: float, stop: threading.Event) -> list[QueueMessage]: ...
    def ack(self, message: QueueMessage) -> None: ...
    def retry(self, message: QueueMessage, delay_seconds: float) -> None: ...
    def dead_letter(self, message: QueueMessage, rejection: Rejection) -> None: ...
    def release(self, messages: list[QueueMessage]) -> None: ...
    def idle(self, seconds: float, stop: threading.Event) -> None: ...
    def close(self) -> None: ...


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
        with _unavailable_on(AMQPError, OSError, ValueError):  # ValueError: a malformed URL
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
        with _unavailable_on(AMQPError, OSError, AttributeError):  # AttributeError: closed
            while not self._delivered and not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._connection.process_data_events(time_limit=min(remaining, 0.5))
        batch = list(self._delivered)
        self._delivered.clear()
        return batch

    def ack(self, message: QueueMessage) -> None:
        with _unavailable_on(AMQPError, OSError, AttributeError):
            self._channel.basic_ack(message.tag[0])

    def retry(self, message: QueueMessage, delay_seconds: float) -> None:
        self.release([message])  # requeued at once; the consumer's backoff spaces the next attempt

    def release(self, messages: list[QueueMessage]) -> None:
        with _unavailable_on(AMQPError, OSError, AttributeError):
            for message in messages:
                self._channel.basic_nack(message.tag[0], requeue=True)

    def dead_letter(self, message: QueueMessage, rejection: Rejection) -> None:
        delivery_tag, original = message.tag
        with _unavailable_on(AMQPError, OSError, AttributeError):
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
        with _unavailable_on(AMQPError, OSError, AttributeError):
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


class SqsBroker:
    kind = QueueKind.SQS

    def __init__(self, source: QueueSource, *, prefetch: int = 10):
        self.url = source.url
        self.dead_letter_url = source.dead_letter_queue
        self.region = source.region
        self.queue = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        self.batch_size = max(1, min(10, prefetch))
        self.visibility_seconds = 30
        self._client = None
        self._held: dict[str, float] = {}  # receipt handle → when its invisibility ends
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._keeper_stop = threading.Event()

    def connect(self) -> None:
        with _unavailable_on(BotoCoreError, ClientError, ValueError):
            for url in filter(None, (self.url, self.dead_letter_url)):
                resolve_checked(url, SQS)  # the SSRF guard; boto3 resolves the name itself
            self._client = boto3.client("sqs", **_sqs_client_options(self.url, self.region))
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
            self.visibility_seconds = int(attributes.get("VisibilityTimeout", 30))
            if self.dead_letter_url:
                self._client.get_queue_attributes(
                    QueueUrl=self.dead_letter_url, AttributeNames=["QueueArn"]
                )
        self._keeper_stop.clear()
        self._keeper = threading.Thread(target=self._keep_invisible, daemon=True)
        self._keeper.start()

    def receive(self, wait_seconds: float, stop: threading.Event) -> list[QueueMessage]:
        with _unavailable_on(BotoCoreError, ClientError, AttributeError):
            response = self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=max(0, min(20, round(wait_seconds))),
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
        received_at = time.monotonic()
        batch = []
        for raw in response.get("Messages", []):
            with self._lock:
                self._held[raw["ReceiptHandle"]] = received_at + self.visibility_seconds
            batch.append(_sqs_message(raw))
        return batch

    def ack(self, message: QueueMessage) -> None:
        self._settle(message, lambda handle: self._client.delete_message(
            QueueUrl=self.url, ReceiptHandle=handle))  # fmt: skip

    def retry(self, message: QueueMessage, delay_seconds: float) -> None:
        # Not deleted: it comes back once this invisibility ends (the backoff).
        self._visible_in(message, max(1, round(delay_seconds)))

    def release(self, messages: list[QueueMessage]) -> None:
        for message in messages:
            self._visible_in(message, 0)

    def dead_letter(self, message: QueueMessage, rejection: Rejection) -> None:
        raw = message.tag
        if self.dead_letter_url:
            attributes = {
                name: {key: value[key] for key in ("DataType", "StringValue", "BinaryValue")
                       if key in value}
                for name, value in raw.get("MessageAttributes", {}).items()
            }  # fmt: skip
            for name, value in rejection.headers(self.queue).items():
                attributes[name] = {"DataType": "String", "StringValue": value or "-"}
            extra = {}
            if self.dead_letter_url.endswith(".fifo"):
                extra = {
                    "MessageGroupId": raw.get("Attributes", {}).get("MessageGroupId", self.queue),
                    "MessageDeduplicationId": raw["MessageId"],
                }
            with _unavailable_on(BotoCoreError, ClientError, AttributeError):
                self._client.send_message(
                    QueueUrl=self.dead_letter_url, MessageBody=raw["Body"],
                    MessageAttributes=dict(list(attributes.items())[-10:]), **extra,
                )  # fmt: skip
        self.ack(message)

    def idle(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def close(self) -> None:
        self._keeper_stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
            self._keeper = None
        with self._lock:
            self._held.clear()  # still invisible for a while, then back in the queue

    def _visible_in(self, message: QueueMessage, seconds: int) -> None:
        self._settle(message, lambda handle: self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=seconds))  # fmt: skip

    def _settle(self, message: QueueMessage, call: Callable[[str], object]) -> None:
        handle = message.tag["ReceiptHandle"]
        with self._lock:
            self._held.pop(handle, None)
        with _unavailable_on(BotoCoreError, ClientError, AttributeError):
            call(handle)

    def _keep_invisible(self) -> None:
        """While we hold messages (in a batch, or being processed), push their invisibility
        back before it ends, so no other consumer gets them meanwhile."""
        margin = self.visibility_seconds / 2
        interval = max(0.2, min(1.0, self.visibility_seconds / 4))
        while self.visibility_seconds and not self._keeper_stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                due = [handle for handle, ends in self._held.items() if ends - now < margin]
            for handle in due:
                try:
                    self._client.change_message_visibility(
                        QueueUrl=self.url, ReceiptHandle=handle,
                        VisibilityTimeout=self.visibility_seconds,
                    )  # fmt: skip
                except (BotoCoreError, ClientError) as error:
                    logger.warning("%s: could not extend a message's invisibility: %s",
                                   self.queue, error)  # fmt: skip
                    continue
                with self._lock:
                    if handle in self._held:
                        self._held[handle] = time.monotonic() + self.visibility_seconds


def _sqs_message(raw: dict) -> QueueMessage:
    attributes = raw.get("MessageAttributes", {})
    system = raw.get("Attributes", {})
    dedupe = attributes.get("Idempotency-Key", {}).get("StringValue")
    content_type = attributes.get("content-type", {}).get("StringValue", "")
    return QueueMessage(
        body=raw["Body"].encode(),
        tag=raw,
        message_id=dedupe or system.get("MessageDeduplicationId") or raw["MessageId"],
        content_type=content_type,
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
    )


def _pin_to_checked_address(parameters: pika.URLParameters, url: str) -> None:
    """Connects to the address the SSRF guard checked (raises its UnsafeUrl, a ValueError);
    TLS still verifies the URL's host name."""
    address = resolve_checked(url, RABBITMQ)[0]
    if parameters.ssl_options is not None and parameters.ssl_options.server_hostname is None:
        parameters.ssl_options.server_hostname = parameters.host
    parameters.host = str(address)


def _sqs_client_options(url: str, region: str) -> dict:
    """AWS queue URLs name their region (`https://sqs.us-east-1.amazonaws.com/123/name`);
    another host (ElasticMQ, LocalStack) is the endpoint itself."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not parts.scheme or not host:
        raise ValueError("The SQS queue URL is not a URL.")
    options: dict = {"region_name": region or None}
    if host.endswith(".amazonaws.com"):
        labels = host.split(".")
        if not region and len(labels) >= 4:
            options["region_name"] = labels[1] if labels[0] == "sqs" else labels[0]
    else:
        options["endpoint_url"] = f"{parts.scheme}://{parts.netloc}"
        options["region_name"] = region or "us-east-1"
    return options


@contextmanager
def _unavailable_on(*errors: type[BaseException]) -> Iterator[None]:
    """Turns a broker library's errors into BrokerUnavailable."""
    try:
        yield
    except errors as error:
        raise BrokerUnavailable(str(error) or type(error).__name__) from error


BROKERS: dict[str, Callable[..., Broker]] = {
    QueueKind.RABBITMQ: RabbitMqBroker,
    QueueKind.SQS: SqsBroker,
}
