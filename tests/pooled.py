"""The suite through PgBouncer (DATABASE_POOLED=true, .ci/run): the test database is created,
migrated and dropped on the primary itself (DATABASE_DIRECT_URL), and the tests run through the
pooler.

PostgreSQL refuses to drop a database while anyone is connected to it, and PgBouncer keeps its
server connections after its clients leave; so before creating or dropping, the pooler's
connections to the test database are ended from the primary.
"""

import os

import environ
import pytest

POOLED = os.environ.get("DATABASE_POOLED", "").lower() in {"1", "true", "yes", "on"}
ADDRESS = ("HOST", "PORT", "USER", "PASSWORD")


def _direct_address() -> dict:
    url = os.environ.get("DATABASE_DIRECT_URL")
    if not url:
        pytest.exit(
            "DATABASE_POOLED=true needs DATABASE_DIRECT_URL (the primary itself, not PgBouncer): "
            "PostgreSQL cannot create or drop the test database through the pooler",
            returncode=2,
        )
    config = environ.Env.db_url_config(url)
    return {key: config.get(key, "") for key in ADDRESS}


def _use(address: dict) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict.update(address)


def _end_pooled_connections_to(test_name: str) -> None:
    """Run on the primary: the pooler's idle server connections would block DROP DATABASE."""
    from django.db import connection

    with connection._nodb_cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_name],
        )


def pooler_reconnect(database: str) -> None:
    """Through PgBouncer, its server connections to `database` are replaced as each is released,
    so that what ALTER DATABASE … SET changed applies to every later transaction. Direct: nothing
    to do (a new connection has it)."""
    if not POOLED:
        return
    import psycopg
    from django.db import connection

    pooler = connection.settings_dict
    with psycopg.connect(
        host=pooler["HOST"], port=pooler["PORT"], user=pooler["USER"], dbname="pgbouncer",
        autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute(f"RECONNECT {database}")  # its console takes no parameters


def database_clients() -> int:
    """The connections open to the test database from our side: PgBouncer's clients when pooled
    (it keeps its server connections to PostgreSQL whatever its clients do), else PostgreSQL's."""
    from django.db import connection

    if not POOLED:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]
    import psycopg

    pooler = connection.settings_dict
    with psycopg.connect(
        host=pooler["HOST"], port=pooler["PORT"], user=pooler["USER"], dbname="pgbouncer",
        autocommit=True,
    ) as admin:  # fmt: skip
        clients = admin.execute("SHOW CLIENTS")
        database = [column.name for column in clients.description].index("database")
        return sum(1 for row in clients.fetchall() if row[database] == pooler["NAME"])


if POOLED:

    @pytest.fixture(scope="session")
    def django_db_modify_db_settings(django_db_modify_db_settings, django_db_blocker):
        """Before the test database is created: on the primary itself."""
        from django.db import connection

        pooled = {key: connection.settings_dict[key] for key in ADDRESS}
        _use(_direct_address())
        with django_db_blocker.unblock():
            _end_pooled_connections_to(connection.creation._get_test_db_name())
        yield pooled

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_setup, django_db_modify_db_settings, django_db_blocker):
        """Created and migrated: the tests go through the pooler; then back to the primary to
        drop it."""
        from django.db import connection

        _use(django_db_modify_db_settings)
        yield
        _use(_direct_address())
        with django_db_blocker.unblock():
            _end_pooled_connections_to(connection.settings_dict["NAME"])
