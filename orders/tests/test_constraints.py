"""The database itself refuses what would corrupt an order, whatever the code above it does."""

import pytest
from django.db import IntegrityError, transaction

from orders.models import LineItem, Order, ReturnItem, ReturnRequest, Shipment, ShipmentItem
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


def _returned_mug(merchant):
    """1 of 2 mugs shipped, delivered and asked back."""
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    mug = order.line_items.get(item_id="MUG")
    LineItem.objects.filter(pk=mug.pk).update(quantity_return_requested=1)
    return mug


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"quantity_return_requested": 2}, "more asked back than shipped"),
        ({"quantity_returned": 2}, "more returned than asked back"),
        ({"quantity_return_requested": 0, "quantity_returned": 1}, "returned, never asked back"),
        ({"quantity_return_requested": -1}, "negative"),
        ({"quantity_returned": -1}, "negative returned"),
    ],
)
def test_database_refuses_return_quantities_that_do_not_add_up(merchant, change, name):
    # given
    mug = _returned_mug(merchant)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        LineItem.objects.filter(pk=mug.pk).update(**change)
    mug.refresh_from_db()
    assert (mug.quantity_return_requested, mug.quantity_returned) == (1, 0)


def test_database_refuses_a_return_shipment_counted_in_an_order(merchant):
    # given
    order = create_order(merchant, "1001")
    shipment = Shipment.objects.create(
        merchant=merchant, carrier="sandbox", tracking_number="SBXDELIVERED9", direction="return"
    )
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(order=order)


def test_database_refuses_the_same_line_item_twice_in_a_return(merchant):
    # given
    mug = _returned_mug(merchant)
    request = ReturnRequest.objects.create(merchant=merchant, order=mug.order)
    ReturnItem.objects.create(return_request=request, line_item=mug, quantity=1)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnItem.objects.create(return_request=request, line_item=mug, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnItem.objects.filter(return_request=request).update(quantity=0)
