"""File channel benchmark: records per second and peak memory of the real scheduled task.

    .venv/bin/python bench/file_channel.py [--big-records 10000]

On a fresh PostgreSQL database (`flextracker_bench_files`, dropped at the end), a merchant with a
CSV format dictionary and a local drop folder; two files are dropped and `ingest.tasks.
poll_file_sources` runs (in a child process, as a django-q2 worker would, 45 s per run) until
each is finished:

  csv-10k   10,000 lines: 500 orders of 8 items (a row each), two split shipments, a partial
            cancellation — 2,000 records, 5 of them rejected (an item never ordered);
  big       one row per record, `--big-records` order records (100,000 by default, about
            two minutes; the two files' peak RSS shows the stream does not grow with a file).

Every record goes through the channel as in production: a checkpoint's worth (200) at a time
through `channel_deliver_all` (one inbound message each, the dictionary, the `/events` handlers
and services, one transaction for the 200). Writes the "## File channel" section of
docs/benchmarks.md (other sections kept).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
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

DB_NAME = "flextracker_bench_files"
MERCHANT_ID = "FILES-01-00001"
HEADER = "MsgId,MsgType,OrderNo,Date,Customer,Email,Sku,Description,Qty,Price,Carrier,Tracking\n"
MAPPING = {
    "groupBy": "MsgId", "eventId": "MsgId",
    "type": {"path": "MsgType",
             "values": {"NEW": "order.created", "SHIP_CONF": "shipment.confirmed",
                        "CXL": "order.cancelled"}},
    "fields": {
        "*": {"orderId": "OrderNo"},
        "order.created": {
            "orderDate": {"path": "Date", "as": "datetime", "format": "%m/%d/%Y %H:%M"},
            "customer.name": "Customer", "customer.email": "Email",
            "lineItems": {"fields": {"itemId": "Sku", "name": "Description",
                                     "quantity": {"path": "Qty", "as": "int"},
                                     "price": {"path": "Price", "as": "decimal"}}}},
        "shipment.confirmed": {
            "trackingNumber": "Tracking",
            "carrier": {"path": "Carrier", "values": {"SBX": "sandbox"}},
            "items": {"fields": {"itemId": "Sku", "quantity": {"path": "Qty", "as": "int"}}}},
        "order.cancelled": {
            "reason": "Description",
            "items": {"fields": {"itemId": "Sku", "quantity": {"path": "Qty", "as": "int"}}}},
    },
}  # fmt: skip


def write_10k(path: Path) -> int:
    """As the done-when test: 10,000 lines, 2,000 records (5 rejected)."""
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(500):
            order, stamp = f"D-{n}", "11/20/2026 09:30"
            skus = [f"SKU-{k}" for k in range(1, 9)]
            second = ["LAMP", "SKU-2"] if n % 100 == 0 else skus[:2]
            for sku in skus:
                out.write(
                    f"{order}-o,NEW,{order},{stamp},Ann {n},a{n}@example.com,{sku},Thing,2,1.50,,\n"
                )
            for sku in skus:
                out.write(
                    f"{order}-s1,SHIP_CONF,{order},{stamp},,,{sku},,1,,SBX,SBXDELIVERED{n}1\n"
                )
            for sku in second:
                out.write(
                    f"{order}-s2,SHIP_CONF,{order},{stamp},,,{sku},,1,,SBX,SBXDELIVERED{n}2\n"
                )
            for sku in skus[-2:]:
                out.write(f"{order}-c,CXL,{order},,,,{sku},changed mind,1,,,\n")
    return 10_000


def write_big(path: Path, records: int) -> int:
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(records):
            out.write(
                f"B-{n},NEW,B-{n},11/20/2026 09:30,Bo {n},b{n}@example.com,SKU-1,Mug,1,9.99,,\n"
            )
    return records


def run_child(name: str) -> dict:
    """In the child: the dictionary and the drop folder, then the real task until done."""
    import django

    django.setup()
    from django.utils import timezone

    from ingest.models import FileSource, FormatDictionary, InboundFile
    from ingest.tasks import poll_file_sources
    from merchants.models import Merchant

    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    folder = Path(os.environ["BENCH_FOLDER"])
    dictionary, _ = FormatDictionary.objects.get_or_create(
        merchant=merchant, name="bench", defaults={"format": "csv", "mapping": MAPPING}
    )
    FileSource.objects.get_or_create(
        merchant=merchant,
        name="bench",
        defaults={
            "kind": "local",
            "dictionary": dictionary,
            "directory": str(folder / "in"),
            "archive_directory": str(folder / "archive"),
            "error_directory": str(folder / "error"),
        },
    )
    runs, started = 0, time.monotonic()
    while not InboundFile.objects.filter(name=name, finished_at__isnull=False).exists():
        FileSource.objects.update(last_polled_at=timezone.now())
        poll_file_sources()
        runs += 1
    elapsed = time.monotonic() - started
    done = InboundFile.objects.get(name=name)
    return {"seconds": elapsed, "runs": runs, "records": done.records_read,
            "accepted": done.records_accepted, "rejected": done.records_rejected,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def report(rows: list[dict], info: dict) -> str:
    lines = [
        "## File channel", "",
        "`make bench` runs `bench/file_channel.py`: a fresh PostgreSQL database, a merchant with a "
        "CSV format dictionary and a local drop folder; each file is dropped and the real "
        "scheduled task (`ingest.tasks.poll_file_sources`, 45 s per run) runs in one process "
        "until the file is finished. Every record goes through the channel as in production: "
        "200 records (a checkpoint's worth) at a time through `channel_deliver_all`, one inbound "
        "message each, the dictionary, the `/events` handlers and services, in one transaction "
        "(one at a time, each in its own, when a record would take effect only in part). Before "
        "chunks (commit bdebea2), on the same machine: 69 and 96 records/s.", "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared by the worker and PostgreSQL",
        f"- Commit: {info['commit']}; PostgreSQL {info['postgres']}", "",
        "| file | lines | records | rejected | seconds | task runs | records/s | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['lines']:,} | {row['records']:,} | {row['rejected']} | "
            f"{row['seconds']:.0f} | {row['runs']} | **{row['records'] / row['seconds']:.0f}** | "
            f"{row['peak_rss_mib']:.0f} MiB |"
        )
    lines += [
        "",
        "Peak RSS is the worker process's maximum resident memory over the whole file: "
        "the file is streamed record by record, so it does not grow with the file's size.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big-records", type=int, default=100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child)))
        return
    postgres_ensure_running()
    info = machine()
    env = os.environ | django_env(DB_NAME) | {"ALLOWED_HOSTS": "127.0.0.1"}
    folder = Path(tempfile.mkdtemp(prefix="bench-files-"))
    (folder / "in").mkdir()
    env["BENCH_FOLDER"] = str(folder)
    database_create(DB_NAME)
    try:
        print(f"Database {DB_NAME}: migrating …", flush=True)
        sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
        sh(PYTHON, "manage.py", "create_merchant", MERCHANT_ID, "--name", "Files", env=env)
        rows = []
        for label, name, writer in (
            ("10,000-line CSV (orders, split shipments, cancellations)", "csv-10k.csv", write_10k),
            (f"{args.big_records:,} one-row records", "big.csv",
             lambda path: write_big(path, args.big_records)),
        ):  # fmt: skip
            path = folder / "in" / name
            lines = writer(path)
            os.utime(path, (time.time() - 600, time.time() - 600))
            print(f"{name}: processing …", flush=True)
            row = child_json(__file__, "--child", name, env=env) | {"label": label, "lines": lines}
            print(f"{name}: {row['records']:,} records in {row['seconds']:.0f} s "
                  f"({row['records'] / row['seconds']:.0f}/s), peak {row['peak_rss_mib']:.0f} MiB",
                  flush=True)  # fmt: skip
            rows.append(row)
        section = report(rows, info)
        print("\n" + section)
        write_doc(section)
    finally:
        database_drop(DB_NAME)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
