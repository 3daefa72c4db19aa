"""A worker sends a claim's messages side by side (NOTIFICATIONS_SEND_THREADS), each recipient's in
order, on threads whose database connections are closed when the round ends: against a real local
HTTP receiver that records when each message arrives, and a real SMTP server for emails."""

import json
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, NotificationAttempt
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from notifications.tests.http_receiver import URL
from tests.concurrency import requires_postgresql, run_at_once
from tests.pooled import database_clients

# The threads see committed rows only, and write side by side: PostgreSQL (SQLite sends in turn).
pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

ENDPOINTS = 4
PER_ENDPOINT = 5


@pytest.fixture(autouse=True)
def threads(settings):
    settings.NOTIFICATIONS_SEND_THREADS = 4
    return settings


def _endpoints(merchant, count: int = ENDPOINTS):
    return [
        webhook_endpoint_create(
            merchant=merchant, url=f"{URL}/{n}", event_types=["tracking.updated"]
        )[0]
        for n in range(count)
    ]


def _queue(merchant, endpoints, per_endpoint: int = PER_ENDPOINT) -> list[Notification]:
    """Rows written as a busy round writes them: endpoints interleaved, oldest first."""
    rows = [
        Notification(merchant=merchant, channel="webhook", recipient=endpoint.public_id,
                     trigger="tracking.updated", dedupe_key=f"{endpoint.pk}:{n}",
                     payload={"data": {"n": n}})
        for n in range(per_endpoint)
        for endpoint in endpoints
    ]  # fmt: skip
    created = []
    for row in rows:  # one by one: created_at (the claim's order) follows the list
        row.save()
        created.append(row)
    return created


def _arrivals(receiver) -> dict[str, list[str]]:
    """Each endpoint's eventIds in the order they reached the receiver."""
    arrivals = defaultdict(list)
    for request in sorted(receiver.requests, key=lambda r: r.at):
        arrivals[request.path].append(json.loads(request.body)["eventId"])
    return arrivals


def test_each_endpoint_receives_its_messages_in_order_while_endpoints_go_side_by_side(
    merchant, receiver, threads
):
    # given: 4 endpoints, 5 messages each, a receiver answering in 100 ms; 8 threads
    threads.NOTIFICATIONS_SEND_THREADS = 8
    receiver.status, receiver.delay = 200, 0.1
    endpoints = _endpoints(merchant)
    rows = _queue(merchant, endpoints)
    # when
    report = notifications_send_due()
    # then: all sent, the endpoints at once, each one's messages one by one in the order written
    assert (report.claimed, report.sent) == (20, 20)
    assert receiver.most_at_once == ENDPOINTS
    assert set(receiver.most_at_once_by_path.values()) == {1}
    path = {endpoint.public_id: f"/hooks/tracking/{n}" for n, endpoint in enumerate(endpoints)}
    written = defaultdict(list)
    for row in rows:
        written[path[row.recipient]].append(f"evt_{row.pk}")
    assert _arrivals(receiver) == written
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_one_endpoint_never_has_two_of_its_messages_in_flight(merchant, receiver, threads):
    # given: one endpoint, 6 messages, more threads than it could use
    threads.NOTIFICATIONS_SEND_THREADS = 8
    receiver.status, receiver.delay = 200, 0.05
    [endpoint] = _endpoints(merchant, 1)
    rows = _queue(merchant, [endpoint], per_endpoint=6)
    # when
    notifications_send_due()
    # then
    assert receiver.most_at_once_by_path == {"/hooks/tracking/0": 1}
    assert _arrivals(receiver)["/hooks/tracking/0"] == [f"evt_{row.pk}" for row in rows]


def test_a_failing_slow_endpoint_does_not_hold_up_the_others_and_is_retried(merchant, receiver):
    # given: endpoint 0 answers 503 (after the same 200 ms as the others); 1–3 answer 200
    receiver.status, receiver.delay = 200, 0.2
    receiver.statuses = {"/hooks/tracking/0": 503}
    endpoints = _endpoints(merchant)
    _queue(merchant, endpoints, per_endpoint=3)
    # when
    report = notifications_send_due()
    # then: the others' 9 messages went while the failing one was being tried, in one round's time
    arrivals = sorted(receiver.requests, key=lambda r: r.at)
    healthy = [r.at for r in arrivals if not r.path.endswith("/0")]
    failing = [r.at for r in arrivals if r.path.endswith("/0")]
    assert (report.sent, report.retrying) == (9, 3)
    assert max(healthy) - min(failing) < 3 * 0.2
    failed = Notification.objects.filter(recipient=endpoints[0].public_id)
    assert set(failed.values_list("status", "attempts")) == {("pending", 1)}
    assert all(n.next_attempt_at > timezone.now() + timedelta(seconds=40) for n in failed)
    # when: the endpoint recovers and the retries are due
    receiver.statuses = {}
    later = notifications_send_due(now=timezone.now() + timedelta(minutes=3))
    # then: each retried once more, and delivered
    assert (later.claimed, later.sent) == (3, 3)
    assert set(failed.values_list("status", "attempts")) == {("sent", 2)}
    assert NotificationAttempt.objects.filter(notification__in=failed).count() == 6


def test_emails_sent_side_by_side_each_arrive_once(merchant, inbox):
    # given: staff alerts to 6 addresses, 2 each
    rows = [
        Notification(merchant=merchant, channel="staff_email", recipient=f"ops{n % 6}@fred.example",
                     trigger="test", dedupe_key=f"mail:{n}", payload={})
        for n in range(12)
    ]  # fmt: skip
    Notification.objects.bulk_create(rows)
    # when
    report = notifications_send_due()
    # then
    assert (report.claimed, report.sent) == (12, 12)
    assert sorted(m["To"] for m in inbox.messages) == sorted(r.recipient for r in rows)


def test_the_sending_threads_close_their_database_connections(merchant, receiver):
    # given
    receiver.status = 200
    _queue(merchant, _endpoints(merchant))
    before = database_clients()
    # when
    report = notifications_send_due()
    # then: 4 threads connected to send and record, and none of their connections is left
    assert report.sent == ENDPOINTS * PER_ENDPOINT
    assert _connections_drop_to(before)


def _connections_drop_to(count: int, seconds: float = 3) -> bool:
    """A closed connection takes a moment to leave pg_stat_activity (or PgBouncer's clients)."""
    deadline = time.monotonic() + seconds
    while database_clients() > count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_sending_side_by_side_send_each_message_once(merchant, receiver, workers):
    # given: 8 endpoints, 40 messages, claims of 10: the workers take turns on the rows
    receiver.status, receiver.delay = 200, 0.02
    rows = _queue(merchant, _endpoints(merchant, 8))

    def worker():
        sent = 0
        while report := notifications_send_due(limit=10):
            sent += report.sent
            if not report.claimed:
                return sent

    # when
    results = run_at_once(workers, worker)
    # then
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(results) == len(rows)
    events = [json.loads(r.body)["eventId"] for r in receiver.requests]
    assert sorted(events) == sorted(f"evt_{row.pk}" for row in rows)
    assert NotificationAttempt.objects.count() == len(rows)
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
