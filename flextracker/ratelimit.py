"""Request budgets shared by every process through the cache (Redis in production): an API key's
requests, a carrier account's calls per minute, a visitor's customer-page views per minute.

A fixed window (a minute unless told): `add` creates the counter atomically and `incr` is atomic
on Redis and on the local-memory cache, so concurrent workers together never spend more than the
budget within one window. Only a cache that every process shares makes it one budget: the
local-memory cache is one per process, hence the deploy check below.
"""

import time

from django.conf import settings
from django.core import checks
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis import Redis

# Caches whose counters other processes do not see, or whose `incr` reads then writes back.
UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "one per process",
    "django.core.cache.backends.dummy.DummyCache": "counts nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "not atomic, one per host",
}


def take(
    budget_key: str,
    limit: int,
    count: int = 1,
    *,
    straddle_seconds: float = 0,
    window_seconds: int = 60,
) -> bool:
    """Spends `count` requests of this window's budget; False (nothing spent) when it would
    exceed it. In a window's last `straddle_seconds` the next window's budget is spent too: a
    request made then may be counted by the other side in either window."""
    now = time.time()
    windows = [int(now // window_seconds)]
    if window_seconds - now % window_seconds < straddle_seconds:
        windows.append(windows[0] + 1)
    spent_in = []
    for key in (f"rate:{budget_key}:{window}" for window in windows):
        if not _take_in(key, limit, count, window_seconds):
            for spent in spent_in:
                cache.decr(spent, count)
            return False
        spent_in.append(key)
    return True


def _take_in(key: str, limit: int, count: int, window_seconds: int) -> bool:
    if _spend(key, count, timeout=2 * window_seconds) > limit:
        cache.decr(key, count)
        return False
    return True


def _spend(key: str, count: int, timeout: int) -> int:
    """Adds `count` to the window's counter, made when missing, and returns the sum. Every page
    view and API request spends: on Redis it is one round trip (Django's `add` then `incr`
    take three)."""
    name = cache.make_and_validate_key(key)  # the key Django's cache gives it: decr finds it
    redis = redis_client(name)
    if redis is None:
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key, count)
    with redis.pipeline(transaction=True) as pipeline:
        spent, _expiry_set = pipeline.incrby(name, count).expire(name, timeout, nx=True).execute()
    return spent


def redis_client(name: str) -> Redis | None:
    """The default cache's own Redis client for writing `name` (its connection pool), or None
    when the cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(name, write=True)  # Django's client, not a second pool


def seconds_to_next_window(window_seconds: int = 60) -> float:
    return window_seconds - time.time() % window_seconds


def check_cache_is_shared(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: rate limits and carrier budgets are per process on an unshared cache."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in UNSHARED_CACHES:
        return []
    return [
        checks.Warning(
            f"The default cache is {backend} ({UNSHARED_CACHES[backend]}): each worker process "
            "keeps its own rate-limit counters, so API keys, customer pages and carrier accounts "
            "get their limit once per process.",
            hint="Set CACHE_URL to a Redis that every process shares, e.g. redis://host:6379/0.",
            id="flextracker.W001",
        )
    ]
