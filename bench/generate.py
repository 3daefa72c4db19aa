"""Data generator (issue 9): a PostgreSQL database of 1,000,000 orders for the page and search
benchmarks, kept between runs.

    .venv/bin/python bench/generate.py [--orders 1000000] [--reuse] [--force]

The database `flextracker_1m` is migrated to head, then filled by bench/generate_data.py with
PostgreSQL COPY in chunks of 5,000 orders: ~20 merchants (Fred's Discount City, FDC-01-12345,
holding 40 %), line items, shipments, shipment items, ~10 tracking events per shipment,
cancellations and backorders. Foreign keys, unique constraints and secondary indexes are dropped
for the load and created again afterwards (which checks every row against them); check
constraints stay on throughout. Then VACUUM ANALYZE, and a coherence check of what constraints
cannot say (counters against shipment items, each order's status against its shipments).

A database already complete with the same number of orders is reused (only migrated to head);
`--reuse` reuses whatever complete database is there; `--force` generates again. After a
generation the "## Data generator" section of docs/benchmarks.md gets the time, rows and sizes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    REPO,
    database_create,
    machine,
    pg,
    postgres_ensure_running,
    server_env,
    sh,
    write_doc,
)

DB_1M = "flextracker_1m"
MARKER = "bench_generated"  # one row once a generation is complete
DEFAULT_ORDERS = 1_000_000


def database_env(port: int = 0) -> dict[str, str]:
    """The server's environment on the generated database."""
    return server_env(port, DB_1M)


def complete_generation() -> dict | None:
    """The marker row of a complete generation, or None."""
    if not pg(f"SELECT 1 FROM pg_database WHERE datname = '{DB_1M}'"):  # noqa: S608
        return None
    if not pg(f"SELECT to_regclass('{MARKER}')", DB_1M)[0][0]:
        return None
    rows = pg(f"SELECT orders, seed, generated_at, reference_now, seconds FROM {MARKER}", DB_1M)  # noqa: S608
    if not rows:
        return None
    keys = ("orders", "seed", "generated_at", "reference_now", "seconds")
    return dict(zip(keys, rows[0], strict=True))


def ensure_database(orders: int = DEFAULT_ORDERS) -> None:
    """For the other benchmarks: generate unless a complete database of `orders` is there;
    in a child process, so that the caller's environment stays its own."""
    subprocess.run(  # noqa: S603 - this script, fixed arguments
        [PYTHON, __file__, "--orders", str(orders)], cwd=REPO, check=True
    )


# --- Loading without the indexes -----------------------------------------------------------------


def indexes_drop(tables: list[str]) -> list[str]:
    """Drops the foreign keys, unique constraints and secondary indexes of `tables` (not primary
    keys, not check constraints); returns the DDL that creates them again, in a working order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')
               ORDER BY contype DESC, conname""",
            [tables],
        )
        constraints = cursor.fetchall()  # unique ones first, then foreign keys
        cursor.execute(
            """SELECT indexname, indexdef FROM pg_indexes
               WHERE tablename = ANY(%s) AND indexname NOT IN (
                   SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
               ORDER BY indexname""",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _kind, _definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, _kind, definition in constraints
    ]


def indexes_create(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")  # this session only
        for statement in statements:
            cursor.execute(statement)


# --- Measuring -----------------------------------------------------------------------------------


def sizes(tables: list[str]) -> list[dict]:
    from django.db import connection

    with connection.cursor() as cursor:
        rows = []
        for table in tables:
            cursor.execute(
                f"SELECT count(*), pg_table_size('{table}'), pg_indexes_size('{table}'),"  # noqa: S608
                f" pg_total_relation_size('{table}') FROM {table}"
            )
            count, heap, index, total = cursor.fetchone()
            rows.append({"table": table, "rows": count, "table_bytes": heap,
                         "index_bytes": index, "total_bytes": total})  # fmt: skip
        cursor.execute(
            """SELECT indexrelid::regclass::text, indrelid::regclass::text,
                      pg_relation_size(indexrelid)
               FROM pg_index WHERE indrelid = ANY(%s::regclass[])
               ORDER BY 3 DESC LIMIT 14""",
            [tables],
        )
        largest = cursor.fetchall()
        cursor.execute("SELECT pg_database_size(current_database())")
        database = cursor.fetchone()[0]
    return rows, largest, database


SHAPE_SQL = {
    "orders per merchant (FDC-01-12345 share)": """
        SELECT round(100.0 * count(*) FILTER (WHERE m.merchant_id = 'FDC-01-12345') / count(*), 1)
        FROM orders_order o JOIN merchants_merchant m ON m.id = o.merchant_id""",
    "shipments per order": """
        SELECT string_agg(n || ': ' || orders, ', ' ORDER BY n) FROM (
            SELECT n, count(*) AS orders FROM (
                SELECT o.id, count(s.id) AS n FROM orders_order o
                LEFT JOIN orders_shipment s ON s.order_id = o.id GROUP BY o.id) x
            GROUP BY n) y""",
    "order status": """
        SELECT string_agg(status || ' ' || n, ', ' ORDER BY n DESC)
        FROM (SELECT status, count(*) AS n FROM orders_order GROUP BY 1) x""",
    "shipment status": """
        SELECT string_agg(status || ' ' || n, ', ' ORDER BY n DESC)
        FROM (SELECT status, count(*) AS n FROM orders_shipment GROUP BY 1) x""",
    "carriers": """
        SELECT string_agg(carrier || ' ' || n, ', ' ORDER BY n DESC)
        FROM (SELECT carrier, count(*) AS n FROM orders_shipment GROUP BY 1) x""",
    "line items per order": """
        SELECT round(avg(n), 2) FROM (
            SELECT count(*) AS n FROM orders_lineitem GROUP BY order_id) x""",
    "events per shipment": """
        SELECT round(avg(n), 2) FROM (
            SELECT count(*) AS n FROM tracking_trackingevent GROUP BY shipment_id) x""",
    "orders with a phone": """
        SELECT round(100.0 * count(*) FILTER (WHERE customer_phone <> '') / count(*), 1)
        FROM orders_order""",
}


def shape() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        result = {}
        for label, sql in SHAPE_SQL.items():
            cursor.execute(sql)
            result[label] = str(cursor.fetchone()[0])
    return result


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f}" if size >= 2**20 else f"{size / 2**20:.2f}"


def report(info: dict, orders: int, timings: dict, table_sizes, largest, database, checks, facts):
    seconds = sum(timings.values())
    total_rows = sum(row["rows"] for row in table_sizes)
    lines = [
        "## Data generator",
        "",
        "`bench/generate.py` fills the PostgreSQL database `flextracker_1m` (kept between runs; "
        "`make bench` reuses it when complete) for the page and search benchmarks: "
        f"{orders:,} orders over the last 12 months (twice as many at the end of the year as at "
        "its start) across 20 merchants, Fred's Discount City (FDC-01-12345) holding 40 %; "
        "1–5 line items per order; most orders in one shipment, 14 % of those with two units or "
        "more split into 2–3, some not shipped yet, cancelled in full or in part, or backordered; "
        "UPS, FedEx, USPS, DHL, Canada Post (and sandbox) tracking numbers of each carrier's "
        "shape with valid check digits; ~10 tracking events per shipment (label to delivery, "
        "with failed attempts, exceptions, returns, pickups, lost parcels expired after 30 days "
        "of silence). Customers: real first and last names, returning about a third of the "
        "time, lower-case emails, phones in 8 formats (`customer_phone_digits` by the services' "
        "`phone_digits`), US ZIP and Canadian postal codes. Written with COPY (psycopg 3) in "
        "chunks of 5,000 orders, one transaction each, with foreign keys, unique constraints "
        "and secondary indexes dropped during the load and created again afterwards.",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared with other engineers' test runs",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}",
        "",
        f"Time: **{seconds / 60:.1f} min** in all ({total_rows / seconds:,.0f} rows/s): "
        + ", ".join(f"{label} {value:.0f} s" for label, value in timings.items())
        + ".",
        "",
        "| table | rows | per order | table MiB | indexes MiB | total MiB | bytes per row |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table_sizes:
        per_row = row["total_bytes"] / row["rows"] if row["rows"] else 0
        lines.append(
            f"| `{row['table']}` | {row['rows']:,} | {row['rows'] / orders:.2f} | "
            f"{mib(row['table_bytes'])} | {mib(row['index_bytes'])} | {mib(row['total_bytes'])}"
            f" | {per_row:,.0f} |"
        )
    table_total = sum(row["total_bytes"] for row in table_sizes)
    lines += [
        f"| all seven | {total_rows:,} | {total_rows / orders:.1f} | "
        f"{mib(sum(r['table_bytes'] for r in table_sizes))} | "
        f"{mib(sum(r['index_bytes'] for r in table_sizes))} | {mib(table_total)} | "
        f"{table_total / orders:,.0f} per order |",
        "",
        f"The whole database: {database / 2**30:.2f} GiB. Largest indexes: "
        + ", ".join(f"`{name}` {mib(size)} MiB" for name, _table, size in largest)
        + ".",
        "",
        "Shape: " + "; ".join(f"{label}: {value}" for label, value in facts.items()) + ".",
        "",
        "Checks: every row passed the check constraints during the load and the unique "
        "constraints and foreign keys when they were created again; "
        + "; ".join(f"{label}: {count}" for label, count in checks.items())
        + ".",
        "",
    ]
    return "\n".join(lines)


# --- Main ----------------------------------------------------------------------------------------


def generate_database(orders: int, seed: int) -> None:
    info = machine() | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    env = database_env()
    database_create(DB_1M)
    timings = {}
    started = time.perf_counter()
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    timings["migrate"] = time.perf_counter() - started
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from bench.generate_data import TABLES, coherence_problems, generate

    tables = list(TABLES)
    statements = indexes_drop(tables)
    print(f"Generating {orders:,} orders into {DB_1M} …", flush=True)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    counts = generate(orders, seed=seed, now=now)
    timings["COPY"] = time.perf_counter() - started
    print(f"Loaded {sum(counts.values()):,} rows in {timings['COPY']:.0f} s; indexes …", flush=True)
    started = time.perf_counter()
    indexes_create(statements)
    timings["indexes and constraints"] = time.perf_counter() - started
    print(f"  {len(statements)} indexes and constraints in {timings['indexes and constraints']:.0f}"
          " s; VACUUM ANALYZE …", flush=True)  # fmt: skip
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
    timings["VACUUM ANALYZE"] = time.perf_counter() - started
    started = time.perf_counter()
    checks = coherence_problems()
    timings["checks"] = time.perf_counter() - started
    print("  checks: " + ", ".join(f"{label}: {n}" for label, n in checks.items()), flush=True)
    table_sizes, largest, database = sizes(tables)
    facts = shape()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {MARKER} (orders integer, seed integer, generated_at"
            " timestamptz, reference_now timestamptz, seconds double precision)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER} VALUES (%s, %s, now(), %s, %s)",  # noqa: S608
            [orders, seed, now, sum(timings.values())],
        )
    section = report(info, orders, timings, table_sizes, largest, database, checks, facts)
    print("\n" + section)
    if any(checks.values()):
        sys.exit("The generated data breaks a rule (see Checks); the database is left as is.")
    write_doc(section)
    print("Wrote the Data generator section of docs/benchmarks.md.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="reuse any complete database")
    parser.add_argument("--force", action="store_true", help="generate even when complete")
    args = parser.parse_args()
    postgres_ensure_running()
    existing = None if args.force else complete_generation()
    if existing and (args.reuse or existing["orders"] == args.orders):
        print(
            f"{DB_1M}: reusing {existing['orders']:,} orders generated "
            f"{existing['generated_at']:%Y-%m-%d %H:%M} UTC; migrating to head …",
            flush=True,
        )
        sh(PYTHON, "manage.py", "migrate", "--noinput", env=database_env())
        return
    generate_database(args.orders, args.seed)


if __name__ == "__main__":
    main()
