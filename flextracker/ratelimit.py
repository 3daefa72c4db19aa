"""Request budgets shared by every process through the cache (Redis in production): a carrier
account's calls per minute, a visitor's customer-page views per minute.

A fixed window per minute: `add` creates the counter atomically and `incr` is atomic on Redis and
on the local-memory cache, so concurrent workers together never spend more than the account's
requests per minute within one window.
"""

import time

from django.core.cache import cache


def take(budget_key: str, per_minute: int, count: int = 1) -> bool:
    """Spends `count` requests of this minute's budget; False (nothing spent) when it would
    exceed it."""
    window = int(time.time() // 60)
    key = f"rate:{budget_key}:{window}"
    cache.add(key, 0, timeout=120)
    spent = cache.incr(key, count)
    if spent > per_minute:
        cache.decr(key, count)
        return False
    return True


def seconds_to_next_window() -> float:
    return 60 - time.time() % 60
