"""What every broker shares: the interface the consumer loop calls, the message in hand, a
rejection's reason, and the one error a broker raises."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Protocol


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


@contextmanager
def unavailable_on(*errors: type[BaseException]) -> Iterator[None]:
    """Turns a broker library's errors into BrokerUnavailable."""
    try:
        yield
    except errors as error:
        raise BrokerUnavailable(str(error) or type(error).__name__) from error
