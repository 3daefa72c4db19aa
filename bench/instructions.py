"""Instructions per ingested event (issue 9): the app's CPU cost of a message, free of noise.

    .venv/bin/python bench/instructions.py [--batches 2] [--pairs 20] [--floors 100]

Rates on a shared machine move by 10-20 % from one run to the next, so a change that saves 5 %
cannot be told from the noise by timing it. Valgrind's callgrind counts the instructions the
process executes instead: the same code, input and interpreter give the same count, however busy
the machine is. Each kind of message runs in-process (Django test client, no HTTP) against a fresh
PostgreSQL database (`flextracker_instructions`, dropped at the end), once with none sent after a
warm-up and once with N sent; the difference over N is the cost of one:

  floor    POST /api/bench/floor (authentication, JSON parsing, one INSERT), per request;
  single   an order, then its shipment, answered at once, per message;
  batch    /api/v1/events/batch of 500 events, per event.

Only the Django process is counted, not PostgreSQL's. Compare two commits by running this on
each; the figures go to the "## Instructions" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    database_create,
    database_drop,
    instructions_executed,
    machine,
    postgres_ensure_running,
    server_env,
    sh,
    write_doc,
)
from bench.ingest import (
    BATCH_PAIRS,
    as_json,
    batch_events,
    database_prepare,
    order_body,
    shipment_body,
)

DB_NAME = "flextracker_instructions"
# Events in one unit that `send` counts: a floor request, an order and its shipment, a batch.
EVENTS_PER_UNIT = {"floor": 1, "single": 2, "batch": 2 * BATCH_PAIRS}
VALGRIND = shutil.which("valgrind") or "valgrind"


# --- In the child (under valgrind) -------------------------------------------------------------


def send(kind: str, count: int, key: str) -> None:
    """One message of `kind` to warm up, then `count` more (a batch: `count` batches)."""
    import django

    django.setup()
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {key}"}, HTTP_HOST="127.0.0.1")
    run_id = secrets.token_hex(3).upper()

    def post(path: str, body: bytes, status: int) -> None:
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == status, (path, response.status_code, response.content)

    def one(n: int) -> None:
        if kind == "floor":
            post("/api/bench/floor", as_json(order_body("FLOOR")), 201)
        elif kind == "single":
            order_id = f"I{run_id}-{n}"
            post("/api/v1/orders", as_json(order_body(order_id)), 201)
            post(f"/api/v1/orders/{order_id}/shipments",
                 as_json(shipment_body(f"1ZI{run_id}{n:06d}")), 201)  # fmt: skip
        else:
            body = {"events": batch_events(f"IB{run_id}{n}", BATCH_PAIRS)}
            post("/api/v1/events/batch", as_json(body), 207)

    for n in range(count + 1):
        one(n)


# --- Counting ----------------------------------------------------------------------------------


def instructions(kind: str, count: int, env: dict) -> int:
    """Instructions the child executed from start to end, sending `count` messages of `kind`."""
    return instructions_executed([__file__, "--child", kind, str(count)], env)


def measure(args, env: dict) -> dict[str, dict]:
    """Per kind: instructions per event (the difference of two runs over the events sent)."""
    counts = {"floor": args.floors, "single": args.pairs, "batch": args.batches}
    events = {kind: n * EVENTS_PER_UNIT[kind] for kind, n in counts.items()}
    runs = [(kind, n) for kind, count in counts.items() for n in (0, count)]
    with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        totals = dict(zip(runs, pool.map(lambda run: instructions(*run, env), runs), strict=True))
    return {
        kind: {
            "events": events[kind],
            "per_event": (totals[(kind, counts[kind])] - totals[(kind, 0)]) / events[kind],
        }
        for kind in counts
    }


# --- Reporting -----------------------------------------------------------------------------------


def report(results: dict, info: dict, valgrind: str) -> str:
    floor = results["floor"]["per_event"]
    labels = {
        "floor": "floor (auth + 1 INSERT), per request",
        "single": "single events (order, then its shipment), per message",
        "batch": "batch of 500 events, per event",
    }
    rows = "\n".join(
        f"| {labels[kind]} | {r['events']:,} | {r['per_event'] / 1e6:.2f} M"
        f" | {r['per_event'] / floor:.2f} |"
        for kind, r in results.items()
    )
    return "\n".join([
        "## Instructions",
        "",
        "`bench/instructions.py` counts the instructions the Django process executes per message "
        "(valgrind's callgrind; in-process, Django test client; PostgreSQL's own work is not "
        "counted). The same code, input and interpreter give the same count however busy the "
        "machine is (two runs of a batch: 7,417.7 and 7,417.9 M), so two commits can be "
        "compared where timed rates on a shared machine move by 10–20 %. Each kind runs "
        "twice, with none and with N messages sent after a warm-up; the difference over N is "
        "one message's cost.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}); {valgrind}; "
        f"Python {sys.version.split()[0]}",
        f"- Commit: {info['commit']}",
        "",
        "| messages | N events | instructions per event | × floor |",
        "|---|---:|---:|---:|",
        rows,
        "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=2, help="batches of 500 events")
    parser.add_argument("--pairs", type=int, default=20, help="orders and their shipments")
    parser.add_argument("--floors", type=int, default=100, help="floor requests")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        send(args.child[0], int(args.child[1]), os.environ["BENCH_API_KEY"])
        return

    postgres_ensure_running()
    info = machine()
    env = server_env(0, DB_NAME) | {"PYTHONHASHSEED": "0"}
    database_create(DB_NAME)
    try:
        key = database_prepare(DB_NAME, env)
        print("Counting under valgrind (a few minutes) …", flush=True)
        results = measure(args, env | {"BENCH_API_KEY": key})
    finally:
        database_drop(DB_NAME)
    section = report(results, info, sh(VALGRIND, "--version"))
    print("\n" + section)
    write_doc(section)


if __name__ == "__main__":
    main()
