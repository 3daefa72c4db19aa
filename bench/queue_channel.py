"""Queue channel benchmark: messages per second one consumer thread takes from RabbitMQ.

    .venv/bin/python bench/queue_channel.py [--messages 4000]

On a fresh PostgreSQL database (`flextracker_bench_queues`, dropped at the end), a merchant with a
RabbitMQ queue source (RABBITMQ_URL, the local broker by default). For each prefetch — 1, 10 and
50 (the default of `manage.py consume`) — `--messages` messages are published to a fresh queue
(each an `/events` envelope with a message id: an order, then its shipment) and the real consumer
(`ingest.channels.queues.Consumer`, as `manage.py consume --once` runs it) reads them in a child
process until the queue is drained. The messages in hand go to `channel_deliver_all` together.
Writes the "## Queue channel" section of docs/benchmarks.md (other sections kept).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    child_json,
    database_create,
    database_drop,
    django_env,
    machine,
    postgres_ensure_running,
    sh,
    write_doc,
)
from bench.ingest import order_body, shipment_body

DB_NAME = "flextracker_bench_queues"
MERCHANT_ID = "QUEUE-01-00001"
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PREFETCHES = (1, 10, 50)


def publish(queue: str, messages: int) -> None:
    import pika  # the project's client, from its virtualenv

    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    channel.queue_declare(queue)
    run = secrets.token_hex(3)
    for n in range(messages // 2):
        order_id = f"Q{run}-{n}"
        shipment = shipment_body(f"1Z{run}{n}") | {"orderId": order_id}
        for kind, data in (("order.created", order_body(order_id)),
                           ("shipment.confirmed", shipment)):  # fmt: skip
            event_id = f"{order_id}-{kind}"
            body = json.dumps({"eventId": event_id, "type": kind, "data": data}).encode()
            properties = pika.BasicProperties(message_id=event_id, content_type="application/json")
            channel.basic_publish("", queue, body, properties)
    connection.close()


def delete(queue: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    connection.channel().queue_delete(queue)
    connection.close()


def run_child(queue: str, prefetch: int) -> dict:
    """In the child: the queue source, then the consumer until the queue is drained."""
    import threading

    import django

    django.setup()
    from ingest.channels.queues import Consumer
    from ingest.models import QueueSource
    from merchants.models import Merchant

    guard_admits_the_local_broker()

    source = QueueSource.objects.create(
        merchant=Merchant.objects.get(merchant_id=MERCHANT_ID), name=queue, kind="rabbitmq",
        url=RABBITMQ_URL, queue_name=queue,
    )  # fmt: skip
    consumer = Consumer(source, stop=threading.Event(), prefetch=prefetch, wait_seconds=1)
    started, cpu = time.monotonic(), time.process_time()
    tally = consumer.run(once=True)
    seconds = time.monotonic() - started - 1  # the last receive waits 1 s for nothing
    return {"processed": tally.processed, "problems": tally.dead_lettered + tally.retried,
            "seconds": seconds, "cpu_ms": (time.process_time() - cpu) * 1000}  # fmt: skip


def guard_admits_the_local_broker() -> None:
    """The SSRF guard refuses a broker on loopback, as it must in production; in this benchmark
    process only, it admits the local RabbitMQ (as bench/notifications.py admits its receiver)."""
    import ipaddress

    from flextracker import urlguard

    checked = urlguard._check_url

    def check(url: str, target, allowance):
        if url == RABBITMQ_URL:
            return [], [ipaddress.ip_address("127.0.0.1")]
        return checked(url, target, allowance)

    urlguard._check_url = check


def report(rows: list[dict], info: dict, messages: int) -> str:
    lines = [
        "## Queue channel", "",
        "`make bench` runs `bench/queue_channel.py`: a fresh PostgreSQL database, a merchant with "
        f"a RabbitMQ queue source on the local broker; {messages:,} messages (`/events` "
        "envelopes with message ids: an order, then its shipment) are published, and the real "
        "consumer (`ingest.channels.queues.Consumer`, as `manage.py consume --once`) reads them "
        "in one thread until the queue is drained, once per prefetch. The messages in hand go "
        "to `channel_deliver_all` together: one transaction logs and applies them all; with "
        "prefetch 1 each message has its own, as every message had before that change (issue 9, "
        "session 6: 52 messages/s then, on the same machine, logged and committed first).", "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared by the consumer, PostgreSQL and RabbitMQ",
        f"- Commit: {info['commit']}; PostgreSQL {info['postgres']}", "",
        "| prefetch (messages in hand) | messages | seconds | messages/s | consumer CPU ms "
        "per message |",
        "|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for row in rows:
        lines.append(
            f"| {row['prefetch']} | {row['processed']:,} | {row['seconds']:.1f} | "
            f"**{row['processed'] / row['seconds']:.0f}** | "
            f"{row['cpu_ms'] / max(row['processed'], 1):.2f} |"
        )
    problems = sum(row["problems"] for row in rows)
    lines += ["", f"Messages dead-lettered or given back: {problems}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], int(args.child[1]))))
        return
    postgres_ensure_running()
    info = machine()
    env = os.environ | django_env(DB_NAME) | {"ALLOWED_HOSTS": "127.0.0.1"}
    database_create(DB_NAME)
    try:
        print(f"Database {DB_NAME}: migrating …", flush=True)
        sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
        sh(PYTHON, "manage.py", "create_merchant", MERCHANT_ID, "--name", "Queues", env=env)
        rows = []
        for prefetch in PREFETCHES:
            queue = f"bench-{secrets.token_hex(4)}"
            publish(queue, args.messages)
            try:
                row = child_json(__file__, "--child", queue, str(prefetch), env=env)
            finally:
                delete(queue)
            rows.append(row | {"prefetch": prefetch})
            print(f"prefetch {prefetch}: {row['processed']:,} messages in {row['seconds']:.1f} s "
                  f"({row['processed'] / row['seconds']:.0f}/s)", flush=True)  # fmt: skip
        section = report(rows, info, args.messages)
        print("\n" + section)
        write_doc(section)
    finally:
        database_drop(DB_NAME)


if __name__ == "__main__":
    main()
