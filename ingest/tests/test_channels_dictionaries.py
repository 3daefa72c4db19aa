"""Format dictionaries: a merchant's own JSON, CSV and XML through route `dictionary:<id>`."""

import json

import pytest

from flextracker.errors import ApiError
from inbound.models import InboundChannel, InboundMessage, InboundOutcome
from inbound.services import Failure, Result
from ingest.channels.core import channel_deliver
from ingest.channels.dictionaries import dictionary_compile, dictionary_map
from ingest.replay import inbound_replay
from ingest.tests.channel_samples import (
    CSV_MAPPING,
    CSV_SAMPLE,
    JSON_MAPPING,
    JSON_ORDER,
    JSON_SHIPMENT,
    XML_MAPPING,
    XML_SAMPLE,
    dictionary,
)
from orders.models import Order

pytestmark = pytest.mark.django_db


def _deliver(merchant, format_dictionary, body: bytes):
    return channel_deliver(
        merchant=merchant, channel=InboundChannel.QUEUE, body=body, source="test",
        route=f"dictionary:{format_dictionary.pk}",
    )  # fmt: skip


def test_a_csv_message_of_grouped_rows_becomes_one_event_per_message_id(merchant):
    # when: one message holding all four of their messages (a queue may carry a whole export)
    events = dictionary_map(dictionary_compile("csv", CSV_MAPPING, "America/Chicago"),
                            CSV_SAMPLE.encode())  # fmt: skip
    # then
    assert [(e["eventId"], e["type"]) for e in events] == [
        ("M1", "order.created"), ("M2", "shipment.confirmed"), ("M3", "shipment.confirmed"),
        ("M4", "order.cancelled")]  # fmt: skip
    assert events[0]["data"] == {
        "orderId": "1001", "orderDate": "2026-11-20T09:30:00-06:00",
        "customer": {"name": "Jane Doe", "email": "jane@example.com"}, "currency": "USD",
        "lineItems": [{"itemId": "MUG", "name": "Blue mug", "quantity": 2, "price": "10.00"},
                      {"itemId": "TOWEL", "name": "Tea towel", "quantity": 1, "price": "4.50"}],
    }  # fmt: skip
    assert events[1]["data"]["carrier"] == "sandbox"  # their "SBX"
    assert events[3]["data"] == {"orderId": "1001", "reason": "out of stock",
                                 "items": [{"itemId": "TOWEL", "quantity": 1}]}  # fmt: skip


def test_nested_json_with_their_words_builds_the_order_and_ships_it(merchant):
    format_dictionary = dictionary(merchant, "json", JSON_MAPPING)

    created = _deliver(merchant, format_dictionary, json.dumps(JSON_ORDER).encode())
    shipped = _deliver(merchant, format_dictionary, json.dumps(JSON_SHIPMENT).encode())

    assert isinstance(created, Result) and isinstance(shipped, Result)
    order = Order.objects.get(merchant=merchant, order_id="2002")
    assert (order.customer_name, order.city, order.country_code, str(order.order_value)) == (
        "Ana Ruiz", "Madrid", "ES", "31.50")  # fmt: skip
    assert order.status == "shipped"
    assert order.shipments.get().estimated_delivery_date.isoformat() == "2026-11-28"
    assert list(InboundMessage.objects.values_list("order_ref", flat=True)) == ["2002", "2002"]


def test_an_xml_document_of_several_messages_with_attributes_and_namespaces(merchant):
    format_dictionary = dictionary(merchant, "xml", XML_MAPPING)

    outcome = _deliver(merchant, format_dictionary, XML_SAMPLE.encode())

    assert [event["eventId"] for event in outcome.data] == ["X-1", "X-2", "X-3"]
    order = Order.objects.get(order_id="3003")
    assert order.customer_email == "kim@example.com"
    sock = order.line_items.get(item_id="SOCK")
    assert (sock.name, sock.quantity_backordered, str(sock.backorder_expected_date)) == (
        "Wool sock", 2, "2026-12-05")  # fmt: skip


def test_without_an_event_id_field_a_record_sent_twice_is_applied_once(merchant):
    mapping = {key: value for key, value in JSON_MAPPING.items() if key != "eventId"}
    format_dictionary = dictionary(merchant, "json", mapping)
    body = json.dumps(JSON_ORDER).encode()
    again = json.dumps(JSON_ORDER, indent=2).encode()  # the same record, written differently

    first = _deliver(merchant, format_dictionary, body)
    second = _deliver(merchant, format_dictionary, again)

    assert first.data[0]["eventId"].startswith("sha256-")
    assert second.warnings[0]["code"] == "DUPLICATE_EVENT"


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({**JSON_ORDER, "header": {"messageId": "J-5", "kind": "OrderShipped"}},
         "UNKNOWN_MESSAGE_TYPE",
         {"header.kind": ["“OrderShipped” is not a message type of this dictionary "
                          "(known: OrderPlaced, Shipped)."]}),
        ({**JSON_ORDER, "order": {**JSON_ORDER["order"], "total": "lots"}}, "INVALID_FIELD",
         {"order.total": ["“lots” is not a number (for orderValue)."]}),
        ({**JSON_ORDER, "order": {"number": "2002", "lines": [{"sku": "LAMP", "units": "1.5"}]}},
         "INVALID_FIELD",
         {"order.lines[0].title": ["Missing: needed for lineItems[0].name."],
          "order.lines[0].units": ["“1.5” is not a whole number (for lineItems[0].quantity)."]}),
        ({"header": {"kind": "OrderPlaced"}, "order": {"lines": []}}, "MISSING_FIELD",
         {"order.number": ["Missing: needed for orderId."],
          "order.lines": ["Missing: at least one item (lineItems)."]}),
    ],
)  # fmt: skip
def test_a_bad_record_is_rejected_naming_their_own_fields(merchant, body, code, fields):
    format_dictionary = dictionary(merchant, "json", JSON_MAPPING)

    outcome = _deliver(merchant, format_dictionary, json.dumps(body).encode())

    assert isinstance(outcome, Failure)
    assert (outcome.error.code, outcome.error.fields) == (code, fields)
    message = InboundMessage.objects.get()
    assert (message.outcome, message.error_code) == (InboundOutcome.REJECTED, code)
    assert not Order.objects.exists()


def test_a_record_that_cannot_be_read_says_why(merchant):
    csv_dictionary = dictionary(merchant, "csv", CSV_MAPPING)
    xml_dictionary = dictionary(merchant, "xml", XML_MAPPING)

    short_row = _deliver(merchant, csv_dictionary, b"MsgId,MsgType,OrderNo\nM1,NEW\n")
    latin = _deliver(merchant, csv_dictionary, "MsgId,Customer\nM1,Ren\xe9\n".encode("latin-1"))
    bomb = _deliver(merchant, xml_dictionary,
                    b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Messages>&a;</Messages>')  # fmt: skip

    assert short_row.error.message == (
        "Line 2 of the record has 2 fields where the header names 3 (is the line cut short?)."
    )
    assert latin.error.message == (
        "Line 2 of the record is not utf-8 text (byte 0xE9 at position 7)."
    )
    assert bomb.error.code == "INVALID_RECORD" and "not valid XML" in bomb.error.message


def test_a_dictionary_of_another_merchant_is_never_used(merchant, other_merchant):
    theirs = dictionary(other_merchant, "json", JSON_MAPPING)

    outcome = _deliver(merchant, theirs, json.dumps(JSON_ORDER).encode())

    assert (outcome.error.code, outcome.error.status) == ("DICTIONARY_NOT_FOUND", 404)
    assert not Order.objects.exists()


def test_a_rejected_message_replays_after_staff_fix_the_dictionary(merchant):
    # given: the dictionary read the total from a field the OMS renamed
    mapping = json.loads(json.dumps(JSON_MAPPING))
    mapping["fields"]["order.created"]["lineItems"]["fields"]["quantity"]["path"] = "qty"
    format_dictionary = dictionary(merchant, "json", mapping)
    _deliver(merchant, format_dictionary, json.dumps(JSON_ORDER).encode())
    rejected = InboundMessage.objects.get()
    assert rejected.error_code == "MISSING_FIELD"
    # when
    format_dictionary.mapping = JSON_MAPPING
    format_dictionary.save()
    outcome = inbound_replay(rejected)
    # then
    assert isinstance(outcome, Result)
    assert Order.objects.get(order_id="2002").line_items.count() == 2


def test_a_broken_mapping_lists_every_problem():
    with pytest.raises(ApiError) as raised:
        dictionary_compile("csv", {"type": {"path": "T", "values": {"N": "order.created"}},
                                   "records": "x", "fields": {"order.created": {
                                       "orderId": "O", "trackingNumber": "X"}}})  # fmt: skip

    assert raised.value.code == "INVALID_DICTIONARY"
    assert raised.value.fields["mapping"] == [
        "“records” does not apply to CSV.",
        "fields.order.created.trackingNumber: order.created has no field “trackingNumber”.",
        "fields.order.created: map “lineItems”, order.created needs it.",
    ]
