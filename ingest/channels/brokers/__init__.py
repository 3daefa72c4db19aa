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
- AMQP 1.0 (python-qpid-proton; IBM MQ, ActiveMQ, Azure Service Bus, RabbitMQ 4): link credit
  as the prefetch; accepted after our commit, released on our failure; a dead letter is a copy
  the broker has settled before the original is accepted (`amqp10.py`).
"""

from collections.abc import Callable

from ingest.channels.brokers.amqp10 import Amqp10Broker
from ingest.channels.brokers.base import Broker, BrokerUnavailable, QueueMessage, Rejection
from ingest.channels.brokers.rabbitmq import RabbitMqBroker
from ingest.channels.brokers.sqs import SqsBroker
from ingest.models import QueueKind

__all__ = [
    "BROKERS", "Amqp10Broker", "Broker", "BrokerUnavailable", "QueueMessage", "RabbitMqBroker",
    "Rejection", "SqsBroker",
]  # fmt: skip

BROKERS: dict[str, Callable[..., Broker]] = {
    QueueKind.RABBITMQ: RabbitMqBroker,
    QueueKind.SQS: SqsBroker,
    QueueKind.AMQP10: Amqp10Broker,
}
