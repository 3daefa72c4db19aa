"""Workers that die (issue 26): two `manage.py qcluster` processes work through a stream of OMS
events posted with `Prefer: respond-async`, sandbox shipments to poll, customer emails to a local
SMTP server and webhooks to a local HTTP receiver. Mid-run one cluster is killed with SIGKILL
(its whole process group, in the middle of a webhook) and restarted. Nothing is lost, nothing is
applied twice, and only a message in flight at the kill is sent again, with the same id.

The leases and django-q2's timeout and retry are lowered through the environment, as an operator
could, so that what a dead worker held comes back within seconds instead of minutes."""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule
from django_q.tasks import async_task

from inbound.models import InboundMessage, ProcessedEvent
from ingest.tests.test_api_orders import ORDER
from notifications.models import Notification
from notifications.services import webhook_endpoint_create
from orders.models import LineItem, Order, Shipment
from tests.concurrency import requires_postgresql
from tests.workers import holds_connection, kill, qcluster, worker_env

ORDERS = 10
POST_EVERY_SECONDS = 0.3
SWEEP_EVERY_SECONDS = 1  # the schedules' sweeps, each minute in production
# Django-q2 redelivers a task whose worker died after Q_RETRY s; a claimed outbox row or shipment
# is claimed again when its lease ends.
QUICK = {"Q_TIMEOUT": "15", "Q_RETRY": "20", "SEND_LEASE_SECONDS": "6", "POLL_LEASE_SECONDS": "6"}


class Receiver:
    """A merchant's webhook endpoint on loopback: keeps each delivery's eventId, and holds the
    first request unanswered until released, so its sender can be killed in the middle of it."""

    def __init__(self):
        self.event_ids: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_from_port = 0
        self.held_event_id = ""
        self._lock = threading.Lock()

    def received(self, event_id: str, client_port: int) -> bool:
        """Keeps the delivery; True for the one to hold."""
        with self._lock:
            self.event_ids.append(event_id)
            if self.held.is_set():
                return False
            self.held_from_port, self.held_event_id = client_port, event_id
            self.held.set()
            return True


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if receiver.received(body["eventId"], self.client_address[1]):
                receiver.release.wait(timeout=60)
            try:
                self.send_response(204)
                self.end_headers()
            except OSError:  # its sender was killed while the request was held
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def hooks():
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    receiver.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def clusters(smtp_sink):
    """Two clusters on the test's database; the list is where a restarted one replaces it."""
    _inbox, smtp_port = smtp_sink
    env = worker_env(smtp_port, **QUICK)
    running = [qcluster(env), qcluster(env)]
    yield running, env
    for process in running:  # the test is over: nothing of theirs matters any more
        kill(process)


def _events(count: int) -> list[dict]:
    """Each order created, then shipped in a sandbox parcel that walks to delivered."""
    events = []
    for n in range(count):
        order_id = f"K-{n:03}"
        customer = {**ORDER["customer"], "email": f"customer{n}@example.com"}  # under a day's cap
        order = {**ORDER, "orderId": order_id, "customer": customer}
        events += [
            {"eventId": f"order-{n}", "type": "order.created", "data": order},
            {"eventId": f"shipment-{n}", "type": "shipment.confirmed",
             "data": {"orderId": order_id, "trackingNumber": f"SBXDELIVERED{n:04}",
                      "carrier": "sandbox", "items": [{"itemId": "SKU-1", "quantity": 1}]}},
        ]  # fmt: skip
    return events


def _with_repeats(events: list[dict]) -> list[dict]:
    """The stream as an OMS sends it: every fifth event sent again a little later (a retry)."""
    posts = []
    for n, event in enumerate(events):
        posts.append(event)
        if n % 5 == 4:
            posts.append(events[n - 2])
    return posts


def _settled() -> bool:
    return (
        not InboundMessage.objects.filter(outcome="queued").exists()
        and Shipment.objects.filter(status="delivered").count() == ORDERS
        and not Notification.objects.exclude(status="sent").exists()
    )


def _kill_the_sender_of_the_held_request(running: list, env: dict, receiver: Receiver) -> dict:
    """SIGKILLs the cluster whose worker is waiting on the held webhook, notes what it held,
    lets the request go, and starts the cluster again (as a supervisor would)."""
    holders = [n for n, process in enumerate(running)
               if holds_connection(process, receiver.held_from_port)]  # fmt: skip
    assert len(holders) == 1, "the held webhook's sender is not one of the two clusters"
    kill(running[holders[0]])
    held = {
        "rows": set(Notification.objects.filter(status="sending").values_list("pk", flat=True)),
        "tasks": set(OrmQ.objects.filter(lock__gt=timezone.now()).values_list("pk", flat=True)),
    }
    receiver.release.set()
    running[holders[0]] = qcluster(env)
    return held


def _run_the_stream(api, running, env, receiver) -> tuple[list, dict]:
    """Posts the events, sweeps as the schedules would, kills a cluster once a webhook is held,
    until everything is applied, delivered and sent (or the deadline passes)."""
    posts, answers, held = _with_repeats(_events(ORDERS)), [], None
    deadline = time.monotonic() + 50
    next_post = next_sweep = time.monotonic()
    while time.monotonic() < deadline:
        now = time.monotonic()
        if len(answers) < len(posts) and now >= next_post:
            event = posts[len(answers)]
            answers.append(api.post("/api/v1/events", event, HTTP_PREFER="respond-async"))
            next_post = now + POST_EVERY_SECONDS
        if now >= next_sweep:
            async_task("tracking.tasks.poll_carriers")
            async_task("notifications.tasks.send_notifications")
            next_sweep = now + SWEEP_EVERY_SECONDS
        if held is None and receiver.held.is_set():
            held = _kill_the_sender_of_the_held_request(running, env, receiver)
        if held is not None and len(answers) == len(posts) and _settled():
            break
        time.sleep(0.1)
    return answers, held


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_loses_nothing_and_repeats_only_what_it_was_sending(
    api, merchant, settings, smtp_sink, hooks, clusters
):
    # given: a webhook subscription on loopback (development allows it), the default customer
    # emails, two clusters, and no schedules (the test sweeps each second instead of each minute)
    settings.DEBUG = True
    sink, _smtp_port = smtp_sink
    receiver, url = hooks
    running, env = clusters
    webhook_endpoint_create(merchant=merchant, url=url, event_types=["tracking.updated"])
    Schedule.objects.all().delete()
    # when: the stream runs, and one cluster is killed while a webhook it sends is held
    answers, held = _run_the_stream(api, running, env, receiver)
    # then: the kill happened mid-run, and every event, shipment and message got to its end
    assert held is not None, "no webhook was sent: nothing was killed"
    assert {response.status_code for response in answers} == {202}
    assert _settled(), "the stream did not finish within the deadline"
    # every task was run to its end, the dead cluster's included (delivered again after Q_RETRY)
    deadline = time.monotonic() + 30
    while OrmQ.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not OrmQ.objects.exists(), "a task was never acknowledged"
    assert held["tasks"], "no task was taken when the cluster died"
    assert not Failure.objects.exists()
    # each event applied once: each eventId processed once, the repeats answered as duplicates
    messages = InboundMessage.objects.all()
    assert messages.count() == len(answers)
    assert set(messages.values_list("outcome", flat=True)) == {"accepted"}
    assert ProcessedEvent.objects.count() == 2 * ORDERS
    warnings = [warning["code"] for m in messages for warning in m.response()["warnings"]]
    assert warnings.count("DUPLICATE_EVENT") == len(answers) - 2 * ORDERS
    assert Order.objects.filter(is_placeholder=False).count() == ORDERS
    shipped = LineItem.objects.filter(item_id="SKU-1").values_list("quantity_shipped", flat=True)
    assert list(shipped) == [1] * ORDERS
    # each message delivered; only one the dead worker had claimed may come twice, with its id
    webhooks = {f"evt_{pk}": pk for pk in Notification.objects.filter(channel="webhook")
                .values_list("pk", flat=True)}  # fmt: skip
    delivered = Counter(receiver.event_ids)
    assert set(delivered) == set(webhooks) and len(webhooks) >= ORDERS
    assert delivered[receiver.held_event_id] == 2
    assert webhooks[receiver.held_event_id] in held["rows"]
    assert {webhooks[e] for e, n in delivered.items() if n > 1} <= held["rows"]
    assert max(delivered.values()) <= 2
    emails = dict(Notification.objects.filter(channel="email")
                  .values_list("provider_message_id", "pk"))  # fmt: skip
    received = Counter(sink.ids)
    assert set(received) == set(emails) and len(emails) >= ORDERS
    assert {emails[i] for i, n in received.items() if n > 1} <= held["rows"]
    assert max(received.values()) <= 2
