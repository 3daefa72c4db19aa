"""The road every non-API channel takes: log raw, map, apply as `/events`, replayable."""

import json

import pytest

from orders.channels.core import channel_deliver
from orders.models import InboundChannel, InboundMessage, InboundOutcome, Order
from orders.services.inbound import Failure, Result, inbound_replay

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
