"""Amazon SQS (boto3)."""

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from flextracker.urlguard import SQS, resolve_checked
from ingest.channels.brokers.base import QueueMessage, Rejection, unavailable_on
from ingest.models import QueueKind, QueueSource

logger = logging.getLogger(__name__)


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
        with unavailable_on(BotoCoreError, ClientError, ValueError):
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
        with unavailable_on(BotoCoreError, ClientError, AttributeError):
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
            with unavailable_on(BotoCoreError, ClientError, AttributeError):
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
        with unavailable_on(BotoCoreError, ClientError, AttributeError):
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
