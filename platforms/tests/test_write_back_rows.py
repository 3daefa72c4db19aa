"""Which status changes are written back to a merchant's store: one outbox row per change the
connection writes back, for orders that came from it, never through another merchant's."""

from datetime import UTC, datetime

import pytest

from carriers.events import CarrierEvent
from notifications.models import Notification
from orders.tests.factories import create_order, ship
from platforms.models import PlatformConnection
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db


def _connection(merchant, **overrides) -> PlatformConnection:
    values = {
        "name": "Woo", "kind": "woocommerce", "base_url": "https://shop.example",
        "username": "ck_1", "secret": "cs_1", "write_back_statuses": ["in_transit"],
    }  # fmt: skip
    return PlatformConnection.objects.create(merchant=merchant, **{**values, **overrides})


def _order_from(connection, merchant, order_id="2109", **overrides):
    link = {"connection": str(connection.public_id), "id": "35404"}
    return create_order(merchant, order_id, attributes={"platformOrder": link}, **overrides)


def _move(shipment, status: str, hour: int) -> None:
    event = CarrierEvent(datetime(2026, 12, 1, hour, tzinfo=UTC), status, "", "test", "moved")
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="carrier")


def _written():
    return list(
        Notification.objects.filter(channel="platform")
        .order_by("created_at", "pk")
        .values_list("recipient", "trigger", "payload__writeNote", "payload__completeOrder")
    )


def test_a_chosen_status_of_an_order_from_the_store_is_written_back_once(merchant):
    # given
    connection = _connection(merchant)
    _order_from(connection, merchant)
    shipment = ship(merchant, "2109", "SBX1", ("MUG", 2), ("TOWEL", 1)).instance
    # when
    _move(shipment, "in_transit", 1)
    _move(shipment, "out_for_delivery", 2)  # not chosen
    _move(shipment, "in_transit", 1)  # the same event again
    # then
    assert _written() == [(str(connection.public_id), "in_transit", True, False)]
    row = Notification.objects.get(channel="platform")
    assert row.payload["platformOrder"] == {"connection": str(connection.public_id), "id": "35404"}
    assert row.payload["tracking"]["trackingNumber"] == "SBX1"


def test_the_order_is_completed_when_its_last_package_is_delivered(merchant):
    # given
    connection = _connection(merchant, write_back_statuses=[], complete_on_delivery=True)
    _order_from(connection, merchant)
    first = ship(merchant, "2109", "SBX1", ("MUG", 2)).instance
    second = ship(merchant, "2109", "SBX2", ("TOWEL", 1)).instance
    # when
    _move(first, "delivered", 1)
    _move(second, "delivered", 2)
    # then: nothing for the first package alone
    assert _written() == [(str(connection.public_id), "delivered", False, True)]


def test_orders_not_from_a_store_and_switched_off_connections_write_nothing(merchant):
    # given
    connection = _connection(merchant)
    create_order(merchant, "1001")
    _order_from(_connection(merchant, name="Off", is_active=False), merchant, "1002")
    plain = ship(merchant, "1001", "SBX1", ("MUG", 1)).instance
    off = ship(merchant, "1002", "SBX2", ("MUG", 1)).instance
    # when
    _move(plain, "in_transit", 1)
    _move(off, "in_transit", 1)
    # then
    assert _written() == []
    assert connection.consecutive_failures == 0


def test_an_order_naming_another_merchants_connection_writes_nothing(merchant, other_merchant):
    # given: the attribute is the merchant's to write, so it may name anything
    theirs = _connection(other_merchant)
    _order_from(theirs, merchant)
    shipment = ship(merchant, "2109", "SBX1", ("MUG", 1)).instance
    # when
    _move(shipment, "in_transit", 1)
    # then
    assert _written() == []
