"""The API's rate limit holds across real worker processes: gunicorn with two workers sharing one
Redis, as in production (RELIABILITY.md), on the test's PostgreSQL database."""

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from flextracker import ratelimit
from merchants.services import api_key_issue
from tests.concurrency import requires_postgresql

ROOT = Path(__file__).resolve().parent.parent
# A Redis database of its own and a prefix per run: other users of this Redis are left alone.
REDIS_URL = "redis://127.0.0.1:6379/7"
LIMIT = 150
REQUESTS = 260


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as redis:
            redis.sendall(b"PING\r\n")
            return redis.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def _wait_until_answering(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            _get(port, "/api/v1/orders", {})  # no key: answered, and counts against nothing
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within 60 s")


def _require_redis() -> None:
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("Redis is not answering on 127.0.0.1:6379", pytrace=False)
        pytest.skip("Redis is not answering on 127.0.0.1:6379")


@pytest.fixture
def gunicorn(tmp_path):
    _require_redis()
    port, log = _free_port(), tmp_path / "access.log"
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "CACHE_URL": f"{REDIS_URL}?key_prefix=test-{uuid.uuid4().hex}",
        "API_RATE_LIMIT": f"{LIMIT}/min",
        "DEBUG": "false",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "flextracker.wsgi", "-w", "2", "-b",
         f"127.0.0.1:{port}", "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_until_answering(port, server)
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=30)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_across_worker_processes(merchant, gunicorn):
    # given: a key, and two workers that each answer its requests
    port, log = gunicorn
    _key, raw_key = api_key_issue(merchant=merchant, name="oms")
    if ratelimit.seconds_to_next_window() < 20:  # the whole burst within one minute's window
        time.sleep(ratelimit.seconds_to_next_window() + 0.5)
    headers = {"Authorization": f"Bearer {raw_key}"}
    # when: more requests than the limit, eight at a time
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _get(port, "/api/v1/orders", headers), range(REQUESTS)))
    # then: exactly the limit got through, however the workers shared them
    assert Counter(statuses) == {200: LIMIT, 429: REQUESTS - LIMIT}
    served = [line.split() for line in log.read_text().splitlines()]
    workers = {pid for pid, status in served if status in ("200", "429")}
    assert len(workers) == 2


def test_a_windows_counter_on_redis_is_one_round_trip_and_expires(settings):
    # given the cache on Redis, as in production
    _require_redis()
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }}  # fmt: skip
    if ratelimit.seconds_to_next_window() < 5:  # the three within one window
        time.sleep(ratelimit.seconds_to_next_window() + 0.1)
    # when a budget of 2 is spent three times in one window
    spent = [ratelimit.take("visitor", 2) for _ in range(3)]
    # then the third is refused, the counter stays at the budget, and it will expire
    key = f"rate:visitor:{int(time.time() // 60)}"
    assert spent == [True, True, False]
    assert cache.get(key) == 2
    name = cache.make_and_validate_key(key)
    assert 0 < ratelimit.redis_client(name).ttl(name) <= 120
