"""The set-based ingest path (issue 9): a batch of events must leave exactly what the same events
sent one at a time leave — orders, line items, shipments, their items, history rows, outbox rows
and each event's answer — in a number of queries that does not grow with the batch."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from notifications.services import webhook_endpoint_create
from orders.models import ItemBackorder, ItemCancellation, LineItem, Order, Shipment, ShipmentItem
from tests.concurrency import requires_postgresql

pytestmark = pytest.mark.django_db

# Different for two merchants by design: times, links, and the shipments' public ids.
TIMESTAMPS = {"createdAt", "updatedAt", "lastUpdated", "nextCheckAt", "trackingPage", "shipmentId"}


def _event(event_id: str, event_type: str, order_id: str, **data) -> dict:
    return {"eventId": event_id, "type": event_type, "data": {"orderId": order_id, **data}}


def _order(event_id: str, order_id: str, *items: tuple[str, int]) -> dict:
    line_items = [{"itemId": item, "name": f"Item {item}", "quantity": n} for item, n in items]
    customer = {"email": "Kim@Example.com", "phone": "+15125550100"}
    return _event(event_id, "order.created", order_id, lineItems=line_items, customer=customer)


def _shipment(event_id: str, order_id: str, number: str, *items: tuple[str, int], **extra):
    return _event(event_id, "shipment.confirmed", order_id, trackingNumber=number,
                  items=[{"itemId": item, "quantity": n} for item, n in items],
                  **{"carrier": "sandbox", **extra})  # fmt: skip


def _items(*items: tuple[str, int], **extra) -> list[dict]:
    return [{"itemId": item, "quantity": n, **extra} for item, n in items]


# Every rule, every kind of refusal, repeats, and orders changed several times in one batch.
EVENTS = [
    _order("e1", "A", ("MUG", 2), ("TOWEL", 1)),
    _shipment("e2", "A", "SBXDELIVERED0001", ("MUG", 1)),
    _shipment("e3", "C", "SBXDELIVERED0003", ("X", 1)),  # before its order: a placeholder
    _order("e4", "C", ("X", 2), ("Y", 2)),
    _shipment("e5", "A", "SBXDELIVERED0001", ("MUG", 2), ("TOWEL", 1)),  # the same box again
    _shipment("e6", "A", "SBXDELIVERED0002", ("MUG", 5)),  # more than awaits shipment
    _event("e7", "items.backordered", "C", items=_items(("Y", 1), expectedDate="2026-12-01")),
    _event("e8", "order.cancelled", "C", items=_items(("Y", 1)), reason="customer request"),
    _event("e9", "order.cancelled", "B", reason="fraud"),  # an unknown order: a placeholder
    _order("e1", "A", ("MUG", 9)),  # a repeated eventId: nothing changes
    "not an event",
    _event("e10", "items.backordered", "Z", items=_items(("Y", 1))),  # unknown order: 404
    _order("e11", "A", ("MUG", 2), ("CUP", 1)),  # TOWEL shipped: it stays; CUP is new
    _shipment("e12", "A", "SBXDELIVERED0001", ("MUG", 2)),  # TOWEL leaves the box
    _order("e13", "D", ("PEN", 3)),
    _event("e14", "order.cancelled", "D"),
    _order("e15", "D", ("PEN", 3), ("INK", 1)),  # an item added to a cancelled order
    _shipment("e16", "C", "SBXDELIVERED0001", ("X", 1)),  # A's tracking number
    _shipment("e17", "C", "NOT-A-KNOWN-FORMAT", ("X", 1), carrier=""),  # carrier unknown
    _shipment("e18", "C", "1Z5R89390357567127", ("X", 1), carrier=""),  # detected: UPS
    _order("e19", "E", ("BAG", 1)),
    _order("e20", "E", ("BAG", 0)),  # refused by validation; e21 below fixes it
    _order("e20", "E", ("BAG", 2)),
    _event("e22", "order.cancelled", "A", items=_items(("NOPE", 1))),
    _order("e23", "F", ("HAT", 1)),
    _order("e24", "F", ("CAP", 1)),  # HAT dropped: nothing happened to it, it goes
]


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    fake_dns()


def _configure(merchant) -> None:
    """Webhooks for every order event and customer emails for every order trigger."""
    webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/orders",
        event_types=["order.created", "order.cancelled", "shipment.created"],
    )  # fmt: skip
    for trigger in ("order_received", "items_cancelled", "items_backordered"):
        merchant.notification_rules.create(channel="email", trigger=trigger)
    merchant.notification_rules.create(channel="sms", trigger="order_received")


def _without_moments(value):
    """An answer without what differs between two runs: timestamps and signed links."""
    if isinstance(value, dict):
        return {key: _without_moments(v) for key, v in value.items() if key not in TIMESTAMPS}
    if isinstance(value, list):
        return [_without_moments(item) for item in value]
    return value


def _state(merchant) -> dict:
    """Everything the events wrote for the merchant, by natural keys (no primary keys)."""
    orders = Order.objects.filter(merchant=merchant)
    line_items = LineItem.objects.filter(order__merchant=merchant).order_by("order__order_id", "pk")
    shipments = Shipment.objects.filter(merchant=merchant).order_by("pk")
    names = {o.pk: o.order_id for o in orders}
    numbers = {s.pk: s.tracking_number for s in shipments}
    notifications = Notification.objects.filter(merchant=merchant).order_by("pk")
    return {
        "orders": sorted(
            (o.order_id, o.status, o.is_placeholder, o.customer_email, o.customer_phone_digits,
             o.cancelled_at is not None, o.cancel_reason)
            for o in orders
        ),
        "line_items": [
            (names[i.order_id], i.item_id, i.name, i.position, i.quantity_ordered,
             i.quantity_shipped, i.quantity_cancelled, i.quantity_backordered,
             i.backorder_expected_date)
            for i in line_items
        ],
        "shipments": [
            (s.tracking_number, s.carrier, names.get(s.order_id), s.service,
             s.shipped_at is not None, s.next_check_at is not None, s.status)
            for s in shipments
        ],
        "shipment_items": sorted(
            (numbers[si.shipment_id], si.line_item.item_id, si.quantity)
            for si in ShipmentItem.objects.filter(shipment__merchant=merchant)
        ),
        "cancellations": sorted(
            (names[c.line_item.order_id], c.line_item.item_id, c.quantity, c.reason)
            for c in ItemCancellation.objects.filter(line_item__order__merchant=merchant)
        ),
        "backorders": sorted(
            (names[b.line_item.order_id], b.line_item.item_id, b.quantity, b.expected_date)
            for b in ItemBackorder.objects.filter(line_item__order__merchant=merchant)
        ),
        "notifications": [
            (n.channel, n.trigger, names.get(n.order_id), numbers.get(n.shipment_id),
             n.dedupe_key.split(":")[2], n.recipient if n.channel != "webhook" else "",
             _without_moments(n.payload.get("data")))
            for n in notifications
        ],
    }  # fmt: skip


def _answer(status: int, body: dict) -> tuple:
    if body.get("success"):
        return status, _without_moments(body["data"]), [w["code"] for w in body["warnings"]]
    error = body["error"]
    return status, error["code"], sorted(error.get("fields") or {})


def test_a_batch_leaves_what_the_same_events_one_at_a_time_leave(
    api, other_api, merchant, other_merchant
):
    # given
    _configure(merchant)
    _configure(other_merchant)
    # when
    alone = [api.post("/api/v1/events", event) for event in EVENTS]
    batch = other_api.post("/api/v1/events/batch", {"events": EVENTS})
    # then
    assert batch.status_code == 207
    results = batch.json()["data"]
    assert [_answer(r.status_code, r.json()) for r in alone] == [
        _answer(result["status"], result) for result in results
    ]
    assert _state(merchant) == _state(other_merchant)
    assert [result["status"] for result in results] == [
        201, 201, 201, 201, 200, 422, 200, 200, 200, 200, 422, 404, 200, 200, 201, 200, 200,
        422, 422, 201, 201, 422, 200, 422, 201, 200,
    ]  # fmt: skip


def test_events_for_one_order_answer_as_that_order_was_after_each(api, merchant):
    # when
    response = api.post("/api/v1/events/batch", {"events": EVENTS[:2]})
    # then
    created, shipped = response.json()["data"]
    assert created["data"]["status"] == "received" and created["data"]["shipments"] == []
    assert shipped["data"]["items"] == [{"itemId": "MUG", "name": "Item MUG", "quantity": 1}]
    assert Order.objects.get(merchant=merchant).status == "partially_shipped"


def test_a_batch_answers_with_the_timestamps_it_stored(api, merchant):
    # when
    response = api.post("/api/v1/events/batch", {"events": EVENTS[:2]})
    # then
    created, shipped = response.json()["data"]
    read = api.get("/api/v1/orders/A").json()["data"]
    assert created["data"]["createdAt"] == read["createdAt"]
    assert shipped["data"]["lastUpdated"] == read["shipments"][0]["lastUpdated"]


def _pairs(prefix: str, count: int) -> list[dict]:
    events = []
    for n in range(count):
        events += [
            _order(f"{prefix}{n}o", f"{prefix}{n}", ("MUG", 2), ("TOWEL", 1)),
            _shipment(f"{prefix}{n}s", f"{prefix}{n}", f"SBXDELIVERED{prefix}{n:05d}",
                      ("MUG", 2), ("TOWEL", 1)),
        ]  # fmt: skip
    return events


def _queries(api, events: list[dict]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 207
    assert {result["status"] for result in response.json()["data"]} == {201}
    return [query["sql"] for query in queries]


def _kinds(statements: list[str]) -> list[str]:
    """Statement and table (savepoint names differ from run to run)."""
    return sorted({re.sub(r"\d+", "", " ".join(s.split()[:3])) for s in statements})


def test_a_batch_of_400_events_reads_no_more_than_a_batch_of_20(api, merchant):
    # given
    _configure(merchant)
    api.post("/api/v1/events/batch", {"events": _pairs("W", 1)})  # the key's lastUsedAt
    # when
    small, large = _queries(api, _pairs("S", 10)), _queries(api, _pairs("L", 200))
    # then: the same statements; PostgreSQL writes each table in one, SQLite splits a write
    # that would pass its 999 parameters
    reads = [[q for q in queries if not q.startswith("INSERT")] for queries in (small, large)]
    assert len(reads[0]) == len(reads[1])
    assert _kinds(small) == _kinds(large)
    if connection.vendor == "postgresql":
        assert len(small) == len(large)


@requires_postgresql  # SQLite splits each bulk write by its 999 parameters
def test_a_batch_of_500_events_stays_within_30_queries(
    api, merchant, django_assert_max_num_queries
):
    # given
    _configure(merchant)
    api.post("/api/v1/events/batch", {"events": _pairs("W", 1)})  # the key's lastUsedAt
    # then
    with django_assert_max_num_queries(30):
        response = api.post("/api/v1/events/batch", {"events": _pairs("B", 250)})
    assert response.status_code == 207


@requires_postgresql
def test_a_batch_updating_known_orders_stays_within_30_queries(
    api, merchant, django_assert_max_num_queries
):
    # given
    _configure(merchant)
    events = _pairs("U", 100)
    api.post("/api/v1/events/batch", {"events": events})
    again = [{**event, "eventId": event["eventId"] + "-again"} for event in events]
    # then
    with django_assert_max_num_queries(30):
        response = api.post("/api/v1/events/batch", {"events": again})
    assert {result["status"] for result in response.json()["data"]} == {200}


def test_one_order_and_its_shipment_take_few_statements(api, django_assert_max_num_queries):
    # given
    api.post("/api/v1/orders", _order("w", "W", ("MUG", 1))["data"])  # the key's lastUsedAt
    order = _order("o", "1001", ("MUG", 2), ("TOWEL", 1))["data"]
    shipment = _shipment("s", "1001", "SBXDELIVERED0001", ("MUG", 2), ("TOWEL", 1))["data"]
    # then
    # (the message is logged with its answer in the transaction of its effect: one INSERT)
    with django_assert_max_num_queries(11):
        assert api.post("/api/v1/orders", order).status_code == 201
    with django_assert_max_num_queries(15):
        assert api.post("/api/v1/orders/1001/shipments", shipment).status_code == 201


@requires_postgresql
def test_a_batchs_raw_body_and_answer_are_kept_compressed_with_lz4(api, merchant):
    # given
    _configure(merchant)
    # when
    api.post("/api/v1/events/batch", {"events": _pairs("Z", 250)})
    # then: compressed (hundreds of KB of JSON) with lz4, which costs PostgreSQL a fifth of pglz
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(body), pg_column_compression(response_body)"
            " FROM orders_inboundmessage WHERE path = '/api/v1/events/batch'"
        )
        assert cursor.fetchall() == [("lz4", "lz4")]


@requires_postgresql
def test_the_tables_a_batch_looks_up_are_analyzed_after_one_percent_changes():
    # A merchant PostgreSQL's statistics do not know yet gets plans that read all its rows
    # (docs/scaling.md, "Statistics after a burst"); analyzing sooner bounds how long.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN"
            " ('orders_order', 'orders_shipment', 'orders_processedevent') ORDER BY relname"
        )
        assert cursor.fetchall() == [
            (table, ["autovacuum_analyze_scale_factor=0.01"])
            for table in ("orders_order", "orders_processedevent", "orders_shipment")
        ]


@requires_postgresql
def test_no_table_of_orders_tracking_or_notifications_keeps_an_index_another_covers():
    # Every row written updates every index of its table: an index on the first columns of
    # another (a foreign key's own, say) costs each write and serves no lookup the other cannot.
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH btree AS (
                SELECT c.relname AS table_name, x.relname AS index_name, i.indkey::text AS keys,
                       i.indclass::text AS classes, i.indisunique AS is_unique,
                       i.indpred IS NOT NULL AS is_partial, i.indexprs IS NOT NULL AS on_expressions
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am am ON am.oid = x.relam
                WHERE am.amname = 'btree' AND c.relname ~ '^(orders|tracking|notifications)_'
            )
            SELECT covered.index_name, cover.index_name FROM btree covered JOIN btree cover
              ON cover.table_name = covered.table_name AND cover.index_name <> covered.index_name
            WHERE NOT covered.is_unique AND NOT covered.is_partial AND NOT covered.on_expressions
              AND NOT cover.is_partial
              AND (cover.keys || ' ') LIKE covered.keys || ' %'
              AND (cover.classes || ' ') LIKE covered.classes || ' %'
        """)  # fmt: skip
        assert cursor.fetchall() == []
