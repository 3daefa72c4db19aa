"""Request budgets shared by every process through the cache (Redis in production): a carrier
account's calls per minute, a visitor's customer-page views per minute.

A fixed window per minute: `add` creates the counter atomically and `incr` is atomic on Redis and
on the local-memory cache, so concurrent workers together never spend more than the account's
requests per minute within one window.
"""

import time

from django.core.cache import cache


def take(budget_key: str, per_minute: int, count: int = 1, *, straddle_seconds: float = 0) -> bool:
    """Spends `count` requests of this minute's budget; False (nothing spent) when it would
    exceed it. In a window's last `straddle_seconds` the next window's budget is spent too: a
    request made then may be counted by the other side in either minute."""
    now = time.time()
    windows = [int(now // 60)]
    if 60 - now % 60 < straddle_seconds:
        windows.append(windows[0] + 1)
    spent_in = []
    for key in (f"rate:{budget_key}:{window}" for window in windows):
        if not _take_in(key, per_minute, count):
            for spent in spent_in:
                cache.decr(spent, count)
            return False
        spent_in.append(key)
    return True


def _take_in(key: str, per_minute: int, count: int) -> bool:
    cache.add(key, 0, timeout=120)
    if cache.incr(key, count) > per_minute:
        cache.decr(key, count)
        return False
    return True


def seconds_to_next_window() -> float:
    return 60 - time.time() % 60
