"""The database failing for real: another connection holds a lock on a table, so our writes to it
fail with OperationalError (a lock timeout, as when a migration or a long transaction holds the
table) while every other table, and reading this one, go on."""

from django.db import DEFAULT_DB_ALIAS, connection, connections

from tests.pooled import pooler_reconnect

LOCK_TIMEOUT = "100ms"  # PostgreSQL: how long our writes wait for the lock before they fail


class TableLock:
    """`with TableLock(Order):`, or take() and release() (again: no harm). SQLite: the tests'
    in-memory database is one shared cache, whose table locks refuse a write at once (so the
    table must be one the test's own transaction has not written). PostgreSQL: EXCLUSIVE mode
    lets reads through, and our side stops waiting after LOCK_TIMEOUT (a new connection too,
    should the code reconnect, and every server connection behind PgBouncer)."""

    def __init__(self, model):
        self.table = connection.ops.quote_name(model._meta.db_table)
        self._other = None

    def __enter__(self) -> "TableLock":
        self.take()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def take(self) -> None:
        _our_lock_timeout(LOCK_TIMEOUT)
        self._other = connections.create_connection(DEFAULT_DB_ALIAS)
        with self._other.cursor() as cursor:
            if self._other.vendor == "postgresql":
                cursor.execute("BEGIN")
                # Should our side wait after all, the lock goes after a while: a failure, no hang.
                cursor.execute("SET LOCAL idle_in_transaction_session_timeout = '20s'")
                cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE NOWAIT")
            else:
                assert self._other.is_in_memory_db(), "table locks need the shared-cache database"
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT 1 FROM {self.table} LIMIT 1")  # noqa: S608 - read-locks it

    def release(self) -> None:
        if self._other is None:
            return
        self._other.connection.close()  # the DB-API's: Django keeps in-memory ones open
        self._other = None
        _our_lock_timeout(None)


def _our_lock_timeout(timeout: str | None) -> None:
    if connection.vendor != "postgresql":
        return
    database = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        if timeout is None:
            cursor.execute("RESET lock_timeout")
            cursor.execute(f"ALTER DATABASE {database} RESET lock_timeout")
        else:
            cursor.execute(f"SET lock_timeout = '{timeout}'")
            cursor.execute(f"ALTER DATABASE {database} SET lock_timeout = '{timeout}'")
    # Behind PgBouncer the next transaction may run on a server connection opened before.
    pooler_reconnect(connection.settings_dict["NAME"])
