"""The poller end to end with the sandbox carrier and frozen time, and with a real adapter's
HTTP mocked at the requests layer."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.core.management import call_command

from notifications.models import Notification
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tracking.delays import shipments_flag_delayed
from tracking.models import CarrierAccount, TrackingEvent
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)  # SANDBOX_MINUTES_PER_STEP in these tests


@pytest.fixture(autouse=True)
def _sandbox_step(settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10


def _ship_at(merchant, number: str, order_id: str = "1001"):
    with time_machine.travel(T0, tick=False):
        if not Order.objects.filter(merchant=merchant, order_id=order_id).exists():
            create_order(merchant, order_id)
        return ship(merchant, order_id, number, ("MUG", 1)).instance


def _poll_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return poll_due_shipments(now=moment)


def test_a_sandbox_shipment_walks_from_label_to_delivered(merchant):
    # given
    shipment = _ship_at(merchant, "SBXDELIVERED3")
    # when: the worker runs every five minutes for two hours (it polls what is due)
    for minutes in range(0, 120, 5):
        _poll_at(T0 + timedelta(minutes=minutes))
    # then: every step was recorded once, in order, and the status is the newest step's
    shipment.refresh_from_db()
    history = TrackingEvent.objects.filter(shipment=shipment).order_by("occurred_at")
    assert list(history.values_list("status", flat=True)) == [
        "pre_transit", "in_transit", "in_transit", "in_transit", "in_transit", "in_transit",
        "out_for_delivery", "delivered",
    ]  # fmt: skip
    assert shipment.status == "delivered" and shipment.delivered_at == T0 + 7 * STEP
    assert shipment.next_check_at == shipment.delivered_at + timedelta(hours=24)  # one last look
    assert Order.objects.get(order_id="1001").status == "partially_delivered"  # a towel waits


def test_after_the_last_look_a_delivered_shipment_is_never_polled_again(merchant):
    shipment = _ship_at(merchant, "SBXDELIVERED3")
    _poll_at(T0 + 8 * STEP)
    _poll_at(T0 + 8 * STEP + timedelta(hours=25))
    shipment.refresh_from_db()
    assert shipment.next_check_at is None


def test_nothing_is_checked_twice_in_one_round(merchant):
    # given
    for n in range(5):
        _ship_at(merchant, f"SBXDELIVERED{n}", order_id=f"ORDER-{n}")
    # when: two rounds at the same moment (a second worker, or the schedule firing again)
    first = _poll_at(T0 + STEP)
    second = _poll_at(T0 + STEP)
    # then
    assert (first.claimed, second.claimed) == (5, 0)


def test_a_claimed_shipment_whose_worker_died_is_due_again_after_the_lease(merchant):
    # given: a worker claimed it (the lease moved next_check_at) and died before answering
    shipment = _ship_at(merchant, "SBXDELIVERED1")
    Shipment.objects.filter(pk=shipment.pk).update(next_check_at=T0 + timedelta(minutes=10))
    # when / then
    assert _poll_at(T0 + timedelta(minutes=5)).claimed == 0
    assert _poll_at(T0 + timedelta(minutes=11)).claimed == 1


def test_the_exception_scenario_ends_in_exception_and_notifies_once(merchant):
    # given
    shipment = _ship_at(merchant, "SBXEXCEPTION1")  # exception emails are chosen by default
    # when
    _poll_at(T0 + 8 * STEP)
    _poll_at(T0 + 12 * STEP)
    # then
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("exception", "address_issue")
    assert Order.objects.get(order_id="1001").status == "exception"
    emails = Notification.objects.filter(channel="email", shipment=shipment)
    assert list(emails.values_list("trigger", flat=True)) == ["exception"]


def test_a_lost_package_becomes_delayed_once_after_72_hours_without_a_scan(merchant):
    # given: the LOST scenario goes silent after its fourth step
    shipment = _ship_at(merchant, "SBXLOST1")
    _poll_at(T0 + 5 * STEP)
    Shipment.objects.filter(pk=shipment.pk).update(estimated_delivery_date=None)
    # when
    early = shipments_flag_delayed(now=T0 + timedelta(hours=70))
    late = shipments_flag_delayed(now=T0 + timedelta(hours=80))
    again = shipments_flag_delayed(now=T0 + timedelta(hours=90))
    # then
    assert (early, late, again) == (0, 1, 0)
    assert Shipment.objects.get(pk=shipment.pk).is_delayed is True


def test_a_shipment_past_its_estimated_day_becomes_delayed(merchant):
    shipment = _ship_at(merchant, "SBXLOST2")
    Shipment.objects.filter(pk=shipment.pk).update(
        estimated_delivery_date=T0.date(), status="in_transit", last_event_at=T0
    )
    # the estimated day ends at midnight (merchant's zone, UTC here), then 6 h of grace
    assert shipments_flag_delayed(now=T0 + timedelta(hours=17)) == 0
    assert shipments_flag_delayed(now=T0 + timedelta(hours=19)) == 1


def test_no_news_for_thirty_days_expires_tracking(merchant):
    shipment = _ship_at(merchant, "SBXLOST3")
    _poll_at(T0 + 5 * STEP)
    _poll_at(T0 + timedelta(days=31))
    shipment.refresh_from_db()
    assert (shipment.status, shipment.next_check_at) == ("expired", None)


def test_a_carrier_without_credentials_is_not_tracked(merchant):
    with time_machine.travel(T0, tick=False):
        create_order(merchant, "1001")
        shipment = ship(merchant, "1001", "1Z5R89390357567127", ("MUG", 1), carrier="ups").instance
    Shipment.objects.filter(pk=shipment.pk).update(next_check_at=T0)
    report = _poll_at(T0)
    shipment.refresh_from_db()
    assert report.not_tracked == 1 and shipment.next_check_at is None


UPS_BASE = "https://ups.example.test"


@pytest.fixture
def ups_account(merchant, fake_dns):
    # The account's own base URL goes through the SSRF guard: its name resolves (a fake resolver,
    # the process boundary) to a public address.
    fake_dns()
    return CarrierAccount.objects.create(
        merchant=merchant, carrier="ups", client_id="id", secret="s", base_url=UPS_BASE,
        requests_per_minute=2,
    )  # fmt: skip


def _ups_shipments(merchant, count: int):
    with time_machine.travel(T0, tick=False):
        create_order(merchant, "1001", line_items=_items(count))
        numbers = [f"1ZUPS{n:012d}" for n in range(count)]
        for n, number in enumerate(numbers):
            ship(merchant, "1001", number, (f"SKU-{n}", 1), carrier="ups")
    return numbers


def _ups_answers_503():
    responses.post(
        f"{UPS_BASE}/security/v1/oauth/token", json={"access_token": "t", "expires_in": 3600}
    )
    responses.get(url=re.compile(f"{UPS_BASE}/api/track/.*"), status=503)


def _items(count: int):
    from orders.services import LineItemInput

    return [LineItemInput(f"SKU-{n}", f"Item {n}", 1) for n in range(count)]


@responses.activate
def test_a_carrier_that_is_down_backs_off_and_one_failure_never_stops_the_rest(
    merchant, ups_account
):
    # given: UPS answers 503 to everything
    _ups_shipments(merchant, 2)
    _ups_answers_503()
    # when
    report = _poll_at(T0 + timedelta(minutes=1))
    # then: both asked (the first failure did not stop the second), both backed off
    assert (report.claimed, report.failed) == (2, 2)
    for shipment in Shipment.objects.filter(carrier="ups"):
        assert shipment.consecutive_check_failures == 1
        assert "HTTP 503" in shipment.last_error
        assert T0 + timedelta(minutes=4) < shipment.next_check_at < T0 + timedelta(minutes=8)


@responses.activate
def test_the_poller_never_exceeds_an_accounts_rate(merchant, ups_account):
    # given: 5 due UPS shipments, an account allowed 2 requests a minute
    _ups_shipments(merchant, 5)
    _ups_answers_503()
    # when
    report = _poll_at(T0 + timedelta(seconds=30))
    # then
    track_calls = [c for c in responses.calls if "/api/track/" in c.request.url]
    assert len(track_calls) == 2 and report.deferred == 3


@responses.activate
def test_a_call_in_a_minutes_last_seconds_is_made_and_spends_both_minutes(merchant, ups_account):
    # given: 5 due UPS shipments, 2 requests a minute, polled 1 s before the minute ends
    _ups_shipments(merchant, 5)
    _ups_answers_503()
    first = _poll_at(T0 + timedelta(seconds=59))
    # when: all due again just after the minute turns
    Shipment.objects.update(next_check_at=T0)
    second = _poll_at(T0 + timedelta(seconds=60.5))
    # then: the calls were made, not held back, and UPS, whichever minute it counted them in,
    # received no more than 2 in either
    track_calls = [c for c in responses.calls if "/api/track/" in c.request.url]
    assert (first.failed, first.deferred) == (2, 3)
    assert (second.failed, second.deferred) == (0, 5)
    assert len(track_calls) == 2


def test_poll_carriers_once_reports_the_round(merchant, capsys):
    _ship_at(merchant, "SBXDELIVERED1")
    with time_machine.travel(T0 + STEP, tick=False):
        call_command("poll_carriers", "--once")
    assert "claimed 1, refreshed 1, failed 0" in capsys.readouterr().out
