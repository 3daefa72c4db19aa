"""What every benchmark needs: the machine, PostgreSQL, the settings, child processes, gunicorn,
CPU accounting, and docs/benchmarks.md (these lived in bench/ingest.py at first)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from bench.load import Connection, Request

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DOC = REPO / "docs" / "benchmarks.md"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")


# --- Processes and PostgreSQL --------------------------------------------------------------------


def sh(*args: str, env: dict | None = None, stdin: str | None = None) -> str:
    """Runs a program of this repository and returns its output; exits with that output when it
    fails."""
    try:
        return subprocess.run(  # noqa: S603 - fixed programs of this repository, no shell
            args, cwd=REPO, env=env, input=stdin, check=True, capture_output=True, text=True
        ).stdout.strip()
    except subprocess.CalledProcessError as error:
        sys.exit(f"{' '.join(map(str, error.cmd))} failed:\n{error.stdout}\n{error.stderr}")


def child_json(script: str, *args: str, env: dict, stdin: str | None = None):
    """Runs a benchmark script in a child process (with the given settings) and reads the JSON
    on the last line it prints."""
    return json.loads(sh(PYTHON, script, *args, env=env, stdin=stdin).splitlines()[-1])


def pg(sql: str, database: str = "postgres") -> list[tuple]:
    import psycopg  # the project's driver, from its virtualenv

    with psycopg.connect(f"{PG_URL}/{database}", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def postgres_ensure_running() -> None:
    try:
        pg("SELECT 1")
    except Exception:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(  # noqa: S603 - fixed arguments: start the local cluster
            ["/usr/bin/pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=True,
        )


def database_create(name: str) -> None:
    """An empty database `name`, dropping any that an interrupted run left behind."""
    database_drop(name)
    pg(f"CREATE DATABASE {name}")


def database_drop(name: str) -> None:
    pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def explained_ms(sql: str) -> float:
    """Planning + execution time of a statement run again under EXPLAIN ANALYZE (in Django)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
    return plan["Planning Time"] + plan["Execution Time"]


@contextlib.contextmanager
def sql_timed() -> Iterator[dict]:
    """Counts the statements Django runs inside the block and the wall time spent in them."""
    from django.db import connection

    spent = {"seconds": 0.0, "queries": 0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["queries"] += 1

    with connection.execute_wrapper(timed):
        yield spent


# --- The machine ---------------------------------------------------------------------------------


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)[1])
    commit = sh("git", "rev-parse", "--short", "HEAD")
    if sh("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " + uncommitted changes"
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model[1].strip() if model else "unknown",
        "ram_gib": round(mem_kb / 1024 / 1024),
        "commit": commit,
        "postgres": pg("SHOW server_version")[0][0].split()[0],
    }


def processes_cpu_seconds() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command, CPU seconds) of every process. A parent's reaped-children time
    counts too, so a backend or worker that exits in the middle of a run keeps its share."""
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 of proc(5)
        used = sum(int(n) for n in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        yield int(stat.parent.name), int(fields[1]), command, used


def cpu_seconds(server_pid: int, worker_pid: int | None = None) -> dict[str, float]:
    """CPU time so far of gunicorn (master and workers), of PostgreSQL's processes, of PgBouncer
    (the pooler), of this driver, of the django-q2 cluster started as `worker_pid` (all its
    processes) if any, and of every other process."""
    totals = Counter(app=0, worker=0, db=0, pooler=0)
    processes = list(processes_cpu_seconds())
    children = defaultdict(list)
    for pid, parent, _command, _used in processes:
        children[parent].append(pid)
    cluster, descending = set(), [worker_pid] if worker_pid else []
    while descending:
        cluster.add(pid := descending.pop())
        descending += children[pid]
    for pid, parent, command, used in processes:
        if server_pid in (pid, parent):
            totals["app"] += used
        elif pid in cluster:
            totals["worker"] += used
        elif command.startswith("postgres"):
            totals["db"] += used
        elif command == "pgbouncer":
            totals["pooler"] += used
    own = os.times()
    totals["driver"] = own.user + own.system
    totals["other"] = machine_busy_seconds() - sum(totals.values())
    return totals


def cpu_seconds_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent by each part between two `cpu_seconds` readings. "other" is what is left
    of the machine's total, read a moment apart: never less than none."""
    return {part: max(after[part] - before[part], 0.0) for part in after}


def machine_busy_seconds() -> float:
    """CPU time all processes used since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet_machine(limit: float = 0.25, patience: float = 90) -> None:
    """Waits (up to `patience` s) until other processes use less than `limit` of one CPU: a
    test suite running beside the benchmark would take the CPUs it measures."""
    waited = 0.0
    while waited < patience:
        before = machine_busy_seconds()
        time.sleep(2)
        waited += 2
        if (machine_busy_seconds() - before) / 2 < limit:
            return
        if waited == 2:
            print("Other processes are using the CPUs; waiting for them …", flush=True)
    print(f"Still busy after {patience:.0f} s; measuring anyway (see 'other').", flush=True)


# --- The server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_env(database: str) -> dict[str, str]:
    """The settings every benchmark's Django runs with, on `database`."""
    return {
        "DATABASE_URL": f"{PG_URL}/{database}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_SETTINGS_MODULE": "flextracker.settings",
    }


def server_env(port: int, database: str) -> dict[str, str]:
    """The environment of gunicorn on 127.0.0.1:`port` (and of the children that prepare it)."""
    return (
        os.environ
        | django_env(database)
        | {
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "API_RATE_LIMIT": "1000000/min",
            "ROOT_URLCONF": "bench.floor_urls",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )


@contextlib.contextmanager
def gunicorn(env: dict, port: int, workers: int, *options: str) -> Iterator[subprocess.Popen]:
    """gunicorn serving flextracker.wsgi on 127.0.0.1:`port`, answering once entered, stopped
    (SIGTERM, killed after 30 s) on leaving."""
    log = Path(tempfile.mkdtemp(prefix="bench-gunicorn-")) / "gunicorn.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 - fixed arguments
            [str(VENV_BIN / "gunicorn"), "flextracker.wsgi", "-w", str(workers),
             "-b", f"127.0.0.1:{port}", *options],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_answering(port, server, log)
        yield server
    finally:
        stop(server, patience=30)
        shutil.rmtree(log.parent, ignore_errors=True)


@contextlib.contextmanager
def worker_cluster(env: dict) -> Iterator[subprocess.Popen]:
    """`manage.py qcluster` (django-q2) on `env`'s database, stopped (SIGTERM) on leaving."""
    cluster = subprocess.Popen(  # noqa: S603 - fixed arguments
        [PYTHON, "manage.py", "qcluster"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield cluster
    finally:
        stop(cluster, patience=60)


def stop(process: subprocess.Popen, patience: float) -> None:
    """SIGTERM, then killed if it has not exited after `patience` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_answering(port: int, server: subprocess.Popen, log: Path) -> None:
    async def probe() -> int:
        connection = Connection("127.0.0.1", port, {})
        try:
            return (await connection.request(Request("GET", "/api/bench/floor")))[0]
        finally:
            await connection.close()

    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            asyncio.run(probe())
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not answer within 30 s")


def wait_for_port(port: int, process: subprocess.Popen, name: str) -> None:
    """Until `process` (a local receiver or fake carrier) accepts connections on `port`."""
    for _ in range(100):
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{name}: nothing answers on port {port}")


# --- Reporting -----------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def errors_text(errors: dict) -> str:
    return ", ".join(f"{label}: {n}" for label, n in sorted(errors.items())) or "0"


def write_doc(section: str) -> None:
    """Replaces the section with the same "## " heading in docs/benchmarks.md, or appends it."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    heading = re.escape(section.splitlines()[0])
    pattern = re.compile(rf"^{heading}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)


def instructions_executed(argv: list[str], env: dict) -> int:
    """The instructions a Python child (`PYTHON *argv`) executed from start to end, counted by
    valgrind's callgrind: the same code and input give the same count however busy the machine
    is."""
    valgrind = shutil.which("valgrind") or "valgrind"
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(  # noqa: S603 - fixed programs, no shell
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={scratch}/out", PYTHON, *argv],
            cwd=REPO, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not collected:
        sys.exit(f"valgrind {argv} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return int(collected[1])
