"""A small HTTP/1.1 load driver on asyncio streams (standard library only).

N clients share one iterator of *units*; a unit is a list of requests one client sends in order
on its keep-alive connection (e.g. an order, then that order's shipment). Clients take units until
the duration is over or `max_units` were taken; a unit once started is always finished. The
connection is opened again whenever the server closes it (gunicorn's sync workers answer
`Connection: close`), and that reconnect is part of the request's latency.

    stats = asyncio.run(run("127.0.0.1", 8000, units, clients=16, duration=20,
                            headers={"Authorization": "Bearer ..."}))
    print(stats.summary(events_per_request=1))
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes = b""


def percentile(values: list[float], p: int) -> float:
    """The p-th percentile (inclusive method); the value itself when there is only one."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# Looks at an answer and returns an error label, or None when it is what was expected.
Check = Callable[[int, bytes], "str | None"]


@dataclass
class Stats:
    elapsed: float = 0.0
    units: int = 0  # units taken (each was sent in full)
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter = field(default_factory=Counter)  # label ("503", "ConnectionResetError") → n

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def percentile_ms(self, p: int) -> float:
        return percentile(self.latencies, p) * 1000

    def summary(self, events_per_request: int = 1) -> dict:
        rate = self.ok / self.elapsed if self.elapsed else 0.0
        return {
            "requests": self.ok,
            "requests_per_s": rate,
            "events_per_s": rate * events_per_request,
            "p50_ms": self.percentile_ms(50),
            "p95_ms": self.percentile_ms(95),
            "p99_ms": self.percentile_ms(99),
            "errors": dict(self.errors),
        }


class Connection:
    """One keep-alive HTTP/1.1 connection, opened lazily and again after the server closes it."""

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, request: Request) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"{self.headers}Content-Type: application/json\r\n"
            f"Content-Length: {len(request.body)}\r\n\r\n"
        )
        self.writer.write(head.encode("latin-1") + request.body)
        await self.writer.drain()
        status, headers = await self._read_head()
        body = await self._read_body(headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def _read_head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return status, headers

    async def _read_body(self, headers: dict[str, str]) -> bytes:
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")  # the empty trailer
            return b"".join(chunks)
        headers["connection"] = "close"  # the body runs to the end of the connection
        return await self.reader.read()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run(
    host: str,
    port: int,
    units: Iterator[list[Request]],
    *,
    clients: int = 16,
    duration: float | None = None,
    max_units: int | None = None,
    headers: dict[str, str] | None = None,
    check: Check | None = None,
) -> Stats:
    """Runs the load; stops taking units after `duration` seconds or `max_units` units."""
    stats = Stats()
    taken = 0
    start = time.perf_counter()
    deadline = start + duration if duration is not None else float("inf")

    def next_unit() -> list[Request] | None:
        nonlocal taken
        if time.perf_counter() >= deadline or (max_units is not None and taken >= max_units):
            return None
        unit = next(units, None)
        taken += unit is not None
        return unit

    async def client() -> None:
        connection = Connection(host, port, headers or {})
        while (unit := next_unit()) is not None:
            for request in unit:
                sent = time.perf_counter()
                try:
                    status, body = await connection.request(request)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    stats.errors[type(error).__name__] += 1
                    await connection.close()
                    continue
                label = str(status) if status >= 300 else check(status, body) if check else None
                if label:
                    stats.errors[label] += 1
                else:
                    stats.latencies.append(time.perf_counter() - sent)
        await connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    stats.elapsed = time.perf_counter() - start
    stats.units = taken
    return stats
