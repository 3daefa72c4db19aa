"""The real worker for end-to-end tests: `manage.py qcluster` processes on the test's PostgreSQL
database, and a local SMTP server (aiosmtpd) that keeps what they send."""

import contextlib
import os
import signal
import subprocess
import sys
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


class Inbox:
    """Every email received: (recipient, subject) in `messages`, its Message-ID in `ids`."""

    def __init__(self):
        self.messages: list[tuple[str, str]] = []
        self.ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        self.messages.append(
            (envelope.rcpt_tos[0], str(make_header(decode_header(message["Subject"]))))
        )
        self.ids.append(message["Message-ID"])
        return "250 OK"


def worker_env(smtp_port: int, **overrides: str) -> dict[str, str]:
    """The environment of a worker on the test's database, sending email to `smtp_port`."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SANDBOX_MINUTES_PER_STEP": "0.02",  # a step every 1.2 s
        "Q_WORKERS": "2",
        "CUSTOMER_MESSAGE_MERGE_SECONDS": "0",  # each status told at once, as in every test
        "DEBUG": "true",
        **overrides,
    }


def qcluster(env: dict[str, str]) -> subprocess.Popen:
    """A cluster in a process group of its own (its sentinel, pusher, monitor and workers), so
    it can be killed whole, as a machine that dies takes all of them."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    """Stops a cluster as a deployment does (SIGTERM), or kills it if it does not stop."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the cluster's whole process group: nothing of it runs on, nothing cleans up."""
    with contextlib.suppress(ProcessLookupError):  # it died already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def holds_connection(process: subprocess.Popen, client_port: int) -> bool:
    """Whether a process of this cluster's group owns the TCP connection from `client_port` on
    127.0.0.1 (Linux's /proc: which worker is in the middle of a request)."""
    sockets = {inode for pid in _group_pids(process.pid) for inode in _socket_inodes(pid)}
    return bool(sockets & _tcp_inodes(client_port))


def _group_pids(group: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[2]) == group:  # after the name: state, ppid, pgrp
            pids.append(int(entry.name))
    return pids


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_inodes(local_port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rpartition(":")[2], 16) == local_port:
                inodes.add(fields[9])
    return inodes
