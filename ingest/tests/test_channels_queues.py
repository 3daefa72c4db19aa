"""Queue channels against real brokers: RabbitMQ on 127.0.0.1:5672 (each test declares its own
queues and deletes them), SQS through moto. A message is settled only after its commit: good
ones acknowledged, bad ones dead-lettered with the reason, ours given back; the inbound log
holds every one."""

import json
import os
import signal
import threading
import time
import uuid
from unittest import mock

import boto3
import pika
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from moto import mock_aws
from pika.exceptions import AMQPError

from inbound.models import InboundMessage
from ingest.channels import queues
from ingest.channels.brokers import SqsBroker
from ingest.channels.queues import Consumer
from ingest.models import QueueSource
from ingest.tests.test_channels_shopify import deliver, sample, shop_for
from merchants.tests.factories import MerchantFactory, member_of
from orders.models import Order, Shipment
from tests.database import TableLock

pytestmark = pytest.mark.django_db(transaction=True)  # settled after a real commit

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture(autouse=True)
def _brokers_allowed(settings, fake_dns):
    """RabbitMQ listens on loopback: the SSRF guard's development allowance. Brokers' names
    (AWS's, the merchants') resolve to a public address (a fake resolver)."""
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    fake_dns()


def envelope(event_id: str, kind: str, data: dict) -> bytes:
    return json.dumps({"eventId": event_id, "type": kind, "data": data}).encode()


ORDER = envelope("oms-1", "order.created", {
    "orderId": "Q-100", "customer": {"name": "Jane Doe", "email": "jane@example.com"},
    "lineItems": [{"itemId": "SKU-1", "name": "Blue mug", "quantity": 2},
                  {"itemId": "SKU-2", "name": "Tea towel", "quantity": 1}],
})  # fmt: skip
SHIPMENT = envelope("oms-2", "shipment.confirmed", {
    "orderId": "Q-100", "trackingNumber": "1Z5R89390357567127", "carrier": "ups",
    "items": [{"itemId": "SKU-1", "quantity": 2}],
})  # fmt: skip
BAD = {
    "not JSON": (b"<order id='1'/>", "MALFORMED_JSON"),
    "not UTF-8": (b"\xff\xfe\x00o\x00r\x00d\x00e\x00r", "MALFORMED_JSON"),
    "invalid": (envelope("oms-3", "order.created", {"orderId": "Q-101"}), "MISSING_ORDER_DATA"),
    "unmapped type": (envelope("oms-4", "order.teleported", {"orderId": "Q-1"}),
                      "INVALID_EVENT_DATA"),
    "unknown order": (envelope("oms-5", "items.backordered", {
        "orderId": "NOPE-1", "items": [{"itemId": "SKU-1", "quantity": 1}]}), "ORDER_NOT_FOUND"),
}  # fmt: skip


class Rabbit:
    """The test's own connection to RabbitMQ: its queues, publishing, reading back."""

    def __init__(self, connection):
        self.connection = connection
        self.channel = connection.channel()
        self.queues: list[str] = []

    def declare(self, prefix: str = "ft-test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.channel.queue_declare(name)
        self.queues.append(name)
        return name

    def publish(self, queue: str, body: bytes, message_id: str | None = None) -> None:
        properties = pika.BasicProperties(message_id=message_id, content_type="application/json")
        self.channel.basic_publish("", queue, body, properties)

    def count(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def drain(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        messages = []
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((properties, body))


@pytest.fixture
def rabbit():
    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    except (AMQPError, OSError) as error:
        pytest.skip(f"RabbitMQ is not reachable at {RABBITMQ_URL} ({error!r}); CI runs it")
    broker = Rabbit(connection)
    yield broker
    for name in broker.queues:
        broker.channel.queue_delete(name)
    connection.close()


@pytest.fixture
def orders_queue(rabbit, merchant):
    queue, dead_letters = rabbit.declare(), rabbit.declare("ft-test-dlq")
    source = QueueSource.objects.create(
        merchant=merchant, name="oms-orders", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=queue, dead_letter_queue=dead_letters,
    )  # fmt: skip
    return source


def consume(*args: str) -> str:
    out = mock.MagicMock()
    lines = []
    out.write.side_effect = lines.append
    call_command("consume", *args, "--wait", "1", stdout=out)
    return "".join(lines)


# --- RabbitMQ ----------------------------------------------------------------------------------


def test_good_messages_are_applied_then_acknowledged(rabbit, orders_queue, merchant):
    rabbit.publish(orders_queue.queue_name, ORDER, message_id="m-1")
    rabbit.publish(orders_queue.queue_name, SHIPMENT, message_id="m-2")
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert f"rabbitmq:{orders_queue.queue_name}: 2 processed, 0 dead-lettered" in output
    assert Order.objects.get(merchant=merchant, order_id="Q-100").status == "partially_shipped"
    assert rabbit.count(orders_queue.queue_name) == 0
    logged = InboundMessage.objects.order_by("pk")
    assert [(m.channel, m.source, m.outcome) for m in logged] == [
        ("queue", f"rabbitmq:{orders_queue.queue_name}", "accepted"),
    ] * 2


def test_bad_messages_are_dead_lettered_with_the_reason_and_good_ones_go_through(
    rabbit, orders_queue, merchant
):
    for body, _code in BAD.values():
        rabbit.publish(orders_queue.queue_name, body)
    rabbit.publish(orders_queue.queue_name, ORDER)
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert "1 processed, 5 dead-lettered, 0 given back" in output
    assert rabbit.count(orders_queue.queue_name) == 0
    dead = rabbit.drain(orders_queue.dead_letter_queue)
    assert [body for _properties, body in dead] == [body for body, _code in BAD.values()]
    assert [p.headers["flextracker-error-code"] for p, _body in dead] == [
        code for _body, code in BAD.values()
    ]
    for properties, body in dead:  # each names its entry in the inbound log
        logged = InboundMessage.objects.get(pk=properties.headers["flextracker-inbound-message-id"])
        assert (bytes(logged.body), logged.outcome) == (body, "rejected")
        assert properties.headers["flextracker-error-message"]
        assert properties.headers["flextracker-source-queue"] == orders_queue.queue_name
    assert InboundMessage.objects.count() == 6  # nothing lost
    assert list(Order.objects.values_list("order_id", flat=True)) == ["Q-100"]


ORDER_2 = ORDER.replace(b"Q-100", b"Q-200").replace(b"oms-1", b"oms-9")


def _refused_for_its_key(logged: InboundMessage, body: bytes, problem: str) -> None:
    assert (bytes(logged.body), logged.outcome, logged.error_code, logged.response_status) == (
        body, "rejected", "INVALID_EVENT_DATA", 422)  # fmt: skip
    assert logged.idempotency_key is None
    assert json.loads(logged.response_body)["error"]["fields"] == {"Idempotency-Key": [problem]}


@pytest.mark.parametrize("message_id", ["m-1\x00", "m-1\n", "m\x7f1"])
def test_a_message_whose_own_key_holds_a_control_character_is_dead_lettered_once(
    rabbit, orders_queue, merchant, message_id
):
    # given: a key no database column can hold, then a good message
    rabbit.publish(orders_queue.queue_name, ORDER, message_id=message_id)
    rabbit.publish(orders_queue.queue_name, ORDER_2, message_id="m-2")
    # when
    output = consume("FDC-01-12345", "--once")
    # then: refused like bad data, never given back to fail again
    assert f"rabbitmq:{orders_queue.queue_name}: 1 processed, 1 dead-lettered, 0 given back" in (
        output)  # fmt: skip
    assert rabbit.count(orders_queue.queue_name) == 0
    [(properties, body)] = rabbit.drain(orders_queue.dead_letter_queue)
    assert (body, properties.message_id) == (ORDER, message_id)
    assert properties.headers["flextracker-error-code"] == "INVALID_EVENT_DATA"
    logged = InboundMessage.objects.get(pk=properties.headers["flextracker-inbound-message-id"])
    _refused_for_its_key(logged, ORDER, "Use no control characters.")
    assert list(Order.objects.values_list("order_id", flat=True)) == ["Q-200"]
    assert InboundMessage.objects.filter(outcome="accepted").count() == 1


def test_our_database_failing_leaves_the_message_in_the_queue(rabbit, orders_queue, merchant):
    rabbit.publish(orders_queue.queue_name, ORDER, message_id="m-1")
    # when: the orders table is locked by another connection, so writing the order fails
    with TableLock(Order):
        output = consume("FDC-01-12345", "--once")
    # then: requeued, logged as our failure, nothing applied
    assert "0 processed, 0 dead-lettered, 1 given back" in output
    assert rabbit.count(orders_queue.queue_name) == 1
    assert rabbit.count(orders_queue.dead_letter_queue) == 0
    assert InboundMessage.objects.get().outcome == "failed"
    assert not Order.objects.exists()
    # when: the database is back
    consume("FDC-01-12345", "--once")
    # then
    assert rabbit.count(orders_queue.queue_name) == 0
    assert Order.objects.filter(order_id="Q-100").exists()


def test_a_message_delivered_twice_is_applied_once(rabbit, orders_queue):
    rabbit.publish(orders_queue.queue_name, ORDER, message_id="m-1")
    rabbit.publish(orders_queue.queue_name, ORDER, message_id="m-1")
    output = consume("FDC-01-12345", "--once")
    assert "2 processed" in output
    assert InboundMessage.objects.count() == 1
    assert Order.objects.count() == 1


def test_messages_in_hand_go_together_and_a_redelivered_one_is_applied_once(
    rabbit, orders_queue, merchant
):
    # given: five orders waiting, one of them delivered before (its first delivery was logged)
    bodies = [ORDER.replace(b"Q-100", f"Q-2{n}".encode()).replace(b"oms-1", f"oms-2{n}".encode())
              for n in range(5)]  # fmt: skip
    rabbit.publish(orders_queue.queue_name, bodies[0], message_id="m-0")
    consume("FDC-01-12345", "--once")
    for n, body in enumerate(bodies):
        rabbit.publish(orders_queue.queue_name, body, message_id=f"m-{n}")
    deliver, batches = queues.channel_deliver_all, []

    def counted(**kwargs):
        batches.append(len(kwargs["records"]))
        return deliver(**kwargs)

    # when
    # A spy, no failure: how the messages were grouped shows nowhere outside.
    with mock.patch.object(queues, "channel_deliver_all", side_effect=counted):
        output = consume("FDC-01-12345", "--once")
    # then: in one or two batches, not one by one; every order once, every message logged once
    assert "5 processed, 0 dead-lettered" in output and sum(batches) == 5 and len(batches) <= 2
    assert Order.objects.filter(merchant=merchant).count() == 5
    assert InboundMessage.objects.filter(outcome="accepted").count() == 5
    assert rabbit.count(orders_queue.queue_name) == 0


def test_sigterm_stops_after_the_message_in_hand(rabbit, orders_queue):
    for number in range(3):
        body = ORDER.replace(b"Q-100", f"Q-10{number}".encode()).replace(
            b"oms-1", f"oms-1{number}".encode()
        )
        rabbit.publish(orders_queue.queue_name, body)
    deliver = queues.channel_deliver_all
    previous = signal.getsignal(signal.SIGTERM)

    def terminated_meanwhile(**kwargs):
        signal.raise_signal(signal.SIGTERM)  # as `docker stop` would, while the first is handled
        return deliver(**kwargs)

    # when: no --once, no limit: only the signal ends it (one message in hand at a time)
    # Only a hook in the delivery times a real signal to arrive while a message is in hand.
    with mock.patch.object(queues, "channel_deliver_all", side_effect=terminated_meanwhile):
        output = consume("FDC-01-12345", "--prefetch", "1")
    # then
    assert "1 processed" in output
    assert list(Order.objects.values_list("order_id", flat=True)) == ["Q-100"]
    assert rabbit.count(orders_queue.queue_name) == 2
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_lost_connection_is_reopened_and_the_message_applied_once(rabbit, orders_queue):
    rabbit.publish(orders_queue.queue_name, ORDER, message_id="m-1")
    consumer = Consumer(orders_queue, stop=threading.Event(), wait_seconds=1)
    deliver = queues.channel_deliver_all

    calls = []

    def then_connection_lost(**kwargs):
        [outcome] = deliver(**kwargs)  # committed...
        calls.append(outcome)
        if len(calls) == 1:
            consumer.broker._connection.close()  # ...but the ack cannot be sent
        return [outcome]

    # when
    # The hook only times it: the real connection is closed between the commit and the ack.
    with mock.patch.object(queues, "channel_deliver_all", side_effect=then_connection_lost):
        tally = consumer.run(max_messages=1)
    # then: redelivered on a new connection, recognised by its message id
    assert tally.processed == 1 and tally.broker_error
    assert [outcome.replayed for outcome in calls] == [False, True]
    assert rabbit.count(orders_queue.queue_name) == 0
    assert InboundMessage.objects.count() == 1
    assert Order.objects.count() == 1


def test_consume_reads_only_the_merchants_own_queues(rabbit, orders_queue, other_merchant):
    other = QueueSource.objects.create(
        merchant=other_merchant, name="other-orders", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=rabbit.declare(),
    )  # fmt: skip
    rabbit.publish(orders_queue.queue_name, ORDER)
    rabbit.publish(other.queue_name, ORDER)
    # when
    consume("FDC-01-12345", "--once")
    # then
    assert rabbit.count(other.queue_name) == 1
    assert not Order.objects.filter(merchant=other_merchant).exists()
    with pytest.raises(CommandError, match="no active queue named 'other-orders'"):
        consume("FDC-01-12345", "--queue", "other-orders", "--once")


def test_every_active_queue_of_the_merchant_is_read_each_in_its_thread(
    rabbit, orders_queue, merchant
):
    second = QueueSource.objects.create(
        merchant=merchant, name="oms-returns", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=rabbit.declare(),
    )  # fmt: skip
    paused = QueueSource.objects.create(
        merchant=merchant, name="oms-paused", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=rabbit.declare(), is_active=False,
    )  # fmt: skip
    rabbit.publish(orders_queue.queue_name, ORDER)
    rabbit.publish(second.queue_name, SHIPMENT)
    rabbit.publish(paused.queue_name, ORDER)
    # when
    output = consume("FDC-01-12345", "--once")
    # then: both read at once (SQLite's in-memory test database may refuse one of two concurrent
    # writers: that message is given back, and the next run takes it)
    assert f"rabbitmq:{orders_queue.queue_name}: " in output
    assert f"rabbitmq:{second.queue_name}: " in output
    if "given back" in output.replace("0 given back", ""):
        consume("FDC-01-12345", "--once")
    assert rabbit.count(orders_queue.queue_name) == rabbit.count(second.queue_name) == 0
    assert paused.queue_name not in output and rabbit.count(paused.queue_name) == 1
    assert Order.objects.get().shipments.count() == 1


def test_a_missing_queue_is_reported(rabbit, merchant):
    QueueSource.objects.create(
        merchant=merchant, name="gone", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=f"ft-test-missing-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    with pytest.raises(CommandError, match="could not be read"):
        consume("FDC-01-12345", "--once")


def test_a_rejected_queue_message_is_replayed_from_the_console(
    rabbit, orders_queue, merchant, api, client
):
    rabbit.publish(orders_queue.queue_name, ORDER)
    rabbit.publish(orders_queue.queue_name, envelope("oms-9", "shipment.confirmed", {
        "orderId": "Q-100", "trackingNumber": "1Z5R89390357567127", "carrier": "ups",
        "items": [{"itemId": "SKU-9", "quantity": 1}],
    }))  # fmt: skip
    consume("FDC-01-12345", "--once")
    rejected = InboundMessage.objects.get(outcome="rejected")
    # the OMS fixes the order: SKU-9 was part of it
    api.post("/api/v1/orders", {"orderId": "Q-100", "lineItems": [
        {"itemId": "SKU-1", "name": "Blue mug", "quantity": 2},
        {"itemId": "SKU-9", "name": "Lid", "quantity": 1}]})  # fmt: skip
    client.force_login(member_of(merchant, "admin"))
    detail = client.get(reverse("admin:inbound_inboundmessage_change", args=[rejected.pk]))
    assert f"rabbitmq:{orders_queue.queue_name}" in detail.content.decode()  # its source
    # when
    page = client.post(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"action": "replay_selected", "_selected_action": [rejected.pk]},
        follow=True,
    ).content.decode()
    # then
    assert f"Message {rejected.pk} accepted." in page
    assert Shipment.objects.get().items.get().line_item.item_id == "SKU-9"


# --- SQS (moto) --------------------------------------------------------------------------------


@pytest.fixture
def sqs(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def sqs_source(sqs, merchant):
    url = sqs.create_queue(QueueName="fdc-orders")["QueueUrl"]
    dead = sqs.create_queue(QueueName="fdc-orders-dlq")["QueueUrl"]
    return QueueSource.objects.create(
        merchant=merchant, name="oms-sqs", kind="sqs", url=url, dead_letter_queue=dead,
        region="us-east-1",
    )  # fmt: skip


def _receive_all(sqs, url: str) -> list[dict]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])  # fmt: skip


def test_sqs_messages_are_deleted_after_commit_and_bad_ones_dead_lettered(sqs, sqs_source):
    sqs.send_message(QueueUrl=sqs_source.url, MessageBody=ORDER.decode())
    sqs.send_message(QueueUrl=sqs_source.url, MessageBody="{not json")
    sqs.send_message(QueueUrl=sqs_source.url, MessageBody=BAD["unknown order"][0].decode())
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert "sqs:fdc-orders: 1 processed, 2 dead-lettered, 0 given back" in output
    assert Order.objects.get().order_id == "Q-100"
    assert _receive_all(sqs, sqs_source.url) == []
    dead = _receive_all(sqs, sqs_source.dead_letter_queue)
    reasons = {m["Body"]: m["MessageAttributes"]["flextracker-error-code"]["StringValue"]
               for m in dead}  # fmt: skip
    assert reasons == {"{not json": "MALFORMED_JSON",
                       BAD["unknown order"][0].decode(): "ORDER_NOT_FOUND"}  # fmt: skip
    ids = {int(m["MessageAttributes"]["flextracker-inbound-message-id"]["StringValue"])
           for m in dead}  # fmt: skip
    rejected = InboundMessage.objects.filter(outcome="rejected").values_list("pk", flat=True)
    assert ids == set(rejected)


def test_an_sqs_message_whose_own_key_is_too_long_is_dead_lettered_once(sqs, sqs_source):
    # given: an Idempotency-Key attribute of 256 characters, one of 255, and a good message
    too_long, longest = "k" * 256, "l" * 255
    for body, key in ((ORDER, too_long), (ORDER_2, longest)):
        sqs.send_message(QueueUrl=sqs_source.url, MessageBody=body.decode(), MessageAttributes={
            "Idempotency-Key": {"DataType": "String", "StringValue": key}})  # fmt: skip
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert "sqs:fdc-orders: 1 processed, 1 dead-lettered, 0 given back" in output
    assert _receive_all(sqs, sqs_source.url) == []
    [dead] = _receive_all(sqs, sqs_source.dead_letter_queue)
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert (dead["Body"], attributes["flextracker-error-code"]) == (
        ORDER.decode(), "INVALID_EVENT_DATA")  # fmt: skip
    assert attributes["Idempotency-Key"] == too_long
    logged = InboundMessage.objects.get(pk=attributes["flextracker-inbound-message-id"])
    _refused_for_its_key(logged, ORDER, "Use at most 255 characters.")
    assert list(Order.objects.values_list("order_id", flat=True)) == ["Q-200"]
    accepted = InboundMessage.objects.get(outcome="accepted")
    assert accepted.idempotency_key == f"queue-{sqs_source.pk}:{longest}"[:255]


def test_an_sqs_message_we_failed_is_not_deleted_and_comes_back(sqs, sqs_source):
    sqs.send_message(QueueUrl=sqs_source.url, MessageBody=ORDER.decode())
    # when: the orders table is locked by another connection, so writing the order fails
    with TableLock(Order):
        output = consume("FDC-01-12345", "--once", "--retry-delay", "1")
    # then: invisible for the backoff, then back, with its id (the dedupe key) unchanged
    assert "1 given back" in output
    assert _receive_all(sqs, sqs_source.url) == []
    time.sleep(1.5)
    assert consume("FDC-01-12345", "--once").startswith("sqs:fdc-orders: 1 processed")
    assert _receive_all(sqs, sqs_source.url) == []
    # the log keeps the failed attempt and the one that went through
    logged = InboundMessage.objects.order_by("pk")
    assert [m.outcome for m in logged] == ["failed", "accepted"]
    assert logged[1].idempotency_key.startswith(f"queue-{sqs_source.pk}:")


def test_an_sqs_message_held_past_its_visibility_timeout_stays_ours(sqs, merchant):
    url = sqs.create_queue(QueueName="slow", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=ORDER.decode())
    broker = SqsBroker(QueueSource(merchant=merchant, kind="sqs", url=url, region="us-east-1"))
    broker.connect()
    try:
        [message] = broker.receive(0, threading.Event())
        # when: we hold it longer than the queue's visibility timeout
        time.sleep(3.5)
        # then: the keeper extended it, so nobody else got it
        assert _receive_all(sqs, url) == []
        broker.ack(message)
    finally:
        broker.close()
    time.sleep(2.5)
    assert _receive_all(sqs, url) == []  # deleted, not merely hidden


# --- The same orders by the API, RabbitMQ and Shopify ------------------------------------------

# Three orders as the store sees them: lines (Shopify line id, name, quantity, price), packages
# (fulfillment id, carrier as Shopify names it and as we do, number, lines shipped), cancelled?
STORE_ORDERS = [
    {"id": 5001, "lines": [(11, "Blue mug", 2, "10.00"), (12, "Tea towel", 1, "4.50")],
     "packages": [(71, "UPS", "ups", "1Z5R89390357567127", [(11, 2), (12, 1)])],
     "cancelled": False},
    {"id": 5002, "lines": [(21, "Lamp", 1, "35.00"), (22, "Bulb", 4, "2.25"),
                           (23, "Shade", 1, "12.00")],
     "packages": [(72, "USPS", "usps", "9400111899223197428490", [(21, 1), (22, 2)]),
                  (73, "FedEx", "fedex", "123456789012", [(22, 2)])],
     "cancelled": False},
    {"id": 5003, "lines": [(31, "Kettle", 1, "49.99")], "packages": [], "cancelled": True},
]  # fmt: skip


def _envelopes(order: dict) -> list[dict]:
    """What an OMS posts to /events for the order: written from API.md, not by our mapper."""
    order_id = f"#{order['id']}"  # the number the customer knows, as Shopify names it
    events = [{"eventId": f"api-{order['id']}", "type": "order.created", "data": {
        "orderId": order_id, "orderDate": "2021-12-31T19:00:00-05:00",
        "customer": {"name": "John Smith", "email": "jon@example.com"},
        "shippingAddress": {"street1": "123 Shipping Street", "city": "Shippington",
                            "state": "KY", "postalCode": "40003", "countryCode": "US"},
        "locale": "en", "currency": "USD", "orderValue": "404.95",
        "attributes": {"shopifyOrderId": str(order["id"]), "shopifyOrderName": order_id,
                       "shopifyOrderNumber": order["id"]},
        "lineItems": [{"itemId": str(line), "name": name, "quantity": quantity, "price": price}
                      for line, name, quantity, price in order["lines"]]}}]  # fmt: skip
    for fulfillment, _company, carrier, number, shipped in order["packages"]:
        events.append({"eventId": f"api-{fulfillment}", "type": "shipment.confirmed", "data": {
            "orderId": order_id, "trackingNumber": number, "carrier": carrier,
            "shippedAt": "2021-12-31T19:00:00-05:00", "sourceReference": str(fulfillment),
            "items": [{"itemId": str(line), "quantity": quantity} for line, quantity in shipped]},
        })  # fmt: skip
    if order["cancelled"]:
        events.append({"eventId": f"api-{order['id']}-x", "type": "order.cancelled",
                       "data": {"orderId": order_id, "reason": "customer"}})  # fmt: skip
    return events


def _shopify_deliveries(order: dict) -> list[tuple[str, dict]]:
    """The same order as Shopify's webhooks: its documented samples, with this order's values."""
    created = sample("orders/create")
    line_sample = created["line_items"][0]
    created.update(id=order["id"], name=f"#{order['id']}", order_number=order["id"])
    created["line_items"] = [
        {**line_sample, "id": line, "name": name, "title": name, "quantity": quantity,
         "current_quantity": quantity, "price": price}
        for line, name, quantity, price in order["lines"]
    ]  # fmt: skip
    deliveries = [("orders/create", created)]
    for count, (fulfillment_id, company, _carrier, number, shipped) in enumerate(
        order["packages"], start=1
    ):
        fulfillment = sample("fulfillments/create")
        lines = {line["id"]: line for line in fulfillment["line_items"]}
        line_sample = next(iter(lines.values()))
        fulfillment.update(id=fulfillment_id, order_id=order["id"], tracking_company=company,
                           tracking_number=number, tracking_numbers=[number],
                           name=f"#{order['id']}.{count}")  # fmt: skip
        fulfillment["line_items"] = [
            {**line_sample, "id": line, "quantity": quantity} for line, quantity in shipped
        ]
        deliveries.append(("fulfillments/create", fulfillment))
    if order["cancelled"]:
        deliveries.append(("orders/cancelled", {**created, "cancel_reason": "customer"}))
    return deliveries


def _snapshot(merchant) -> list[tuple]:
    orders = []
    for order in Order.objects.filter(merchant=merchant).order_by("order_id"):
        lines = [
            (i.item_id, i.name, i.description, i.price, i.quantity_ordered, i.quantity_shipped,
             i.quantity_cancelled) for i in order.line_items.all()
        ]  # fmt: skip
        shipments = [
            (s.tracking_number, s.carrier, s.service, s.shipped_at, s.source_reference,
             sorted((item.line_item.item_id, item.quantity) for item in s.items.all()))
            for s in order.shipments.order_by("tracking_number")
        ]  # fmt: skip
        orders.append((
            order.order_id, order.status, order.order_date, order.customer_name,
            order.customer_email, order.customer_phone, order.street1, order.city, order.state,
            order.postal_code, order.country_code, order.locale, order.currency,
            order.order_value, order.attributes, order.cancel_reason, order.is_placeholder,
            lines, shipments,
        ))  # fmt: skip
    return orders


def test_the_api_rabbitmq_and_shopify_build_the_same_orders(rabbit, merchant, api, client):
    by_queue, by_shopify = MerchantFactory(), MerchantFactory()
    source = QueueSource.objects.create(
        merchant=by_queue, name="oms", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name=rabbit.declare(),
    )  # fmt: skip
    shop = shop_for(by_shopify, "shop.myshopify.com", "s3cret")
    # when: the same three orders arrive by each road
    for order in STORE_ORDERS:
        for event in _envelopes(order):
            assert api.post("/api/v1/events", event).status_code in (200, 201)
            rabbit.publish(source.queue_name, json.dumps(event).encode())
        for topic, payload in _shopify_deliveries(order):
            answer = deliver(client, topic, payload, merchant_id=by_shopify.merchant_id,
                             domain="shop.myshopify.com", secret="s3cret")  # fmt: skip
            assert answer.json()["data"]["outcome"] == "accepted", answer.json()
    assert "7 processed, 0 dead-lettered" in consume(by_queue.merchant_id, "--once")
    # then
    by_api = _snapshot(merchant)
    assert [order[:2] for order in by_api] == [
        ("#5001", "shipped"), ("#5002", "partially_shipped"), ("#5003", "cancelled"),
    ]  # fmt: skip
    assert _snapshot(by_queue) == by_api
    by_shopify_orders = _snapshot(by_shopify)
    # and the store's own link, which only a store connection gives: where to write back
    for order in by_shopify_orders:
        attributes = order[14]
        link = attributes.pop("platformOrder")
        assert link == {"connection": str(shop.public_id), "id": attributes["shopifyOrderId"]}
    assert by_shopify_orders == by_api


# --- The console -------------------------------------------------------------------------------


def test_staff_set_up_a_queue_whose_password_is_never_shown_back(client, staff_client, merchant):
    url = "amqp://fred:hunter2-secret@mq.fred.example:5672/%2F"
    fields = {"merchant": merchant.pk, "name": "oms", "kind": "rabbitmq", "queue_name": "orders",
              "dead_letter_queue": "orders-dlq", "is_active": "on"}  # fmt: skip
    # when
    added = client.post(reverse("admin:ingest_queuesource_add"), {**fields, "url": url})
    # then
    assert added.status_code == 302
    source = QueueSource.objects.get()
    page = client.get(reverse("admin:ingest_queuesource_change", args=[source.pk]))
    assert "hunter2-secret" not in page.content.decode()
    assert "amqp://fred:••••@mq.fred.example:5672/%2F" in page.content.decode()
    # when: saved again without typing the URL
    client.post(reverse("admin:ingest_queuesource_change", args=[source.pk]), fields)
    # then
    source.refresh_from_db()
    assert source.url == url


def test_a_rabbitmq_source_needs_an_amqp_url_and_a_queue(client, staff_client, merchant):
    response = client.post(reverse("admin:ingest_queuesource_add"), {
        "merchant": merchant.pk, "name": "oms", "kind": "rabbitmq", "url": "http://mq:5672",
    })  # fmt: skip
    assert set(response.context["adminform"].form.errors) == {"url", "queue_name"}
    assert not QueueSource.objects.exists()


def test_merchant_users_see_their_queues_but_cannot_point_them_elsewhere(
    client, merchant, other_merchant
):
    source = QueueSource.objects.create(
        merchant=merchant, name="fred-oms-orders", kind="rabbitmq", url=RABBITMQ_URL,
        queue_name="orders",
    )  # fmt: skip
    client.force_login(member_of(merchant, "admin"))
    change = reverse("admin:ingest_queuesource_change", args=[source.pk])
    assert client.get(change).status_code == 200
    # when: a merchant admin tries to send our consumer to another host
    elsewhere = "amqp://guest:guest@10.0.0.5/"
    client.post(change, {"merchant": merchant.pk, "name": "fred-oms-orders", "kind": "rabbitmq",
                         "url": elsewhere, "queue_name": "orders"})  # fmt: skip
    # then
    source.refresh_from_db()
    assert source.url == RABBITMQ_URL
    assert client.get(reverse("admin:ingest_queuesource_add")).status_code == 403
    client.force_login(member_of(other_merchant, "admin"))
    listing = client.get(reverse("admin:ingest_queuesource_changelist"))
    assert "fred-oms-orders" not in listing.content.decode()
    assert client.get(change).status_code == 302
