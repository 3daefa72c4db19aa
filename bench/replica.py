"""Read-replica benchmark: the customer page served from the primary, then from a streaming
standby of it (flextracker/replica.py), by the same gunicorn on the same database.

    .venv/bin/python bench/replica.py [--duration 15] [--clients 16]

Starts the standby with `.ci/replica start` (port 5433), makes a database of its own
(flextracker_replica_bench: Fred's Discount City's 10 × 40 order, as bench/page.py's, and 100
orders of 2 shipments × 10 events), waits for the standby to replay it, then runs the big order
with one client and with --clients, and the small orders with one client, first without
DATABASE_REPLICA_URL and then with it. Counts where the statements went (pg_stat_database on
each server) and the CPU of each cluster's processes. Writes the "## Read replica" section of
docs/benchmarks.md.
"""

import argparse
import asyncio
import itertools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PG_URL,
    PYTHON,
    REPO,
    child_json,
    database_create,
    errors_text,
    free_port,
    gunicorn,
    machine,
    machine_busy_seconds,
    pg,
    postgres_ensure_running,
    processes_cpu_seconds,
    server_env,
    sh,
    wait_for_quiet_machine,
    write_doc,
)
from bench.load import Request, run

DATABASE = "flextracker_replica_bench"
STANDBY_URL = "postgres://postgres@127.0.0.1:5433"
MERCHANT_ID = "FDC-01-12345"
BIG_ORDER = "PAGE-10x40"
SMALL_ORDERS = 100


def build() -> dict:
    """In a child process with the server's settings: the schema and the orders."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.page_data import big_order_ensure
    from merchants.models import Merchant
    from merchants.services import merchant_create

    if not Merchant.objects.filter(merchant_id=MERCHANT_ID).exists():
        merchant_create(merchant_id=MERCHANT_ID, name="Fred's Discount City")
    big_order_ensure(MERCHANT_ID, BIG_ORDER, 10, 40)
    for number in range(SMALL_ORDERS):
        big_order_ensure(MERCHANT_ID, f"SMALL-{number}", 2, 10, numbers_from=100 + 2 * number)
    return {"small": [f"/orders/{MERCHANT_ID}/SMALL-{n}" for n in range(SMALL_ORDERS)]}


def standby_caught_up(timeout: float = 120) -> None:
    target = pg("SELECT pg_current_wal_lsn()::text")[0][0]
    deadline = time.monotonic() + timeout
    while not _standby(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]:
        if time.monotonic() > deadline:
            raise SystemExit(f"The standby did not replay up to {target} in {timeout:.0f} s")
        time.sleep(0.1)


def _standby(sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"{STANDBY_URL}/postgres", autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def transactions() -> dict[str, int]:
    """Transactions committed so far in the benchmark's database, on each server."""
    sql = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{DATABASE}'"  # noqa: S608
    return {"primary": pg(sql)[0][0], "replica": _standby(sql)[0][0]}


def postmasters() -> dict[str, int]:
    pids = {}
    for name, cluster in (("primary", "main"), ("replica", "replica")):
        version = sh("ls", "/etc/postgresql").split()[0]
        pid_file = Path(f"/var/lib/postgresql/{version}/{cluster}/postmaster.pid")
        pids[name] = int(pid_file.read_text().split()[0])
    return pids


def cpu(server_pid: int, clusters: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of gunicorn and of each PostgreSQL cluster's processes."""
    totals = dict.fromkeys(["app", *clusters], 0.0)
    for pid, parent, _command, used in processes_cpu_seconds():
        if server_pid in (pid, parent):
            totals["app"] += used
        for name, postmaster in clusters.items():
            if postmaster in (pid, parent):
                totals[name] += used
    totals["machine"] = machine_busy_seconds()
    return totals


def measure(server, paths: list[str], clients: int, duration: float, port: int) -> dict:
    clusters = postmasters()
    units = ([Request("GET", path)] for path in itertools.cycle(paths))
    cpu_before, sent_before = cpu(server.pid, clusters), transactions()
    stats = asyncio.run(run("127.0.0.1", port, units, clients=clients, duration=duration))
    cpu_after = cpu(server.pid, clusters)
    time.sleep(11)  # an idle backend reports its counts to pg_stat_database within 10 s
    sent_after = transactions()
    pages = max(stats.ok, 1)
    used = {part: cpu_after[part] - cpu_before[part] for part in cpu_after}
    per_page = {part: seconds * 1000 / pages for part, seconds in used.items()}
    others = used["machine"] - used["app"] - used["primary"] - used["replica"]
    per_page["other_cpus"] = max(others, 0) / stats.elapsed
    sent = {side: (sent_after[side] - sent_before[side]) / pages for side in sent_after}
    return stats.summary() | {"cpu_ms": per_page, "transactions": sent}


def runs_on(env: dict, port: int, paths: dict, args) -> dict:
    with gunicorn(env, port, args.workers) as server:
        measure(server, paths["big"], args.clients, 3, port)  # warm-up: imports, connections
        results = {}
        for name, clients in (("alone", 1), ("loaded", args.clients), ("small", 1)):
            wait_for_quiet_machine(patience=30)
            chosen = paths["small"] if name == "small" else paths["big"]
            results[name] = measure(server, chosen, clients, args.duration, port)
        return results


def _row(label: str, clients: int, where: str, stats: dict) -> str:
    cpu_ms, sent = stats["cpu_ms"], stats["transactions"]
    return (
        f"| {label} | {clients} | {where} | {stats['requests_per_s']:.0f} | "
        f"{stats['p50_ms']:.1f} | {stats['p95_ms']:.1f} | {errors_text(stats['errors'])} | "
        f"{sent['primary']:.2f} / {sent['replica']:.2f} | "
        f"{cpu_ms['app']:.1f} / {cpu_ms['primary']:.1f} / {cpu_ms['replica']:.1f} | "
        f"{cpu_ms['other_cpus']:.1f} |"
    )


def report(results: dict, info: dict, args) -> str:
    labels = {"alone": ("big order (10 × 40)", 1), "loaded": ("big order (10 × 40)", args.clients),
              "small": (f"{SMALL_ORDERS} small orders (2 × 10) in turn", 1)}  # fmt: skip
    rows = [
        _row(label, clients, where, results[where][name])
        for name, (label, clients) in labels.items()
        for where in ("primary", "replica")
    ]
    rate = {where: {name: results[where][name]["requests_per_s"] for name in labels}
            for where in results}  # fmt: skip
    ratios = ", ".join(
        f"{label} with {clients} client{'s' if clients > 1 else ''} "
        f"{rate['replica'][name] / rate['primary'][name]:.2f}×"
        for name, (label, clients) in labels.items()
    )
    on_replica = results["replica"]["alone"]
    header = [
        "## Read replica",
        "",
        "`bench/replica.py`: the customer page served by gunicorn "
        f"({args.workers} sync workers), {args.duration:.0f} s per run, first reading from the "
        "primary, then with `DATABASE_REPLICA_URL` pointing at a streaming standby of it on the "
        "same machine (`.ci/replica start`: pg_basebackup, port 5433), on a database of its own "
        f"(`{DATABASE}`: bench/page.py's 10 × 40 order and {SMALL_ORDERS} orders of 2 shipments "
        "× 10 events, replayed by the standby before the runs). The page costs the same on "
        "1,000,000 orders (## Page: every read is an index lookup from the merchant).",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared with other engineers' test runs (figures are noisy)",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}, primary and standby on the same machine",
        "",
    ]
    table = [
        "| page | clients | read from | pages/s | p50 ms | p95 ms | errors "
        "| transactions per page: primary / replica "
        "| CPU ms per page: gunicorn / primary / replica | other processes' CPUs busy (of 2) |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
        *rows,
        "",
    ]
    summary = [
        f"Where the page's statements went is what this run proves: reading from the replica, a "
        f"page sent {on_replica['transactions']['primary']:.2f} transactions to the primary and "
        f"{on_replica['transactions']['replica']:.2f} to the replica (autocommit: each statement "
        "is one, with the connection's health check), against none to the replica when "
        f"reading from the primary. Pages/s from the replica against the primary: {ratios}. "
        "Those rates move with the neighbours: both servers and gunicorn share this machine's 2 "
        "cores with other engineers' test suites (last column), and the primary also serves "
        "their test databases, whose backends count in its CPU per page; the standby serves "
        "only this benchmark. On a quiet machine the page is limited by gunicorn's Python "
        "(## Page), so the replica's gain is not a faster page but the reads taken off the "
        "primary's host, which keeps its CPU for writes.",
        "",
    ]
    return "\n".join(header + table + summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", choices=["build"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(build()))
        return

    postgres_ensure_running()
    sh(str(REPO / ".ci" / "replica"), "start")
    info = machine() | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    port = free_port()
    limits = {"PAGE_VIEWS_PER_MINUTE": "100000000", "PAGE_MISSES_PER_MINUTE": "100000000"}
    env = server_env(port, DATABASE) | limits
    database_create(DATABASE)
    built = child_json(__file__, "--child", "build", env=env)
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", env=env)
    pg("VACUUM ANALYZE", DATABASE)
    standby_caught_up()
    paths = {"big": [f"/orders/{MERCHANT_ID}/{BIG_ORDER}"], "small": built["small"]}
    on_replica = env | {"DATABASE_REPLICA_URL": f"{STANDBY_URL}/{DATABASE}"}
    assert PG_URL.endswith(":5432"), "the standby streams from the primary on 5432"
    results = {
        "primary": runs_on(env, port, paths, args),
        "replica": runs_on(on_replica, port, paths, args),
    }
    section = report(results, info, args)
    print(section)
    write_doc(section)


if __name__ == "__main__":
    main()
