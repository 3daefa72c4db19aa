"""Notifications benchmark (issue 7): messages sent per minute by one worker, per channel, against
local receivers.

    .venv/bin/python bench/notifications.py [--messages 1000] [--latency-ms 20]

A fresh PostgreSQL database (`flextracker_bench_notify`, dropped at the end), and two receivers
in child processes: an HTTP server answering 200 after --latency-ms (merchant webhooks and a
Slack incoming webhook), and an aiosmtpd SMTP server that accepts every message (emails). This
process is the one worker: it calls `notifications_send_due` in a loop, as the django-q2 task
`send_notifications` does, until nothing is due, once per channel:

  webhook         --messages signed merchant webhooks carrying a tracking object (8 events)
  slack           --messages staff alerts to a Slack incoming webhook
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
import ipaddress
import os
import signal
import subprocess
import sys
import time
import urllib.request
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
    sql_timed,
    wait_for_port,
    wait_for_quiet_machine,
    write_doc,
)

DB_NAME = "flextracker_bench_notify"
BATCH = 500


def settings_env(smtp_port: int) -> dict[str, str]:
    return django_env(DB_NAME) | {
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PUBLIC_BASE_URL": "https://track.example.com",
    }


# --- The receivers (child processes) -------------------------------------------------------------


def http_receiver(port: int, latency_ms: float) -> None:
    """Answers every POST with 200 after the latency; GET /count says how many it received."""
    received = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency_ms / 1000)
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


def seed(port: int):
    from merchants.models import Merchant
    from notifications.models import WebhookEndpoint

    merchant = Merchant.objects.create(
        merchant_id="BENCH-01-00001", name="Bench Shop", support_email="help@bench.example",
        slack_webhook_url=f"http://127.0.0.1:{port}/slack",
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant, url=f"http://127.0.0.1:{port}/hooks", secret="whsec_bench",  # noqa: S106
        event_types=["tracking.updated"],
    )  # fmt: skip
    return merchant, endpoint


def queue(merchant, endpoint, channel: str, n: int) -> None:
    """n due rows of the channel, written as the services write them (the payload included)."""
    from notifications.models import Notification
    from orders.models import Order

    tracking = sample_tracking()
    payload = {"status": "exception", "tracking": tracking,
               "trackingPage": "https://track.example.com/orders/BENCH-01-00001/1?t=x"}  # fmt: skip
    orders = [None] * n
    if channel == "email":
        orders = Order.objects.bulk_create(
            Order(merchant=merchant, order_id=f"B-{i}", customer_name="Jane Doe",
                  customer_email=f"customer{i}@bench.example", locale="en")
            for i in range(n)
        )  # fmt: skip
    recipients = {
        "webhook": lambda i: endpoint.public_id,
        "slack": lambda i: "slack",
        "staff_email": lambda i: f"ops{i}@bench.example",
        "email": lambda i: f"customer{i}@bench.example",
    }[channel]
    trigger = {"webhook": "tracking.updated", "email": "delivered"}.get(channel, "exception")
    Notification.objects.bulk_create(
        (Notification(merchant=merchant, order=orders[i], channel=channel,
                      recipient=recipients(i), trigger=trigger, dedupe_key=f"bench:{i}",
                      payload={**payload, "eventType": trigger, "data": tracking})
         for i in range(n)),
        batch_size=BATCH,
    )  # fmt: skip


def send_all() -> dict:
    """The worker's loop (tasks.send_notifications without its time budget), measured."""
    from notifications.sending import notifications_send_due

    totals = {"claimed": 0, "sent": 0, "retrying": 0, "failed": 0}
    started, cpu, busy = time.perf_counter(), os.times(), machine_busy_seconds()
    with sql_timed() as sql:
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


def run_channel(merchant, endpoint, channel: str, n: int) -> dict:
    from notifications.models import Notification, NotificationAttempt

    queue(merchant, endpoint, channel, n)
    result = send_all()
    rows = Notification.objects.filter(channel=channel)
    result["stored_sent"] = rows.filter(status="sent").count()
    result["attempts"] = NotificationAttempt.objects.filter(notification__channel=channel).count()
    result["errors"] = sorted(set(rows.exclude(status="sent").values_list("last_error", flat=True)))
    result["channel"], result["messages"] = channel, n
    print(f"{channel}: {n} in {result['seconds']:.1f} s, sent {result['sent']}", flush=True)
    return result


# --- The report ----------------------------------------------------------------------------------

LABELS = {"webhook": "merchant webhook", "slack": "Slack alert",
          "staff_email": "staff alert email", "email": "customer email"}  # fmt: skip


def report(runs: list[dict], info: dict, args, received: dict, skipped: list[str]) -> str:
    floor = 60_000 / args.latency_ms
    rows = []
    for run in runs:
        n = run["messages"]
        per_min = run["sent"] / run["seconds"] * 60
        http = run["channel"] in ("webhook", "slack")
        rows.append(
            f"| {LABELS[run['channel']]} | {n:,} | {run['seconds']:.1f} | **{fmt(per_min)}** | "
            f"{run['seconds'] / n * 1000:.1f} | {fmt(floor) if http else '—'} | "
            f"{run['cpu'] / n * 1000:.1f} | {run['queries'] / n:.1f} | "
            f"{run['sql_seconds'] / run['seconds']:.0%} | {run['busy']:.1f} of {info['cpus']} | "
            f"{run['failed'] + run['retrying']} |"
        )
    lost = [f"{LABELS[r['channel']]}: {r['stored_sent']:,} sent of {r['messages']:,}, "
            f"{r['attempts']:,} attempts" for r in runs]  # fmt: skip
    webhook = next((r for r in runs if r["channel"] == "webhook"), None)
    lines = [
        "## Notifications",
        "",
        "`make bench` also runs `bench/notifications.py`: one worker (the benchmark process) "
        "calls `notifications_send_due` in a loop, as the django-q2 task `send_notifications` "
        "does, until nothing is due, once per channel, against local receivers in their own "
        f"processes: an HTTP server answering 200 after {args.latency_ms:g} ms (webhooks, Slack) "
        "and an aiosmtpd SMTP server accepting every message (emails). A fresh PostgreSQL "
        "database; the rows are written beforehand, with the payload the services write "
        "(a tracking object with 8 events).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared by the worker, PostgreSQL and the receivers",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}; {args.messages:,} messages per channel; claims of 100 "
        "(the default `limit`); one new connection per message (HTTP and SMTP), as in production",
        "",
        "| channel | messages | seconds | messages/min | ms/message | latency floor/min | "
        "worker CPU ms/message | SQL statements/message | SQL share of time | CPUs busy (all) | "
        "not sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Latency floor: one worker sending one message at a time cannot beat 60,000 ms ÷ "
        f"{args.latency_ms:g} ms per minute against this receiver. SQL: statements the worker "
        "ran per message (claim, attempt log, status) and the share of its wall time inside "
        "them. CPUs busy: every process on the machine, per wall second (the worker, PostgreSQL, "
        "the receivers, and anything else running).",
        "",
        f"Nothing lost: {'; '.join(lost)}. The receivers counted {received['http']:,} HTTP "
        f"requests and {received['smtp']:,} emails.",
        "",
        "The SSRF guard refuses 127.0.0.1 and ports other than 80/443, as it must; inside the "
        "benchmark process only, `flextracker.urlguard._check_url` is wrapped to let the "
        "receiver's address through. Everything else on the path is the production code.",
    ]
    if webhook:
        own = webhook["seconds"] / webhook["messages"] * 1000 - args.latency_ms
        at_200 = 60_000 / (200 + own)
        statements = webhook["queries"] / webhook["messages"]
        lines += [
            "",
            "### What limits it",
            "",
            f"HTTP channels wait for the receiver: a worker sends one message at a time, so a "
            f"webhook costs the receiver's {args.latency_ms:g} ms plus {own:.1f} ms of our own "
            f"(the SSRF check, a new connection — without TLS here —, signing, {statements:.0f} "
            "SQL statements). Against a receiver answering in 200 ms a worker would send about "
            f"{fmt(at_200)} a minute; more workers (django-q2 `Q_WORKERS`) or sending a claim "
            "in parallel threads, as the poller does, are the levers. Email is bound by SMTP "
            "and rendering: the customer email renders HTML with the merchant's branding.",
        ]
    if skipped:
        lines += ["", f"Not measured: {'; '.join(skipped)}."]
    return "\n".join(lines) + "\n"


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per channel")
    parser.add_argument("--latency-ms", type=float, default=20, help="the HTTP receiver's delay")
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
        merchant, endpoint = seed(http_port)
        channels = ["webhook", "slack", "staff_email", "email"]
        skipped = [f"{LABELS[c]} (the channel is not registered)" for c in channels
                   if c not in CHANNELS]  # fmt: skip
        wait_for_quiet_machine()
        runs = [
            run_channel(merchant, endpoint, channel, args.messages)
            for channel in channels
            if channel in CHANNELS
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
