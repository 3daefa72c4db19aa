import pytest

from flextracker.errors import InvalidData, NotFound
from orders.models import LineItem, Order, Shipment
from orders.services import (
    ItemQuantity,
    LineItemInput,
    items_backorder,
    order_cancel,
    order_create_or_update,
    order_status_derive,
)
from orders.tests.factories import create_order, order_input, ship
from tests.concurrency import requires_postgresql, run_at_once

pytestmark = pytest.mark.django_db


def _quantities(order: Order) -> dict[str, tuple[int, int, int, int]]:
    return {
        item.item_id: (
            item.quantity_ordered,
            item.quantity_shipped,
            item.quantity_cancelled,
            item.quantity_backordered,
        )
        for item in LineItem.objects.filter(order=order)
    }


def test_posting_the_same_order_again_updates_it_in_place(merchant):
    # given
    create_order(merchant, "1001")
    # when
    outcome = order_create_or_update(
        merchant=merchant, data=order_input("1001", customer_name="Janet Doe")
    )
    # then
    assert outcome.created is False
    assert Order.objects.filter(merchant=merchant).count() == 1
    order = Order.objects.get(merchant=merchant, order_id="1001")
    assert (order.customer_name, order.customer_email) == ("Janet Doe", "jane@example.com")
    assert order.customer_phone_digits == "15125550100"


def test_split_shipments_move_quantities_and_order_status(merchant):
    # given
    order = create_order(merchant, "1001")
    # when
    first = ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    # then
    order.refresh_from_db()
    assert first.created is True
    assert order.status == "partially_shipped"
    assert _quantities(order) == {"MUG": (2, 1, 0, 0), "TOWEL": (1, 0, 0, 0)}
    # when
    ship(merchant, "1001", "SBXDELIVERED0002", ("MUG", 1), ("TOWEL", 1))
    # then
    order.refresh_from_db()
    assert order.status == "shipped"
    assert _quantities(order) == {"MUG": (2, 2, 0, 0), "TOWEL": (1, 1, 0, 0)}
    assert order.shipments.count() == 2


def test_the_same_tracking_number_again_updates_the_shipment_without_double_counting(merchant):
    # given
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    # when
    again = ship(merchant, "1001", "sbx delivered 0001", ("MUG", 2), service="Ground")
    # then
    assert again.created is False
    assert Shipment.objects.get().service == "Ground"
    assert _quantities(order)["MUG"] == (2, 2, 0, 0)


def test_shipping_more_than_ordered_is_refused_with_the_field_named(merchant):
    # given
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    # when
    with pytest.raises(InvalidData) as error:
        ship(merchant, "1001", "SBXDELIVERED0002", ("TOWEL", 1), ("MUG", 2))
    # then
    assert error.value.code == "INVALID_SHIPMENT_DATA"
    assert error.value.fields == {
        "items[1].quantity": [
            "Only 1 of MUG can be in this shipment (ordered 2, shipped 1, cancelled 0)."
        ]
    }
    assert _quantities(order) == {"MUG": (2, 1, 0, 0), "TOWEL": (1, 0, 0, 0)}
    assert Shipment.objects.count() == 1


def test_shipping_an_item_the_order_does_not_have_is_refused(merchant):
    create_order(merchant, "1001")
    with pytest.raises(InvalidData) as error:
        ship(merchant, "1001", "SBXDELIVERED0001", ("LAMP", 1))
    assert error.value.fields == {"items[0].itemId": ["Item LAMP is not in this order."]}


def test_a_shipment_before_its_order_makes_a_placeholder_the_order_then_fills(merchant):
    # when
    outcome = ship(merchant, "2002", "SBXDELIVERED0001", ("MUG", 1))
    # then
    assert [w["code"] for w in outcome.warnings] == ["ORDER_NOT_YET_RECEIVED"]
    placeholder = Order.objects.get(merchant=merchant, order_id="2002")
    assert placeholder.is_placeholder is True
    # when the order itself arrives
    filled = order_create_or_update(merchant=merchant, data=order_input("2002")).instance
    # then
    assert filled.pk == placeholder.pk and filled.is_placeholder is False
    assert _quantities(filled) == {"MUG": (2, 1, 0, 0), "TOWEL": (1, 0, 0, 0)}
    assert filled.status == "partially_shipped"


def test_an_order_cannot_drop_below_what_was_shipped(merchant):
    # given
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 2))
    # when
    with pytest.raises(InvalidData) as error:
        order_create_or_update(
            merchant=merchant,
            data=order_input("1001", line_items=[LineItemInput("MUG", "Blue mug", 1)]),
        )
    # then
    assert error.value.fields == {
        "lineItems[0].quantity": ["2 of this item were already shipped or cancelled."]
    }


def test_cancelling_the_whole_order_cancels_what_has_not_shipped(merchant):
    # given
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    # when
    order_cancel(merchant=merchant, order_id="1001", items=None, reason="customer request")
    # then
    order.refresh_from_db()
    assert _quantities(order) == {"MUG": (2, 1, 1, 0), "TOWEL": (1, 0, 1, 0)}
    assert order.status == "shipped"  # what is left is the one shipped mug
    assert order.cancel_reason == "customer request"


def test_cancelling_everything_before_shipping_cancels_the_order(merchant):
    order = create_order(merchant, "1001")
    order_cancel(merchant=merchant, order_id="1001", items=None)
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_cancelling_more_than_awaits_shipment_is_refused(merchant):
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 2))
    with pytest.raises(InvalidData) as error:
        order_cancel(merchant=merchant, order_id="1001", items=[ItemQuantity("MUG", 1)])
    assert error.value.fields == {"items[0].quantity": ["Only 0 of MUG can be cancelled."]}


def test_backordered_units_await_shipment_and_shrink_when_shipped(merchant):
    # given
    order = create_order(merchant, "1001")
    # when
    items_backorder(merchant=merchant, order_id="1001", items=[ItemQuantity("MUG", 2)])
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    # then: one mug shipped, the other is still backordered
    assert _quantities(order)["MUG"] == (2, 1, 0, 1)


def test_backordering_an_unknown_order_is_not_found(merchant):
    with pytest.raises(NotFound):
        items_backorder(merchant=merchant, order_id="nope", items=[ItemQuantity("MUG", 1)])


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"ordered": 3, "cancelled": 0, "shipped": 0, "delivered": 0}, "received"),
        ({"ordered": 3, "cancelled": 0, "shipped": 1, "delivered": 0}, "partially_shipped"),
        ({"ordered": 3, "cancelled": 1, "shipped": 2, "delivered": 0}, "shipped"),
        ({"ordered": 3, "cancelled": 0, "shipped": 3, "delivered": 1}, "partially_delivered"),
        ({"ordered": 3, "cancelled": 1, "shipped": 2, "delivered": 2}, "delivered"),
        ({"ordered": 3, "cancelled": 3, "shipped": 0, "delivered": 0}, "cancelled"),
    ],
)
def test_order_status_follows_the_units(counts, expected):
    assert order_status_derive(**counts, has_exception=False) == expected


def test_an_exception_on_any_shipment_marks_the_order():
    assert (
        order_status_derive(ordered=2, cancelled=0, shipped=2, delivered=1, has_exception=True)
        == "exception"
    )


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_shipments_create_one_row_and_count_once(merchant):
    # given
    order = create_order(merchant, "1001")
    # when
    results = run_at_once(8, lambda: ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 2)))
    # then
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Shipment.objects.filter(merchant=merchant).count() == 1
    assert _quantities(order)["MUG"] == (2, 2, 0, 0)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_orders_create_one_order(merchant):
    results = run_at_once(8, lambda: create_order(merchant, "RACE-1"))
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Order.objects.filter(merchant=merchant, order_id="RACE-1").count() == 1
    assert LineItem.objects.filter(order__order_id="RACE-1").count() == 2
