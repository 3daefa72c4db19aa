"""Two workers racing on the same outbox rows send each message once (PostgreSQL row locks)."""

import pytest
import responses

from notifications.models import Notification, NotificationAttempt
from notifications.sending import notifications_send_due
from notifications.services import webhook_endpoint_create
from tests.concurrency import requires_postgresql, run_at_once
from tests.network import PUBLIC_ADDRESS

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


@pytest.fixture
def due(merchant) -> list[Notification]:
    endpoint, _secret = webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/t", event_types=["tracking.updated"]
    )
    return Notification.objects.bulk_create([
        Notification(merchant=merchant, channel="webhook", recipient=endpoint.public_id,
                     trigger="tracking.updated", dedupe_key="race:1", payload={"data": {}}),
        Notification(merchant=merchant, channel="staff_email", recipient="ops@fred.example",
                     trigger="test", dedupe_key="race:1", payload={}),
    ])  # fmt: skip


@responses.activate
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_racing_on_the_same_rows_send_each_once(due, mailoutbox, workers):
    # given: two due rows (a webhook and a staff email)
    responses.post(f"https://{PUBLIC_ADDRESS}/t", status=200)
    # when
    reports = run_at_once(workers, notifications_send_due)
    # then: every row claimed by exactly one worker and sent once
    assert [r for r in reports if isinstance(r, Exception)] == []
    assert sum(report.claimed for report in reports) == 2
    assert sum(report.sent for report in reports) == 2
    assert len(responses.calls) == 1 and len(mailoutbox) == 1
    assert NotificationAttempt.objects.count() == 2
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
