"""Queue channels: a merchant's OMS publishes to a queue (RabbitMQ or Amazon SQS), and
`manage.py consume <merchantId>` reads it. One consumer loop for every broker; each broker is a
small class behind one interface (`ingest/channels/brokers.py`, like the carriers in STYLE.md).

The messages in hand (up to `prefetch`) go to `channel_deliver_all` together: each is logged raw
with its answer, mapped by the source's route and applied as `/events`, all in one transaction
(one at a time when one would take effect only in part, or was delivered before). Then, and only
after the commit, each is settled:
- accepted → acknowledged (RabbitMQ `basic_ack`, SQS `delete_message`);
- rejected for its data (a 4xx Failure: not JSON, unmapped, invalid, unknown order) →
  published to the dead-letter queue with the reason, then acknowledged: a poison message never
  blocks the queue, and the inbound log keeps it for a replay once the data is fixed;
- our failure (a 5xx Failure, the database down, the first delivery of its key still running)
  → given back to the queue (RabbitMQ `basic_nack` with requeue; SQS: not deleted, visible again
  after a growing delay) and the consumer backs off: nothing is lost.
"""

import logging
import random
import threading
from dataclasses import dataclass

from django.db import close_old_connections

from flextracker.api.envelope import validation_error
from inbound.models import InboundChannel, InboundMessage
from inbound.services import (
    Failure,
    idempotency_key_problem,
    inbound_message,
    inbound_reject,
    request_hash,
)
from ingest.channels.brokers import BROKERS, Broker, BrokerUnavailable, QueueMessage, Rejection
from ingest.channels.core import ChannelRecord, channel_deliver_all
from ingest.models import QueueSource

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
MAX_RETRY_DELAY_SECONDS = 900


@dataclass(slots=True)
class Tally:
    processed: int = 0
    dead_lettered: int = 0
    retried: int = 0
    broker_error: str = ""

    @property
    def handled(self) -> int:
        return self.processed + self.dead_lettered + self.retried


class Consumer:
    """Reads one QueueSource until `stop` is set (a signal), or — for tests and cron — until
    the queue is drained (`once`) or `max_messages` were handled."""

    def __init__(
        self,
        source: QueueSource,
        *,
        stop: threading.Event,
        broker: Broker | None = None,
        prefetch: int = 50,
        wait_seconds: float = 10,
        retry_delay_seconds: float = 10,
    ):
        self.source = source
        self.stop = stop
        self.broker = broker or BROKERS[source.kind](source, prefetch=prefetch)
        self.route = f"dictionary:{source.dictionary_id}" if source.dictionary_id else "envelope"
        self.label = f"{source.kind}:{self.broker.queue}"  # InboundMessage.source
        self.wait_seconds = wait_seconds
        self.retry_delay_seconds = retry_delay_seconds
        self._failures = 0  # batches we failed in a row: the backoff's exponent
        self._outages = 0  # broker errors in a row: likewise
        self._connected = False

    def run(self, *, once: bool = False, max_messages: int | None = None) -> Tally:
        tally = Tally()
        try:
            while not self.stop.is_set() and (max_messages is None or tally.handled < max_messages):
                self._back_off()
                try:
                    if not self._connected:
                        self.broker.connect()
                        self._connected = True
                    batch = self.broker.receive(self.wait_seconds, self.stop)
                    self._outages = 0
                    if not batch and once:
                        break
                    self._handle_batch(batch, tally, max_messages)
                except BrokerUnavailable as error:
                    self._lost(error, tally)
                    if once:
                        break
                if once and self._failures:
                    break  # our failure: what is left waits for the next run
        finally:
            self.close()
        return tally

    def close(self) -> None:
        if self._connected:
            self._connected = False
            self.broker.close()

    def _handle_batch(self, batch: list[QueueMessage], tally: Tally, limit: int | None) -> None:
        """The messages in hand, delivered together, then each settled with the broker."""
        if limit is not None:
            room = max(limit - tally.handled, 0)
            batch, rest = batch[:room], batch[room:]
            if rest:
                self.broker.release(rest)
        if not batch:
            return
        if self.stop.is_set():
            self.broker.release(batch)
            return
        outcomes = self._deliver(batch)
        retried = [self._settle(message, outcome, tally)
                   for message, outcome in zip(batch, outcomes, strict=True)]  # fmt: skip
        self._failures = self._failures + 1 if any(retried) else 0  # the backoff's exponent

    def _deliver(self, batch: list[QueueMessage]) -> list:
        """channel_deliver_all's outcomes (a refusal for a message whose own key cannot be kept),
        or None for each when the log could not be written."""
        close_old_connections()  # a long-running process: drop a connection the database closed
        try:
            refused = {index: self._refuse(message, problem) for index, message in enumerate(batch)
                       if (problem := idempotency_key_problem(message.message_id))}  # fmt: skip
            kept = [message for index, message in enumerate(batch) if index not in refused]
            records = [
                ChannelRecord(message.body, self.label, message.content_type, self._key(message))
                for message in kept
            ]
            delivered = iter(channel_deliver_all(
                merchant=self.source.merchant, channel=InboundChannel.QUEUE, route=self.route,
                records=records,
            ) if records else [])  # fmt: skip
            return [refused[index] if index in refused else next(delivered)
                    for index in range(len(batch))]  # fmt: skip
        except Exception:  # the log itself could not be written (database down)
            logger.exception("%s: could not log messages; they go back to the queue", self.label)
            return [None] * len(batch)

    def _refuse(self, message: QueueMessage, problem: str) -> Failure:
        """A key too long or holding a control character could never be logged: redelivering
        it would fail for ever, so it is refused like bad data (logged raw, dead-lettered)."""
        logged = inbound_message(
            merchant=self.source.merchant, channel=InboundChannel.QUEUE, path=self.route,
            body=message.body, content_type=message.content_type, source=self.label,
        )  # fmt: skip
        return inbound_reject(logged, validation_error({"Idempotency-Key": [problem]}, "EVENT"))

    def _key(self, message: QueueMessage) -> str | None:
        if not message.message_id or idempotency_key_problem(message.message_id):
            return None  # refused, and logged without it
        return f"queue-{self.source.pk}:{message.message_id}"[:255]

    def _settle(self, message: QueueMessage, outcome, tally: Tally) -> bool:
        """Acknowledged, dead-lettered, or given back: True, our failure (the consumer backs off;
        not the message's fault, so never dead-lettered)."""
        if outcome is None or (isinstance(outcome, Failure) and outcome.transient):
            delay = self.retry_delay_seconds * 2 ** min(message.receive_count - 1, 10)
            self.broker.retry(message, min(delay, MAX_RETRY_DELAY_SECONDS))
            tally.retried += 1
            return True
        if isinstance(outcome, Failure):
            error = outcome.error
            rejection = Rejection(error.code, error.message,
                                  self._logged_id(message, self._key(message)))  # fmt: skip
            logger.warning(
                "%s: message rejected (%s: %s), dead-lettered; inbound message %s",
                self.label, error.code, error.message, rejection.inbound_message_id,
            )  # fmt: skip
            self.broker.dead_letter(message, rejection)
            tally.dead_lettered += 1
            return False
        self.broker.ack(message)
        tally.processed += 1
        return False

    def _logged_id(self, message: QueueMessage, key: str | None) -> int | None:
        """The inbound message that logged this one, for the dead letter's headers."""
        logged = InboundMessage.objects.filter(
            merchant=self.source.merchant, channel=InboundChannel.QUEUE, source=self.label
        )
        if key:
            logged = logged.filter(idempotency_key=key)
        else:
            logged = logged.filter(request_hash=request_hash("", self.route, message.body))
        return logged.order_by("-pk").values_list("pk", flat=True).first()

    def _lost(self, error: BrokerUnavailable, tally: Tally) -> None:
        logger.error("%s: broker unavailable (%s); reconnecting", self.label, error)
        tally.broker_error = str(error)
        self._outages += 1
        self.close()

    def _back_off(self) -> None:
        failures = max(self._failures, self._outages)
        if not failures or self.stop.is_set():
            return
        jitter = random.uniform(0.5, 1)  # noqa: S311 - spreading retries needs no secrecy
        delay = min(MAX_BACKOFF_SECONDS, 2 ** min(failures - 1, 10)) * jitter
        if self._connected:
            self.broker.idle(delay, self.stop)  # keeps the connection's heartbeats going
        else:
            self.stop.wait(delay)
