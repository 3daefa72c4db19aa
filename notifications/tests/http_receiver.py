"""A merchant's webhook receiver for tests: a real HTTP server on 127.0.0.1, reached through a
fake network at the process boundary (`socket.getaddrinfo`).

The subscription's host resolves to a public address, so the URL guard passes it as it would in
production; the connection our sender then opens to that address is answered by the local
server instead. Nothing is ever sent beyond loopback.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.network import PUBLIC_ADDRESS

HOST = "hooks.example.com"
URL = f"http://{HOST}/hooks/tracking"  # http: the tests run as a development server (DEBUG)


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass(slots=True)
class Receiver:
    """Keeps every request and answers `status` to each (or its path's, from `statuses`), after
    `delay` seconds; `most_at_once` is how many it has held at the same time, in all and on
    each path."""

    status: int = 500
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    delay: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    most_at_once: int = 0
    most_at_once_by_path: dict[str, int] = field(default_factory=dict)
    _in_flight: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arrived(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            self._in_flight[received.path] += 1
            self.most_at_once = max(self.most_at_once, self._in_flight.total())
            self.most_at_once_by_path[received.path] = max(
                self.most_at_once_by_path.get(received.path, 0), self._in_flight[received.path]
            )

    def answered(self, path: str) -> None:
        with self._lock:
            self._in_flight[path] -= 1


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.arrived(
                Received(self.path, dict(self.headers.items()), body, time.monotonic())
            )
            time.sleep(receiver.delay)
            receiver.answered(self.path)
            self.send_response(receiver.statuses.get(self.path, receiver.status))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver(fake_dns, settings):
    settings.DEBUG = True  # plain http to port 80: no certificate to fake
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    dns = fake_dns({HOST: PUBLIC_ADDRESS}, others_public=False)
    dns.serve_locally(PUBLIC_ADDRESS, state.port)  # the pinned connection: answered on loopback
    yield state
    server.shutdown()
    server.server_close()
