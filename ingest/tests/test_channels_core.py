"""The road every non-API channel takes: log raw, map, apply as `/events`, replayable."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound.models import InboundChannel, InboundMessage, InboundOutcome
from inbound.services import Failure, Result
from ingest.channels.core import ChannelRecord, channel_deliver, channel_deliver_all
from ingest.replay import inbound_replay
from orders.models import Order

pytestmark = pytest.mark.django_db

ORDER_CREATED = {
    "eventId": "q-1", "type": "order.created",
    "data": {"orderId": "Q-100", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 2}]},
}  # fmt: skip


def _deliver(merchant, body: bytes, **kwargs):
    return channel_deliver(
        merchant=merchant, channel=InboundChannel.QUEUE, route="envelope", body=body,
        source="orders-queue", **kwargs,
    )  # fmt: skip


def test_an_envelope_from_a_queue_builds_the_order_and_is_logged(merchant):
    outcome = _deliver(merchant, json.dumps(ORDER_CREATED).encode())

    assert isinstance(outcome, Result)
    assert Order.objects.get(merchant=merchant, order_id="Q-100").line_items.count() == 1
    message = InboundMessage.objects.get()
    assert (message.channel, message.outcome, message.order_ref, message.source) == (
        "queue", InboundOutcome.ACCEPTED, "Q-100", "orders-queue",
    )  # fmt: skip


def test_a_bad_record_is_kept_rejected_with_its_reason_and_replays_once_fixed(merchant):
    shipment = {"eventId": "q-2", "type": "shipment.confirmed",
                "data": {"orderId": "Q-100", "trackingNumber": "1Z5R89390357567127",
                         "items": [{"itemId": "SKU-9", "quantity": 1}]}}  # fmt: skip
    _deliver(merchant, json.dumps(ORDER_CREATED).encode())

    outcome = _deliver(merchant, json.dumps(shipment).encode())

    assert isinstance(outcome, Failure)
    rejected = InboundMessage.objects.get(outcome=InboundOutcome.REJECTED)
    assert rejected.error_code == outcome.error.code != ""
    # The merchant's OMS later sends the order again with SKU-9: a replay now applies the record.
    fixed = dict(ORDER_CREATED, eventId="q-3")
    fixed["data"] = dict(ORDER_CREATED["data"], lineItems=[
        {"itemId": "SKU-1", "name": "Mug", "quantity": 2},
        {"itemId": "SKU-9", "name": "Bowl", "quantity": 1}])  # fmt: skip
    _deliver(merchant, json.dumps(fixed).encode())
    assert isinstance(inbound_replay(rejected), Result)
    rejected.refresh_from_db()
    assert (rejected.outcome, rejected.replay_count) == (InboundOutcome.ACCEPTED, 1)
    assert Order.objects.get(order_id="Q-100").shipments.count() == 1


def test_a_redelivery_with_the_same_dedupe_key_changes_nothing(merchant):
    body = json.dumps(ORDER_CREATED).encode()
    _deliver(merchant, body, dedupe_key="delivery-7")

    again = _deliver(merchant, body, dedupe_key="delivery-7")

    assert again.replayed
    assert InboundMessage.objects.count() == 1


def test_a_record_that_is_not_json_is_rejected_not_lost(merchant):
    outcome = _deliver(merchant, b"\xff\xfe not json")

    assert outcome.error.code == "MALFORMED_JSON"
    message = InboundMessage.objects.get()
    assert bytes(message.body) == b"\xff\xfe not json"
    assert message.outcome == InboundOutcome.REJECTED


# --- Records delivered together (a file's chunk) --------------------------------------------------


def _order(order_id: str, event_id: str, *items: str) -> dict:
    return {"eventId": event_id, "type": "order.created",
            "data": {"orderId": order_id,
                     "lineItems": [{"itemId": item, "name": item, "quantity": 1}
                                   for item in items]}}  # fmt: skip


def _shipment(order_id: str, event_id: str, tracking_number: str, item: str) -> dict:
    return {"eventId": event_id, "type": "shipment.confirmed",
            "data": {"orderId": order_id, "trackingNumber": tracking_number, "carrier": "sandbox",
                     "items": [{"itemId": item, "quantity": 1}]}}  # fmt: skip


def _deliver_all(merchant, records: list[dict], route="envelope"):
    return channel_deliver_all(
        merchant=merchant, channel=InboundChannel.FILE, route=route,
        records=[ChannelRecord(json.dumps(r).encode(), f"day.csv line {n}")
                 for n, r in enumerate(records, 1)],
    )  # fmt: skip


def test_records_delivered_together_are_each_all_or_nothing_and_logged_with_their_answer(
    merchant,
):
    # given: a record of two events whose second is refused (an item never ordered), between
    # good records that depend on each other in order
    records = [
        _order("F-1", "f-1", "MUG"),
        {"events": [_order("F-2", "f-2", "CUP"),
                    _shipment("F-2", "f-3", "SBXDELIVERED0001", "LAMP")]},
        _shipment("F-1", "f-4", "SBXDELIVERED0002", "MUG"),
        _shipment("F-9", "f-5", "SBXDELIVERED0003", "MUG"),  # placeholder order
    ]  # fmt: skip
    # when
    outcomes = _deliver_all(merchant, records)
    # then: the partly good record took nothing; the others took effect, in order
    assert [type(outcome) for outcome in outcomes] == [Result, Failure, Result, Result]
    assert outcomes[1].error.code == "INVALID_SHIPMENT_DATA"
    assert not Order.objects.filter(order_id="F-2").exists()
    assert Order.objects.get(order_id="F-1").shipments.get().tracking_number == "SBXDELIVERED0002"
    assert Order.objects.get(order_id="F-9").is_placeholder
    # every record logged once, with its outcome and its answer, in the order of the file
    logged = list(InboundMessage.objects.order_by("pk"))
    assert [(m.source, m.outcome, m.order_ref) for m in logged] == [
        ("day.csv line 1", InboundOutcome.ACCEPTED, "F-1"),
        ("day.csv line 2", InboundOutcome.REJECTED, "F-2"),
        ("day.csv line 3", InboundOutcome.ACCEPTED, "F-1"),
        ("day.csv line 4", InboundOutcome.ACCEPTED, "F-9"),
    ]  # fmt: skip
    assert logged[3].response()["warnings"][0]["code"] == "ORDER_NOT_YET_RECEIVED"
    assert logged[1].response()["error"]["code"] == "INVALID_SHIPMENT_DATA"


def test_records_refused_whole_are_answered_as_alone_without_going_one_at_a_time(merchant):
    records = [
        _order("G-1", "g-1", "MUG"),
        _shipment("G-1", "g-2", "SBXDELIVERED0004", "LAMP"),  # never ordered
        {"type": "order.created"},  # not an event
        _shipment("G-1", "g-3", "SBXDELIVERED0005", "MUG"),
    ]

    with CaptureQueriesContext(connection) as together:
        outcomes = _deliver_all(merchant, records)

    assert [type(outcome) for outcome in outcomes] == [Result, Failure, Failure, Result]
    assert [o.error.code for o in outcomes if isinstance(o, Failure)] == [
        "INVALID_SHIPMENT_DATA", "MISSING_EVENT_DATA",
    ]  # fmt: skip
    inserts = [q for q in together if q["sql"].startswith('INSERT INTO "orders_inboundmessage"')]
    assert len(inserts) == 1  # logged together: nothing went one at a time


def test_records_delivered_together_cost_the_same_statements_however_many(merchant):
    def statements(count: int, prefix: str) -> int:
        records = [_order(f"{prefix}-{n}", f"{prefix}-{n}", "MUG") for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            outcomes = _deliver_all(merchant, records)
        assert all(isinstance(outcome, Result) for outcome in outcomes)
        return len(queries)

    statements(1, "W")  # the merchant's return policy is read once (links.returnsUrl)
    # (30: SQLite splits larger inserts, at 999 values a statement)
    assert statements(3, "H") == statements(30, "K")
    assert Order.objects.count() == 34


def test_records_for_a_route_that_cannot_map_are_all_rejected_and_kept(merchant):
    outcomes = _deliver_all(merchant, [_order("J-1", "j-1", "MUG")] * 2, route="dictionary:999")

    assert [outcome.error.code for outcome in outcomes] == ["DICTIONARY_NOT_FOUND"] * 2
    assert InboundMessage.objects.filter(outcome=InboundOutcome.REJECTED).count() == 2
    assert not Order.objects.exists()
