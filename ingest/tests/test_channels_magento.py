"""Pulling a Magento 2 store (ingest/channels/magento_pull.py) against a fake of its REST API
(magento_store.py): orders and their shipments created once, the cursor saved page by page,
failures recorded on the connection, another merchant's connection untouched."""

import json
import time

import pytest
import responses

from flextracker.errors import ApiError
from inbound.models import InboundMessage
from ingest.channels.core import channel_deliver
from ingest.channels.magento import map_magento
from ingest.channels.magento_pull import magento_pull
from ingest.channels.pulls import platform_connection_pull
from ingest.tests.magento_store import TOKEN, FakeMagento, magento_order, magento_shipment
from orders.models import Order, Shipment
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

LATER = time.monotonic() + 3600  # a deadline that is never reached


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


@pytest.fixture
def connection(merchant):
    return PlatformConnection.objects.create(
        merchant=merchant, name="Fred's Magento", kind="magento",
        base_url="https://shop.example.com/", secret=TOKEN, page_size=2, max_pages=20,
    )  # fmt: skip


def _store_with_three_orders() -> FakeMagento:
    """Three orders, the second and third updated in the same second (across the boundary of
    two-order pages); the first shipped in two packages, the third in one."""
    first = magento_order(9, "000000013", "2026-11-21 10:00:00")
    second = magento_order(12, "000000015", "2026-11-21 11:30:00")
    third = magento_order(14, "000000016", "2026-11-21 11:30:00")
    store = FakeMagento(orders=[third, first, second], shipments=[
        magento_shipment(3, first, [("1Z5R89390357567127", "ups", "United Parcel Service")],
                         [(91, 1), (92, 1), (93, 1)]),
        magento_shipment(4, first, [("SBXDELIVERED11", "custom", "Sandbox")], [(93, 1)]),
        magento_shipment(5, third, [("SBXDELIVERED12", "custom", "Sandbox")], [(141, 1)]),
    ])  # fmt: skip
    return store.install()


def _shipments(merchant) -> list[tuple[str, str, str, list]]:
    return [
        (s.order.order_id, s.tracking_number, s.carrier,
         sorted((i.line_item.item_id, i.quantity) for i in s.items.all()))
        for s in Shipment.objects.filter(merchant=merchant).order_by("tracking_number")
    ]  # fmt: skip


@responses.activate
def test_a_pull_of_two_pages_creates_the_orders_and_their_shipments(merchant, connection):
    # given
    store = _store_with_three_orders()
    # when
    delivered = magento_pull(connection, LATER)
    # then: every order under its number, each shipment once, one shipments call per page
    assert delivered == 3
    assert store.calls == ["GET orders", "GET shipments", "GET orders", "GET shipments"]
    orders = Order.objects.filter(merchant=merchant).order_by("order_id")
    assert [o.order_id for o in orders] == ["000000013", "000000015", "000000016"]
    order = orders[0]
    assert (order.customer_name, order.customer_email, order.customer_phone) == (
        "Jane Doe", "jane@example.com", "+15125550100")  # fmt: skip
    assert (
        order.street1,
        order.street2,
        order.city,
        order.state,
        order.postal_code,
        order.country_code,
    ) == ("1 Main St", "Suite 5", "Austin", "TX", "78701", "US")
    assert order.attributes["platformOrder"] == {"connection": str(connection.public_id), "id": "9"}
    items = order.line_items.order_by("item_id")
    assert [(i.item_id, i.name, i.quantity_ordered) for i in items] == [
        ("91", "Trail Hoodie", 1),
        ("93", "Blue Mug", 2),
    ]  # the configurable's child left out
    assert _shipments(merchant) == [
        ("000000013", "1Z5R89390357567127", "ups", [("91", 1), ("93", 1)]),
        ("000000013", "SBXDELIVERED11", "sandbox", [("93", 1)]),
        ("000000016", "SBXDELIVERED12", "sandbox", [("141", 1)]),
    ]
    connection.refresh_from_db()
    assert connection.pull_cursor == "2026-11-21 11:30:00|14"


@responses.activate
def test_a_second_pull_duplicates_nothing_and_logs_nothing(merchant, connection):
    # given
    store = _store_with_three_orders()
    magento_pull(connection, LATER)
    logged = InboundMessage.objects.filter(merchant=merchant).count()
    store.calls.clear()
    # when
    delivered = magento_pull(connection, LATER)
    # then
    assert (delivered, store.calls) == (0, ["GET orders"])
    assert InboundMessage.objects.filter(merchant=merchant).count() == logged == 3
    assert Order.objects.filter(merchant=merchant).count() == 3
    assert Shipment.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_an_order_read_again_from_an_old_cursor_is_not_logged_again(merchant, connection):
    # given: a pull that delivered its page but died before saving its cursor
    store = _store_with_three_orders()
    magento_pull(connection, LATER)
    connection.pull_cursor = ""
    connection.save()
    # when
    delivered = magento_pull(connection, LATER)
    # then
    assert delivered == 0
    assert InboundMessage.objects.filter(merchant=merchant).count() == 3
    assert Shipment.objects.filter(merchant=merchant).count() == len(store.shipments)


@responses.activate
def test_an_order_updated_in_magento_is_read_again_and_updates_ours(merchant, connection):
    # given
    store = _store_with_three_orders()
    magento_pull(connection, LATER)
    # when: the second order is canceled
    second = store.orders[2]
    second.update(state="canceled", status="canceled", updated_at="2026-11-22 09:00:00")
    delivered = magento_pull(connection, LATER)
    # then
    assert delivered == 1
    assert Order.objects.get(merchant=merchant, order_id="000000015").status == "cancelled"
    connection.refresh_from_db()
    assert connection.pull_cursor == "2026-11-22 09:00:00|12"


@responses.activate
def test_a_mass_action_of_more_orders_in_one_second_than_a_pull_reads_is_read_in_full(
    merchant, connection
):
    # given: five orders updated in the same second, one page of two per pull
    FakeMagento(orders=[
        magento_order(n, f"00000010{n}", "2026-11-23 08:00:00") for n in range(1, 6)
    ]).install()  # fmt: skip
    connection.max_pages = 1
    connection.save()
    # when
    pulled = [magento_pull(connection, LATER) for _ in range(4)]
    # then
    assert pulled == [2, 2, 1, 0]
    assert Order.objects.filter(merchant=merchant).count() == 5


@responses.activate
def test_a_store_answering_the_same_page_again_does_not_loop(merchant, connection):
    # given: a store whose extension drops the filters: every call answers the first page
    store = _store_with_three_orders()
    store.ignores_filters = True
    # when
    delivered = magento_pull(connection, LATER)
    # then: the page that brought nothing past the cursor ended the pull
    assert delivered == 2
    assert store.calls == ["GET orders", "GET shipments", "GET orders"]
    assert InboundMessage.objects.filter(merchant=merchant).count() == 2


@responses.activate
def test_a_pull_cut_by_its_deadline_goes_on_where_it_stopped(merchant, connection):
    # given: the first page's shipments take longer than the round has left
    store = _store_with_three_orders()
    store.shipments_take = 0.3
    # when
    first = magento_pull(connection, time.monotonic() + 0.2)
    connection.refresh_from_db()
    cursor_after_first = connection.pull_cursor
    second = magento_pull(connection, LATER)
    # then
    assert (first, cursor_after_first) == (2, "2026-11-21 11:30:00|12")
    assert second == 1
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_a_store_down_is_recorded_on_the_connection_and_the_next_pull_goes_on(merchant, connection):
    # given
    store = _store_with_three_orders()
    store.down = 503
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert (connection.consecutive_failures, connection.pull_cursor) == (1, "")
    assert connection.last_error == "Magento answered 503 to orders."
    assert Order.objects.filter(merchant=merchant).count() == 0
    # when: it is back
    store.down = None
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.consecutive_failures == 0 and connection.last_sync_at is not None
    assert Order.objects.filter(merchant=merchant).count() == 3


@responses.activate
def test_a_refused_token_is_recorded_without_showing_it(merchant, connection):
    # given
    _store_with_three_orders()
    connection.secret = "a-revoked-token-9876"
    connection.save()
    # when
    platform_connection_pull(connection, deadline=LATER)
    # then
    connection.refresh_from_db()
    assert connection.last_error == "Magento answered 401 to orders: the access token was refused."
    assert "9876" not in connection.last_error


@responses.activate
def test_another_merchants_connection_is_untouched(merchant, other_merchant, connection):
    # given: the other merchant's store, on another host
    _store_with_three_orders()
    theirs = FakeMagento(
        base_url="https://other-shop.example.com",
        orders=[magento_order(7, "100000001", "2026-11-21 09:00:00")],
    ).install()
    other = PlatformConnection.objects.create(
        merchant=other_merchant, name="Other Magento", kind="magento",
        base_url="https://other-shop.example.com", secret=TOKEN, pull_cursor="",
    )  # fmt: skip
    # when
    magento_pull(connection, LATER)
    # then
    other.refresh_from_db()
    assert (theirs.calls, other.pull_cursor) == ([], "")
    assert Order.objects.filter(merchant=other_merchant).count() == 0
    assert set(Order.objects.values_list("merchant_id", flat=True)) == {merchant.pk}


def test_a_record_naming_another_merchants_connection_is_refused(merchant, other_merchant):
    # given: a record routed to the other merchant's connection, replayed as this merchant's
    other = PlatformConnection.objects.create(
        merchant=other_merchant, name="Other Magento", kind="magento",
        base_url="https://other-shop.example.com", secret=TOKEN,
    )  # fmt: skip
    body = b'{"order": {"entity_id": 7, "increment_id": "100000001"}, "shipments": []}'
    # when
    failure = channel_deliver(merchant=merchant, channel="platform", route=f"magento:{other.pk}",
                              body=body)  # fmt: skip
    # then
    assert failure.error.code == "UNKNOWN_ROUTE"
    assert Order.objects.count() == 0


def _mapped(connection, order: dict, shipments: list[dict]) -> list[dict]:
    body = json.dumps({"order": order, "shipments": shipments}).encode()
    return map_magento(connection.merchant, str(connection.pk), body)


def test_a_shipment_of_two_tracks_deals_its_units_over_them(connection):
    # given: a guest's order (no customer name) shipped in two boxes
    order = magento_order(9, "000000013", "2026-11-21 10:00:00")
    order.update(customer_firstname=None, customer_lastname=None)
    order["items"][2]["qty_ordered"] = "2.0000"  # Magento's decimals, as some stores send them
    shipment = magento_shipment(
        3, order, [("1Z5R89390357567127", "ups", "UPS"), ("7023210039414604", "custom",
                   "Canada Post")], [(91, 1), (93, 2)],
    )  # fmt: skip
    # when
    created, first, second = _mapped(connection, order, [shipment])
    # then
    assert created["data"]["customer"]["name"] == "Jane Doe"  # the shipping address's
    assert [i["quantity"] for i in created["data"]["lineItems"]] == [1, 2]
    assert [(e["eventId"], e["data"]["carrier"], e["data"]["items"]) for e in (first, second)] == [
        ("magento-shipment-3-1Z5R89390357567127-of-2", "ups",
         [{"itemId": "91", "quantity": 1}, {"itemId": "93", "quantity": 1}]),
        ("magento-shipment-3-7023210039414604-of-2", "canada_post",
         [{"itemId": "93", "quantity": 1}]),
    ]  # fmt: skip
    assert first["data"]["shippedAt"] == "2026-11-21T10:00:00Z"


def test_an_order_of_virtual_items_only_is_rejected_with_its_reason(connection):
    # given
    order = magento_order(9, "000000013", "2026-11-21 10:00:00")
    for item in order["items"]:
        item.update(product_type="virtual", is_virtual=1, parent_item_id=None)
    # when
    with pytest.raises(ApiError) as raised:
        _mapped(connection, order, [])
    # then
    assert (raised.value.code, str(raised.value)) == (
        "INVALID_MAGENTO_DATA",
        "Magento order 000000013 has no item that ships; nothing to track.",
    )
