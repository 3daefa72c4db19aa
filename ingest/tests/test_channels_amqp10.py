"""The AMQP 1.0 queue channel against a real AMQP 1.0 broker: RabbitMQ's AMQP 1.0 listener on
127.0.0.1:5672 (the rabbitmq_amqp1_0 plugin; .ci/run enables it). Each test declares its own
queues (over 0-9-1, as a merchant's operator would) and publishes and reads over AMQP 1.0, as
the merchant's OMS and their staff would. A message is settled only after its commit."""

import json
import threading
import uuid

import pytest
from django.core.management import CommandError
from django.urls import reverse
from pika.exceptions import AMQPError

from inbound.models import InboundMessage
from ingest.channels import queues
from ingest.channels.brokers import Amqp10Broker, BrokerUnavailable
from ingest.channels.queues import Consumer
from ingest.models import QueueSource
from ingest.tests.amqp10_broker import HOST, URL, Broker
from ingest.tests.test_channels_queues import BAD, ORDER, SHIPMENT, consume
from merchants.tests.factories import member_of
from notifications.models import Notification
from notifications.services import webhook_endpoint_create
from orders.models import Order
from tests.database import TableLock

pytestmark = pytest.mark.django_db(transaction=True)  # settled after a real commit


@pytest.fixture(autouse=True)
def _broker_allowed(settings, fake_dns):
    """RabbitMQ listens on loopback: the SSRF guard's development allowance."""
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = [HOST]
    fake_dns()


@pytest.fixture
def broker():
    try:
        broker = Broker()
    except (AMQPError, OSError) as error:
        pytest.fail(f"RabbitMQ is not reachable at {HOST}:5672 ({error!r}); CI runs it")
    yield broker
    broker.close()


@pytest.fixture
def source(broker, merchant):
    return QueueSource.objects.create(
        merchant=merchant, name="oms-amqp", kind="amqp10", url=URL,
        queue_name=broker.declare(), dead_letter_queue=broker.declare("ft-amqp10-dlq"),
    )  # fmt: skip


def _label(source: QueueSource) -> str:
    return f"amqp10:{source.queue_name}"


def test_updates_arrive_once_and_are_accepted_after_the_commit(broker, source, merchant):
    broker.send(source.queue_name, ORDER, message_id="m-1")
    broker.send(source.queue_name, SHIPMENT, message_id="m-2")
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert output == f"{_label(source)}: 2 processed, 0 dead-lettered, 0 given back\n"
    order = Order.objects.get(merchant=merchant, order_id="Q-100")
    assert order.status == "partially_shipped"
    assert list(order.shipments.values_list("tracking_number", "carrier")) == [
        ("1Z5R89390357567127", "ups")
    ]
    assert broker.count(source.queue_name) == 0
    logged = InboundMessage.objects.order_by("pk")
    assert [(m.channel, m.source, m.outcome, m.idempotency_key) for m in logged] == [
        ("queue", _label(source), "accepted", f"queue-{source.pk}:m-1"),
        ("queue", _label(source), "accepted", f"queue-{source.pk}:m-2"),
    ]


def test_a_text_message_as_jms_clients_send_it_is_read_too(broker, source, merchant):
    # given: IBM MQ and ActiveMQ JMS TextMessages arrive as an AMQP string, not bytes
    broker.send(source.queue_name, ORDER.decode(), message_id="ID:jms-1")
    # when
    output = consume("FDC-01-12345", "--once")
    # then
    assert "1 processed, 0 dead-lettered" in output
    assert Order.objects.filter(merchant=merchant, order_id="Q-100").exists()
    assert InboundMessage.objects.get().idempotency_key == f"queue-{source.pk}:ID:jms-1"


def _state(merchant) -> list[tuple]:
    orders = Order.objects.filter(merchant=merchant).order_by("pk")
    return [
        (o.order_id, o.status, o.updated_at, sorted(o.shipments.values_list("tracking_number")))
        for o in orders.prefetch_related("shipments")
    ]


def test_repeated_deliveries_change_nothing(broker, source, merchant):
    # given: the update applied once
    broker.send(source.queue_name, ORDER, message_id="m-1")
    consume("FDC-01-12345", "--once")
    before = (_state(merchant), Notification.objects.count())
    # when: the OMS sends it again, twice (its own retry, a broker's redelivery)
    broker.send(source.queue_name, ORDER, message_id="m-1")
    broker.send(source.queue_name, ORDER, message_id="m-1")
    output = consume("FDC-01-12345", "--once")
    # then: both settled, nothing changed, the log holds the one delivery
    assert "2 processed, 0 dead-lettered, 0 given back" in output
    assert (_state(merchant), Notification.objects.count()) == before
    assert InboundMessage.objects.count() == 1
    assert broker.count(source.queue_name) == 0


def test_malformed_messages_are_kept_and_dead_lettered_with_the_reason(
    broker, source, merchant, client
):
    for number, (body, _code) in enumerate(BAD.values()):
        broker.send(source.queue_name, body, message_id=f"bad-{number}")
    broker.send(source.queue_name, ORDER, message_id="good")
    # when
    output = consume("FDC-01-12345", "--once")
    # then: the good one went through; the queue is empty
    assert output == f"{_label(source)}: 1 processed, 5 dead-lettered, 0 given back\n"
    assert list(Order.objects.values_list("order_id", flat=True)) == ["Q-100"]
    assert broker.count(source.queue_name) == 0
    # each bad one is in the dead-letter queue, its body, id and reason with it
    dead = broker.drain(source.dead_letter_queue)
    assert [(bytes(m.body), m.id) for m in dead] == [
        (body, f"bad-{number}") for number, (body, _code) in enumerate(BAD.values())
    ]
    assert [m.properties["flextracker-error-code"] for m in dead] == [
        code for _body, code in BAD.values()
    ]
    for message in dead:
        assert message.properties["flextracker-source-queue"] == source.queue_name
        reason = message.properties
        logged = InboundMessage.objects.get(pk=reason["flextracker-inbound-message-id"])
        assert (bytes(logged.body), logged.outcome, logged.error_code) == (
            bytes(message.body), "rejected", reason["flextracker-error-code"])  # fmt: skip
        assert reason["flextracker-error-message"] == (
            json.loads(logged.response_body)["error"]["message"])  # fmt: skip
    # and the merchant sees each in the console, with its reason
    client.force_login(member_of(merchant, "admin"))
    rejected = InboundMessage.objects.get(error_code="ORDER_NOT_FOUND")
    page = client.get(reverse("admin:inbound_inboundmessage_change", args=[rejected.pk]))
    assert _label(source) in page.content.decode()
    assert "ORDER_NOT_FOUND" in page.content.decode()


def test_without_a_dead_letter_address_the_queues_own_dead_lettering_takes_it(broker, merchant):
    # given: a queue whose rejected messages RabbitMQ moves to another queue
    parked = broker.declare("ft-amqp10-parked")
    parked_name = parked.rpartition("/")[2]
    address = broker.declare(
        **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": parked_name}
    )
    source = QueueSource.objects.create(
        merchant=merchant, name="oms-amqp", kind="amqp10", url=URL, queue_name=address
    )
    broker.send(address, b"{not json", message_id="bad-1")
    # when
    output = consume("FDC-01-12345", "--once")
    # then: settled `rejected`, so the broker dead-lettered it; our log keeps it
    assert "0 processed, 1 dead-lettered" in output
    assert broker.count(source.queue_name) == 0
    [parked_message] = broker.drain(parked)
    assert (bytes(parked_message.body), parked_message.id) == (b"{not json", "bad-1")
    logged = InboundMessage.objects.get()
    assert (bytes(logged.body), logged.outcome, logged.error_code) == (
        b"{not json", "rejected", "MALFORMED_JSON")  # fmt: skip


def test_a_dead_letter_the_broker_refuses_leaves_the_original_in_the_queue(broker, merchant):
    # given: a dead-letter queue that refuses every message (full, and set to say so)
    address = broker.declare()
    full = broker.declare("ft-amqp10-full", **{"x-max-length": 0, "x-overflow": "reject-publish"})
    QueueSource.objects.create(
        merchant=merchant, name="oms-amqp", kind="amqp10", url=URL, queue_name=address,
        dead_letter_queue=full,
    )  # fmt: skip
    broker.send(address, b"{not json", message_id="bad-1")
    # when
    with pytest.raises(CommandError, match="could not be read"):
        consume("FDC-01-12345", "--once")
    # then: the copy was refused, so the original was never accepted: it waits in the queue
    assert broker.count(address) == 1
    assert InboundMessage.objects.get().error_code == "MALFORMED_JSON"  # kept, with its reason


def test_our_failure_gives_the_message_back_and_the_next_run_applies_it(broker, source):
    broker.send(source.queue_name, ORDER, message_id="m-1")
    # when: the orders table is locked by another connection, so writing the order fails
    with TableLock(Order):
        output = consume("FDC-01-12345", "--once")
    # then: released, not dead-lettered, nothing applied
    assert "0 processed, 0 dead-lettered, 1 given back" in output
    assert broker.count(source.queue_name) == 1
    assert broker.count(source.dead_letter_queue) == 0
    assert not Order.objects.exists()
    # when: the database is back
    assert "1 processed" in consume("FDC-01-12345", "--once")
    # then
    assert broker.count(source.queue_name) == 0
    assert Order.objects.filter(order_id="Q-100").count() == 1


class Killed(BaseException):
    """The consumer process dying: nothing of ours runs after it (not an Exception)."""


def _consumer_killed(source: QueueSource, *, after_commit: bool) -> Consumer:
    """Runs a consumer that dies while the first message is in hand: before its transaction
    commits, or after it but before the broker hears that it was accepted."""
    consumer = Consumer(source, stop=threading.Event(), wait_seconds=1)
    deliver = queues.channel_deliver_all

    def dies(**kwargs):
        if after_commit:
            deliver(**kwargs)
        raise Killed

    # The hook only times the death; the broker sees a connection that ends with the message
    # unsettled, as when the process is killed.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(queues, "channel_deliver_all", dies)
        with pytest.raises(Killed):
            consumer.run(once=True)
    return consumer


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_a_consumer_killed_with_a_message_in_hand_gets_it_again_and_applies_it_once(
    broker, source, merchant, after_commit
):
    broker.send(source.queue_name, ORDER, message_id="m-1")
    # when
    _consumer_killed(source, after_commit=after_commit)
    # then: the broker kept it
    assert broker.count(source.queue_name) == 1
    assert Order.objects.count() == (1 if after_commit else 0)
    # when: the consumer runs again
    output = consume("FDC-01-12345", "--once")
    # then: redelivered, applied once (the second time recognised by its message id)
    assert "1 processed, 0 dead-lettered, 0 given back" in output
    assert broker.count(source.queue_name) == 0
    assert Order.objects.filter(merchant=merchant).count() == 1
    assert InboundMessage.objects.filter(outcome="accepted").count() == 1


def test_a_lost_connection_is_reopened_and_the_message_applied_once(broker, source):
    broker.send(source.queue_name, ORDER, message_id="m-1")
    consumer = Consumer(source, stop=threading.Event(), wait_seconds=1)
    deliver, calls = queues.channel_deliver_all, []

    def then_connection_lost(**kwargs):
        [outcome] = deliver(**kwargs)  # committed...
        calls.append(outcome)
        if len(calls) == 1:  # ...but the broker is gone before it hears "accepted"
            consumer.broker._connection.conn.transport.close_tail()
        return [outcome]

    # The hook only times it: the real connection's input is closed between commit and accept.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(queues, "channel_deliver_all", then_connection_lost)
        tally = consumer.run(max_messages=1)
    # then: redelivered on a new connection, recognised by its message id
    assert tally.processed == 1 and tally.broker_error
    assert [outcome.replayed for outcome in calls] == [False, True]
    assert broker.count(source.queue_name) == 0
    assert InboundMessage.objects.count() == 1
    assert Order.objects.count() == 1


def _notifications(merchant) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(merchant=merchant).order_by("pk")
    return list(rows.values_list("channel", "trigger", "recipient"))


def test_the_customers_notifications_follow_as_for_the_api(
    broker, source, merchant, other_merchant, api, other_api
):
    # given: both merchants email the customer on a new order and take order webhooks
    endpoints = {}
    for each in (merchant, other_merchant):
        each.notification_rules.create(channel="email", trigger="order_received")
        endpoints[each.pk], _secret = webhook_endpoint_create(
            merchant=each, url="https://hooks.example.com/orders",
            event_types=["order.created", "shipment.created"],
        )  # fmt: skip
    # when: the same events, over AMQP 1.0 for one, POSTed to /events for the other
    broker.send(source.queue_name, ORDER, message_id="m-1")
    broker.send(source.queue_name, SHIPMENT, message_id="m-2")
    consume("FDC-01-12345", "--once")
    for event in (ORDER, SHIPMENT):
        assert other_api.post("/api/v1/events", json.loads(event)).status_code in (200, 201)
    # then: the customer is told the same things, once
    assert _notifications(merchant) == [
        ("webhook", "order.created", endpoints[merchant.pk].public_id),
        ("email", "order_received", "jane@example.com"),
        ("webhook", "shipment.created", endpoints[merchant.pk].public_id),
    ]
    assert [row[:2] for row in _notifications(other_merchant)] == [
        row[:2] for row in _notifications(merchant)
    ]


def test_a_missing_source_address_is_reported_by_name(broker, merchant, monkeypatch):
    monkeypatch.setattr(Amqp10Broker, "timeout_seconds", 2.0)  # RabbitMQ never answers
    missing = f"/amq/queue/ft-amqp10-missing-{uuid.uuid4().hex[:8]}"
    source = QueueSource(merchant=merchant, kind="amqp10", url=URL, queue_name=missing)
    amqp = Amqp10Broker(source)
    # when
    with pytest.raises(BrokerUnavailable) as refused:
        amqp.connect()
    # then
    assert str(refused.value).startswith(f"address {missing!r} could not be opened")
    assert amqp._connection is None


def test_a_missing_dead_letter_address_stops_the_consumer_before_it_takes_a_message(
    broker, merchant, monkeypatch
):
    monkeypatch.setattr(Amqp10Broker, "timeout_seconds", 2.0)
    address = broker.declare()
    missing = f"/amq/queue/ft-amqp10-missing-{uuid.uuid4().hex[:8]}"
    QueueSource.objects.create(
        merchant=merchant, name="oms-amqp", kind="amqp10", url=URL, queue_name=address,
        dead_letter_queue=missing,
    )  # fmt: skip
    broker.send(address, b"{not json")
    # when
    with pytest.raises(CommandError, match="could not be read"):
        consume("FDC-01-12345", "--once")
    # then: RabbitMQ would have dropped the dead letter; the message waits instead
    assert broker.count(address) == 1
    assert not InboundMessage.objects.exists()


def test_consume_reads_only_the_merchants_own_amqp_queues(broker, source, other_merchant):
    other = QueueSource.objects.create(
        merchant=other_merchant, name="other-amqp", kind="amqp10", url=URL,
        queue_name=broker.declare(),
    )  # fmt: skip
    broker.send(source.queue_name, ORDER)
    broker.send(other.queue_name, ORDER)
    # when
    consume("FDC-01-12345", "--once")
    # then
    assert broker.count(other.queue_name) == 1
    assert not Order.objects.filter(merchant=other_merchant).exists()
    assert Order.objects.filter(merchant=source.merchant).count() == 1


def test_credit_bounds_the_messages_held_and_the_rest_stay_queued(broker, source):
    for number in range(5):
        body = ORDER.replace(b"Q-100", f"Q-3{number}".encode()).replace(
            b"oms-1", f"oms-3{number}".encode()
        )
        broker.send(source.queue_name, body, message_id=f"m-{number}")
    # when: at most two in hand, three handled
    output = consume("FDC-01-12345", "--once", "--prefetch", "2", "--max-messages", "3")
    # then
    assert "3 processed" in output
    assert Order.objects.count() == 3
    assert broker.count(source.queue_name) == 2
