"""Reads from a streaming replica (docs/scaling.md "Several machines") for the views that only
read: the customer pages, the tracking API's GETs, the console's search and dashboard. Without
DATABASE_REPLICA_URL nothing here runs: every query goes to the primary.

- A view says it only reads (`replica_reads` on a function view, `replica_reads = True` on an API
  view). While its GET runs, ReplicaRouter sends its reads to the replica; never inside a
  transaction, and no longer once the request has sent the primary anything but a read (a GET
  that creates what it did not find reads it back from the primary).
- Read-your-writes: after a request that may have written (POST, PUT, PATCH, DELETE), its client
  (an API key's merchant, a logged-in user, a customer page's merchant) is noted in the shared
  cache with the primary's WAL position. That client's reads go to the replica only once the
  replica has replayed past it, else to the primary: a lagging replica serves others, never
  stale data to the client who just wrote.
- A replica that cannot be reached leaves every read on the primary.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NOTE = "replica-wrote:"


@dataclass
class _Reads:
    on_replica: bool = False
    wrote: bool = False


_reads: ContextVar[_Reads | None] = ContextVar("replica_reads", default=None)


class ReplicaRouter:
    """Installed only with a replica (settings.py). Writes, migrations and every read outside a
    read-only view go to the primary."""

    def db_for_read(self, model, **hints) -> str:
        return REPLICA if _reading_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        # Not where a write is noticed: Django also asks this when a related object is only
        # assigned to an unsaved one. _writes_noted sees the statements themselves.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database and its copy

    def allow_migrate(self, db, app_label, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


def replica_configured() -> bool:
    return REPLICA in connections.settings


def merchant_client(merchant_id: str) -> str:
    """An API key's merchant, or the merchant of a customer page (its public merchant ID)."""
    return f"merchant:{merchant_id}"


def user_client(user) -> str:
    return f"user:{user.pk}"


def _reading_replica() -> bool:
    reads = _reads.get()
    return (
        reads is not None
        and reads.on_replica
        and not reads.wrote
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


@contextmanager
def request_reads() -> Iterator[None]:
    """The span of one request's view: reads start on the primary (authentication, permission
    checks) until `replica_reads_begin` moves them; whatever happens, the next request in this
    thread starts afresh."""
    token = _reads.set(_Reads())
    try:
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(_writes_noted):
            yield
    finally:
        _reads.reset(token)


_NOT_WRITES = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")  # SQLite sends BEGIN


def _writes_noted(execute, sql, params, many, context):
    """Once the view reads from the replica, any statement to the primary that is not a read
    (noted before it runs: one that fails may have written too) sends its later reads to the
    primary."""
    reads = _reads.get()
    if (
        reads is not None
        and reads.on_replica
        and not sql.lstrip()[:9].upper().startswith(_NOT_WRITES)
    ):
        reads.wrote = True
    return execute(sql, params, many, context)


def replica_reads_begin(clients: Iterable[str]) -> None:
    """From here on this request reads from the replica, if it has replayed these clients'
    writes."""
    if _reads.get() is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return
    if _reachable() and _replayed(list(clients)):
        reads_on_replica()


def reads_on_replica() -> None:
    """From here on this request's reads go to the replica (outside transactions, until it
    writes)."""
    reads = _reads.get()
    if reads is not None:
        reads.on_replica = True


def _reachable() -> bool:
    """Connected to the replica (a connection kept from an earlier request is checked first):
    when it is down, the primary answers instead."""
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError:
        return False
    return True


def writes_note(clients: Iterable[str]) -> None:
    """After a request that may have written: the primary's WAL position, by client."""
    clients = list(clients)
    if not clients or not replica_configured():
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (position,) = cursor.fetchone()
    cache.set_many(
        {_NOTE + client: position for client in clients},
        timeout=settings.REPLICA_READ_YOUR_WRITES_SECONDS,
    )


def _replayed(clients: list[str]) -> bool:
    positions = list(cache.get_many([_NOTE + client for client in clients]).values())
    if not positions:
        return True
    try:
        with connections[REPLICA].cursor() as cursor:
            # NULL on a server that is not a standby: nothing to wait for.
            cursor.execute(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= ALL(%s::pg_lsn[]), true)",
                [positions],
            )
            (replayed,) = cursor.fetchone()
    except DatabaseError:
        return False
    return replayed


def replica_reads(clients: Callable[..., Iterable[str]]) -> Callable:
    """A function view that only reads on GET: its reads go to the replica, unless `clients`
    (called with the view's arguments) wrote lately. Its other methods run on the primary and
    note their clients' writes."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not replica_configured():
                return view(request, *args, **kwargs)
            who = list(clients(request, *args, **kwargs))
            if request.method not in SAFE_METHODS:
                response = view(request, *args, **kwargs)
                writes_note(who)
                return response
            with request_reads():
                replica_reads_begin(who)
                return view(request, *args, **kwargs)

        return wrapped

    return decorate
