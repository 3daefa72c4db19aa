"""Ingest benchmark (issues 3 and 9): how many OMS messages per second we take in, next to a floor.

    .venv/bin/python bench/ingest.py [--duration 20] [--clients 16] [--workers 2]
    .venv/bin/python bench/ingest.py --pgbouncer [postgres://postgres@127.0.0.1:6432]

Against a fresh PostgreSQL database (`flextracker_bench`, dropped at the end) and gunicorn with
`ROOT_URLCONF=bench.floor_urls`, three scenarios run one after the other:

  floor    POST /api/bench/floor: API-key authentication, JSON parsing, one INSERT (the least an
           authenticated ingest endpoint can do on this stack);
  single   one message per request: an order with 2 line items, then that order's shipment
           (the same client sends both, in order), so events = requests;
  queued   the same messages with `Prefer: respond-async`: answered 202 once checked and logged,
           applied by a django-q2 cluster (`manage.py qcluster`, its default 2 workers) running
           beside gunicorn; the scenario ends when the last message is applied, and its rate is
           the messages applied over that whole time;
  batch    POST /api/v1/events/batch with 500 events: 250 order.created + shipment.confirmed pairs.

Afterwards the database must hold exactly the orders and shipments that were sent (nothing lost),
and an in-process check counts the SQL queries per request. Results are printed and written to the
"## Ingest" section of docs/benchmarks.md (other sections are kept). Targets (issue 9): single
events at least 70 % of the floor's rate (answered at once, and queued); batch at least 3,000
events/s.

With --pgbouncer (issue 26), each round runs floor, single, queued and batch twice in turn: direct
to PostgreSQL, and through PgBouncer in transaction mode (.ci/pgbouncer starts it) with
DATABASE_POOLED=true, gunicorn and the worker alike; the figures go to "## Ingest through
PgBouncer" instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import itertools
import json
import secrets
import shutil
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DOC,
    PYTHON,
    REPO,
    child_json,
    cpu_seconds,
    cpu_seconds_between,
    database_create,
    database_drop,
    errors_text,
    fmt,
    free_port,
    gunicorn,
    machine,
    pg,
    postgres_ensure_running,
    server_env,
    sh,
    wait_for_quiet_machine,
    worker_cluster,
    write_doc,
)
from bench.load import Request, run

DB_NAME = "flextracker_bench"
MERCHANT_ID = "BENCH-01-00001"
BATCH_PAIRS = 250
PROFILED_PAIRS = 250  # a full batch: its fixed costs weigh what they weigh in the benchmark
TARGET_SINGLE_RATIO = 0.70
TARGET_BATCH_EVENTS = 3000


# --- Messages ------------------------------------------------------------------------------------


def order_body(order_id: str) -> dict:
    return {
        "orderId": order_id, "orderDate": "2026-11-20T15:04:05Z",
        "customer": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+15125550100"},
        "shippingAddress": {"street1": "1 Main St", "city": "Austin", "state": "TX",
                            "postalCode": "78701", "countryCode": "US"},
        "currency": "USD", "orderValue": 30.00,
        "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 2, "price": 10.00},
                      {"itemId": "SKU-2", "name": "Tea Towel", "quantity": 1, "price": 10.00}],
    }  # fmt: skip


def shipment_body(tracking_number: str) -> dict:
    return {
        "trackingNumber": tracking_number, "carrier": "ups", "service": "UPS Ground",
        "shippedAt": "2026-11-21T10:00:00Z",
        "items": [{"itemId": "SKU-1", "quantity": 2}, {"itemId": "SKU-2", "quantity": 1}],
    }  # fmt: skip


def as_json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def floor_units():
    body = as_json(order_body("FLOOR"))  # the same JSON as one order message
    while True:
        yield [Request("POST", "/api/bench/floor", body)]


def single_units(prefix: str):
    for n in itertools.count():
        order_id = f"{prefix}-{n}"
        yield [
            Request("POST", "/api/v1/orders", as_json(order_body(order_id))),
            Request(
                "POST",
                f"/api/v1/orders/{order_id}/shipments",
                as_json(shipment_body(f"1Z{prefix}{n:09d}")),
            ),
        ]


def batch_events(prefix: str, pairs: int) -> list[dict]:
    events = []
    for n in range(pairs):
        order_id = f"{prefix}-{n}"
        shipment = {"orderId": order_id, **shipment_body(f"1Z{prefix}{n:06d}")}
        events += [
            {"eventId": f"{order_id}-o", "type": "order.created",
             "occurredAt": "2026-11-20T15:04:05Z", "data": order_body(order_id)},
            {"eventId": f"{order_id}-s", "type": "shipment.confirmed",
             "occurredAt": "2026-11-21T10:00:00Z", "data": shipment},
        ]  # fmt: skip
    return events


def batch_units(prefix: str):
    for n in itertools.count():
        body = {"events": batch_events(f"{prefix}{n}", BATCH_PAIRS)}
        yield [Request("POST", "/api/v1/events/batch", as_json(body))]


def expect_created(status: int, body: bytes) -> str | None:
    return None if status == 201 else f"{status} (expected 201)"


def expect_queued(status: int, body: bytes) -> str | None:
    return None if status == 202 else f"{status} (expected 202)"


def expect_batch_created(status: int, body: bytes) -> str | None:
    if status != 207:
        return f"{status} (expected 207)"
    failed = any(event["status"] != 201 for event in json.loads(body)["data"])
    return "207 with events not 201" if failed else None


# --- Measuring -----------------------------------------------------------------------------------


def measure(name, units, *, port, key, args, server_pid, events_per_request, check, scenario="",
            worker_pid=None, headers=None):  # fmt: skip
    """A scenario's figures. With a `worker_pid` (queued messages), it ends once the worker has
    applied every message: the rate is over that whole time, and `queue_delay_ms` tells how
    long messages waited from their 202 to being applied."""
    if name != "warm-up":
        # Vacuumed first: otherwise the autovacuum a batch scenario's rows set off runs during
        # the next scenario and takes its CPU (single events lost 30 % to it by the third round).
        pg("VACUUM ANALYZE", DB_NAME)
        wait_for_quiet_machine()
    [(last_message,)] = pg("SELECT coalesce(max(id), 0) FROM orders_inboundmessage", DB_NAME)
    before = cpu_seconds(server_pid, worker_pid)
    stats = asyncio.run(
        run(
            "127.0.0.1",
            port,
            units,
            clients=args.clients,
            duration=args.duration,
            headers={"Authorization": f"Bearer {key}", **(headers or {})},
            check=check,
        )
    )
    if worker_pid is not None:
        stats.elapsed += queue_drained()
    after = cpu_seconds(server_pid, worker_pid)
    row = stats.summary(events_per_request) | {
        "name": name, "scenario": scenario or name, "units": stats.units,
    }  # fmt: skip
    events = max(stats.ok * events_per_request, 1)
    spent = cpu_seconds_between(before, after)
    row["cpu_ms_per_event"] = {part: used * 1000 / events for part, used in spent.items()}
    row["cpus_busy"] = {part: used / stats.elapsed for part, used in spent.items()}
    row["elapsed"] = stats.elapsed
    if worker_pid is not None:
        row["queue_delay_ms"] = queue_delays(last_message)
    print(
        f"{name:>7}: {row['requests_per_s']:8.1f} req/s {row['events_per_s']:8.1f} events/s"
        f"  p50 {row['p50_ms']:.0f} ms  p95 {row['p95_ms']:.0f} ms  p99 {row['p99_ms']:.0f} ms"
        f"  errors {row['errors'] or 0}",
        flush=True,
    )
    return row


def queue_drained(patience: float = 600) -> float:
    """Waits until no message is queued; returns how long that took (s)."""
    started = time.perf_counter()
    while pg("SELECT 1 FROM orders_inboundmessage WHERE outcome = 'queued' LIMIT 1", DB_NAME):
        if time.perf_counter() - started > patience:
            raise RuntimeError(f"Messages still queued after {patience:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def queue_delays(after_message: int) -> dict[str, float]:
    """p50 / p95 / max of the time from a message's 202 to its being applied, in ms."""
    sql = (
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY wait),"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY wait), max(wait)"
        " FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS wait"
        " FROM orders_inboundmessage WHERE id > %d) AS waits"
    )
    [(p50, p95, most)] = pg(sql % after_message, DB_NAME)
    return {"p50": p50, "p95": p95, "max": most}


def count_queries(key: str) -> dict:
    """In-process (Django test client, no HTTP): SQL statements per request, by kind, and time."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Bearer {key}"}, HTTP_HOST="127.0.0.1")
    run_id = secrets.token_hex(3).upper()

    def post(path: str, body: dict, status: int) -> dict:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post(path, as_json(body), content_type="application/json")
            elapsed = time.perf_counter() - started
        assert response.status_code == status, (path, response.status_code, response.content)
        kinds = statement_kinds(queries)
        return {"queries": kinds.total(), "kinds": dict(kinds.most_common()), "ms": elapsed * 1000}

    def median_of(runs: list[dict]) -> dict:
        """The last run's statements (all runs issue the same ones); the median time."""
        return runs[-1] | {"ms": statistics.median(run["ms"] for run in runs)}

    post("/api/bench/floor", order_body("FLOOR"), 201)  # warm: last_used_at, imports
    result = {"floor": median_of([post("/api/bench/floor", order_body("FLOOR"), 201)
                                  for _ in range(20)])}  # fmt: skip
    orders, shipments = [], []
    for n in range(11):
        order_id = f"Q{run_id}-{n}"
        orders.append(post("/api/v1/orders", order_body(order_id), 201))
        shipment = shipment_body(f"1ZQ{run_id}{n}")
        shipments.append(post(f"/api/v1/orders/{order_id}/shipments", shipment, 201))
    result["order"], result["shipment"] = median_of(orders[1:]), median_of(shipments[1:])
    client.defaults["HTTP_PREFER"] = "respond-async"
    accepted = []
    for n in range(50):  # a chunk of orders and shipments for the drain below
        order_id = f"QA{run_id}-{n}"
        accepted.append(post("/api/v1/orders", order_body(order_id), 202))
        post(f"/api/v1/orders/{order_id}/shipments", shipment_body(f"1ZQA{run_id}{n}"), 202)
    del client.defaults["HTTP_PREFER"]
    result["queued_order"] = median_of(accepted[1:])
    result["drain_per_message"] = drained_per_message(2 * len(accepted))
    pairs = 25
    batch = post("/api/v1/events/batch", {"events": batch_events(f"QB{run_id}", pairs)}, 207)
    result["batch_per_event"] = {
        "queries": batch["queries"] / (2 * pairs),
        "kinds": {kind: n / (2 * pairs) for kind, n in batch["kinds"].items()},
        "ms": batch["ms"] / (2 * pairs),
    }

    result["collector"] = {"unfrozen": collector_share(client, f"QG{run_id}")}
    gc.freeze()  # as flextracker/wsgi.py does once Django is loaded
    result["collector"]["frozen"] = collector_share(client, f"QF{run_id}")
    profiler = cProfile.Profile()
    body = as_json({"events": batch_events(f"QP{run_id}", PROFILED_PAIRS)})
    profiler.runcall(client.post, "/api/v1/events/batch", body, content_type="application/json")
    result["profile"] = profile_summary(profiler)
    return result


def statement_kinds(queries) -> Counter:
    """SQL statements by their first word; an executemany is logged once as "N times: …"."""
    kinds = Counter()
    for query in queries:
        times, _, sql = query["sql"].rpartition(" times: ")
        kinds[sql.split(None, 1)[0].upper()] += int(times) if times.isdigit() else 1
    return kinds


def drained_per_message(messages: int) -> dict:
    """The worker's share of a queued message: statements and time of applying the queue, per
    message (in-process)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ingest.queued import CHUNK, queued_apply

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        assert queued_apply() == messages
        elapsed = time.perf_counter() - started
    kinds = statement_kinds(queries)
    return {
        "queries": kinds.total() / messages,
        "kinds": {kind: n / messages for kind, n in kinds.most_common()},
        "ms": elapsed * 1000 / messages,
        "chunk": CHUNK,
    }


def collector_share(client, tag: str) -> float:
    """Share of the in-process time of a few full batches spent in the collector's passes."""
    spent, started = 0.0, 0.0

    def timed(phase: str, info: dict) -> None:
        nonlocal spent, started
        if phase == "start":
            started = time.perf_counter()
        else:
            spent += time.perf_counter() - started

    bodies = [as_json({"events": batch_events(f"{tag}{n}", BATCH_PAIRS)}) for n in range(4)]
    gc.callbacks.append(timed)
    began = time.perf_counter()
    for body in bodies:
        client.post("/api/v1/events/batch", body, content_type="application/json")
    gc.callbacks.remove(timed)
    return spent / (time.perf_counter() - began)


COMPONENTS = (  # (where a function lives, the component it is counted in), first match wins
    ("/psycopg/", "executing SQL"),
    ("django/db/backends/", "executing SQL"),
    ("/rest_framework/", "DRF (parsing, validation, rendering)"),
    ("/django/db/", "Django ORM (queries, rows)"),
    ("/django/", "Django (request, middleware)"),
    ("/json/", "JSON"),
    ("/bench/", "the benchmark"),
    ("/.venv/", "other libraries"),
    (str(REPO), "our code (rules, ledger, answers)"),
)


def profile_summary(profiler: cProfile.Profile) -> dict:
    """Shares of a profiled batch: our own functions by cumulative time, and every function's own
    time by component."""
    entries = profiler.getstats()
    total = sum(entry.inlinetime for entry in entries)
    ours = []
    components = Counter()
    for entry in entries:
        file = entry.code if isinstance(entry.code, str) else entry.code.co_filename
        component = next((name for path, name in COMPONENTS if path in file), "Python built-ins")
        components[component] += entry.inlinetime / total
        if isinstance(entry.code, str):
            continue  # a built-in
        name = entry.code.co_qualname
        if file.startswith(str(REPO)) and "/.venv/" not in file and "/bench/" not in file:
            ours.append((entry.totaltime, f"{Path(file).relative_to(REPO)}:{name}"))
    ours.sort(reverse=True)
    wrappers = 0.7 * total  # the view, the inbound log and the batch loop around everything
    return {
        "ours": [{"name": name, "share": t / total} for t, name in ours if t < wrappers][:8],
        "components": dict(components.most_common()),
        "ms_per_event": total * 1000 / (2 * PROFILED_PAIRS),
    }


def database_counts() -> dict[str, int]:
    rows = pg(
        """SELECT (SELECT count(*) FROM orders_order),
                  (SELECT count(*) FROM orders_order WHERE is_placeholder),
                  (SELECT count(*) FROM orders_shipment),
                  (SELECT count(*) FROM bench_floor),
                  (SELECT count(*) FROM orders_inboundmessage WHERE outcome <> 'accepted')""",
        DB_NAME,
    )[0]
    return dict(
        zip(["orders", "placeholders", "shipments", "floor", "not_accepted"], rows, strict=True)
    )


def verified(rows: list[dict]) -> str:
    """Whether the database holds every order, shipment and floor row that was sent."""
    sent = Counter()
    for row in rows:
        sent[row["scenario"]] += row["units"]
    sent_floor = sent["floor"]
    queued = sent["queued"] + sent["answered"]
    sent_orders = sent["single"] + queued + sent["batch"] * BATCH_PAIRS
    counts = database_counts()
    server_errors = sum(
        n
        for row in rows
        for label, n in row["errors"].items()
        if not label[0].isdigit() or label.startswith("5")
    )
    lost = {
        "orders": sent_orders - counts["orders"] + counts["placeholders"],
        "shipments": sent_orders - counts["shipments"],
        "floor rows": sent_floor - counts["floor"],
    }
    verification = (
        f"{counts['orders']:,} orders and {counts['shipments']:,} shipments in the database for"
        f" {sent_orders:,} of each sent ({counts['placeholders']} placeholders), "
        f"{counts['floor']:,} floor rows for {sent_floor:,} sent; "
        f"{counts['not_accepted']} inbound messages not accepted; "
        f"{server_errors} 5xx or connection errors."
    )
    if any(lost.values()):
        verification += " **Lost: " + ", ".join(f"{k} {v}" for k, v in lost.items()) + ".**"
    return verification


# --- Reporting -----------------------------------------------------------------------------------


def median_rows(rounds: list[list[dict]]) -> list[dict]:
    """Per scenario, the round with the median rate, and every round's rate beside it."""
    rows = []
    for runs in zip(*rounds, strict=True):
        ranked = sorted(runs, key=lambda row: row["events_per_s"])
        rows.append(ranked[len(ranked) // 2] | {"rates": [row["events_per_s"] for row in runs]})
    return rows


QUERIED = ("order", "shipment", "queued_order", "drain_per_message", "batch_per_event")
LABELS = {
    "floor": "floor (auth + 1 INSERT)",
    "single": "single events (order, then its shipment)",
    "queued": "single events, queued (`Prefer: respond-async`), until applied",
    "answered": "single events, queued, answered only (the worker elsewhere)",
    "batch": f"batch of {2 * BATCH_PAIRS} events",
}


def report(rounds, info, args, verification, queries) -> str:
    rows = median_rows(rounds)
    floor, single, queued, answered, batch = rows
    ratio = single["requests_per_s"] / floor["requests_per_s"]
    queued_ratio = queued["events_per_s"] / floor["requests_per_s"]
    answered_ratio = answered["events_per_s"] / floor["requests_per_s"]
    single_met = ratio >= TARGET_SINGLE_RATIO
    queued_met = queued_ratio >= TARGET_SINGLE_RATIO
    batch_met = batch["events_per_s"] >= TARGET_BATCH_EVENTS
    batch_ratio = batch["events_per_s"] / floor["requests_per_s"]  # carries across machines
    delay = queued["queue_delay_ms"]
    lines = [
        "## Ingest",
        "",
        "`make bench` runs `bench/ingest.py`: a fresh PostgreSQL database, gunicorn, and "
        f"{args.clients} keep-alive clients (bench/load.py, asyncio) on the same machine, "
        f"{args.duration:g} s per scenario, {args.rounds} rounds of the four scenarios in turn;"
        " each row is its scenario's median round, with every round's rate beside it (the"
        " machine is shared: rates move by 10–20 % between runs, all scenarios together). The"
        " floor (`POST /api/bench/floor`, bench/floor_urls.py) is API-key authentication + JSON"
        " parsing + one INSERT; ours/floor is our own overhead. Queued messages are applied by"
        " a django-q2 cluster (`manage.py qcluster`, 2 workers) on the same CPUs; that scenario"
        " ends when the last message is applied, and its rate is over the whole time.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}; gunicorn {args.workers} sync workers; "
        f"{args.clients} clients; {args.duration:g} s per scenario",
        "",
        "| scenario | requests/s | events/s | events/s by round | p50 ms | p95 ms | p99 ms "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {LABELS[row['name']]} | {fmt(row['requests_per_s'])} | {fmt(row['events_per_s'])}"
            f" | {' / '.join(fmt(rate) for rate in row['rates'])}"
            f" | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f}"
            f" | {errors_text(row['errors'])} |"
        )
    lines += [
        "",
        "Targets (issue 9):",
        f"- single events / floor (target ≥ {TARGET_SINGLE_RATIO:.0%}): {ratio:.0%} answered "
        "at once, " + ("**met**" if single_met else "**missed**") + f"; {queued_ratio:.0%} "
        "queued and applied on this machine, "
        + ("**met**" if queued_met else "**missed**")
        + f"; {answered_ratio:.0%} queued and answered by the web tier alone (the worker on "
        "other hosts)",
        f"- batch = {fmt(batch['events_per_s'])} events/s (target ≥ {TARGET_BATCH_EVENTS:,}): "
        + ("**met**" if batch_met else "**missed**")
        + f" on this machine; {batch_ratio:.1f}× the floor's rate, so {TARGET_BATCH_EVENTS:,} "
        f"needs a machine whose floor runs at {TARGET_BATCH_EVENTS / batch_ratio:,.0f}/s",
        "",
        f"Nothing lost: {verification}",
        "",
        f"Queued messages waited {delay['p50']:,.0f} ms at the median from their 202 to being "
        f"applied (p95 {delay['p95']:,.0f} ms, longest {delay['max']:,.0f} ms), in the median "
        "round. Answered only, with no worker running, they made a backlog that the worker then "
        f"applied at {fmt(answered['backlog_applied_per_s'])} messages/s (median round; "
        + " / ".join(fmt(row["backlog_applied_per_s"]) for row in answered_rounds(rounds))
        + " by round).",
        "",
        "Where the time goes: CPU per event during each scenario (gunicorn workers, PostgreSQL,"
        " the load driver), CPUs busy in all (other = processes not part of the benchmark), "
        "and SQL statements and median time per request in-process (Django test client, no HTTP):",
        "",
        "| scenario | app CPU ms/event | worker CPU ms/event | PostgreSQL CPU ms/event "
        "| driver CPU ms/event | CPUs busy (other) | SQL statements | in-process ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_request = {
        "floor": [queries["floor"]],
        "single": [queries["order"], queries["shipment"]],
        "queued": [queries["queued_order"], queries["drain_per_message"]],
        "answered": [queries["queued_order"]],
        "batch": [queries["batch_per_event"]],
    }
    for row in rows:
        cpu, busy = row["cpu_ms_per_event"], row["cpus_busy"]
        measured = per_request[row["name"]]
        statements = " / ".join(f"{q['queries']:.3g}" for q in measured)
        in_process = " / ".join(f"{q['ms']:.1f}" for q in measured)
        lines.append(
            f"| {LABELS[row['name']]} | {cpu['app']:.1f} | {cpu['worker']:.1f} | {cpu['db']:.1f}"
            f" | {cpu['driver']:.1f}"
            f" | {sum(busy.values()):.1f} of {info['cpus']} ({busy['other']:.1f})"
            f" | {statements} | {in_process} |"
        )
    lines += [
        "",
        "Single events: order / shipment; queued: an order answered 202 / the worker's"
        " statements per message applied; batch: per event. Statements by kind: "
        + "; ".join(
            f"{name} {', '.join(f'{kind} {n:.3g}' for kind, n in queries[name]['kinds'].items())}"
            for name in QUERIED
        )
        + f". Batch latency is mostly queueing: {args.clients} batches in flight on "
        f"{args.workers} workers.",
    ]
    lines += ["", "### What limits it", "", limits_paragraph(rows, info, queries)]
    return "\n".join(lines) + "\n"


def answered_rounds(rounds: list[list[dict]]) -> list[dict]:
    return [row for run in rounds for row in run if row["name"] == "answered"]


def limits_paragraph(rows, info, queries) -> str:
    order, shipment, per_event = queries["order"], queries["shipment"], queries["batch_per_event"]
    profile, collector = queries["profile"], queries["collector"]
    busy = {row["name"]: sum(row["cpus_busy"].values()) for row in rows}
    other = {row["name"]: row["cpus_busy"]["other"] for row in rows}
    spent = {row["name"]: sum(row["cpu_ms_per_event"].values()) - row["cpu_ms_per_event"]["other"]
             for row in rows}  # fmt: skip
    app = {row["name"]: row["cpu_ms_per_event"]["app"] for row in rows}
    pg = {row["name"]: row["cpu_ms_per_event"]["db"] for row in rows}
    rate = {row["name"]: row["events_per_s"] for row in rows}
    budget = info["cpus"] * 1000 / TARGET_BATCH_EVENTS
    ours = ", ".join(f"`{f['name']}` {f['share']:.0%}" for f in profile["ours"])
    components = ", ".join(
        f"{name} {share:.0%}" for name, share in profile["components"].items() if share >= 0.01
    )
    queued, drain = queries["queued_order"], queries["drain_per_message"]
    worker = {row["name"]: row["cpu_ms_per_event"]["worker"] for row in rows}
    names = ("floor", "single", "queued", "answered", "batch")
    return (
        f"The CPUs were busy {' / '.join(f'{busy[name]:.1f}' for name in names)}"
        f" of {info['cpus']} during {' / '.join(names)} (other processes: "
        f"{' / '.join(f'{other[name]:.1f}' for name in names)}), so the rates are "
        "CPU-bound: each is about the CPUs divided by the CPU one event costs.\n\n"
        f"**Single events.** A floor request costs {queries['floor']['queries']} SQL statements "
        f"and {spent['floor']:.1f} ms of CPU in all (app + PostgreSQL + driver); a single event "
        f"costs {spent['single']:.1f} ms ({spent['single'] / spent['floor']:.1f}× the floor): "
        f"an order is {order['queries']} statements and a shipment {shipment['queries']} "
        f"(in-process {order['ms']:.1f} ms and {shipment['ms']:.1f} ms). Reaching "
        f"{TARGET_SINGLE_RATIO:.0%} of the floor needs a single event at about "
        f"{spent['floor'] / TARGET_SINGLE_RATIO:.1f} ms. What a message costs beyond the floor "
        "is what API.md asks of it, not per-row ORM work: the raw message logged with its "
        "answer (one INSERT of body and answer, in the transaction of the effect; logging it "
        "first, committed, then recording the answer, as before session 6 of issue 9, cost a "
        "second transaction and an UPDATE: 3 more statements and ~7% more CPU per event, "
        "app and PostgreSQL, in-process runs of the two commits taken in turn), "
        "validation of the nested body by DRF serializers, the order's and line items' "
        "row locks (a SELECT … FOR UPDATE each), the writes themselves (order, line items, "
        "shipment, its items: one statement per table), the merchant's webhook subscriptions "
        "and notification rules read to write the outbox in the same transaction, and the "
        "answer rendered in full (the order as GET returns it). Each statement is a round trip "
        "of some 0.1–0.2 ms of CPU on both sides; Django's ORM spends more than that building "
        "it. Each remaining statement carries a guarantee of API.md (nothing lost, "
        "idempotency, no duplicates under concurrency, notifications in the same "
        "transaction; the SAVEPOINT/RELEASE pair lets a request that loses a race with a "
        "concurrent one replay against the winner's rows); the rest is Django and DRF per "
        "request, which the floor pays too. In figures: PostgreSQL alone spends "
        f"{pg['single']:.1f} ms per single event and Django with DRF spend {app['floor']:.1f} ms "
        "on any request (the floor's own app CPU), together already "
        f"{pg['single'] + app['floor']:.1f} ms against the "
        f"{spent['floor'] / TARGET_SINGLE_RATIO:.1f} ms a {TARGET_SINGLE_RATIO:.0%} event may "
        "cost, before a line of our own code runs. The target asks for a message that does "
        f"{order['queries']} to {shipment['queries']} statements of work to cost less than "
        f"{1 / TARGET_SINGLE_RATIO:.1f} floors that do {queries['floor']['queries']}; on this "
        "stack that is out of reach whatever the code does, answering at once.\n\n"
        "**Queued single events.** The same messages with `Prefer: respond-async` split that "
        "work: the request checks the body (the endpoint's own serializer, without the "
        f"database), logs it and answers 202 — {queued['queries']} statements, "
        f"{queued['ms']:.1f} ms in-process, against the floor's {queries['floor']['queries']} "
        f"and {queries['floor']['ms']:.1f} ms — and the worker applies the queue "
        f"{drain['chunk']} messages at a time, as a batch applies its events: "
        f"{drain['queries']:.2g} statements and {drain['ms']:.2f} ms per message in-process. "
        f"A queued event cost {spent['queued']:.1f} ms of CPU in all "
        f"({spent['queued'] / spent['floor']:.2f}× the floor; gunicorn {app['queued']:.1f}, "
        f"the worker {worker['queued']:.1f}, PostgreSQL {pg['queued']:.1f}), so one machine "
        f"doing both reaches {rate['queued'] / rate['floor']:.0%} of the floor: answering "
        f"alone costs the web tier {spent['answered']:.1f} ms an event "
        f"({rate['answered'] / rate['floor']:.0%} of the floor), and the rest is the work itself, "
        "which no ordering of it avoids. What still separates the 202 and the floor is the "
        "endpoint's validation of the body (kept: a malformed message is told at once, not "
        "found later) and the inbound log's wider row. Every guarantee "
        "stays: the raw message is logged before the 202, idempotency keys and eventIds hold, "
        "a merchant's messages are applied in the order posted, and each message's answer (the "
        "status and envelope its endpoint would have sent) is kept and shown by "
        "`GET /api/v1/messages/{id}`; what the client gives up is learning that answer in the "
        "same round trip. The apply side scales on its own, with workers on other "
        "hosts (docs/scaling.md). For volume, then: queued messages, or batches "
        f"({rate['batch'] / rate['single']:.0f} times the rate of messages answered at "
        "once).\n\n"
        f"**Batches.** An event in a batch costs {per_event['queries']:.2g} statements (the "
        "whole batch is a fixed number: the inbound log, one locking read per table, one "
        "INSERT per table, the outbox) and "
        f"{spent['batch']:.2f} ms of CPU ({app['batch']:.2f} ms of it in gunicorn); "
        f"{TARGET_BATCH_EVENTS:,} events/s on {info['cpus']} CPUs leaves {budget:.2f} ms per "
        f"event. A profiled batch of {2 * PROFILED_PAIRS} events (cProfile, in-process, "
        f"{profile['ms_per_event']:.2f} ms per event under the profiler) spends its own time in: "
        f"{components}. Cumulative shares of our functions: {ours}. What is left is Python "
        "work per event that the contract asks for: validating each event's nested body (DRF "
        "fields, one call per field), building the model instances and their INSERT "
        "parameters, and rendering each event's answer "
        "(the whole order or tracking object, as its endpoint answers), JSON-encoded once: the "
        "inbound log keeps that text and the API sends it (as text since issue 9: parsed into "
        "jsonb, the half-megabyte answer of a batch cost PostgreSQL 14 ms; kept compressed "
        "with lz4, as pglz cost it ~5 ms a batch and lz4 ~1 ms). Each row written updates "
        "only the indexes that serve a lookup: six foreign-key indexes that repeated a unique "
        "index's first column were dropped (docs/scaling.md). The garbage "
        "collector's full passes walked every object Django loads at start: they took "
        f"{collector['unfrozen']:.1%} of a batch's in-process time, and "
        f"{collector['frozen']:.1%} once those objects are frozen (`gc.freeze()` in "
        "flextracker/wsgi.py, as gunicorn serves it). The interpreter "
        "counts too: the machine's python3.11 (pyenv) is built without PGO or LTO; Debian's "
        "own python3.11 on the same machine validates an order 10% faster (119 against 132 µs), "
        "and production images (the official python ones) are built with both. Sending "
        "parameters separately (psycopg's server-side binding: the bulk writes' column arrays "
        "travel as parameters, not as text the driver quotes) saved 1.3% of the app's "
        "instructions per batch event (bench/instructions.py, session 8): not worth what it "
        "costs on Django 5.2 (a 65,535-parameter limit per statement, which Django does not "
        "split for, and parameters in GROUP BY not recognized as the same)."
    )


def measure_answered(prefix: str, common: dict, env: dict) -> dict:
    """The same, with no worker running: what the web tier alone answers, as when the workers
    run on other hosts. The worker then applies that backlog (not timed as a scenario): its rate
    is the messages over the time between the first and the last being applied."""
    [(last_message,)] = pg("SELECT coalesce(max(id), 0) FROM orders_inboundmessage", DB_NAME)
    row = measure("answered", single_units(prefix), **common, events_per_request=1,
                  check=expect_queued, headers={"Prefer": "respond-async"})  # fmt: skip
    with worker_cluster(env):
        queue_drained()
    sql = (
        "SELECT extract(epoch FROM max(processed_at) - min(processed_at)), count(*)"
        " FROM orders_inboundmessage WHERE id > %d"
    )
    [(seconds, applied)] = pg(sql % last_message, DB_NAME)
    row["backlog_applied_per_s"] = applied / float(seconds)
    return row


def measure_queued(prefix: str, common: dict, env: dict) -> dict:
    """The single messages with `Prefer: respond-async`, a django-q2 cluster applying them."""
    with worker_cluster(env) as cluster:
        time.sleep(5)  # started: Django loaded in each of its processes
        return measure("queued", single_units(prefix), **common, events_per_request=1,
                       check=expect_queued, worker_pid=cluster.pid,
                       headers={"Prefer": "respond-async"})  # fmt: skip


# --- Through PgBouncer (issue 26) -----------------------------------------------------------------

POOLED_SCENARIOS = ("floor", "single", "queued", "batch")
ROUTES = {"direct": "D", "PgBouncer": "P"}  # → a letter in the order IDs each route sends


def pooled_env(env: dict, pgbouncer_url: str) -> dict:
    return env | {"DATABASE_URL": f"{pgbouncer_url}/{DB_NAME}", "DATABASE_POOLED": "true"}


def measure_route(scenario: str, prefix: str, common: dict, env: dict, warm_up=False) -> dict:
    if scenario == "queued":
        return measure_queued(prefix, common, env)
    if scenario == "batch":
        return measure("batch", batch_units(f"{prefix}-"), **common,
                       events_per_request=2 * BATCH_PAIRS, check=expect_batch_created)  # fmt: skip
    units = floor_units() if scenario == "floor" else single_units(prefix)
    name = "warm-up" if warm_up else scenario
    return measure(name, units, **common, events_per_request=1, check=expect_created,
                   scenario=scenario)  # fmt: skip


def measure_pooled(args, key: str, env: dict) -> tuple[list[list[dict]], str]:
    """Rounds of every scenario direct, then through PgBouncer: two gunicorns on the same
    database, each with its own worker cluster for the queued messages."""
    envs = {"direct": env, "PgBouncer": pooled_env(env, args.pgbouncer)}
    warm = argparse.Namespace(**vars(args) | {"duration": 2})
    with contextlib.ExitStack() as stack:
        commons, warm_rows = {}, []
        for route, letter in ROUTES.items():
            port = free_port()
            server = stack.enter_context(
                gunicorn(envs[route] | {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}, port,
                         args.workers, "--timeout", "120")
            )  # fmt: skip
            commons[route] = {"port": port, "key": key, "args": args, "server_pid": server.pid}
            warm_rows += [
                measure_route(scenario, f"W{letter}", commons[route] | {"args": warm},
                              envs[route], warm_up=True)
                for scenario in ("floor", "single")
            ]  # fmt: skip
        print(f"gunicorn direct and through PgBouncer ({args.workers} workers each), "
              f"{args.clients} clients", flush=True)  # fmt: skip
        rounds = [  # interleaved, so a slow spell of a shared machine hits both routes
            [
                measure_route(scenario, f"{scenario[0].upper()}{letter}{n}", commons[route],
                              envs[route]) | {"route": route}
                for scenario in POOLED_SCENARIOS
                for route, letter in ROUTES.items()
            ]
            for n in range(args.rounds)
        ]  # fmt: skip
        verification = verified(warm_rows + [row for run in rounds for row in run])
    return rounds, verification


def pgbouncer_version() -> str:
    pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    return sh(pgbouncer, "--version").split("\n")[0]


def pooled_report(rounds, info, args, verification) -> str:
    rows = median_rows(rounds)
    by = {(row["name"], row["route"]): row for row in rows}
    lines = [
        "## Ingest through PgBouncer",
        "",
        "`bench/ingest.py --pgbouncer` (issue 26): in each round, every scenario of the Ingest "
        "section above runs direct to PostgreSQL and then through PgBouncer in transaction mode "
        "(`.ci/pgbouncer.ini`, as CI runs the suite; `DATABASE_POOLED=true`: no prepared "
        "statements, no server-side cursors), gunicorn and the queued messages' worker alike, on "
        f"the same database and machine; {args.rounds} rounds, {args.duration:g} s per scenario, "
        f"{args.clients} clients, gunicorn {args.workers} sync workers, each row its median round.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}; {pgbouncer_version()}",
        "",
        "| scenario | events/s direct | events/s through PgBouncer | PgBouncer / direct "
        "| by round (direct; PgBouncer) | p95 ms direct / PgBouncer | PgBouncer CPU ms/event "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in POOLED_SCENARIOS:
        direct, pooled = by[(name, "direct")], by[(name, "PgBouncer")]
        lines.append(
            f"| {LABELS[name]} | {fmt(direct['events_per_s'])} | {fmt(pooled['events_per_s'])}"
            f" | {pooled['events_per_s'] / direct['events_per_s']:.0%}"
            f" | {' / '.join(fmt(r) for r in direct['rates'])};"
            f" {' / '.join(fmt(r) for r in pooled['rates'])}"
            f" | {direct['p95_ms']:.0f} / {pooled['p95_ms']:.0f}"
            f" | {pooled['cpu_ms_per_event']['pooler']:.2f}"
            f" | {errors_text(direct['errors'])}; {errors_text(pooled['errors'])} |"
        )
    lines += ["", f"Nothing lost: {verification}"]
    return "\n".join(lines) + "\n"


# --- Main ----------------------------------------------------------------------------------------


def database_prepare(database: str, env: dict) -> str:
    """Migrates the empty `database` and adds the bench merchant and the floor's table; returns
    the merchant's API key."""
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    sh(PYTHON, "manage.py", "create_merchant", MERCHANT_ID, "--name", "Bench", env=env)
    key = sh(PYTHON, "manage.py", "create_api_key", MERCHANT_ID, env=env).splitlines()[-1]
    pg("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body jsonb,"
       " created_at timestamptz DEFAULT now())", database)  # fmt: skip
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three scenarios")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--pgbouncer",
        nargs="?",
        const="postgres://postgres@127.0.0.1:6432",
        metavar="URL",
        help="also through PgBouncer at URL (no database name)",
    )
    parser.add_argument("--count-queries", metavar="KEY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_queries:  # the in-process check, run in a child with the server's environment
        print(json.dumps(count_queries(args.count_queries)))
        return

    postgres_ensure_running()
    info = machine()
    port = free_port()
    env = server_env(port, DB_NAME)
    database_create(DB_NAME)
    try:
        print(f"Database {DB_NAME}: migrating …", flush=True)
        key = database_prepare(DB_NAME, env)
        # The worker does only what is measured: no carrier polling, no sweeps of other queues.
        pg("DELETE FROM django_q_schedule WHERE func <> 'ingest.tasks.apply_queued_messages'",
           DB_NAME)  # fmt: skip
        if args.pgbouncer:
            rounds, verification = measure_pooled(args, key, env)
            print(verification, flush=True)
            section = pooled_report(rounds, info, args, verification)
            print("\n" + section)
            write_doc(section)
            print(f"Wrote the Ingest through PgBouncer section of {DOC.relative_to(REPO)}.")
            return
        with gunicorn(env, port, args.workers, "--timeout", "120") as server:
            print(f"gunicorn on :{port} ({args.workers} workers), {args.clients} clients",
                  flush=True)  # fmt: skip

            common = {"port": port, "key": key, "args": args, "server_pid": server.pid}
            warm = argparse.Namespace(**vars(args) | {"duration": 2})
            warm_rows = [  # imports, connections and caches in both workers; counted below
                measure("warm-up", floor_units(), **common | {"args": warm},
                        events_per_request=1, check=expect_created, scenario="floor"),
                measure("warm-up", single_units("W"), **common | {"args": warm},
                        events_per_request=1, check=expect_created, scenario="single"),
            ]  # fmt: skip
            rounds = [  # interleaved, so a slow spell of a shared machine hits every scenario
                [
                    measure("floor", floor_units(), **common, events_per_request=1,
                            check=expect_created),
                    measure("single", single_units(f"S{n}"), **common, events_per_request=1,
                            check=expect_created),
                    measure_queued(f"A{n}", common, env),
                    measure_answered(f"H{n}", common, env),
                    measure("batch", batch_units(f"B{n}-"), **common,
                            events_per_request=2 * BATCH_PAIRS, check=expect_batch_created),
                ]
                for n in range(args.rounds)
            ]  # fmt: skip

            verification = verified(warm_rows + [row for run in rounds for row in run])
            print(verification, flush=True)
        queries = child_json(__file__, "--count-queries", key, env=env)
        section = report(rounds, info, args, verification, queries)
        print("\n" + section)
        write_doc(section)
        print(f"Wrote the Ingest section of {DOC.relative_to(REPO)}.")
    finally:
        database_drop(DB_NAME)


if __name__ == "__main__":
    main()
