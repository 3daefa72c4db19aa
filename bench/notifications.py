"""Notifications benchmark (issue 7): messages sent per minute by one worker, per channel, against
local receivers.

    .venv/bin/python bench/notifications.py [--messages 640] [--latency-ms 200]
        [--threads 1,16,32] [--merchants 50] [--channels webhook,slack,staff_email,email]

A fresh PostgreSQL database (`flextracker_bench_notify`, dropped at the end), and two receivers
in child processes: an HTTP server answering 200 after --latency-ms (merchant webhooks and a
Slack incoming webhook), and an aiosmtpd SMTP server that accepts every message (emails). This
process is the one worker: it calls `notifications_send_due` in a loop, as the django-q2 task
`send_notifications` does, until nothing is due, once per channel and per NOTIFICATIONS_SEND_THREADS
in --threads (1: one message at a time, as before issue 26):

  webhook         --messages signed merchant webhooks carrying a tracking object (8 events),
                  spread over --merchants merchants' endpoints (one endpoint's go in order)
  slack           --messages staff alerts to the merchants' Slack incoming webhooks
  staff email     --messages staff alert emails over SMTP (plain text)
  customer email  --messages customer emails over SMTP (HTML and text, the merchant's branding),
                  when the customer email channel is registered

The SSRF guard refuses 127.0.0.1 and any port but 80/443, as it must. Inside this benchmark
process only, `flextracker.urlguard._check_url` is wrapped so that the receiver's own address
passes; everything else on the path (the pinned connection, the signature, the timeout, the
bounded read, the attempt log, the backoff bookkeeping) is the production code. The app itself
has no switch for this. Results are printed and written to the "## Notifications" section of
docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DOC,
    PYTHON,
    REPO,
    database_create,
    database_drop,
    django_env,
    fmt,
    free_port,
    machine,
    machine_busy_seconds,
    postgres_ensure_running,
    wait_for_port,
    wait_for_quiet_machine,
    write_doc,
)

DB_NAME = "flextracker_bench_notify"
COMMAND = ".venv/bin/python bench/notifications.py"
BATCH = 500


def settings_env(smtp_port: int) -> dict[str, str]:
    return django_env(DB_NAME) | {
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PUBLIC_BASE_URL": "https://track.example.com",
    }


# --- The receivers (child processes) -------------------------------------------------------------


def http_receiver(port: int, latency_ms: float) -> None:
    """Answers every POST with 200 after the latency; GET /count says how many it received."""
    received, counting = {"count": 0}, threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency_ms / 1000)
            with counting:
                received["count"] += 1
            self._answer(b"ok")

        def do_GET(self):
            self._answer(str(received["count"]).encode())

        def _answer(self, body: bytes):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def smtp_receiver(port: int) -> None:
    """Accepts every message; prints how many when it is stopped (SIGTERM)."""
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 Message accepted for delivery"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()

    def stop(*_args):
        controller.stop()
        print(Sink.count, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.pause()


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        [PYTHON, __file__, *args], cwd=REPO, stdout=subprocess.PIPE, text=True
    )


def http_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as answer:
        return int(answer.read())


# --- The worker (this process) -------------------------------------------------------------------


def guard_admits_the_receiver(port: int) -> None:
    """The benchmark's only change to the app's behaviour, in this process only (see above)."""
    from flextracker import urlguard

    checked = urlguard._check_url
    local = ipaddress.ip_address("127.0.0.1")

    def check(url: str, target, allowance):
        parts = urlsplit(url)
        if (parts.hostname, parts.port) == ("127.0.0.1", port):
            return [], [local]
        return checked(url, target, allowance)

    urlguard._check_url = check


def sample_tracking() -> dict:
    from notifications.services import SAMPLE_TRACKING

    events = [
        {**SAMPLE_TRACKING["events"][0], "eventId": f"evt_{n}", "carrierCode": "AR",
         "carrierDescription": "ARRIVAL SCAN", "source": "poll"}
        for n in range(8)
    ]  # fmt: skip
    return {**SAMPLE_TRACKING, "test": False, "events": events}


def seed(port: int, count: int) -> list:
    """`count` merchants, each with a webhook endpoint and a Slack incoming webhook."""
    from merchants.models import Merchant
    from notifications.models import WebhookEndpoint

    merchants = Merchant.objects.bulk_create(
        Merchant(merchant_id=f"BENCH-01-{n:05d}", name=f"Bench Shop {n}",
                 support_email="help@bench.example",
                 slack_webhook_url=f"http://127.0.0.1:{port}/slack/{n}")
        for n in range(count)
    )  # fmt: skip
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(merchant=merchant, url=f"http://127.0.0.1:{port}/hooks/{n}",
                        secret="whsec_bench", event_types=["tracking.updated"])  # noqa: S106
        for n, merchant in enumerate(merchants)
    )  # fmt: skip
    endpoints = {e.merchant_id: e for e in WebhookEndpoint.objects.all()}
    return [(merchant, endpoints[merchant.pk]) for merchant in merchants]


def queue(senders: list, channel: str, n: int) -> None:
    """n due rows of the channel, written as the services write them (the payload included),
    the merchants taking turns."""
    from notifications.models import Notification
    from orders.models import Order

    Notification.objects.filter(channel=channel).delete()  # an earlier run's
    Order.objects.all().delete()
    tracking = sample_tracking()
    payload = {"status": "exception", "tracking": tracking,
               "trackingPage": "https://track.example.com/orders/BENCH-01-00001/1?t=x"}  # fmt: skip
    orders = [None] * n
    if channel == "email":
        orders = Order.objects.bulk_create(
            Order(merchant=senders[i % len(senders)][0], order_id=f"B-{i}",
                  customer_name="Jane Doe", customer_email=f"customer{i}@bench.example",
                  locale="en")
            for i in range(n)
        )  # fmt: skip
    recipients = {
        "webhook": lambda i: senders[i % len(senders)][1].public_id,
        "slack": lambda i: "slack",
        "staff_email": lambda i: f"ops{i}@bench.example",
        "email": lambda i: f"customer{i}@bench.example",
    }[channel]
    trigger = {"webhook": "tracking.updated", "email": "delivered"}.get(channel, "exception")
    Notification.objects.bulk_create(
        (Notification(merchant=senders[i % len(senders)][0], order=orders[i], channel=channel,
                      recipient=recipients(i), trigger=trigger, dedupe_key=f"bench:{i}",
                      payload={**payload, "eventType": trigger, "data": tracking})
         for i in range(n)),
        batch_size=BATCH,
    )  # fmt: skip


@contextlib.contextmanager
def sql_timed_in_every_thread() -> Iterator[dict]:
    """Counts the statements Django runs inside the block, on this thread's connection and on
    every connection a sending thread opens, and the time spent in them (summed over threads)."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    spent, adding = {"seconds": 0.0, "queries": 0}, threading.Lock()

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            with adding:
                spent["seconds"] += time.perf_counter() - started
                spent["queries"] += 1

    def wrap(sender, connection, **kwargs):
        connection.execute_wrappers.append(timed)

    connection_created.connect(wrap)  # the benchmark's own instrument, not the app's
    try:
        with connection.execute_wrapper(timed):
            yield spent
    finally:
        connection_created.disconnect(wrap)


def send_all(threads: int) -> dict:
    """The worker's loop (tasks.send_notifications without its time budget), measured."""
    from django.conf import settings

    from notifications.sending import notifications_send_due

    settings.NOTIFICATIONS_SEND_THREADS = threads
    totals = {"claimed": 0, "sent": 0, "retrying": 0, "failed": 0}
    started, cpu, busy = time.perf_counter(), os.times(), machine_busy_seconds()
    with sql_timed_in_every_thread() as sql:
        while True:
            report = notifications_send_due()
            for key in totals:
                totals[key] += getattr(report, key)
            if report.claimed == 0:
                break
    seconds, used = time.perf_counter() - started, os.times()
    cpu_seconds = used.user + used.system - cpu.user - cpu.system
    busy = (machine_busy_seconds() - busy) / seconds
    return {**totals, "seconds": seconds, "cpu": cpu_seconds, "busy": busy,
            "sql_seconds": sql["seconds"], "queries": sql["queries"]}  # fmt: skip


def run_channel(senders: list, channel: str, n: int, threads: int) -> dict:
    from notifications.models import Notification, NotificationAttempt

    queue(senders, channel, n)
    result = send_all(threads)
    rows = Notification.objects.filter(channel=channel)
    result["stored_sent"] = rows.filter(status="sent").count()
    result["attempts"] = NotificationAttempt.objects.filter(notification__channel=channel).count()
    result["errors"] = sorted(set(rows.exclude(status="sent").values_list("last_error", flat=True)))
    result["channel"], result["messages"], result["threads"] = channel, n, threads
    print(f"{channel}, {threads} threads: {n} in {result['seconds']:.1f} s, "
          f"sent {result['sent']}", flush=True)  # fmt: skip
    return result


# --- The report ----------------------------------------------------------------------------------

LABELS = {"webhook": "merchant webhook", "slack": "Slack alert",
          "staff_email": "staff alert email", "email": "customer email"}  # fmt: skip


def per_minute(run: dict) -> float:
    return run["sent"] / run["seconds"] * 60


def report(runs: list[dict], info: dict, args, received: dict, skipped: list[str]) -> str:
    floor = 60_000 / args.latency_ms
    rows = []
    for run in runs:
        n = run["messages"]
        http = run["channel"] in ("webhook", "slack")
        rows.append(
            f"| {LABELS[run['channel']]} | {run['threads']} | {n:,} | {run['seconds']:.1f} | "
            f"**{fmt(per_minute(run))}** | {fmt(floor) if http else '—'} | "
            f"{run['cpu'] / n * 1000:.1f} | {run['queries'] / n:.1f} | "
            f"{run['sql_seconds'] / n * 1000:.1f} | {run['busy']:.1f} of {info['cpus']} | "
            f"{run['failed'] + run['retrying']} |"
        )
    lost = [f"{LABELS[r['channel']]} ({r['threads']} threads): {r['stored_sent']:,} sent of "
            f"{r['messages']:,}, {r['attempts']:,} attempts" for r in runs]  # fmt: skip
    webhooks = {r["threads"]: r for r in runs if r["channel"] == "webhook"}
    alone, side_by_side = (
        webhooks.get(min(webhooks, default=0)),
        webhooks.get(max(webhooks, default=0)),
    )
    lines = [
        "## Notifications",
        "",
        "`make bench` also runs `bench/notifications.py`: one worker (the benchmark process) "
        "calls `notifications_send_due` in a loop, as the django-q2 task `send_notifications` "
        "does, until nothing is due, once per channel and per `NOTIFICATIONS_SEND_THREADS` "
        f"({', '.join(map(str, args.threads))}; 1 sends one message at a time, as before issue "
        "26), against local receivers in their own processes: an HTTP server answering 200 "
        f"after {args.latency_ms:g} ms (webhooks, Slack) and an aiosmtpd SMTP server accepting "
        "every message (emails). A fresh PostgreSQL database; the rows are written beforehand, "
        "with the payload the services write (a tracking object with 8 events), the "
        f"{args.merchants} merchants taking turns: each has one webhook endpoint and one Slack "
        "webhook, whose messages go one at a time and in order.",
        "",
        f"    {COMMAND} --messages {args.messages} --latency-ms {args.latency_ms:g} "
        f"--threads {','.join(map(str, args.threads))} --merchants {args.merchants} "
        f"--channels {','.join(args.channels)}",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared by the worker, PostgreSQL and the receivers",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}; {args.messages:,} messages per channel; claims of "
        "100 rows, or 10 per thread when that is more (the default); one new connection per "
        "message (HTTP and SMTP), as in production",
        "",
        "| channel | threads | messages | seconds | messages/min | one-at-a-time floor/min | "
        "worker CPU ms/message | SQL statements/message | SQL ms/message | CPUs busy (all) | "
        "not sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"One-at-a-time floor: one thread sending one message at a time cannot beat 60,000 ms ÷ "
        f"{args.latency_ms:g} ms per minute against this receiver. SQL: statements the worker "
        "ran per message (claim, lease, attempt log, status), on every thread, and the time "
        "spent in them. CPUs busy: every process on the machine, per wall second (the worker, "
        "PostgreSQL, the receivers, and anything else running).",
        "",
        f"Nothing lost: {'; '.join(lost)}. The receivers counted {received['http']:,} HTTP "
        f"requests and {received['smtp']:,} emails.",
        "",
        "The SSRF guard refuses 127.0.0.1 and ports other than 80/443, as it must; inside the "
        "benchmark process only, `flextracker.urlguard._check_url` is wrapped to let the "
        "receiver's address through. Everything else on the path is the production code.",
    ]
    if alone and side_by_side and alone is not side_by_side:
        own = alone["seconds"] / alone["messages"] * 1000 - args.latency_ms
        cpu = side_by_side["cpu"] / side_by_side["messages"] * 1000
        sql = side_by_side["sql_seconds"] / side_by_side["messages"] * 1000
        gain = per_minute(side_by_side) / per_minute(alone)
        lines += [
            "",
            "### What limits it",
            "",
            f"One at a time, an HTTP message costs the receiver's {args.latency_ms:g} ms plus "
            f"{own:.1f} ms of our own (the SSRF check, a new connection — without TLS here —, "
            "signing, the SQL statements). With "
            f"{side_by_side['threads']} threads a worker waits for {side_by_side['threads']} "
            f"receivers at once: {gain:.1f}× the webhooks per minute in this run. Each thread "
            "still waits for its own message's SQL statements, one after another "
            f"({sql:.0f} ms a webhook here, with every CPU of the machine busy), and they all "
            f"share the worker's CPU ({cpu:.1f} ms a webhook, under one Python interpreter "
            "lock); a claim ends with its slowest recipient's queue. "
            "Messages to one endpoint still go one at a time, in order: a single endpoint gets "
            "no more than the one-at-a-time figure from one worker. Email is bound by SMTP and "
            "rendering (CPU): the customer email renders HTML with the merchant's branding.",
        ]
    if skipped:
        lines += ["", f"Not measured: {'; '.join(skipped)}."]
    return "\n".join(lines) + "\n"


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=640, help="messages per channel")
    parser.add_argument("--latency-ms", type=float, default=200, help="the HTTP receiver's delay")
    parser.add_argument(
        "--threads", type=lambda text: [int(n) for n in text.split(",")], default=[1, 16, 32],
        help="the NOTIFICATIONS_SEND_THREADS to measure, comma-separated",
    )  # fmt: skip
    parser.add_argument("--merchants", type=int, default=50, help="merchants taking turns")
    parser.add_argument(
        "--channels", type=lambda text: text.split(","), default=list(LABELS),
        help="comma-separated, of: " + ", ".join(LABELS),
    )  # fmt: skip
    parser.add_argument("--http-receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--smtp-receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.http_receiver:
        return http_receiver(args.http_receiver, args.latency_ms)
    if args.smtp_receiver:
        return smtp_receiver(args.smtp_receiver)

    postgres_ensure_running()
    info = machine()
    http_port, smtp_port = free_port(), free_port()
    os.environ.update(settings_env(smtp_port))
    database_create(DB_NAME)
    receivers = [
        spawn("--http-receiver", str(http_port), "--latency-ms", str(args.latency_ms)),
        spawn("--smtp-receiver", str(smtp_port)),
    ]
    try:
        wait_for_port(http_port, receivers[0], "the HTTP receiver")
        wait_for_port(smtp_port, receivers[1], "the SMTP receiver")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from notifications.sending import CHANNELS

        print(f"Database {DB_NAME}: migrating …", flush=True)
        call_command("migrate", verbosity=0)
        guard_admits_the_receiver(http_port)
        senders = seed(http_port, args.merchants)
        channels = args.channels
        skipped = [f"{LABELS[c]} (the channel is not registered)" for c in channels
                   if c not in CHANNELS]  # fmt: skip
        wait_for_quiet_machine()
        runs = [
            run_channel(senders, channel, args.messages, threads)
            for channel in channels
            if channel in CHANNELS
            for threads in args.threads
        ]
        connection.close()
        received = {"http": http_count(http_port)}
    finally:
        for receiver in receivers:
            receiver.send_signal(signal.SIGTERM)
        outputs = [receiver.communicate(timeout=10)[0] for receiver in receivers]
        database_drop(DB_NAME)
    received["smtp"] = int((outputs[1] or "0").strip() or 0)
    section = report(runs, info, args, received, skipped)
    print("\n" + section)
    write_doc(section)
    print(f"Wrote the Notifications section of {DOC.relative_to(REPO)}.")


if __name__ == "__main__":
    main()
