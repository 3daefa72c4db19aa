"""Customer page benchmark: p50/p95 of the customer page and its SQL queries, against gunicorn
on the 1,000,000-order database of bench/generate.py (generated first when missing).

    .venv/bin/python bench/page.py [--duration 15] [--clients 16] [--orders 1000000]

Uncached (PAGE_CACHE_SECONDS=0): one Fred's Discount City order with 10 shipments × 40 events
(added once through the services), one client then 16; and generated orders (1–4 shipments, ~10
events each) picked at random over the whole table, one client, so most pages are read cold.
Then the same server with the page cache on Redis, as in production (pages/page_cache.py): the
big order and 200 random orders viewed again, each once first. Writes the "## Page" section of
docs/benchmarks.md.
"""

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    child_json,
    cpu_seconds,
    cpu_seconds_between,
    errors_text,
    explained_ms,
    free_port,
    gunicorn,
    instructions_executed,
    machine,
    postgres_ensure_running,
    sh,
    wait_for_quiet_machine,
    write_doc,
)
from bench.generate import DB_1M, DEFAULT_ORDERS, database_env, ensure_database
from bench.load import Request, run

MERCHANT_ID = "FDC-01-12345"
ORDER_ID = "PAGE-10x40"
SHIPMENTS, EVENTS = 10, 40
SAMPLE = 3_000
TARGET_P95_MS, TARGET_QUERIES = 50, 10
TARGET_BIG_P95_MS, TARGET_CACHED_TIMES = 25, 10  # issue 24: uncached 10 × 40; cached / uncached
REVISITED = 200  # random orders viewed again from the cache
FLOOR_PATH = "/bench/page-floor"  # bench/floor_urls.py: middleware and the page's bytes, no more
VIEWS = 20  # views counted under callgrind, each way
CACHE_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied before the cached runs


def build() -> dict:
    """In a child process with the server's settings: the benchmarked order, the sample."""
    import django

    django.setup()
    from django.db import connection

    from bench.page_data import big_order_ensure, database_counts, page_sample

    big_order_ensure(MERCHANT_ID, ORDER_ID, SHIPMENTS, EVENTS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    return database_counts() | {"sample": page_sample(SAMPLE), "gib": size / 2**30}


def count_queries(paths: list[str]) -> list[dict]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order

    client = Client()
    results = []
    for number, path in enumerate(paths):
        client.get(path, HTTP_HOST="127.0.0.1")  # warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, HTTP_HOST="127.0.0.1")
        statements = [query["sql"] for query in queries]  # before any other request
        timing = {}
        if number < 3:  # in-process time, and the SQL's own under EXPLAIN ANALYZE
            timing["sql_ms"] = sum(explained_ms(sql) for sql in statements)
            timing["in_process_ms"] = statistics.median(_timed(client, path) for _ in range(10))
        merchant_id, order_id = path.split("/")[2:4]
        order = Order.objects.get(merchant__merchant_id=merchant_id, order_id=order_id)
        shipments = order.shipments.count()
        events = sum(shipment.events.count() for shipment in order.shipments.all())
        results.append({"path": path, "queries": len(statements), "status": response.status_code,
                        "bytes": len(response.content), "shipments": shipments,
                        "events": events} | timing)  # fmt: skip
    return results


def views(path: str, count: int) -> None:
    """In a child under callgrind: the page once (imports, connections; in the cache when it is
    on), then `count` more views."""
    import django

    django.setup()
    from django.test import Client

    client = Client()
    for _ in range(count + 1):
        assert client.get(path, HTTP_HOST="127.0.0.1").status_code == 200


def instructions_per_view(path: str, env: dict) -> dict[str, float]:
    """The Django process's instructions per view of `path`, rendered each time and from the
    cache (local memory, in-process): the difference of a run of VIEWS views and a run of none,
    over VIEWS. Free of the noise of a shared machine."""
    settings = {"rendered": env | {"PAGE_CACHE_SECONDS": "0"}, "cached": env}
    runs = [(name, n) for name in settings for n in (0, VIEWS)]
    argv = [__file__, "--child", "views", path]
    with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        counts = pool.map(
            lambda run: instructions_executed([*argv, str(run[1])], settings[run[0]]), runs
        )
        totals = dict(zip(runs, counts, strict=True))
    return {name: (totals[(name, VIEWS)] - totals[(name, 0)]) / VIEWS for name in settings}


def _timed(client, path: str) -> float:
    started = time.perf_counter()
    client.get(path, HTTP_HOST="127.0.0.1")
    return (time.perf_counter() - started) * 1000


def _row(label: str, stats: dict, queries: str, size: str) -> str:
    busy = stats["busy"]
    return (
        f"| {label} | {stats['requests_per_s']:.0f} | {stats['p50_ms']:.1f} | "
        f"{stats['p95_ms']:.1f} | {stats['p99_ms']:.1f} | {errors_text(stats['errors'])} | "
        f"{queries} | {size} | {busy['app'] * 1000 / stats['requests_per_s']:.1f} / "
        f"{busy['db'] * 1000 / stats['requests_per_s']:.1f} | "
        f"{busy['app']:.1f} / {busy['db']:.1f} / {busy['other']:.1f} |"
    )


def report(
    runs: dict, info: dict, args, data: dict, queries: list[dict], hit: dict, per_view: dict
) -> str:
    big, typical = queries[0], queries[1:]
    most = max(q["queries"] for q in queries)
    met_p95 = max(runs["alone"]["p95_ms"], runs["sample"]["p95_ms"]) <= TARGET_P95_MS
    met_queries = most <= TARGET_QUERIES
    typical_queries = "–".join(sorted({str(q["queries"]) for q in typical}))
    typical_bytes = sorted(q["bytes"] for q in typical)
    shipments = sorted(q["shipments"] for q in typical)
    events = sorted(q["events"] for q in typical)
    shapes = (
        f"{len(typical)} random orders of {shipments[0]}–{shipments[-1]} shipments and "
        f"{events[0]}–{events[-1]} events, and the big order"
    )
    lines = [
        "## Page",
        "",
        f"`bench/page.py`: the customer page served by gunicorn ({args.workers} sync workers) on "
        f"the generated database `{DB_1M}` (bench/generate.py: {data['orders']:,} orders, "
        f"{data['shipments']:,} shipments, {data['events']:,} tracking events), keep-alive "
        f"clients for {args.duration:.0f} s per run. The big order is one of Fred's Discount "
        f"City's with {SHIPMENTS} shipments × {EVENTS} events (added once through the services); "
        f"the random orders are {len(data['sample']):,} generated orders with at least one "
        "shipment, drawn over the whole table (TABLESAMPLE) and visited in turn, so most of "
        "them are not in PostgreSQL's buffers (128 MiB of shared_buffers for a "
        f"{data['gib']:.1f} GiB database; the OS page cache holds the rest).",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared with other engineers' test runs (figures are noisy)",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}",
        "",
        "| page | clients | pages/s | p50 ms | p95 ms | p99 ms | errors | SQL queries per page "
        "| HTML bytes | CPU ms per page: gunicorn / PostgreSQL "
        "| CPUs busy: gunicorn / PostgreSQL / other |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        _row(f"big order ({SHIPMENTS} × {EVENTS}) | 1", runs["alone"], str(big["queries"]),
             f"{big['bytes']:,}"),
        _row(f"big order ({SHIPMENTS} × {EVENTS}) | {args.clients}", runs["loaded"],
             str(big["queries"]), f"{big['bytes']:,}"),
        _row("random generated orders | 1", runs["sample"], typical_queries,
             f"{typical_bytes[0]:,}–{typical_bytes[-1]:,}"),
        _row("big order, cached | 1", runs["cached_alone"], str(hit["queries"]),
             f"{big['bytes']:,}"),
        _row(f"big order, cached | {args.clients}", runs["cached_loaded"], str(hit["queries"]),
             f"{big['bytes']:,}"),
        _row(f"{REVISITED} random orders, cached | 1", runs["cached_sample"], str(hit["queries"]),
             f"{typical_bytes[0]:,}–{typical_bytes[-1]:,}"),
        _row("page floor | 1", runs["floor_alone"], "0", f"{big['bytes']:,}"),
        _row(f"page floor | {args.clients}", runs["floor_loaded"], "0", f"{big['bytes']:,}"),
    ]  # fmt: skip
    compared = (("big order, 1 client", "alone"),
                (f"big order, {args.clients} clients", "loaded"),
                ("random orders, 1 client", "sample"))  # fmt: skip
    times = {
        label: runs[f"cached_{name}"]["requests_per_s"] / runs[name]["requests_per_s"]
        for label, name in compared
    }
    met_times = min(times.values()) >= TARGET_CACHED_TIMES
    of_floor = {clients: runs[f"cached_{name}"]["requests_per_s"]
                / runs[f"floor_{name}"]["requests_per_s"]
                for clients, name in ((1, "alone"), (args.clients, "loaded"))}  # fmt: skip
    floor_times = {clients: runs[f"floor_{name}"]["requests_per_s"] / runs[name]["requests_per_s"]
                   for clients, name in ((1, "alone"), (args.clients, "loaded"))}  # fmt: skip
    met_big = runs["alone"]["p95_ms"] <= TARGET_BIG_P95_MS
    lines += [
        "",
        "Targets (issue 9):",
        f"- p95 for one customer = {runs['alone']['p95_ms']:.1f} ms (big order) and "
        f"{runs['sample']['p95_ms']:.1f} ms (random orders) (target ≤ {TARGET_P95_MS} ms): "
        f"**{'met' if met_p95 else 'missed'}**",
        f"- at most {most} queries per page whatever the number of shipments and events "
        f"(measured on {shapes}; a test asserts it; target ≤ "
        f"{TARGET_QUERIES}): **{'met' if met_queries else 'missed'}**",
        "",
        "Targets (issue 24):",
        "- cached repeat views, pages/s against uncached renders in this run: "
        + ", ".join(f"{label} {n:.1f}×" for label, n in times.items())
        + f" (target ≥ {TARGET_CACHED_TIMES}×): **{'met' if met_times else 'missed'}**",
        f"- the same in instructions, free of the machine's noise (callgrind, the Django "
        f"process in-process, {VIEWS} views of the big order): "
        f"{per_view['rendered'] / 1e6:.1f} M per rendered view, "
        f"{per_view['cached'] / 1e6:.1f} M per cached view: "
        f"{per_view['rendered'] / per_view['cached']:.1f}× (PostgreSQL's and gunicorn's own "
        "work not counted)",
        "- the page floor (the project's middleware answering the big page's bytes, no query, "
        "no cache, no template: `GET /bench/page-floor`, bench/floor_urls.py) in the same run: "
        + ", ".join(
            f"{n:.1f}× the uncached big order's pages/s with {clients} client"
            f"{'s' if clients > 1 else ''}"
            for clients, n in floor_times.items()
        )
        + "; the cached big order reaches "
        + ", ".join(
            f"{n:.0%} of it with {clients} client{'s' if clients > 1 else ''}"
            for clients, n in of_floor.items()
        )
        + ". No cache inside Django can serve more pages/s than the floor, so where the floor "
        f"is under {TARGET_CACHED_TIMES}× the render, so is any cached view.",
        f"- uncached big order p95 for one customer = {runs['alone']['p95_ms']:.1f} ms (target "
        f"≤ {TARGET_BIG_P95_MS} ms): **{'met' if met_big else 'missed'}**",
        "",
        "Uncached rows: PAGE_CACHE_SECONDS=0. Cached rows: the page cache on Redis as in "
        f"production (`CACHE_URL`), each page viewed once before the run; a cached view makes "
        f"{hit['queries']} SQL queries (the merchant, then one version query: the order's data "
        f"and the merchant's templates) and costs {hit['in_process_ms']:.1f} ms in-process "
        "(Django test client, local memory), against the render's figures below. Nothing is "
        "ever served stale: the key holds that version (orders.selectors.order_page_version), "
        "so any change is on the next view (pages/tests/test_page_cache.py).",
        "",
        "CPU per page is the CPU time gunicorn's workers and PostgreSQL's backends spent "
        "during the run divided by the pages served; it moves much less than latency when "
        'other processes ("other": CPUs they kept busy, of 2) compete for the cores; '
        "PostgreSQL's share counts every backend of the shared server, other engineers' test "
        "databases included. Each run first waits up to 90 s for a quiet machine.",
        "",
        "Where a page's time goes (in-process, Django test client, median of 10; SQL: the "
        "page's statements again under EXPLAIN ANALYZE, planning + execution): "
        + "; ".join(
            f"{label} {q['in_process_ms']:.1f} ms of which SQL {q['sql_ms']:.1f} ms"
            for label, q in (
                ("big order", big),
                ("random order A", queries[1]),
                ("random order B", queries[2]),
            )
        )
        + ". The rest is Python: the page's data built from the rows, and the template.",
        "",
        *([] if met_p95 else [limits_paragraph(runs, big)]),
        "How the big order got here, on this benchmark. First (on a faster machine of this "
        "kind) from 72 to 38 ms at p95, gunicorn CPU per page 52 → 32 ms: the locale's date "
        "format looked up once per shipment instead of once per row, each row's words once per "
        "(language, status, detail), and only the 8 fields the page shows read of each event. "
        "Then, measured on one machine with the commit before and after: p95 52.7 → 34.0 ms, "
        "gunicorn CPU per page 37.3 → 22.9 ms, 54 → 91 pages/s with 16 clients. The history is "
        "now grouped by day, as carriers show it (a heading per day, a time per row), and each "
        "day and time of day is formatted once per language and cached (Django's dateformat "
        "had cost 11 ms for the 400 rows); the events are read as plain rows rather than model "
        "instances (`orders.selectors.with_history`). Then (session 13) the whole order shows "
        "each package's newest three events and reads only those (a window query), and \"Show "
        "all\" opens the package's own view with all of its events: 131.3 → 85.8 M "
        "instructions per render of the big order (callgrind, same commit, newest three or "
        "all).",
        "",
        f"With {args.clients} clients at once, latency is mostly queueing: 2 workers on 2 cores "
        "shared with PostgreSQL and the load driver, so pages/s there is the machine's capacity. "
        "Every query of the page is scoped by merchant and reaches its rows by index "
        "(`order_unique`, then the order's line items, shipments, shipment items and the "
        "events' `event_timeline_idx`), so the page costs the same on 20,000 orders as on "
        "1,000,000: what it reads grows with the order's own shipments and events, not with "
        "the table.",
        "",
    ]
    return "\n".join(lines)


def limits_paragraph(runs: dict, big: dict) -> str:
    alone, sample = runs["alone"], runs["sample"]
    cpu = alone["busy"]["app"] * 1000 / alone["requests_per_s"]
    typical = sample["busy"]["app"] * 1000 / sample["requests_per_s"]
    return (
        f"What limits it: the big order costs {cpu:.0f} ms of gunicorn CPU per page (a typical "
        f"order {typical:.0f} ms) while its SQL takes {big['sql_ms']:.1f} ms, so the size of the "
        "database is not what limits it; Python is: ten packages' cards (the ORM's rows for "
        "the order, its line items, shipments and their items, the newest events, the "
        "template around them).\n"
    )


def measure(server, paths: list[str], clients: int, duration: float, port: int) -> dict:
    """One run; with the CPUs it kept busy per second: gunicorn, PostgreSQL, and other
    processes (other engineers' tests on this shared machine)."""
    units = ([Request("GET", path)] for path in itertools.cycle(paths))
    before = cpu_seconds(server.pid)
    stats = asyncio.run(run("127.0.0.1", port, units, clients=clients, duration=duration))
    after = cpu_seconds(server.pid)
    busy = {part: used / stats.elapsed for part, used in cpu_seconds_between(before, after).items()}
    return stats.summary() | {"busy": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="generated orders")
    parser.add_argument("--child", choices=["build", "count", "views"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(build()))
        return
    if args.child == "count":
        print(json.dumps(count_queries(args.paths)))
        return
    if args.child == "views":
        views(args.paths[0], int(args.paths[1]))
        return

    postgres_ensure_running()
    ensure_database(args.orders)
    info = machine() | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    port = free_port()
    # the probes are unsigned links, which also take from the guesses' budget (pages/views.py)
    limits = {"PAGE_VIEWS_PER_MINUTE": "100000000", "PAGE_MISSES_PER_MINUTE": "100000000"}
    env = database_env(port) | limits
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", env=env)  # as a release does
    data = child_json(__file__, "--child", "build", env=env)
    big_path = f"/orders/{MERCHANT_ID}/{ORDER_ID}"
    probes = [big_path, *data["sample"][:40]]
    uncached = env | {"PAGE_CACHE_SECONDS": "0"}
    cached = env | {"CACHE_URL": CACHE_URL}
    queries = child_json(__file__, "--child", "count", *probes, env=uncached)
    hit_queries = child_json(__file__, "--child", "count", big_path, env=env)  # local memory
    per_view = instructions_per_view(big_path, env)
    runs = {}
    with gunicorn(uncached, port, args.workers) as server:
        measure(server, [big_path], args.clients, 3, port)  # warm-up: imports, connections
        for name, paths, clients in (("alone", [big_path], 1),
                                     ("loaded", [big_path], args.clients),
                                     ("sample", data["sample"], 1)):  # fmt: skip
            wait_for_quiet_machine()
            runs[name] = measure(server, paths, clients, args.duration, port)
    revisited = [big_path, *data["sample"][:REVISITED]]
    sh(PYTHON, "-c", f"import redis; redis.Redis.from_url('{CACHE_URL}').flushdb()")
    cached |= {"BENCH_PAGE_BYTES": str(queries[0]["bytes"])}  # the page floor's answer
    with gunicorn(cached, port, args.workers) as server:
        measure(server, revisited, args.clients, 5, port)  # each viewed once: in the cache
        for name, paths, clients in (("cached_alone", [big_path], 1),
                                     ("cached_loaded", [big_path], args.clients),
                                     ("cached_sample", revisited[1:], 1),
                                     ("floor_alone", [FLOOR_PATH], 1),
                                     ("floor_loaded", [FLOOR_PATH], args.clients)):  # fmt: skip
            wait_for_quiet_machine()
            runs[name] = measure(server, paths, clients, args.duration, port)
    section = report(runs, info, args, data, queries, hit_queries[0], per_view)
    print(section)
    write_doc(section)


if __name__ == "__main__":
    main()
