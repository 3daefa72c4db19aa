"""The real worker, end to end: `manage.py qcluster` polls the sandbox carrier and sends the
outbox through a local SMTP server, on the test's PostgreSQL database."""

import time

import pytest
from django_q.tasks import async_task

from inbound.models import InboundMessage
from ingest.tests.test_api_async import SHIPMENT
from ingest.tests.test_api_orders import ORDER
from notifications.models import Notification
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tests.concurrency import requires_postgresql
from tests.workers import qcluster, stop, worker_env


@pytest.fixture
def worker(smtp_sink):
    _handler, port = smtp_sink
    process = qcluster(worker_env(port))
    yield process
    stop(process)


def _done() -> bool:
    finished = not Shipment.objects.exclude(status__in=("delivered", "exception")).exists()
    unsent = Notification.objects.exclude(status__in=("sent", "failed")).exists()
    return finished and not unsent


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_walks_shipments_and_emails_each_chosen_status_once(merchant, smtp_sink, worker):
    # given: a split order, the default customer email choices, and a staff alert address
    handler, _port = smtp_sink
    merchant.alert_emails = "ops@example.com"
    merchant.save()
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1))
    ship(merchant, "1001", "SBXEXCEPTION2", ("MUG", 1))
    # when: the worker is asked to poll every two seconds, as its schedule would each minute
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _done():
        async_task("tracking.tasks.poll_carriers")
        time.sleep(2)
    time.sleep(3)  # a last chance for any duplicate to show
    # then: both packages reached their end, and each message went out exactly once
    assert dict(Shipment.objects.values_list("tracking_number", "status")) == {
        "SBXDELIVERED1": "delivered", "SBXEXCEPTION2": "exception"}  # fmt: skip
    # (a poll may see two steps at once; each status it saw is one row, each row one message)
    to_customer = [subject for to, subject in handler.messages if to == "jane@example.com"]
    rows = Notification.objects.filter(channel="email")
    assert len(to_customer) == rows.count() >= 3
    assert rows.filter(trigger="delivered").count() == 1
    assert sum("delivered" in subject for subject in to_customer) == 1
    staff = [subject for to, subject in handler.messages if to == "ops@example.com"]
    assert len(staff) == 1 and "SBXEXCEPTION2" in staff[0]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_applies_messages_posted_with_respond_async_within_seconds(api, worker):
    # when: an order and its shipment are posted for the worker to apply
    posted = [
        api.post("/api/v1/orders", ORDER, HTTP_PREFER="respond-async"),
        api.post("/api/v1/orders/12345/shipments", SHIPMENT, HTTP_PREFER="respond-async"),
    ]
    assert [response.status_code for response in posted] == [202, 202]
    # then: the message each one asked for applies both, in order, and tells the answers
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and InboundMessage.objects.filter(outcome="queued"):
        time.sleep(0.5)
    answers = [api.get(response["Location"]).json()["data"] for response in posted]
    assert [answer["status"] for answer in answers] == ["accepted", "accepted"]
    assert [answer["response"]["status"] for answer in answers] == [201, 201]
    order = Order.objects.get(order_id="12345")
    assert not order.is_placeholder and order.shipments.count() == 1
