"""A poll round's answers recorded together (tracking/recording.py): the same outcome as one
shipment at a time, in a number of statements that does not grow with the round, a carrier
failure or a vanished shipment costing no other shipment its answer, news stored once across
rounds, and the account's rate kept. The sandbox carrier at frozen times, and UPS with its HTTP
mocked at the requests layer (recorded payloads)."""

import dataclasses
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
import time_machine

from carriers.base import TrackingResult
from carriers.events import CarrierEvent
from notifications.models import Notification, WebhookEndpoint
from orders.models import Order, Shipment, Tracker
from orders.services import LineItemInput
from orders.tests.factories import create_order, ship
from tests.concurrency import requires_postgresql
from tracking.models import CarrierAccount, TrackingEvent
from tracking.polling import poll_due_shipments, poll_shipments
from tracking.recording import shipments_record_results

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)  # SANDBOX_MINUTES_PER_STEP in these tests
ROUNDS = (T0 + 3 * STEP, T0 + 8 * STEP, T0 + timedelta(days=31))
PACKAGES = {  # order id: its packages (number, item)
    "1001": [("SBXDELIVERED1", "MUG"), ("SBXEXCEPTION1", "TOWEL")],
    "1002": [("SBXRETURN1", "MUG"), ("SBXFAILED1", "TOWEL")],
    "1003": [("SBXLOST1", "MUG"), ("SBXPICKUP1", "TOWEL")],
}


@pytest.fixture(autouse=True)
def _sandbox_step(settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10


def _shop(merchant) -> None:
    """Orders of two packages each on the sandbox, a webhook subscription to every tracking
    event, a tracker's contact following one package, staff alerts (the merchant's default email
    rules)."""
    merchant.alert_emails = "ops@example.com"
    merchant.save()
    with time_machine.travel(T0, tick=False):
        for order_id, packages in PACKAGES.items():
            create_order(merchant, order_id)
            for number, item in packages:
                ship(merchant, order_id, number, (item, 1))
    WebhookEndpoint.objects.create(
        merchant=merchant, url="https://hooks.example.com/flex", secret="whsec_test",
        event_types=["tracking.updated", "tracking.delivered", "tracking.exception",
                     "tracking.returned", "tracking.available_for_pickup"],
    )  # fmt: skip
    Tracker.objects.create(
        merchant=merchant, external_id="MKT-1", tracking_number="SBXPICKUP1",
        shipment=Shipment.objects.get(merchant=merchant, tracking_number="SBXPICKUP1"),
        contact_name="Ana Ruiz", contact_email="ana@example.com",
    )  # fmt: skip


def _due(merchant, moment: datetime) -> list[Shipment]:
    return list(Shipment.objects.filter(merchant=merchant, next_check_at__lte=moment))


def _outcome(merchant) -> dict:
    """What a merchant, a customer or a webhook receiver would see, without ids and links."""
    shipments = Shipment.objects.filter(merchant=merchant).order_by("tracking_number")
    return {
        "shipments": {
            s.tracking_number: (
                s.status, s.status_detail, s.status_description, s.last_event_at, s.delivered_at,
                s.estimated_delivery_date, s.service, s.destination_city, s.last_checked_at,
                s.consecutive_check_failures, s.last_error, s.next_check_at is None,
            )
            for s in shipments
        },
        "events": sorted(
            TrackingEvent.objects.filter(shipment__merchant=merchant).values_list(
                "shipment__tracking_number", "occurred_at", "status", "status_detail",
                "description", "city", "source",
            )
        ),
        "orders": dict(Order.objects.filter(merchant=merchant).values_list("order_id", "status")),
        "notifications": sorted(
            (n.shipment.tracking_number, n.channel, n.recipient if n.channel != "webhook" else "",
             n.trigger, n.status, json.dumps(_shown(n.payload), sort_keys=True, default=str))
            for n in Notification.objects.filter(merchant=merchant).select_related("shipment")
        ),
    }  # fmt: skip


def _shown(payload: dict) -> dict:
    tracking = payload.get("tracking", {})
    return {
        "previousStatus": payload.get("previousStatus"),
        "status": payload.get("status"),
        "eventType": payload.get("eventType"),
        "package": payload.get("package"),
        "tracker": (payload.get("tracker") or {}).get("externalId"),
        "tracking": {
            key: tracking.get(key)
            for key in ("status", "statusDetail", "estimatedDelivery", "deliveredAt", "origin",
                        "destination", "orderId", "items", "service")
        },
        "events": [event["description"] for event in tracking.get("events", [])],
    }  # fmt: skip


def test_a_round_records_what_polling_one_shipment_at_a_time_records(merchant, other_merchant):
    # given: two merchants with the same orders, packages, subscription and tracker
    _shop(merchant)
    _shop(other_merchant)
    # when: three rounds (in transit; delivered or not; 31 days on); one merchant's shipments in
    # one set, the other's one at a time
    for moment in ROUNDS:
        with time_machine.travel(moment, tick=False):
            together = poll_shipments(_due(merchant, moment), now=moment)
            alone = [poll_shipments([s], now=moment) for s in _due(other_merchant, moment)]
        # then: each round refreshed as many
        assert together.refreshed == sum(report.refreshed for report in alone) > 0
    # then: the same events, statuses, orders and messages
    together, alone = _outcome(merchant), _outcome(other_merchant)
    assert together == alone
    assert together["shipments"]["SBXLOST1"][0] == "expired"
    assert {number: shown[0] for number, shown in together["shipments"].items()} == {
        "SBXDELIVERED1": "delivered", "SBXEXCEPTION1": "expired", "SBXFAILED1": "delivered",
        "SBXLOST1": "expired", "SBXPICKUP1": "delivered", "SBXRETURN1": "return_to_sender",
    }  # fmt: skip
    assert together["orders"] == {
        "1001": "partially_delivered", "1002": "exception", "1003": "partially_delivered"
    }  # fmt: skip
    told = {
        (number, channel, trigger)
        for number, channel, _to, trigger, *_ in together["notifications"]
    }
    assert told >= {
        ("SBXDELIVERED1", "email", "delivered"), ("SBXPICKUP1", "email", "delivered"),
        ("SBXEXCEPTION1", "staff_email", "exception"), ("SBXLOST1", "staff_email", "expired"),
        ("SBXRETURN1", "webhook", "tracking.returned"),
        ("SBXPICKUP1", "webhook", "tracking.delivered"),
    }  # fmt: skip
    to_tracker = {n[0] for n in together["notifications"] if n[2] == "ana@example.com"}
    assert to_tracker == {"SBXPICKUP1"}


def _orders_with_one_package(merchant, count: int) -> None:
    with time_machine.travel(T0, tick=False):
        for n in range(count):
            create_order(merchant, f"N-{n}")
            ship(merchant, f"N-{n}", f"SBXDELIVERED{n}", ("MUG", 1))
    WebhookEndpoint.objects.create(
        merchant=merchant, url="https://hooks.example.com/flex", secret="whsec_test",
        event_types=["tracking.updated", "tracking.delivered"],
    )  # fmt: skip


MAX_STATEMENTS = 36  # a round: claim, lock, events, shipments, orders, messages, the task


@pytest.mark.parametrize("count", [2, 40])
def test_the_statements_of_a_round_do_not_grow_with_its_shipments(
    merchant, count, django_assert_max_num_queries
):
    # given: `count` orders of one package each, all due, all to move to in transit
    _orders_with_one_package(merchant, count)
    # when
    with (
        time_machine.travel(T0 + 3 * STEP, tick=False),
        django_assert_max_num_queries(MAX_STATEMENTS),
    ):
        report = poll_due_shipments(now=T0 + 3 * STEP)
    # then: every shipment recorded, its status changed, its messages written
    assert (report.refreshed, len(report.status_changes)) == (count, count)
    assert TrackingEvent.objects.count() == 4 * count
    assert Notification.objects.filter(channel="webhook").count() == count


UPS_BASE = "https://ups.example.test"
UPS_NUMBER = "1Z1202R66698804005"  # the recorded payload's number
UPS_FIXTURES = Path(__file__).resolve().parents[2] / "carriers" / "tests" / "fixtures" / "ups"
T_UPS = datetime(2024, 3, 21, 12, 0, tzinfo=UTC)  # the day after the recorded payload's last scan


@pytest.fixture
def ups_account(merchant, fake_dns):
    # The account's own base URL goes through the SSRF guard: its name resolves (a fake resolver,
    # the process boundary) to a public address.
    fake_dns()
    return CarrierAccount.objects.create(
        merchant=merchant, carrier="ups", client_id="id", secret="s", base_url=UPS_BASE,
        requests_per_minute=100,
    )  # fmt: skip


def _ups_shipments(merchant, numbers: list[str]) -> None:
    items = [LineItemInput(f"SKU-{n}", f"Item {n}", 1) for n in range(len(numbers))]
    with time_machine.travel(T_UPS - timedelta(days=5), tick=False):
        create_order(merchant, "2001", line_items=items)
        for n, number in enumerate(numbers):
            ship(merchant, "2001", number, (f"SKU-{n}", 1), carrier="ups")


def _ups_answers(numbers: list[str], *, unavailable: tuple[str, ...] = ()) -> None:
    """UPS's in-transit payload for each number (the recorded one with the number in place), a
    503 for those `unavailable`."""
    responses.post(
        f"{UPS_BASE}/security/v1/oauth/token", json={"access_token": "t", "expires_in": 3600}
    )
    recorded = (UPS_FIXTURES / "in_transit.DERIVED.json").read_text()
    for number in numbers:
        url = f"{UPS_BASE}/api/track/v1/details/{number}"
        if number in unavailable:
            responses.get(url=re.compile(re.escape(url)), status=503)
        else:
            body = json.loads(recorded.replace(UPS_NUMBER, number))
            responses.get(url=re.compile(re.escape(url)), json=body)


def _poll_ups(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return poll_due_shipments(now=moment)


def _ups_track_calls() -> list:
    return [call for call in responses.calls if "/api/track/" in call.request.url]


@responses.activate
def test_a_carrier_failure_for_one_shipment_does_not_lose_the_others(merchant, ups_account):
    # given: three UPS shipments; UPS answers for two and is unavailable for the third
    numbers = ["1ZFLEX00000000001", "1ZFLEX00000000002", "1ZFLEX00000000003"]
    _ups_shipments(merchant, numbers)
    _ups_answers(numbers, unavailable=(numbers[1],))
    # when
    report = _poll_ups(T_UPS)
    # then: the two answers recorded in full, the third backed off with the carrier's reason
    assert (report.claimed, report.refreshed, report.failed) == (3, 2, 1)
    shipments = {s.tracking_number: s for s in Shipment.objects.filter(carrier="ups")}
    for number in (numbers[0], numbers[2]):
        assert shipments[number].status == "in_transit"
        assert TrackingEvent.objects.filter(shipment=shipments[number]).count() == 16
    failed = shipments[numbers[1]]
    assert (failed.status, failed.consecutive_check_failures) == ("unknown", 1)
    assert "HTTP 503" in failed.last_error
    assert T_UPS + timedelta(minutes=4) < failed.next_check_at < T_UPS + timedelta(minutes=7)
    assert not TrackingEvent.objects.filter(shipment=failed).exists()


@responses.activate
def test_news_seen_in_an_earlier_round_is_not_stored_or_told_again(merchant, ups_account):
    # given: two UPS shipments polled once
    numbers = ["1ZFLEX00000000001", "1ZFLEX00000000002"]
    _ups_shipments(merchant, numbers)
    _ups_answers(numbers)
    _poll_ups(T_UPS)
    events, messages = TrackingEvent.objects.count(), Notification.objects.count()
    # when: due again, UPS says the same
    Shipment.objects.update(next_check_at=T_UPS)
    report = _poll_ups(T_UPS + timedelta(hours=1))
    # then: checked, but nothing stored or told twice
    assert (report.refreshed, report.status_changes) == (2, [])
    assert (events, TrackingEvent.objects.count()) == (32, 32)
    assert Notification.objects.count() == messages
    assert set(Shipment.objects.values_list("last_checked_at", flat=True)) == {
        T_UPS + timedelta(hours=1)
    }


@responses.activate
def test_a_round_asks_no_more_than_the_accounts_rate_and_records_what_it_asked(
    merchant, ups_account
):
    # given: five due UPS shipments, an account allowed 2 requests a minute
    ups_account.requests_per_minute = 2
    ups_account.save()
    numbers = [f"1ZFLEX0000000000{n}" for n in range(5)]
    _ups_shipments(merchant, numbers)
    _ups_answers(numbers)
    # when
    report = _poll_ups(T_UPS + timedelta(seconds=20))
    # then: two calls, their answers recorded; the others put off to the next minute
    assert len(_ups_track_calls()) == 2
    assert (report.refreshed, report.deferred) == (2, 3)
    asked = Shipment.objects.filter(last_checked_at__isnull=False)
    assert asked.count() == 2 and set(asked.values_list("status", flat=True)) == {"in_transit"}
    put_off = Shipment.objects.filter(last_checked_at__isnull=True, carrier="ups")
    for shipment in put_off:
        assert T_UPS + timedelta(minutes=1) <= shipment.next_check_at
        assert shipment.next_check_at <= T_UPS + timedelta(minutes=1, seconds=50)


def test_a_shipment_deleted_while_its_carrier_was_asked_costs_the_others_nothing(merchant):
    # given: three shipments claimed for a round, then one of their orders deleted
    _orders_with_one_package(merchant, 3)
    moment = T0 + 3 * STEP
    claimed = _due(merchant, moment)
    Order.objects.filter(order_id="N-1").delete()
    # when
    with time_machine.travel(moment, tick=False):
        report = poll_shipments(claimed, now=moment)
    # then
    assert report.refreshed == 2
    assert set(Shipment.objects.values_list("tracking_number", "status")) == {
        ("SBXDELIVERED0", "in_transit"), ("SBXDELIVERED2", "in_transit"),
    }  # fmt: skip


def test_a_round_of_two_merchants_shipments_tells_each_merchant_of_its_own(
    merchant, other_merchant
):
    # given: both merchants' shops, due in the same round
    _shop(merchant)
    _shop(other_merchant)
    moment = ROUNDS[0]
    # when: one worker's round takes them all
    with time_machine.travel(moment, tick=False):
        report = poll_due_shipments(now=moment)
    # then: every message is the shipment's merchant's, to that merchant's own subscription
    assert report.refreshed == 12 and len(report.status_changes) == 12
    endpoints = dict(WebhookEndpoint.objects.values_list("public_id", "merchant_id"))
    for message in Notification.objects.select_related("shipment"):
        assert message.merchant_id == message.shipment.merchant_id
        if message.channel == "webhook":
            assert endpoints[message.recipient] == message.merchant_id
    per_merchant = Notification.objects.filter(channel="webhook").values_list("merchant_id")
    assert sorted(Counter(per_merchant).values()) == [6, 6]


@requires_postgresql
def test_a_shipment_whose_news_the_database_refuses_costs_the_others_nothing(merchant):
    # given: a round of three whose answers for one carry a status too long for its column
    _orders_with_one_package(merchant, 3)
    shipments = sorted(_due(merchant, T0), key=lambda s: s.tracking_number)
    scan = CarrierEvent(
        occurred_at=T0, status="in_transit", status_detail="in_transit", event_type="TRANSIT",
        description="Arrived at facility",
    )  # fmt: skip
    garbled = dataclasses.replace(scan, status="in_transit_" * 3)
    results = [
        (s.pk, TrackingResult(s.tracking_number, events=(garbled if n == 1 else scan,)))
        for n, s in enumerate(shipments)
    ]
    # when
    applied = shipments_record_results(results=results, now=T0 + STEP)
    # then: the two others recorded; the refused one untouched, to be asked again
    assert [one.shipment.tracking_number for one in applied] == ["SBXDELIVERED0", "SBXDELIVERED2"]
    statuses = dict(Shipment.objects.values_list("tracking_number", "status"))
    assert statuses == {
        "SBXDELIVERED0": "in_transit", "SBXDELIVERED1": "unknown", "SBXDELIVERED2": "in_transit"
    }  # fmt: skip
    assert not TrackingEvent.objects.filter(shipment__tracking_number="SBXDELIVERED1").exists()
