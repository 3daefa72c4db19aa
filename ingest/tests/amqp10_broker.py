"""The tests' side of an AMQP 1.0 broker (RabbitMQ's AMQP 1.0 listener): queues declared over
0-9-1, as the merchant's operator would; messages sent and read back over AMQP 1.0, as their OMS
and their staff would."""

import os
import time
import uuid

import pika
import pytest
from proton import Message, ProtonException
from proton.handlers import MessagingHandler
from proton.utils import BlockingConnection

HOST = os.environ.get("RABBITMQ_HOST", "127.0.0.1")
URL = f"amqp://guest:guest@{HOST}:5672"
MISSING_LISTENER = (
    f"RabbitMQ at {HOST}:5672 does not speak AMQP 1.0: enable its plugin with "
    "`rabbitmq-plugins enable rabbitmq_amqp1_0` (.ci/run does)"
)


class _Collect(MessagingHandler):
    def __init__(self):
        super().__init__(prefetch=0, auto_accept=True)
        self.messages: list[Message] = []

    def on_message(self, event) -> None:
        self.messages.append(event.message)


class Broker:
    def __init__(self):
        self.rabbit = pika.BlockingConnection(pika.URLParameters(f"{URL}/%2F"))
        self.channel = self.rabbit.channel()
        self.queues: list[str] = []
        self.senders: dict = {}
        self.receivers: list = []
        try:
            self.amqp = BlockingConnection(
                f"amqp://{HOST}:5672", timeout=5, user="guest", password="guest",
                allow_insecure_mechs=True,
            )  # fmt: skip
        except ProtonException as error:
            self.close()
            pytest.fail(f"{MISSING_LISTENER} ({error})")

    def declare(self, prefix: str = "ft-amqp10", **arguments) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.channel.queue_declare(name, arguments=arguments or None)
        self.queues.append(name)
        return f"/amq/queue/{name}"  # the address RabbitMQ 3.x gives an existing queue

    def send(self, address: str, body: bytes | str, message_id: str | None = None) -> None:
        message = Message(body=body, id=message_id, content_type="application/json", durable=True)
        if address not in self.senders:  # one link per address (a link's name is its address)
            self.senders[address] = self.amqp.create_sender(address)
        self.senders[address].send(message)

    def count(self, address: str) -> int:
        """The messages waiting in the queue, once the broker has taken back those a closed
        connection held (RabbitMQ's AMQP 1.0 plugin does that a moment after the close)."""
        name = address.removeprefix("/amq/queue/")
        deadline, last = time.monotonic() + 2, None
        while True:
            waiting = self.channel.queue_declare(name, passive=True).method
            settled = waiting.consumer_count == 0 and waiting.message_count == last
            if settled or time.monotonic() > deadline:
                return waiting.message_count
            last = waiting.message_count
            self.rabbit.sleep(0.1)

    def drain(self, address: str) -> list[Message]:
        expected = self.count(address)
        handler = _Collect()
        # Kept (a receiver dropped by Python stops handing over messages) and left open: RabbitMQ
        # 3.x never answers a link's detach; the connection's close ends it.
        self.receivers.append(self.amqp.create_receiver(
            address, credit=expected, handler=handler, name=str(uuid.uuid4())))  # fmt: skip
        self.amqp.wait(lambda: len(handler.messages) == expected, timeout=5)
        return handler.messages

    def close(self) -> None:
        if getattr(self, "amqp", None) is not None:
            self.amqp.close()  # first: RabbitMQ 3.x stops answering once a queue read goes
        for name in self.queues:
            self.channel.queue_delete(name)
        self.rabbit.close()
