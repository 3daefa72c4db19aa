"""Search benchmark (issue 9): p50/p95/p99 of the console's search, `GET /console/search?q=…`,
per kind of identifier, on the 1,000,000-order database of bench/generate.py, for a flexEngage
staff user (every merchant) and a customer-service agent of Fred's Discount City (FDC-01-12345).

    .venv/bin/python bench/search.py [--queries 200] [--sql-queries 60] [--orders 1000000]

Queries are drawn from generated rows (TABLESAMPLE over the whole table, the agent's from their
merchant's orders): order IDs, tracking numbers as stored and grouped with spaces as printed on
labels, emails, phones in another format than the one stored, full names, postal codes. One
client sends them one after another to gunicorn (2 sync workers) with a logged-in session. Then
the SQL alone: `orders.search.orders_search` runs in-process for part of the same queries, each
statement it issues is run again under EXPLAIN ANALYZE, and their planning + execution times are
summed, which tells database time from Python and rendering. Last, the agent's queries again
through the API, `GET /api/v1/orders?search=…` with FDC's API key (every identifier API.md lists:
all but postal codes). Writes the "## Search" section of docs/benchmarks.md.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    child_json,
    cpu_seconds,
    cpu_seconds_between,
    explained_ms,
    free_port,
    gunicorn,
    machine,
    postgres_ensure_running,
    sh,
    wait_for_quiet_machine,
    write_doc,
)
from bench.generate import DB_1M, DEFAULT_ORDERS, database_env, ensure_database
from bench.load import Connection, Request, percentile

MERCHANT_ID = "FDC-01-12345"
USERS = {"staff": "bench-staff", "agent": "bench-agent-fdc"}
USER_LABELS = {"staff": "flexEngage staff (all merchants)", "agent": "agent of FDC-01-12345"}
KINDS = [
    "order ID", "tracking number", "tracking number with spaces", "email",
    "phone, another format", "customer name", "postal code",
]  # fmt: skip
EXACT_KINDS = {"order ID", "tracking number", "tracking number with spaces", "email"}
API_KINDS = [kind for kind in KINDS if kind != "postal code"]  # API.md's `search`
TARGET_P95_MS = 100
PHONE_FORMATS = ("({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}", "{a}{e}{n}", "{a}.{e}.{n}")
TRACKING_GROUPS = {  # how labels and emails print them
    "ups": (2, 3, 3, 2, 4, 4), "fedex": (4, 4, 4, 4), "usps": (4, 4, 4, 4, 4, 2),
    "dhl": (2, 4, 4), "canada_post": (4, 4, 4, 4), "sandbox": (3, 9, 99),
}  # fmt: skip


# --- In the child, with the server's settings ----------------------------------------------------


def prepare(count: int, seed: int) -> dict:
    """The two users and their sessions, and `count` queries per kind for each, from real rows."""
    import django

    django.setup()
    from django.conf import settings

    from merchants.models import Merchant
    from merchants.services import api_key_issue

    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    users = users_ensure(merchant)
    return {
        "api_key": api_key_issue(merchant=merchant, name="bench/search.py")[1],
        "cookie": settings.SESSION_COOKIE_NAME,
        "sessions": {role: session_for(user) for role, user in users.items()},
        "queries": {
            "staff": queries_from_rows(count, seed, merchant=None),
            "agent": queries_from_rows(count, seed + 1, merchant=merchant),
        },
    }


def users_ensure(merchant) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from merchants.models import MembershipRole
    from merchants.services import membership_grant

    user_model = get_user_model()
    staff, _ = user_model.objects.get_or_create(
        username=USERS["staff"], defaults={"is_staff": True}
    )
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="merchants", codename="access_all_merchants")
    )
    agent, _ = user_model.objects.get_or_create(username=USERS["agent"])
    membership_grant(user=agent, merchant=merchant, role=MembershipRole.AGENT)
    return {"staff": staff, "agent": agent}


def session_for(user) -> str:
    """A logged-in session, as `login()` leaves it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    # The backend that checks passwords; the first in AUTHENTICATION_BACKENDS only counts failures.
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def queries_from_rows(count: int, seed: int, merchant) -> dict[str, list[dict]]:
    from orders.models import Order

    rng = random.Random(seed)
    sampled = Order.objects.raw(
        "SELECT id FROM orders_order TABLESAMPLE SYSTEM (2) REPEATABLE (%s)", [seed]
    )
    ids = [order.pk for order in sampled]
    orders = Order.objects.filter(pk__in=ids).prefetch_related("shipments")
    if merchant is not None:
        orders = orders.filter(merchant=merchant)
    orders = [order for order in orders if order.customer_phone and order.shipments.all()]
    rng.shuffle(orders)
    queries = defaultdict(list)
    for order in orders[:count]:
        shipment = rng.choice(list(order.shipments.all()))
        for kind, text in (
            ("order ID", order.order_id),
            ("tracking number", shipment.tracking_number),
            ("tracking number with spaces", spaced(shipment.tracking_number, shipment.carrier)),
            ("email", order.customer_email),
            ("phone, another format", other_format(order.customer_phone, rng)),
            ("customer name", order.customer_name),
            ("postal code", order.postal_code),
        ):
            queries[kind].append({"q": text, "order_id": order.order_id})
    return dict(queries)


def spaced(number: str, carrier: str) -> str:
    groups, start = [], 0
    for size in TRACKING_GROUPS.get(carrier, (4,) * 10):
        if start < len(number):
            groups.append(number[start : start + size])
            start += size
    if start < len(number):
        groups.append(number[start:])
    return " ".join(groups)


def other_format(phone: str, rng: random.Random) -> str:
    digits = "".join(char for char in phone if char.isdigit())[-10:]
    parts = {"a": digits[:3], "e": digits[3:6], "n": digits[6:]}
    choices = [f.format(**parts) for f in PHONE_FORMATS if f.format(**parts) != phone]
    return rng.choice(choices)


def sql_times(plan: dict) -> dict:
    """orders_search in-process for each query: its wall time, and its statements' planning +
    execution time under EXPLAIN ANALYZE, labelled by what each looks for."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.search import orders_search

    users = {role: get_user_model().objects.get(username=name) for role, name in USERS.items()}
    result = {}
    for role, kinds in plan.items():
        user = users[role]
        orders_search(user, "warm up")
        for kind, queries in kinds.items():
            rows = []
            for query in queries:
                user = get_user_model().objects.get(pk=user.pk)  # a fresh request's user
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    hits = orders_search(user, query)
                    wall = time.perf_counter() - started
                statements = [
                    {"label": statement_label(query["sql"]), "ms": explained_ms(query["sql"])}
                    for query in captured
                ]
                rows.append({"wall_ms": wall * 1000, "hits": len(hits), "statements": statements})
            result.setdefault(role, {})[kind] = rows
    return result


def statement_label(sql: str) -> str:
    checks = (
        ("to_tsvector", "name (full text)"), ("customer_name_search\"", "name (trigram)"),
        ("\"tracking_number\" =", "tracking number"), ("\"customer_email\" =", "email"),
        ("customer_phone_digits", "phone"),
        ("UPPER(\"orders_order\".\"order_id\"", "order ID part"),
        ("\"postal_code\" IN", "postal code"), ("\"orders_order\".\"order_id\" =", "order ID"),
        ("merchants_membership", "memberships"), ("auth_", "user"),
        ("\"orders_order\".\"id\" IN", "fetch hits"),
    )  # fmt: skip
    where = sql.split(" WHERE ", 1)[-1]  # the select list of in_bulk names every column
    for needle, label in checks:
        if needle in where:
            return label
    return sql.split(" FROM ", 1)[-1][:40]


# --- Driving gunicorn ----------------------------------------------------------------------------


CONSOLE, API = "/console/search?q=", "/api/v1/orders?search="


async def search_run(port: int, headers: dict, queries: list[dict], path: str) -> dict:
    """One client, one query after another; latency of each, and whether the order searched for
    came back (for exact identifiers it must)."""
    connection = Connection("127.0.0.1", port, headers)
    latencies, errors, found = [], 0, 0
    try:
        for query in queries:
            request = Request("GET", path + quote(query["q"]))
            started = time.perf_counter()
            status, body = await connection.request(request)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
            found += query["order_id"].encode() in body
    finally:
        await connection.close()
    return {"latencies": latencies, "errors": errors, "found": found}


def http_runs(server, port: int, prepared: dict) -> dict:
    """Each user's queries of each kind through gunicorn, after a warm-up; with the CPUs other
    processes kept busy during each run."""
    http = {}
    for role in USERS:
        headers = {"Cookie": f"{prepared['cookie']}={prepared['sessions'][role]}"}
        http[role] = kind_runs(server, port, headers, prepared["queries"][role], KINDS, CONSOLE)
    return http


def api_runs(server, port: int, prepared: dict) -> dict:
    """The agent's queries through the API's list, with the merchant's API key."""
    headers = {"Authorization": f"Bearer {prepared['api_key']}"}
    return kind_runs(server, port, headers, prepared["queries"]["agent"], API_KINDS, API)


def kind_runs(server, port: int, headers: dict, queries: dict, kinds: list[str], path: str):
    warm = [q for kind in kinds for q in queries[kind][-5:]]
    asyncio.run(search_run(port, headers, warm, path))  # both workers: imports, connections
    asyncio.run(search_run(port, headers, warm, path))
    runs = {}
    for kind in kinds:
        wait_for_quiet_machine(patience=30)
        before = cpu_seconds(server.pid)
        started = time.perf_counter()
        run = asyncio.run(search_run(port, headers, queries[kind], path))
        elapsed = time.perf_counter() - started
        after = cpu_seconds(server.pid)
        run["other_cpu"] = cpu_seconds_between(before, after)["other"] / elapsed
        runs[kind] = run
        print(f"{path:<24} {kind:<28} p95 {percentile(run['latencies'], 95) * 1000:6.1f} ms, "
              f"errors {run['errors']}, found {run['found']}/{len(run['latencies'])}",
              flush=True)  # fmt: skip
    return runs


# --- Reporting -----------------------------------------------------------------------------------


def summarize(http: dict, sql: dict) -> dict:
    rows = {}
    for role in USERS:
        for kind in KINDS:
            run = http[role][kind]
            ms = [t * 1000 for t in run["latencies"]]
            measured = sql[role][kind]
            db_ms = [sum(s["ms"] for s in row["statements"]) for row in measured]
            by_label = defaultdict(list)
            for row in measured:
                for statement in row["statements"]:
                    by_label[statement["label"]].append(statement["ms"])
            slowest = max(by_label.items(), key=lambda item: percentile(item[1], 95))
            rows[(role, kind)] = {
                "n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
                "p99": percentile(ms, 99), "errors": run["errors"], "other": run["other_cpu"],
                "found": run["found"] / max(len(ms), 1),
                "sql_n": len(measured), "sql_p50": percentile(db_ms, 50),
                "sql_p95": percentile(db_ms, 95),
                "selector_p95": percentile([row["wall_ms"] for row in measured], 95),
                "statements": statistics.mean(len(row["statements"]) for row in measured),
                "hits": statistics.mean(row["hits"] for row in measured),
                "slowest": (slowest[0], percentile(slowest[1], 95)),
            }  # fmt: skip
    return rows


def report(rows: dict, info: dict, args, counts: dict, api: dict) -> str:
    worst = max(rows.items(), key=lambda item: item[1]["p95"])
    met = worst[1]["p95"] <= TARGET_P95_MS
    lines = [
        "## Search",
        "",
        "`bench/search.py`: the console's search box, `GET /console/search?q=…` (HTML, a "
        f"logged-in session), served by gunicorn ({args.workers} sync workers) on the generated "
        f"database `{DB_1M}` ({counts['orders']:,} orders, {counts['shipments']:,} shipments), "
        "one query after another from one client. Queries come from generated rows drawn over "
        "the whole table: order IDs, tracking numbers as stored and grouped with spaces as "
        "labels print them, emails, phones written in another format than the stored one, full "
        "customer names, postal codes; the agent's from FDC-01-12345's orders. SQL: "
        "`orders.search.orders_search` in-process on the first "
        f"{args.sql_queries} queries of each kind, every statement it issues run again under "
        "EXPLAIN ANALYZE (planning + execution, summed per search; buffers warm).",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        "shared with other engineers' test runs (figures are noisy)",
        f"- Commit: {info['commit']}",
        f"- PostgreSQL {info['postgres']}",
        "",
        "| user | identifier | searches | p50 ms | p95 ms | p99 ms | errors | order found "
        "| SQL p50 ms | SQL p95 ms | selector p95 ms | statements | slowest statement (p95 ms) "
        "| other CPUs busy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for (role, kind), row in rows.items():
        found = f"{row['found']:.0%}" if kind in EXACT_KINDS else f"({row['found']:.0%})"
        lines.append(
            f"| {USER_LABELS[role]} | {kind} | {row['n']} | {row['p50']:.1f} | {row['p95']:.1f} "
            f"| {row['p99']:.1f} | {row['errors']} | {found} | {row['sql_p50']:.1f} | "
            f"{row['sql_p95']:.1f} | {row['selector_p95']:.1f} | {row['statements']:.0f} | "
            f"{row['slowest'][0]} ({row['slowest'][1]:.1f}) | {row['other']:.1f} |"
        )
    sql_p95 = [r["sql_p95"] for r in rows.values()]
    selector_p95 = [r["selector_p95"] for r in rows.values()]
    statements = [r["statements"] for r in rows.values()]
    slowest = defaultdict(list)
    for (_role, kind), r in rows.items():
        slowest[r["slowest"][0]].append(kind)
    (role, kind), row = worst
    lines += [
        "",
        f"Where the time goes: a search's SQL takes {min(sql_p95):.1f}–{max(sql_p95):.1f} ms "
        f"at p95 ({min(statements):.0f}–{max(statements):.0f} statements: one per kind of "
        "identifier the text could be, the user's merchants for an agent, then one fetch of the "
        f"hits); the selector in-process {min(selector_p95):.1f}–{max(selector_p95):.1f} ms; "
        "the rest of a request (session and user, the template with up to 25 hits, and "
        "waiting for a CPU shared with other processes) is Python. Slowest statements: "
        + "; ".join(
            f"`{label}` for {', '.join(sorted(set(kinds)))}" for label, kinds in slowest.items()
        )
        + ".",
        "",
        "Order found: the share of searches whose page lists the order the query was taken "
        "from (must be 100 % for exact identifiers; in brackets for names and postal codes, "
        "which many orders share and the page shows the 25 best). Selector: "
        "`orders_search` in-process, SQL and Python, without the template. Other CPUs busy: "
        "processes outside the benchmark (other engineers' tests on this shared 2-core "
        "machine) during that row's run, in CPUs; the run waits up to 30 s for a quiet "
        "machine first.",
        "",
        "Target (issue 9):",
        f"- the slowest p95 = {row['p95']:.1f} ms ({USER_LABELS[role]}, {kind}) "
        f"(target ≤ {TARGET_P95_MS} ms): **{'met' if met else 'missed'}**",
        "",
        "### The API's search",
        "",
        "The agent's queries again, as an OMS or a support tool sends them: `GET "
        "/api/v1/orders?search=…` with FDC-01-12345's API key, JSON with the first page of 25 "
        "and the count of all matches. It runs the console's queries for the identifiers "
        "API.md lists, united (orders/search.py).",
        "",
        "| identifier | searches | p50 ms | p95 ms | p99 ms | errors | order found "
        "| other CPUs busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, run in api.items():
        ms = [t * 1000 for t in run["latencies"]]
        share = run["found"] / max(len(ms), 1)
        found = f"{share:.0%}" if kind in EXACT_KINDS else f"({share:.0%})"
        lines.append(
            f"| {kind} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | "
            f"{percentile(ms, 99):.1f} | {run['errors']} | {found} | {run['other_cpu']:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="per identifier and user")
    parser.add_argument("--sql-queries", type=int, default=60, help="of those, under EXPLAIN")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="generated orders")
    parser.add_argument("--child", choices=["prepare", "sql", "counts"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "prepare":
        print(json.dumps(prepare(args.queries, args.seed)))
        return
    if args.child == "sql":
        plan = json.loads(sys.stdin.read())
        print(json.dumps(sql_times(plan)))
        return
    if args.child == "counts":
        import django

        django.setup()
        from bench.page_data import database_counts

        print(json.dumps(database_counts()))
        return

    postgres_ensure_running()
    ensure_database(args.orders)
    info = machine() | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    port = free_port()
    env = database_env(port)
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", env=env)
    prepared = child_json(__file__, "--child", "prepare", "--queries", str(args.queries),
                          "--seed", str(args.seed), env=env)  # fmt: skip
    counts = child_json(__file__, "--child", "counts", env=env)
    with gunicorn(env, port, args.workers) as server:
        http = http_runs(server, port, prepared)
        api = api_runs(server, port, prepared)
        plan = {
            role: {kind: [q["q"] for q in prepared["queries"][role][kind][: args.sql_queries]]
                   for kind in KINDS}
            for role in USERS
        }  # fmt: skip
        sql = child_json(__file__, "--child", "sql", stdin=json.dumps(plan), env=env)
    section = report(summarize(http, sql), info, args, counts, api)
    print(section)
    write_doc(section)


if __name__ == "__main__":
    main()
