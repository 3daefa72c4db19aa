"""Poller benchmark (issues 4, 9 and 26): shipments refreshed per minute by one worker, against a
local fake carrier, and whether two workers together keep to a carrier account's rate limit.

    .venv/bin/python bench/poller.py [--shipments 3000] [--latency-ms 100] [--before b816206]

A fresh PostgreSQL database (`flextracker_bench_poll`, dropped at the end), Redis as the cache
(the rate budget and OAuth tokens are shared as in production, under a key prefix of this run's
own), and bench/fake_carrier.py answering UPS- and FedEx-shaped requests after --latency-ms.

  throughput  one worker process calls `poll_due_shipments` in a loop (as a django-q2 worker does
              in `poll_carriers`) until nothing is due: --shipments shipments, half UPS (one
              number per call), half FedEx (30 per call), first poll of each (every scan is new),
              accounts with a budget that never binds; POLL_CONCURRENCY 16, then 32; first the
              worker of --before (the last commit that recorded one shipment at a time, exported
              with `git archive` and run on the same database, carrier and settings; '' skips it)
              at POLL_CONCURRENCY 16;
  rate        two worker processes at once, each looping for 70 s, against one merchant's UPS
              account limited to 120 requests a minute with 600 shipments due; they start half a
              second before a clock minute ends, the worst moment for a per-minute window;
  profile     one round of 500 shipments under cProfile: where a worker's time goes.

Results are printed and written to the "## Poller" section of docs/benchmarks.md (other sections
are kept). Targets: at least 1,000 shipments a minute per worker at 100 ms carrier latency (issue
9), at least twice the one-at-a-time worker's rate in the same run (issue 26), never over a
carrier's rate limit.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DOC,
    PYTHON,
    REPO,
    child_json,
    database_create,
    database_drop,
    django_env,
    fmt,
    free_port,
    machine,
    machine_busy_seconds,
    postgres_ensure_running,
    processes_cpu_seconds,
    sql_timed,
    wait_for_port,
    wait_for_quiet_machine,
    write_doc,
)

DB_NAME = "flextracker_bench_poll"
REDIS_URL = "redis://127.0.0.1:6379/0"
TARGET_PER_MINUTE = 1000
TARGET_SPEEDUP = 2  # over recording one shipment at a time (issue 26)
BEFORE = "b816206"  # the last commit that recorded a round one shipment at a time
CONCURRENCIES = (16, 32)
RATE_LIMIT = 120  # requests a minute on the rate run's UPS account
RATE_DUE = 600
RATE_SECONDS = 70
DEFERRED_HORIZON = 5  # s: the throughput run also waits for shipments deferred this far
PROFILE_SHIPMENTS = 500  # one round (poll_due_shipments' default limit)


def settings_env(port: int, key_prefix: str) -> dict[str, str]:
    fake = f"http://127.0.0.1:{port}"
    return django_env(DB_NAME) | {
        "CACHE_URL": f"{REDIS_URL}?key_prefix={key_prefix}",
        "UPS_CLIENT_ID": "platform-ups", "UPS_CLIENT_SECRET": "s",
        "UPS_API_BASE_URL": f"{fake}/ups",
        "FEDEX_CLIENT_ID": "platform-fedex", "FEDEX_CLIENT_SECRET": "s",
        "FEDEX_API_BASE_URL": f"{fake}/fedex",
    }  # fmt: skip


# --- The worker (a child process) ----------------------------------------------------------------


def worker(seconds: float | None, start_at: float | None) -> dict:
    """Polls in a loop: until nothing is due, nor deferred to the next few seconds (seconds=None),
    or for `seconds` (sleeping a second whenever nothing is due). SQL is timed on the main
    thread, the only one that uses the database (carrier calls run in pool threads)."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from orders.models import Shipment
    from tracking.polling import poll_due_shipments

    def due_soon() -> bool:  # deferred to the next window (its budget spent)
        soon = timezone.now() + timedelta(seconds=DEFERRED_HORIZON)
        return Shipment.objects.filter(next_check_at__lte=soon).exists()

    connection.ensure_connection()
    totals, first_polled_at = Counter(), None
    if start_at:
        time.sleep(max(start_at - time.time(), 0))
    started, cpu = time.perf_counter(), os.times()
    with sql_timed() as sql:
        while True:
            round_start = time.time()
            report = poll_due_shipments(now=timezone.now())
            totals.update(rounds=1, claimed=report.claimed, refreshed=report.refreshed,
                          failed=report.failed, deferred=report.deferred,
                          not_tracked=report.not_tracked)  # fmt: skip
            if report.refreshed and first_polled_at is None:
                first_polled_at = round_start
            if seconds is None:
                if report.claimed == 0 and not due_soon():
                    break
                if report.claimed == 0:
                    time.sleep(0.1)
            elif time.perf_counter() - started >= seconds:
                break
            elif report.claimed == 0:
                time.sleep(1)
    elapsed, cpu_after = time.perf_counter() - started, os.times()
    return dict(totals) | {
        "elapsed": elapsed,
        "cpu": cpu_after.user + cpu_after.system - cpu.user - cpu.system,
        "db_seconds": sql["seconds"],
        "queries": sql["queries"],
        "first_polled_at": first_polled_at,  # when the first round that refreshed any began
    }


def profile_round() -> dict:
    """One round under cProfile: the share of time our functions take (cumulative), and SQL."""
    import django

    django.setup()
    from django.utils import timezone

    from tracking.polling import poll_due_shipments

    profiler = cProfile.Profile()
    report = profiler.runcall(poll_due_shipments, now=timezone.now())
    entries = profiler.getstats()
    total = max(entry.totaltime for entry in entries)
    shares = {}
    for entry in entries:
        if isinstance(entry.code, str):
            continue
        file, name = entry.code.co_filename, entry.code.co_qualname
        if file.endswith("django/db/backends/utils.py") and name == "CursorWrapper._execute":
            shares["executing SQL"] = entry.totaltime / total
        elif file.endswith("concurrent/futures/_base.py") and name == "wait":
            shares["waiting for carrier answers"] = entry.totaltime / total
        elif file.startswith(str(REPO)) and "/.venv/" not in file and "/bench/" not in file:
            label = f"{Path(file).relative_to(REPO)}:{name}"
            shares[label] = max(shares.get(label, 0), entry.totaltime / total)
    return {"refreshed": report.refreshed, "seconds": total, "shares": shares}


def spawn_worker(env: dict, *args: str, tree: Path = REPO) -> subprocess.Popen:
    """A worker of this checkout, or of another commit's `tree` (its own bench/poller.py)."""
    return subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        [PYTHON, str(tree / "bench" / "poller.py"), "--worker", *args],
        cwd=tree, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def tree_export(commit: str) -> Path:
    """The files of `commit` in a temporary directory (`git archive`: no checkout, no worktree),
    with this checkout's .env so that both run with the same settings."""
    tree = Path(tempfile.mkdtemp(prefix="poller-before-"))
    archive = subprocess.run(  # noqa: S603 - fixed arguments
        ["/usr/bin/git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    )
    subprocess.run(["/usr/bin/tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)  # noqa: S603
    if (REPO / ".env").exists():
        shutil.copy(REPO / ".env", tree / ".env")
    return tree


def result_of(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        sys.exit(f"worker failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


# --- The fake carrier ----------------------------------------------------------------------------


def carrier_log(port: int, reset: bool = False) -> list[tuple]:
    if reset:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/_reset", method="POST")
        urllib.request.urlopen(request).close()  # noqa: S310 - our own local server
        return []
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_log") as answer:
        return json.load(answer)


def calls_summary(log: list[tuple], carrier: str) -> dict:
    """Tracking calls of one carrier: how many, numbers asked, server-side latency, most in
    flight at once. Log rows: (received, answered, carrier, kind, account, numbers)."""
    calls = [row for row in log if row[2] == carrier and row[3] == "track"]
    tokens = sum(1 for row in log if row[2] == carrier and row[3] == "token")
    if not calls:
        return {"calls": 0, "numbers": 0, "tokens": tokens}
    ms = [(answered - received) * 1000 for received, answered, *_ in calls]
    edges = sorted([(row[0], 1) for row in calls] + [(row[1], -1) for row in calls])
    in_flight, most = 0, 0
    for _, step in edges:
        in_flight += step
        most = max(most, in_flight)
    return {
        "calls": len(calls),
        "numbers": sum(row[5] for row in calls),
        "tokens": tokens,
        "p50_ms": statistics.median(ms),
        "p95_ms": statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0],
        "most_in_flight": most,
    }


def window_counts(log: list[tuple], account: str) -> dict:
    """Tracking calls of one account as the carrier counted them: per clock minute, the most in
    any 60 s (sliding), and the most in one second."""
    times = sorted(row[0] for row in log if row[3] == "track" and row[4] == account)
    per_minute = Counter(clock_minute(t) for t in times)
    per_second = Counter(int(t) for t in times)
    sliding, low = 0, 0
    for high, t in enumerate(times):
        while t - times[low] >= 60:
            low += 1
        sliding = max(sliding, high - low + 1)
    return {
        "per_minute": dict(sorted(per_minute.items())),
        "sliding_60s": sliding,
        "max_per_second": max(per_second.values(), default=0),
        "calls": len(times),
        "first_call": times[0] if times else None,
    }


def budget_spent(key_prefix: str, account_pk: int) -> dict[str, int]:
    """What the rate limiter counted for the account, per window, read from its counters in
    Redis (keys "…account:<pk>:<minute since the epoch>", kept 120 s)."""
    import redis

    client, spent = redis.Redis.from_url(REDIS_URL), {}
    for key in client.scan_iter(f"{key_prefix}:*account:{account_pk}:*"):
        window = int(key.rsplit(b":", 1)[1])
        spent[clock_minute(window * 60)] = int(client.get(key) or 0)
    return dict(sorted(spent.items()))


def clock_minute(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%H:%M")


def clock(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%H:%M:%S.%f")[:-3]


# --- The database --------------------------------------------------------------------------------


def create_merchant(merchant_id: str, rates: dict[str, int]):
    from merchants.models import Merchant
    from tracking.models import CarrierAccount

    merchant = Merchant.objects.create(merchant_id=merchant_id, name=merchant_id)
    for carrier, per_minute in rates.items():
        # No base URL of their own: the platform's (settings_env) is the fake carrier, and an
        # account's own one would be refused as loopback by the SSRF guard, as it must.
        CarrierAccount.objects.create(
            merchant=merchant, carrier=carrier, client_id=f"{merchant_id}-{carrier}",
            secret=secrets.token_hex(8), requests_per_minute=per_minute,
        )  # fmt: skip
    return merchant


def add_shipments(merchant, prefix: str, carriers: dict[str, int]) -> None:
    """Due shipments, never polled; the carriers interleaved so that every round has some of
    each. UPS numbers look like 1Z…, FedEx ones are 12+ digits."""
    from django.utils import timezone

    from orders.models import Shipment

    now, rows = timezone.now(), []
    for carrier, count in carriers.items():
        for n in range(count):
            number = f"1Z{prefix}{n:010d}" if carrier == "ups" else f"7{prefix}{n:011d}"
            rows.append((n, carrier, number))
    rows.sort()
    Shipment.objects.bulk_create(
        [Shipment(merchant=merchant, order=None, carrier=carrier, tracking_number=number,
                  next_check_at=now) for _n, carrier, number in rows],
        batch_size=1000,
    )  # fmt: skip


def refreshed_by_carrier(merchant) -> dict[str, int]:
    from orders.models import Shipment

    checked = Shipment.objects.filter(merchant=merchant, last_checked_at__isnull=False)
    return Counter(checked.values_list("carrier", flat=True))


def events_by_carrier(merchant) -> dict[str, int]:
    from tracking.models import TrackingEvent

    events = TrackingEvent.objects.filter(shipment__merchant=merchant)
    return Counter(events.values_list("shipment__carrier", flat=True))


def cpu_seconds(fake_carrier_pid: int) -> Counter:
    """CPU time so far: PostgreSQL's processes (with their reaped children), the fake carrier,
    and the whole machine (busy)."""
    totals = Counter()
    for pid, _parent, command, used in processes_cpu_seconds():
        if command.startswith("postgres"):
            totals["postgres"] += used
        elif pid == fake_carrier_pid:
            totals["fake carrier"] += used
    totals["busy"] = machine_busy_seconds()
    return totals


# --- Runs ----------------------------------------------------------------------------------------


def throughput(
    port: int, fake_pid: int, env: dict, concurrency: int, shipments: int, n: int,
    code: str = "", tree: Path = REPO,
):  # fmt: skip
    """One worker until nothing is due; `code` names another commit whose worker runs."""
    merchant = create_merchant(f"TPUT-01-{n:05d}", {"ups": 10**6, "fedex": 10**6})
    half = shipments // 2
    add_shipments(merchant, f"T{n}", {"ups": half, "fedex": shipments - half})
    wait_for_quiet_machine(patience=30)
    carrier_log(port, reset=True)
    before = cpu_seconds(fake_pid)
    worker_env = env | {"POLL_CONCURRENCY": str(concurrency)}
    result = result_of(spawn_worker(worker_env, tree=tree))
    used = cpu_seconds(fake_pid) - before  # the worker's own time comes from the worker
    result["pg_cpu"] = used["postgres"]
    result["other_cpu"] = used["busy"] - used["postgres"] - used["fake carrier"] - result["cpu"]
    log = carrier_log(port)
    result |= {
        "code": code,
        "concurrency": concurrency,
        "per_minute": result["refreshed"] / result["elapsed"] * 60,
        "by_carrier": refreshed_by_carrier(merchant),
        "events": events_by_carrier(merchant),
        "calls": {carrier: calls_summary(log, carrier) for carrier in ("ups", "fedex")},
    }
    print(
        f"{code or 'this checkout'}, POLL_CONCURRENCY {concurrency}: "
        f"{result['refreshed']:,} refreshed in "
        f"{result['elapsed']:.1f} s = {result['per_minute']:,.0f}/min; failed {result['failed']};"
        f" SQL {result['db_seconds'] / result['elapsed']:.0%} of the time; CPUs busy: "
        f"{cpus(result)}",
        flush=True,
    )
    return result


def cpus(run: dict) -> str:
    """CPUs busy per wall second: the worker / PostgreSQL / everything else on the machine."""
    parts = (run["cpu"], run["pg_cpu"], run["other_cpu"])
    return " / ".join(f"{part / run['elapsed']:.2f}" for part in parts)


def rate_run(port: int, env: dict, key_prefix: str) -> dict:
    merchant = create_merchant("RATE-01-00001", {"ups": RATE_LIMIT})
    add_shipments(merchant, "R", {"ups": RATE_DUE})
    carrier_log(port, reset=True)
    now = time.time()
    boundary = (now // 60 + 1) * 60
    if boundary - now < 8:  # time for the workers to start Django
        boundary += 60
    start_at = boundary - 0.5
    print(f"Rate run: two workers from {clock(start_at)} for {RATE_SECONDS} s …", flush=True)
    workers = [
        spawn_worker(env, "--seconds", str(RATE_SECONDS), "--start-at", str(start_at))
        for _ in range(2)
    ]
    results = [result_of(process) for process in workers]
    log = carrier_log(port)
    counts = window_counts(log, f"{merchant.merchant_id}-ups")
    from orders.models import Shipment

    shipments = Shipment.objects.filter(merchant=merchant)
    counts |= {
        "spent_per_minute": budget_spent(key_prefix, merchant.carrier_accounts.get().pk),
        "first_round": min(r["first_polled_at"] or time.time() for r in results),
        "deferred": sum(r["deferred"] for r in results),
        "refreshed": sum(r["refreshed"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "never_polled": shipments.filter(last_checked_at__isnull=True).count(),
        "tokens": calls_summary(log, "ups")["tokens"],
    }
    print(f"calls per clock minute {counts['per_minute']}, budget spent per minute "
          f"{counts['spent_per_minute']}, any 60 s {counts['sliding_60s']}, "
          f"deferred {counts['deferred']}", flush=True)  # fmt: skip
    return counts


def profile(port: int, env: dict) -> dict:
    merchant = create_merchant("PROF-01-00001", {"ups": 10**6, "fedex": 10**6})
    half = PROFILE_SHIPMENTS // 2
    add_shipments(merchant, "P", {"ups": half, "fedex": PROFILE_SHIPMENTS - half})
    return child_json(__file__, "--profile", env=env)


# --- The report ----------------------------------------------------------------------------------


def report(before, runs, rate, prof, info, args) -> str:
    best = max(runs, key=lambda run: run["per_minute"])
    throughput_met = all(run["per_minute"] >= TARGET_PER_MINUTE for run in runs)
    most = max(rate["per_minute"].values(), default=0)

    def events_per(carrier: str) -> str:
        return f"{runs[0]['events'][carrier] / max(runs[0]['by_carrier'][carrier], 1):g}"

    def recording(run: dict) -> str:
        return f"one at a time ({run['code']})" if run["code"] else "in sets (this commit)"

    lines = [
        "## Poller",
        "",
        "`make bench` also runs `bench/poller.py`: one worker process calls `poll_due_shipments`"
        " in a loop (as `poll_carriers` does in a django-q2 worker) until nothing is due, against"
        f" bench/fake_carrier.py, a local fake UPS and FedEx answering after {args.latency_ms:g} ms"
        " (their in-transit fixtures with the number asked in place of the recorded one, dates"
        " moved so the newest scan is yesterday). A fresh PostgreSQL database; Redis as the cache,"
        " so rate budgets and OAuth tokens are shared between workers as in production.",
        "",
        f"Command: `.venv/bin/python bench/poller.py --before {args.before or chr(39) * 2}`"
        " (`--before`: a commit whose worker is measured first in the same run, on the same"
        f" database, carrier and settings; {BEFORE} is the last that recorded a round one"
        " shipment at a time).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, shared"
        " by the worker, PostgreSQL, Redis and the fake carrier",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}; Redis cache; {args.shipments:,} due shipments per run,"
        " half UPS (1 number per call), half FedEx (30 per call), interleaved, each polled for the"
        f" first time (all scans new: {events_per('ups')} events per UPS shipment,"
        f" {events_per('fedex')} per FedEx one); rounds of 500 (the default `limit`)",
        "",
        "| recording | POLL_CONCURRENCY | shipments/min | UPS / FedEx per min | seconds | failed "
        "| UPS calls: p50 / p95 ms, most in flight | FedEx calls: p50 / p95 ms "
        "| SQL share of time | SQL per shipment | CPUs busy: worker / PostgreSQL / others "
        "| deferred |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in [*before, *runs]:
        ups, fedex = run["calls"]["ups"], run["calls"]["fedex"]
        per_carrier = " / ".join(
            fmt(run["by_carrier"].get(code, 0) / run["elapsed"] * 60) for code in ("ups", "fedex")
        )
        lines.append(
            f"| {recording(run)} | {run['concurrency']} | **{fmt(run['per_minute'])}** "
            f"| {per_carrier} "
            f"| {run['elapsed']:.1f} | {run['failed']} "
            f"| {ups['calls']:,}: {ups['p50_ms']:.0f} / {ups['p95_ms']:.0f}, "
            f"{ups['most_in_flight']} | {fedex['calls']:,}: {fedex['p50_ms']:.0f} / "
            f"{fedex['p95_ms']:.0f} | {run['db_seconds'] / run['elapsed']:.0%} "
            f"| {run['queries'] / max(run['refreshed'], 1):.2f} | {cpus(run)} "
            f"| {run['deferred']:,} |"
        )
    lines += [
        "",
        "Per carrier: that carrier's shipments refreshed in the mixed run ÷ the run's duration."
        " Call latency as the fake carrier saw it (received → answered). SQL share: wall time"
        " of the worker's main thread inside SQL statements (the only thread using the"
        " database). CPUs busy per wall second; others = every other process on the machine."
        " Deferred: shipments put off to the next minute because the account's budget was"
        " spent (none binds here).",
        "",
        "### Rate adherence",
        "",
        f"Two worker processes at once, each looping for {RATE_SECONDS} s, against one merchant's"
        f" UPS account limited to {RATE_LIMIT} requests a minute with {RATE_DUE} shipments due;"
        " both start 0.5 s before a clock minute ends. Budget spent: the rate limiter's own"
        " counter for that minute (in Redis; a call made in a minute's last 2 s is counted in"
        " both minutes, as the carrier may count it in either); calls received: what the fake"
        " carrier counted.",
        "",
        "| clock minute (UTC) | budget spent (limiter) | UPS calls received (carrier) |",
        "|---|---:|---:|",
    ]
    minutes = sorted(set(rate["per_minute"]) | set(rate["spent_per_minute"]))
    for minute in minutes:
        lines.append(
            f"| {minute} | {rate['spent_per_minute'].get(minute, 0)} "
            f"| {rate['per_minute'].get(minute, 0)} |"
        )
    lines += [
        "",
        f"Most calls in one clock minute: {most} (budget {RATE_LIMIT}); in any sliding 60 s:"
        f" {rate['sliding_60s']}; in one second: {rate['max_per_second']}. Refreshed"
        f" {rate['refreshed']}, failed {rate['failed']}, deferred {rate['deferred']:,} times (to"
        f" the next minute), {rate['never_polled']} never polled. OAuth token requests:"
        f" {rate['tokens']} (outside the budget).",
        "",
        "Targets (issue 9):",
        f"- {fmt(best['per_minute'])} shipments/min per worker at {args.latency_ms:g} ms carrier"
        f" latency (target ≥ {TARGET_PER_MINUTE:,}): "
        + ("**met**" if throughput_met else "**missed**"),
        *speedup_lines(before, runs),
        f"- never over a carrier's rate limit: at most {most} calls in a clock minute for a"
        f" budget of {RATE_LIMIT}: " + ("**met**" if most <= RATE_LIMIT else "**missed**"),
    ]
    if most > RATE_LIMIT:
        lines += ["", "### What breaks the rate limit", "", rate_paragraph(rate)]
    lines += ["", "### Where a round's time goes", "", profile_paragraph(prof)]
    return "\n".join(lines) + "\n"


def speedup_lines(before: list[dict], runs: list[dict]) -> list[str]:
    """Issue 26's target: the same concurrency, recorded in sets against one at a time."""
    same = [run for run in runs if before and run["concurrency"] == before[0]["concurrency"]]
    if not same:
        return []
    old, new = before[0], same[0]
    speedup = new["per_minute"] / old["per_minute"]
    per_shipment = [run["queries"] / max(run["refreshed"], 1) for run in (old, new)]
    return [
        f"- recording in sets: {fmt(new['per_minute'])} against {fmt(old['per_minute'])}"
        f" shipments/min one at a time ({old['code']}), both at POLL_CONCURRENCY"
        f" {new['concurrency']} in this run: ×{speedup:.1f}; database calls per shipment (an"
        f" executemany, pipelined, is one)"
        f" {per_shipment[0]:.1f} → {per_shipment[1]:.2f}"
        f" (issue 26, target ≥ ×{TARGET_SPEEDUP}): "
        + ("**met**" if speedup >= TARGET_SPEEDUP else "**missed**")
    ]


def rate_paragraph(rate: dict) -> str:
    late = {
        minute: spent - rate["per_minute"].get(minute, 0)
        for minute, spent in rate["spent_per_minute"].items()
        if spent > rate["per_minute"].get(minute, 0)
    }
    spill = "; ".join(f"{n} of {minute}'s budget" for minute, n in late.items())
    most_spent = max(rate["spent_per_minute"].values(), default=0)
    return (
        f"The limiter's own counters stayed within the budget (at most {most_spent} a minute),"
        " but the carrier received calls in a later minute than the one whose budget they"
        f" spent: {spill or 'none'}. The first round that polled began at"
        f" {clock(rate['first_round'])}; the carrier received the first call at"
        f" {clock(rate['first_call'])}. A budget taken before a call, and spent by a call made"
        " later, lets the calls of two windows reach the carrier within one clock minute."
    )


def profile_paragraph(prof: dict) -> str:
    shares = sorted(prof["shares"].items(), key=lambda item: -item[1])
    ours = ", ".join(f"`{name}` {share:.0%}" for name, share in shares[:10])
    waiting = prof["shares"].get("waiting for carrier answers", 0)
    pace = (
        "the carriers' answers set a worker's pace, so a higher POLL_CONCURRENCY (or a faster"
        " carrier) is what would go faster"
        if waiting >= 0.5
        else "recording the answers (SQL and the ORM around it) sets a worker's pace, so a"
        " POLL_CONCURRENCY above 16 changes little by itself"
    )
    return (
        f"One round of {prof['refreshed']} shipments (half UPS, half FedEx) under cProfile took "
        f"{prof['seconds']:.1f} s; cumulative shares: {ours}. The main thread waits for carrier"
        f" answers {waiting:.0%} of the round: {pace}; when two runs differ, compare how busy"
        " the other processes were."
    )


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shipments", type=int, default=3000, help="due shipments per run")
    parser.add_argument("--latency-ms", type=float, default=100, help="the fake carrier's delay")
    parser.add_argument(
        "--before", default=BEFORE,
        help="a commit whose worker is measured first, in the same run ('' skips it)",
    )  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # a child with the benchmark's environment
        print(json.dumps(worker(args.seconds, args.start_at)))
        return
    if args.profile:
        print(json.dumps(profile_round()))
        return

    postgres_ensure_running()
    info = machine()
    port = free_port()
    key_prefix = f"bench-poller-{secrets.token_hex(4)}"
    os.environ.update(settings_env(port, key_prefix))
    env = dict(os.environ)  # the workers' too
    database_create(DB_NAME)
    old_tree = tree_export(args.before) if args.before else None
    carrier = subprocess.Popen(  # noqa: S603 - fixed arguments
        [PYTHON, str(REPO / "bench" / "fake_carrier.py"), "--port", str(port),
         "--latency-ms", str(args.latency_ms)],
        cwd=REPO, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        print(f"Database {DB_NAME}: migrating …", flush=True)
        call_command("migrate", verbosity=0)
        wait_for_port(port, carrier, "the fake carrier")
        before = []
        if args.before:
            before = [
                throughput(port, carrier.pid, env, CONCURRENCIES[0], args.shipments, 0,
                           code=args.before, tree=old_tree)
            ]  # fmt: skip
        runs = [
            throughput(port, carrier.pid, env, concurrency, args.shipments, n)
            for n, concurrency in enumerate(CONCURRENCIES, start=1)
        ]
        prof = profile(port, env)
        rate = rate_run(port, env, key_prefix)
        connection.close()
        section = report(before, runs, rate, prof, info, args)
        print("\n" + section)
        write_doc(section)
        print(f"Wrote the Poller section of {DOC.relative_to(REPO)}.")
    finally:
        carrier.terminate()
        carrier.wait(timeout=10)
        database_drop(DB_NAME)
        forget_cache(key_prefix)
        if old_tree:
            shutil.rmtree(old_tree)


def forget_cache(key_prefix: str) -> None:
    """Deletes this run's keys (rate counters, tokens) from Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{key_prefix}:*"):
        client.delete(key)


if __name__ == "__main__":
    main()
