"""The read replica for real (flextracker/replica.py, issue 26): a PostgreSQL standby streaming from
the primary (`.ci/replica` starts one on port 5433 and runs these with DATABASE_REPLICA_URL).

The test database made on the primary reaches the standby by replication, and only what commits
does: these tests write in real transactions and wait for the standby to replay them. A lagging
replica is the standby with its replay paused."""

import time
from contextlib import contextmanager

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flextracker.replica import REPLICA, replica_configured
from merchants.services import api_key_issue
from merchants.tests.factories import member_of
from notifications.tests.smtp import free_port
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship

NO_REPLICA = "a streaming replica needs DATABASE_REPLICA_URL (.ci/replica starts one)"

pytestmark = [
    pytest.mark.skipif(not replica_configured(), reason=NO_REPLICA),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

TRACKING_NUMBER = "VAN420001"
DELIVERED = {"timestamp": "2026-11-21T16:30:00Z", "status": "delivered",
             "description": "Left at front door", "recipient": "J. Doe"}  # fmt: skip


def _one(alias: str, sql: str, params=()):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def replica_caught_up(timeout: float = 20) -> None:
    """Waits until the standby has replayed everything the primary has written so far."""
    target = _one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while not _one(REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]):
        assert time.monotonic() < deadline, f"the standby did not replay up to {target}"
        time.sleep(0.02)


@contextmanager
def replay_paused():
    """A replica that lags: the standby receives the primary's WAL but applies none of it."""
    replica_caught_up()
    _one(REPLICA, "SELECT pg_wal_replay_pause()::text")
    deadline = time.monotonic() + 10
    while _one(REPLICA, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby's replay did not pause"
        time.sleep(0.02)
    try:
        yield
    finally:
        _one(REPLICA, "SELECT pg_wal_replay_resume()::text")
        replica_caught_up()


class Queries:
    """The statements one request sent to the primary and to the replica."""

    def __init__(self):
        self.primary = CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])
        self.replica = CaptureQueriesContext(connections[REPLICA])

    def __enter__(self) -> "Queries":
        self.primary.__enter__()
        self.replica.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.replica.__exit__(*exc_info)
        self.primary.__exit__(*exc_info)


def _page(merchant, order_id: str = "1001") -> str:
    """The customer page as a customer opens it: another browser than the merchant's."""
    response = Client().get(f"/orders/{merchant.merchant_id}/{order_id}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def oms(merchant):
    _key, raw_key = api_key_issue(merchant=merchant, name="oms")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")


@pytest.fixture
def other_oms(other_merchant):
    _key, raw_key = api_key_issue(merchant=other_merchant, name="oms")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")


def _report(oms, *events):
    return oms.post(f"/api/v1/tracking/{TRACKING_NUMBER}/events", {"events": list(events)},
                    content_type="application/json")  # fmt: skip


@pytest.fixture
def shipped(merchant):
    create_order(merchant, "1001")
    ship(merchant, "1001", TRACKING_NUMBER, ("MUG", 1), carrier="other")
    replica_caught_up()


# --- The read-only views read from the replica ---------------------------------------------------


def test_a_customer_page_is_read_from_the_replica_alone(merchant, shipped):
    with Queries() as queries:
        html = _page(merchant)
    assert TRACKING_NUMBER in html
    assert len(queries.replica) >= 5
    assert len(queries.primary) == 0


def test_a_lagging_replica_shows_the_page_as_it_was_until_it_replays(merchant, shipped):
    # given: a package shipped by the worker (no client of ours wrote it) while the replica lags
    with replay_paused():
        ship(merchant, "1001", "VAN420002", ("TOWEL", 1), carrier="other")
        # when
        lagging = _page(merchant)
    # then: the replica answered, as it was; once replayed it shows the package
    assert TRACKING_NUMBER in lagging and "VAN420002" not in lagging
    assert "VAN420002" in _page(merchant)


def test_the_tracking_api_and_the_console_read_from_the_replica(oms, merchant, shipped, client):
    client.force_login(member_of(merchant, "agent"))
    with Queries() as api:
        tracking = oms.get(f"/api/v1/tracking/{TRACKING_NUMBER}")
        events = oms.get(f"/api/v1/tracking/events?trackingNumbers={TRACKING_NUMBER}")
    with Queries() as console:
        search = client.get(reverse("console:search"), {"q": "1001"})
        dashboard = client.get(reverse("console:dashboard"))
    assert tracking.json()["data"]["trackingNumber"] == TRACKING_NUMBER
    assert events.status_code == search.status_code == dashboard.status_code == 200
    assert b"1001" in search.content
    # the key, the session and the agent's memberships are checked on the primary; the data not
    assert len(api.replica) >= 4 and len(console.replica) >= 4
    assert _data_read(api.primary) == _data_read(console.primary) == []


def _data_read(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if '"orders_' in query["sql"]]


# --- Read-your-writes ----------------------------------------------------------------------------


def test_a_merchant_who_just_wrote_sees_it_on_the_page_while_the_replica_lags(
    oms, merchant, shipped, other_merchant
):
    create_order(other_merchant, "2002")
    replica_caught_up()
    with replay_paused():
        # when: the merchant's OMS reports the delivery
        assert _report(oms, DELIVERED).status_code == 200
        # then: its customers' page and its own GET show it, from the primary
        with Queries() as mine:
            page = _page(merchant)
            tracking = oms.get(f"/api/v1/tracking/{TRACKING_NUMBER}").json()["data"]
        # and another merchant's page still reads from the lagging replica
        with Queries() as theirs:
            _page(other_merchant, "2002")
    assert "Left at front door" in page
    assert tracking["status"] == "delivered"
    assert len(mine.replica) <= 2 and len(mine.primary) >= 5  # the replica asked only its position
    assert len(theirs.replica) >= 5 and len(theirs.primary) == 0


def test_once_the_replica_has_replayed_a_write_the_writers_reads_return_to_it(
    oms, merchant, shipped
):
    # given: the merchant wrote, and the replica replayed it
    assert _report(oms, DELIVERED).status_code == 200
    replica_caught_up()
    # when
    with Queries() as queries:
        page = _page(merchant)
    # then
    assert "Left at front door" in page
    assert len(queries.primary) == 0


def test_another_merchants_write_does_not_move_this_merchants_reads(
    oms, other_oms, merchant, shipped
):
    with replay_paused():
        # given: a status changed behind the API's back (as a carrier's poll would), and another
        # merchant wrote
        Shipment.objects.filter(tracking_number=TRACKING_NUMBER).update(status="delivered")
        assert _report(other_oms, DELIVERED).status_code == 404  # not theirs
        # when
        stale = oms.get(f"/api/v1/tracking/{TRACKING_NUMBER}").json()["data"]
        # then: this merchant still reads the lagging replica; once it writes, the primary
        _report(oms, {**DELIVERED, "description": "Handed to J. Doe"})
        fresh = oms.get(f"/api/v1/tracking/{TRACKING_NUMBER}").json()["data"]
    assert stale["status"] != "delivered"
    assert fresh["status"] == "delivered"


def test_an_agents_action_sends_their_next_search_to_the_primary(merchant, shipped, client):
    client.force_login(member_of(merchant, "agent"))
    order = Order.objects.get(merchant=merchant, order_id="1001")
    with replay_paused():
        new_order = create_order(merchant, "1002")  # by the OMS's worker, say
        link = reverse("console:order", args=[new_order.pk])
        before = client.get(reverse("console:search"), {"q": "1002"}).content.decode()
        noted = client.post(reverse("console:add_note", args=[order.pk]), {"text": "Called her"})
        after = client.get(reverse("console:search"), {"q": "1002"}).content.decode()
    assert noted.status_code == 302
    assert link not in before
    assert link in after


def test_a_number_never_seen_is_followed_and_read_back_while_the_replica_lags(oms, merchant):
    with replay_paused():
        response = oms.get("/api/v1/tracking/SBXDELIVERED0042")
    assert response.status_code == 200
    assert response.json()["data"]["carrier"] == "sandbox"


def test_a_replica_that_cannot_be_reached_leaves_the_page_to_the_primary(merchant, shipped):
    replica = connections[REPLICA]
    replica.close()
    port = replica.settings_dict["PORT"]
    replica.settings_dict["PORT"] = free_port()  # nothing listens there
    try:
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            html = _page(merchant)
    finally:
        replica.settings_dict["PORT"] = port
    assert TRACKING_NUMBER in html
    assert len(on_primary) >= 5
