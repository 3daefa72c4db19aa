"""When to ask a carrier again (TRACKING.md "Poll cadence adapts"). Pure functions."""

import random
from datetime import datetime, timedelta

from carriers.vocabulary import TERMINAL_STATUSES, Status

BASE_INTERVAL = {
    "ups": timedelta(minutes=20),
    "fedex": timedelta(minutes=45),
    "usps": timedelta(hours=2),
    "dhl": timedelta(hours=3),
    "canada_post": timedelta(hours=3),
}
LAST_LOOK_AFTER_DELIVERY = timedelta(hours=24)  # catches a carrier's correction of "delivered"
MAX_BACKOFF = timedelta(hours=6)
NOT_FOUND_MAX_BACKOFF = timedelta(hours=12)
EXPIRE_AFTER = timedelta(days=30)
# A shipment an aggregator pushes us news of is polled only as a safety check (a lost push).
PUSHED_INTERVAL = timedelta(hours=6)


def jittered(interval: timedelta, spread: float = 0.1) -> timedelta:
    """± spread, so shipments created together do not hit the carrier together forever."""
    return interval * random.uniform(1 - spread, 1 + spread)  # noqa: S311 - not security


def base_interval(carrier: str, sandbox_step: timedelta) -> timedelta:
    return BASE_INTERVAL.get(carrier, sandbox_step)


def next_check(
    *, carrier: str, status: str, now: datetime, delivered_at: datetime | None,
    sandbox_step: timedelta, pushed: bool = False,
) -> datetime | None:  # fmt: skip
    """The next poll after a successful one; None means never again. `pushed`: an aggregator
    follows the shipment for us, so polling is only the slow safety check."""
    if status == Status.DELIVERED:
        last_look = (delivered_at or now) + LAST_LOOK_AFTER_DELIVERY
        return last_look if now < last_look else None
    if status in TERMINAL_STATUSES:
        return None
    if pushed:
        return now + jittered(PUSHED_INTERVAL)
    interval = base_interval(carrier, sandbox_step)
    if status == Status.OUT_FOR_DELIVERY:
        interval = max(interval / 2, min(interval, timedelta(minutes=10)))
    elif status in (Status.UNKNOWN, Status.PRE_TRANSIT):
        interval *= 2
    return now + jittered(interval)


def backoff(
    *, failures: int, base: timedelta, cap: timedelta, retry_after: float | None = None
) -> timedelta:
    """Exponential backoff with jitter after `failures` failures in a row; Retry-After wins when
    it asks for longer."""
    delay = jittered(min(base * 2 ** max(failures - 1, 0), cap), spread=0.2)
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay
