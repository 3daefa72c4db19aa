"""A local fake UPS and FedEx for the poller benchmark: real payload shapes after a fixed delay.

    .venv/bin/python bench/fake_carrier.py --port 8765 [--latency-ms 100]

UPS lives under /ups (POST /ups/security/v1/oauth/token, GET /ups/api/track/v1/details/{number})
and FedEx under /fedex (POST /fedex/oauth/token, POST /fedex/track/v1/trackingnumbers, up to 30
numbers). Answers are the in-transit fixtures of carriers/tests/fixtures with the asked number in
place of the recorded one and every date moved so that the newest scan is yesterday. Each request
waits --latency-ms (time.sleep in its own thread). The access token names the client id, so every
tracking call is logged with its account: GET /_log returns them all (received and answered, as
Unix times), POST /_reset forgets them.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

FIXTURES = Path(__file__).resolve().parent.parent / "carriers" / "tests" / "fixtures"
UPS_NUMBER = "1Z1202R66698804005"
FEDEX_NUMBER = "61292701078443410536"
NUMBER = "@@NUMBER@@"


def _shift(text: str, pattern: str, newest: date, *, compact: bool) -> str:
    """Moves every date matched by `pattern` (group 1: YYYY-MM-DD, or YYYYMMDD when `compact`)
    by the same number of days, so that `newest` becomes yesterday: a shipment that moves."""
    days = date.today() - timedelta(days=1) - newest

    def moved(match: re.Match) -> str:
        day = _day(match[1]) + days
        return match[0].replace(match[1], day.strftime("%Y%m%d" if compact else "%Y-%m-%d"))

    return re.sub(pattern, moved, text)


def _day(value: str) -> date:
    return (
        date.fromisoformat(value[:10])
        if "-" in value
        else date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    )


def ups_template() -> str:
    text = (FIXTURES / "ups" / "in_transit.DERIVED.json").read_text()
    package = json.loads(text)["trackResponse"]["shipment"][0]["package"][0]
    newest = max(_day(activity["date"]) for activity in package["activity"])
    text = _shift(text, r'"(?:date|gmtDate)": "(\d{8})"', newest, compact=True)
    return json.dumps(json.loads(text)).replace(UPS_NUMBER, NUMBER)


def fedex_template() -> str:
    body = json.loads((FIXTURES / "fedex" / "in_transit.json").read_text())
    result = body["output"]["completeTrackResults"][0]
    scans = result["trackResults"][0]["scanEvents"]
    newest = max(_day(scan["date"]) for scan in scans)
    text = _shift(json.dumps(result), r"(\d{4}-\d{2}-\d{2})T", newest, compact=False)
    return text.replace(FEDEX_NUMBER, NUMBER)


class Carrier(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a carrier's gateway would
    latency = 0.1
    ups = fedex = ""
    log: list[tuple] = []
    lock = threading.Lock()

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == "/_log":
            with self.lock:
                self.answer(200, json.dumps(self.log).encode(), delay=False)
            return
        started = time.time()
        prefix = "/ups/api/track/v1/details/"
        if not self.path.startswith(prefix):
            self.answer(404, b"{}")
            return
        number = unquote(self.path[len(prefix) :].split("?")[0])
        self.answer(200, self.ups.replace(NUMBER, number).encode())
        self.record(started, "ups", 1)

    def do_POST(self):
        started = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_reset":
            with self.lock:
                self.log.clear()
            self.answer(204, b"", delay=False)
        elif self.path == "/ups/security/v1/oauth/token":
            client_id = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
            self.token(started, "ups", client_id.split(":")[0])
        elif self.path == "/fedex/oauth/token":
            self.token(started, "fedex", parse_qs(body.decode())["client_id"][0])
        elif self.path == "/fedex/track/v1/trackingnumbers":
            numbers = [
                info["trackingNumberInfo"]["trackingNumber"]
                for info in json.loads(body)["trackingInfo"]
            ]
            results = ",".join(self.fedex.replace(NUMBER, number) for number in numbers)
            answer = f'{{"transactionId":"bench","output":{{"completeTrackResults":[{results}]}}}}'
            self.answer(200, answer.encode())
            self.record(started, "fedex", len(numbers))
        else:
            self.answer(404, b"{}")

    def token(self, started: float, carrier: str, client_id: str) -> None:
        answer = {"access_token": f"token-{client_id}", "token_type": "Bearer", "expires_in": 3599}
        self.answer(200, json.dumps(answer).encode())
        self.record(started, carrier, 0, kind="token", account=client_id)

    def record(self, started: float, carrier: str, numbers: int, kind="track", account=None):
        if account is None:
            account = self.headers.get("Authorization", "").removeprefix("Bearer token-")
        with self.lock:
            self.log.append((started, time.time(), carrier, kind, account, numbers))

    def answer(self, status: int, body: bytes, delay: bool = True) -> None:
        if delay:
            time.sleep(self.latency)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many connections open at once; the default 5 drops SYNs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=100)
    args = parser.parse_args()
    Carrier.latency = args.latency_ms / 1000
    Carrier.ups, Carrier.fedex = ups_template(), fedex_template()
    with Server(("127.0.0.1", args.port), Carrier) as server:
        print(f"fake carrier on :{args.port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
