"""flexTracker behind PgBouncer in transaction mode (README, "PgBouncer"; CI runs the PostgreSQL
suite through it): consecutive transactions of one connection may run on different server
connections, so nothing may outlive a transaction on the server."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("flextracker", "carriers", "merchants", "inbound", "platforms", "notifications", "orders",
        "tracking", "ingest", "pages", "console")  # fmt: skip

# SQL whose effect outlives its transaction, on the server connection of whoever comes next.
SESSION_STATE = {
    "a session-level advisory lock": re.compile(r"pg_advisory_(?!xact_)\w*lock", re.I),
    "LISTEN / UNLISTEN": re.compile(r"\b(?:UN)?LISTEN [\w*\"]"),
    "a temporary table": re.compile(r"\bCREATE (?:GLOBAL |LOCAL )?TEMP(?:ORARY)? TABLE\b", re.I),
    "a prepared statement": re.compile(r"[\"']\s*PREPARE \w+"),
    "a cursor kept past its transaction": re.compile(r"\bWITH HOLD\b", re.I),
    "SET without LOCAL": re.compile(  # uppercase, as our SQL is written: not "Set CACHE_URL"
        r"[\"']\s*SET (?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)(?:SESSION )?[\w.]+(?: =| TO\b|\s)"
    ),
    "set_config for the session": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I),
}


def session_state_in(text: str) -> list[str]:
    return [what for what, pattern in SESSION_STATE.items() if pattern.search(text)]


def production_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


def test_no_production_code_relies_on_session_state():
    # given: every module the web tier, the workers and the migrations run
    found = {
        str(path.relative_to(ROOT)): kinds
        for path in production_sources()
        if (kinds := session_state_in(path.read_text()))
    }
    # then
    assert found == {}, f"session state breaks under PgBouncer's transaction pooling: {found}"


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ('cursor.execute("SELECT pg_advisory_lock(%s)", [key])', "a session-level advisory lock"),
        ('cursor.execute("LISTEN outbox")', "LISTEN / UNLISTEN"),
        ('cursor.execute("CREATE TEMP TABLE ids (id bigint)")', "a temporary table"),
        ("cursor.execute('PREPARE lookup AS SELECT 1')", "a prepared statement"),
        ('cursor.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
         "a cursor kept past its transaction"),
        ("cursor.execute(\"SET lock_timeout = '1s'\")", "SET without LOCAL"),
        ('cursor.execute("SET statement_timeout TO 5000")', "SET without LOCAL"),
        ('cursor.execute("SET SESSION work_mem = \'64MB\'")', "SET without LOCAL"),
        ("cursor.execute(\"SELECT set_config('app.merchant', %s, false)\", [m])",
         "set_config for the session"),
    ],
)  # fmt: skip
def test_the_check_finds_each_kind_of_session_state(sql, kind):
    assert session_state_in(sql) == [kind]


@pytest.mark.parametrize(
    "sql",
    [
        "cursor.execute(\"SET LOCAL lock_timeout = '1s'\")",
        'cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])',
        'sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"',
        "cursor.execute(\"SELECT set_config('app.merchant', %s, true)\", [m])",
        'cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")',
        '"""Listens for SMTP until SIGTERM"""',
    ],
)
def test_the_check_lets_what_ends_with_its_transaction_through(sql):
    assert session_state_in(sql) == []


def database_settings(**env) -> dict:
    """settings.DATABASES["default"] as Django loads it with these environment variables."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "flextracker.settings", **env},
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def test_through_pgbouncer_no_prepared_statements_nor_server_side_cursors():
    # given: DATABASE_URL names PgBouncer in transaction mode
    pooled = database_settings(
        DATABASE_URL="postgres://app@pgbouncer.internal:6432/flextracker?sslmode=require",
        DATABASE_POOLED="true",
    )
    # then: nothing that outlives a transaction on the server; the URL's own options kept
    assert pooled["OPTIONS"] == {"sslmode": "require", "prepare_threshold": None}
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["PORT"] == 6432


def test_straight_to_postgresql_the_driver_keeps_its_defaults():
    direct = database_settings(
        DATABASE_URL="postgres://app@db.internal:5432/flextracker", DATABASE_POOLED="false"
    )
    assert "prepare_threshold" not in direct.get("OPTIONS", {})
    assert not direct.get("DISABLE_SERVER_SIDE_CURSORS")
