from datetime import UTC, datetime, timedelta

import pytest

from carriers.events import CarrierEvent, Location
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tracking.models import TrackingEvent
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _event(hours: float, status: str, detail: str, event_type: str = "TRANSIT", **kw):
    return CarrierEvent(
        occurred_at=T0 + timedelta(hours=hours), status=status, status_detail=detail,
        event_type=event_type, description=kw.pop("description", detail),
        location=Location(city="Dallas", state="TX", country="US"), raw_code=detail.upper(), **kw,
    )  # fmt: skip


@pytest.fixture
def shipment(merchant):
    create_order(merchant, "1001")
    return ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 2), ("TOWEL", 1)).instance


def test_the_newest_event_sets_the_status(shipment):
    # when
    applied = shipment_apply_events(
        shipment_id=shipment.pk,
        events=[
            _event(0, "pre_transit", "label_created", "LABEL"),
            _event(5, "in_transit", "arrived_at_facility"),
        ],
        source="poll",
    )
    # then
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("in_transit", "arrived_at_facility")
    assert shipment.last_event_at == T0 + timedelta(hours=5)
    assert shipment.last_update_source == "poll"
    assert len(applied.new_events) == 2 and applied.status_changed


def test_a_duplicate_event_is_a_no_op(shipment):
    events = [_event(1, "in_transit", "picked_up", "PICKUP")]
    shipment_apply_events(shipment_id=shipment.pk, events=events, source="poll")
    again = shipment_apply_events(shipment_id=shipment.pk, events=events, source="push")
    assert again.new_events == [] and not again.status_changed
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 1
    assert Shipment.objects.get(pk=shipment.pk).last_update_source == "poll"


def test_a_late_older_event_is_kept_but_never_moves_the_status_backwards(shipment):
    # given
    shipment_apply_events(
        shipment_id=shipment.pk, events=[_event(10, "out_for_delivery", "out_for_delivery")],
        source="poll",
    )  # fmt: skip
    # when: an earlier scan arrives afterwards
    late = shipment_apply_events(
        shipment_id=shipment.pk, events=[_event(3, "in_transit", "departed_facility")],
        source="push",
    )  # fmt: skip
    # then
    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert len(late.new_events) == 1 and not late.status_changed
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2


def test_delivery_marks_the_shipment_and_the_order_delivered(shipment, merchant):
    shipment_apply_events(
        shipment_id=shipment.pk,
        events=[_event(30, "delivered", "delivered", "DELIVERY", recipient="J DOE")],
        source="poll",
    )
    shipment.refresh_from_db()
    order = Order.objects.get(merchant=merchant, order_id="1001")
    assert shipment.delivered_at == T0 + timedelta(hours=30)
    assert order.status == "delivered"
