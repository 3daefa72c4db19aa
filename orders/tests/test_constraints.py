"""The database itself refuses what would corrupt an order, whatever the code above it does."""

import pytest
from django.db import IntegrityError, transaction

from orders.models import LineItem, Order, Shipment, ShipmentItem
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db


def test_database_refuses_a_duplicate_order_for_the_same_merchant(merchant):
    # given
    Order.objects.create(merchant=merchant, order_id="1001")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(merchant=merchant, order_id="1001")
    assert Order.objects.filter(merchant=merchant, order_id="1001").count() == 1


def test_the_same_order_id_is_fine_for_another_merchant(merchant, other_merchant):
    # given
    Order.objects.create(merchant=merchant, order_id="1001")
    # when
    Order.objects.create(merchant=other_merchant, order_id="1001")
    # then
    assert Order.objects.filter(order_id="1001").count() == 2


def test_database_refuses_a_duplicate_shipment(merchant):
    # given
    order = Order.objects.create(merchant=merchant, order_id="1001")
    lookup = {"merchant": merchant, "carrier": "ups", "tracking_number": "1Z5R89390357567127"}
    Shipment.objects.create(order=order, **lookup)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Shipment.objects.create(order=order, **lookup)
    assert Shipment.objects.filter(**lookup).count() == 1


@pytest.mark.parametrize(
    "field", ["quantity_ordered", "quantity_shipped", "quantity_cancelled", "quantity_backordered"]
)
def test_database_refuses_a_negative_quantity(merchant, field):
    # given
    order = Order.objects.create(merchant=merchant, order_id="1001")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        LineItem.objects.create(
            order=order, item_id="MUG", name="Mug", **{"quantity_ordered": 1, field: -1}
        )
    assert not LineItem.objects.exists()


def test_database_refuses_shipping_more_than_ordered(merchant):
    # given
    order = create_order(merchant, "1001")
    mug = order.line_items.get(item_id="MUG")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        LineItem.objects.filter(pk=mug.pk).update(quantity_shipped=3)
    mug.refresh_from_db()
    assert mug.quantity_shipped == 0


def test_database_refuses_a_backorder_larger_than_what_awaits_shipment(merchant):
    # given
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    mug = order.line_items.get(item_id="MUG")
    # when / then: 2 ordered, 1 shipped, so at most 1 can be backordered
    with pytest.raises(IntegrityError), transaction.atomic():
        LineItem.objects.filter(pk=mug.pk).update(quantity_backordered=2)


def test_database_refuses_a_zero_quantity_in_a_shipment(merchant):
    # given
    create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1)).instance
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        ShipmentItem.objects.filter(shipment=shipment).update(quantity=0)


def test_database_refuses_a_negative_order_value(merchant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(merchant=merchant, order_id="1001", order_value=-1)
