"""A poll round recorded while other writers touch the same shipments and orders (PostgreSQL row
locks): no deadlock, each scan stored once, the newest status kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carriers.base import TrackingResult
from carriers.events import CarrierEvent
from orders.models import Order, Shipment
from orders.services import LineItemInput
from orders.tests.factories import create_order, ship
from tests.concurrency import requires_postgresql, run_at_once
from tracking.models import TrackingEvent
from tracking.recording import shipments_record_results
from tracking.services import shipment_apply_events

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def _scan(hours_ago: float, status: str = "in_transit", text: str = "Arrived at facility"):
    return CarrierEvent(
        occurred_at=timezone.now() - timedelta(hours=hours_ago), status=status,
        status_detail=status, event_type="TRANSIT", description=text,
    )  # fmt: skip


def _packages(merchant) -> list[Shipment]:
    """Two orders of three packages each, on UPS (polled, not the sandbox's own clock)."""
    shipments = []
    for order_id in ("1001", "1002"):
        items = [LineItemInput(f"SKU-{n}", f"Item {n}", 2) for n in range(3)]
        create_order(merchant, order_id, line_items=items)
        for n in range(3):
            number = f"1ZRACE{order_id}{n:08d}"
            shipments.append(
                ship(merchant, order_id, number, (f"SKU-{n}", 1), carrier="ups").instance
            )
    return shipments


@pytest.mark.parametrize("attempt", range(3))
def test_a_round_and_a_merchants_report_on_one_of_its_shipments_store_each_scan_once(
    merchant, attempt
):
    # given: six shipments answered in transit; the merchant reports one of them out for delivery
    shipments = _packages(merchant)
    first, second = _scan(3), _scan(2, text="Departed from facility")
    out = _scan(1, "out_for_delivery", "Out for delivery")
    results = [(s.pk, TrackingResult(s.tracking_number, events=(first, second))) for s in shipments]
    reported = shipments[4]
    actions = iter([
        lambda: shipments_record_results(results=results, now=timezone.now()),
        lambda: shipment_apply_events(
            shipment_id=reported.pk, events=[second, out], source="merchant"
        ),
    ])  # fmt: skip
    # when: both at the same moment
    outcome = run_at_once(2, lambda: next(actions)())
    # then: neither failed; every scan stored once, the newest status kept
    assert not [result for result in outcome if isinstance(result, Exception)]
    assert TrackingEvent.objects.count() == 6 * 2 + 1
    statuses = dict(Shipment.objects.values_list("pk", "status"))
    assert statuses.pop(reported.pk) == "out_for_delivery"
    assert set(statuses.values()) == {"in_transit"}


@pytest.mark.parametrize("attempt", range(3))
def test_a_round_and_an_oms_shipment_on_the_same_order_at_once_do_not_deadlock(merchant, attempt):
    # given: six shipments answered in transit; the OMS confirms a new package of order 1001
    shipments = _packages(merchant)
    scans = (_scan(3), _scan(2, text="Departed from facility"))
    results = [(s.pk, TrackingResult(s.tracking_number, events=scans)) for s in shipments]
    actions = iter([
        lambda: shipments_record_results(results=results, now=timezone.now()),
        lambda: ship(merchant, "1001", "1ZRACENEW00000001", ("SKU-0", 1), carrier="ups"),
    ])  # fmt: skip
    # when: both at the same moment (the ledger locks the order, then its shipments)
    outcome = run_at_once(2, lambda: next(actions)())
    # then
    assert not [result for result in outcome if isinstance(result, Exception)]
    assert Shipment.objects.filter(order__order_id="1001").count() == 4
    assert TrackingEvent.objects.count() == 12
    assert Order.objects.get(order_id="1001").status == "partially_shipped"
