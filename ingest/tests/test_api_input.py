"""Client mistakes in what is posted (issue #19, items 8-10): each one a hard 4xx in the envelope,
logged as rejected with its raw bytes — never a 5xx a client following API.md would retry."""

import html
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.urls import reverse

from inbound.models import InboundChannel, InboundMessage
from inbound.services import Failure
from ingest.api.orders import ORDER_ID_RULE
from ingest.channels.core import channel_deliver
from ingest.tests.channel_samples import JSON_MAPPING, JSON_ORDER, dictionary
from merchants.services import api_key_issue
from merchants.tests.factories import MerchantFactory
from orders.models import Order, Shipment, Tracker
from tests.concurrency import requires_postgresql

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ORDER = {
    "orderId": "A-1001",
    "customer": {"name": "Jane Doe"},
    "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "quantity": 2}],
}
SHIPMENT = {
    "trackingNumber": "SBXDELIVERED0001",
    "carrier": "sandbox",
    "items": [{"itemId": "SKU-1", "quantity": 1}],
}
SURROGATE = "Send text with no lone surrogate."
LONE_SURROGATE = (
    "The body holds a lone surrogate (an escape \\ud800 to \\udfff outside a pair), which is "
    "not Unicode text."
)
TRIMMED = "Remove the spaces at the start or end: order ids are never trimmed."
CONTROL = "Remove the control characters and line breaks (tab, newline …)."


def _error(response) -> dict:
    body = response.json()
    assert body["success"] is False
    return body["error"]


def _nested(depth: int) -> bytes:
    """An order whose `attributes` nest so that the whole body is `depth` levels deep."""
    inner = b'{"a": ' * (depth - 1) + b"1" + b"}" * (depth - 1)
    return b'{"orderId": "A-1001", "lineItems": [{"itemId": "S", "name": "n", "quantity": 1}], ' \
        b'"attributes": ' + inner + b"}"  # fmt: skip


# --- Item 8: too deep, lone surrogates, an Idempotency-Key too long ----------------------------

ENDPOINTS = [
    "/api/v1/orders",
    "/api/v1/orders/A-1001/shipments",
    "/api/v1/orders/A-1001/cancellations",
    "/api/v1/orders/A-1001/backorders",
    "/api/v1/events",
    "/api/v1/events/batch",
    "/api/v1/trackers",
    "/api/v1/webhooks",
    "/api/v1/tracking/batch",
    "/api/v1/tracking/SBXDELIVERED0001/events",
]


@pytest.mark.parametrize("depth", [101, 990, 100_000])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_json_nested_too_deep_is_a_hard_400_logged_with_its_bytes(api, merchant, path, depth):
    # given
    body = b"[" * depth + b"]" * depth
    # when
    response = api.post(path, raw=body)
    # then
    assert response.status_code == 400
    assert _error(response) == {
        "code": "MALFORMED_JSON", "message": "The body is nested more than 100 levels deep.",
        "severity": "hard", "details": {"maxDepth": 100}, "fields": {},
    }  # fmt: skip
    message = InboundMessage.objects.get(merchant=merchant)
    assert (message.outcome, message.error_code, message.response_status) == (
        "rejected", "MALFORMED_JSON", 400,
    )  # fmt: skip
    assert bytes(message.body) == body
    assert not Order.objects.exists()


def test_an_order_nested_100_levels_is_accepted_and_101_is_not(api, merchant):
    # when
    deepest = api.post("/api/v1/orders", raw=_nested(100))
    too_deep = api.post("/api/v1/orders", raw=_nested(101))
    # then
    assert deepest.status_code == 201
    assert (too_deep.status_code, _error(too_deep)["code"]) == (400, "MALFORMED_JSON")
    attributes = api.get("/api/v1/orders/A-1001").json()["data"]["attributes"]
    levels = 1  # the body
    while isinstance(attributes, dict):
        attributes, levels = attributes["a"], levels + 1
    assert (attributes, levels) == (1, 100)


def _nested_with_tricky_text(depth: int) -> bytes:
    """`depth` levels whose keys and values hold brackets, quotes and backslashes."""
    value: object = "]]}}\\"
    for level in range(depth - 1):  # the outermost, `attributes`, an object
        value = (
            {'k"]\\': '[{"', f"[{level}": value}
            if (depth - level) % 2 == 0
            else ["}]", value, '\\"[']
        )
    return json.dumps({**ORDER, "attributes": value}).encode()


def test_brackets_in_text_do_not_count_and_escapes_do_not_hide_the_depth(api):
    # when
    text = api.post("/api/v1/orders", {**ORDER, "attributes": {"note": "[{" * 500 + '\\"'}})
    deepest = api.post("/api/v1/orders", raw=_nested_with_tricky_text(100))
    too_deep = api.post("/api/v1/orders", raw=_nested_with_tricky_text(101))
    # then
    assert (text.status_code, deepest.status_code) == (201, 200)
    assert (too_deep.status_code, _error(too_deep)["code"]) == (400, "MALFORMED_JSON")
    assert _error(too_deep)["details"] == {"maxDepth": 100}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"orderId": "A-\\ud800", "lineItems": []}', "orderId"),
        (b'{"orderId": "A-1001", "attributes": {"note": ["ok", "\\uDFFF"]}}', "attributes.note[1]"),
        (b'{"orderId": "A-1001", "attributes": {"\\ud800x": 1}}', "attributes.\\ud800x"),
        (b'{"orderId": "A-1001", "customer": {"name": "\\ude00\\ud83d"}}', "customer.name"),
    ],
)
def test_a_lone_surrogate_is_a_hard_400_naming_the_field_and_is_logged(
    api, other_api, merchant, body, field
):
    # when
    response = api.post("/api/v1/orders", raw=body)
    # then
    assert response.status_code == 400
    assert _error(response) == {
        "code": "MALFORMED_JSON", "message": LONE_SURROGATE, "severity": "hard", "details": {},
        "fields": {field: [SURROGATE]},
    }  # fmt: skip
    assert not Order.objects.exists()
    message = InboundMessage.objects.get(merchant=merchant)
    assert (bytes(message.body), message.outcome) == (body, "rejected")
    # and: the OMS finds it among its rejected messages, with its error; merchant B does not
    listed = api.get("/api/v1/messages", {"status": "rejected"}).json()["data"]
    assert [(m["messageId"], m["response"]) for m in listed] == [
        (str(message.pk), {"status": 400, "error": _error(response)})
    ]
    assert other_api.get("/api/v1/messages").json()["data"] == []


def test_a_lone_surrogate_in_an_event_names_its_place_in_the_envelope(api, merchant):
    # given
    body = (
        b'{"eventId": "e-1", "type": "order.created", "data": {"orderId": "\\ud800", '
        b'"lineItems": [{"itemId": "S", "name": "n", "quantity": 1}]}}'
    )
    # when
    response = api.post("/api/v1/events", raw=body)
    # then
    assert response.status_code == 400
    assert _error(response)["fields"] == {"data.orderId": [SURROGATE]}
    assert InboundMessage.objects.get(merchant=merchant).outcome == "rejected"


def test_a_surrogate_pair_is_text_and_is_kept(api):
    # when: an emoji escaped as JSON escapes UTF-16, as a pair
    response = api.post("/api/v1/orders", raw=json.dumps({**ORDER, "attributes": {"m": "😀"}})
                        .encode())  # fmt: skip
    # then
    assert response.status_code == 201
    assert Order.objects.get().attributes == {"m": "😀"}


def test_a_rejected_message_shows_in_the_console_inbound_list(api, staff_client):
    # given
    api.post("/api/v1/orders", raw=b'{"orderId": "\\ud800"}')
    # when
    page = staff_client.get(reverse("admin:inbound_inboundmessage_changelist")).content.decode()
    detail = staff_client.get(
        reverse("admin:inbound_inboundmessage_change", args=[InboundMessage.objects.get().pk])
    )
    # then
    assert "MALFORMED_JSON" in page and "/api/v1/orders" in page
    assert detail.status_code == 200
    assert html.escape('{"orderId": "\\ud800"}') in detail.content.decode()


@pytest.mark.parametrize(
    ("key", "problem"),
    [("k" * 256, "Use at most 255 characters."), ("k-\x01", "Use no control characters.")],
)
def test_an_unusable_idempotency_key_is_a_hard_422_logged_and_nothing_changes(
    api, merchant, key, problem
):
    # when
    response = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY=key)
    # then
    assert response.status_code == 422
    assert _error(response) == {
        "code": "INVALID_ORDER_DATA", "message": "Some fields are not valid.", "severity": "hard",
        "details": {}, "fields": {"Idempotency-Key": [problem]},
    }  # fmt: skip
    assert not Order.objects.exists()
    message = InboundMessage.objects.get(merchant=merchant)
    assert (message.outcome, message.error_code, message.idempotency_key) == (
        "rejected", "INVALID_ORDER_DATA", None,
    )  # fmt: skip
    assert bytes(message.body) == json.dumps(ORDER).encode()


def test_an_idempotency_key_of_255_characters_is_kept_and_replays(api):
    # given
    key = "k" * 255
    # when
    first = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY=key)
    again = api.post("/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY=key)
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content


def test_an_unusable_idempotency_key_with_respond_async_is_refused_at_once(api):
    response = api.post(
        "/api/v1/events/batch", {"events": []}, HTTP_IDEMPOTENCY_KEY="k" * 256,
        HTTP_PREFER="respond-async",
    )  # fmt: skip
    assert (response.status_code, _error(response)["code"]) == (422, "INVALID_EVENT_DATA")
    assert InboundMessage.objects.get().outcome == "rejected"


# --- Item 9: chunked bodies --------------------------------------------------------------------


def _chunked(api, path: str, body: bytes, *, terminated: bool = True):
    """A chunked POST as gunicorn hands it to Django: the chunks joined, `wsgi.input_terminated`
    set, no CONTENT_LENGTH (the test client cannot send chunks itself)."""
    return api.client.post(
        path, body, content_type="application/json", CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked", HTTP_AUTHORIZATION=f"Bearer {api.raw_key}",
        **{"wsgi.input": BytesIO(body), "wsgi.input_terminated": terminated},
    )  # fmt: skip


def test_a_chunked_body_is_read_and_logged_whole(api, merchant):
    # given
    body = json.dumps(ORDER).encode()
    # when
    response = _chunked(api, "/api/v1/orders", body)
    # then
    assert response.status_code == 201
    assert response.json()["data"]["orderId"] == "A-1001"
    message = InboundMessage.objects.get(merchant=merchant)
    assert (bytes(message.body), message.outcome) == (body, "accepted")


def test_a_chunked_body_over_one_mebibyte_is_413(api):
    body = json.dumps({**ORDER, "attributes": {"blob": "x" * (1024 * 1024)}}).encode()
    response = _chunked(api, "/api/v1/orders", body)
    assert (response.status_code, _error(response)["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert not Order.objects.exists() and not InboundMessage.objects.exists()


def test_a_chunked_body_a_server_cannot_read_is_411_never_empty(api):
    response = _chunked(api, "/api/v1/orders", json.dumps(ORDER).encode(), terminated=False)
    assert response.status_code == 411
    assert _error(response) == {
        "code": "LENGTH_REQUIRED", "message": "Send the body with a Content-Length.",
        "severity": "hard", "details": {}, "fields": {},
    }  # fmt: skip
    assert not Order.objects.exists() and not InboundMessage.objects.exists()


def _post_chunks(host: str, port: int, path: str, raw_key: str, chunks: list[bytes]):
    """A POST with Transfer-Encoding: chunked, as it goes on the wire, written at once (runserver
    answers before reading a body it cannot read; the client must not be cut off mid-send)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {raw_key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def test_runserver_passes_chunks_on_raw_so_the_answer_is_411(transactional_db, live_server):
    # given: live_server is runserver's server (django.core.servers.basehttp)
    merchant_key = _issued_key()
    host, port = live_server.thread.host, live_server.thread.port
    body = json.dumps(ORDER).encode()
    # when
    status, answer = _post_chunks(host, port, "/api/v1/orders", merchant_key,
                                  [body[:20], body[20:]])  # fmt: skip
    # then
    assert (status, answer["error"]["code"]) == (411, "LENGTH_REQUIRED")
    assert not Order.objects.exists()


def _issued_key() -> str:
    merchant = MerchantFactory(merchant_id="FDC-01-12345")
    return api_key_issue(merchant=merchant, name="oms")[1]


@pytest.fixture
def gunicorn(transactional_db):
    """gunicorn, our production server, on a loopback port and the test's database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = connection.settings_dict
    env = {
        **os.environ, "DEBUG": "true",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "flextracker.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(timeout=30)


@requires_postgresql
def test_gunicorn_reads_a_chunked_order_and_the_log_keeps_its_bytes(gunicorn):
    # given
    raw_key = _issued_key()
    body = json.dumps(ORDER).encode()
    # when
    status, answer = _post_chunks("127.0.0.1", gunicorn, "/api/v1/orders", raw_key,
                                  [body[:10], body[10:30], body[30:]])  # fmt: skip
    # then
    assert (status, answer["success"], answer["data"]["orderId"]) == (201, True, "A-1001")
    assert Order.objects.get().customer_name == "Jane Doe"
    message = InboundMessage.objects.get()
    assert (bytes(message.body), message.outcome) == (body, "accepted")


# --- Item 10: order ids are never trimmed ------------------------------------------------------


@pytest.mark.parametrize(
    ("order_id", "problem"),
    [
        ("A-1001 ", TRIMMED),
        (" A-1001", TRIMMED),
        ("A-1001\u00a0", TRIMMED),
        (" ", TRIMMED),
        ("A-10\n01", CONTROL),
        ("A-10\t01", CONTROL),
        ("A-10\u202801", CONTROL),
        ("A-10\x7f01", CONTROL),
    ],
)
def test_an_order_id_with_edge_spaces_or_control_characters_is_422_and_changes_nothing(
    api, merchant, order_id, problem
):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post("/api/v1/orders", {**ORDER, "orderId": order_id,
                                           "customer": {"name": "Someone Else"}})  # fmt: skip
    # then
    assert response.status_code == 422
    assert _error(response) == {
        "code": "INVALID_ORDER_DATA", "message": "Some fields are not valid.", "severity": "hard",
        "details": {}, "fields": {"orderId": [problem]},
    }  # fmt: skip
    assert list(Order.objects.values_list("order_id", "customer_name")) == [("A-1001", "Jane Doe")]
    assert InboundMessage.objects.filter(merchant=merchant, outcome="rejected").count() == 1


def test_an_order_id_with_inner_spaces_is_kept_and_read_back(api):
    created = api.post("/api/v1/orders", {**ORDER, "orderId": "A 1001"})
    read = api.get(f"/api/v1/orders/{quote('A 1001')}")
    assert (created.status_code, read.status_code) == (201, 200)
    assert read.json()["data"]["orderId"] == "A 1001"


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("shipments", SHIPMENT, "INVALID_SHIPMENT_DATA"),
        ("cancellations", {}, "INVALID_ORDER_DATA"),
        ("backorders", {"items": [{"itemId": "SKU-1", "quantity": 1}]}, "INVALID_ORDER_DATA"),
    ],
)
def test_the_urls_order_id_follows_the_same_rule(api, merchant, path, body, code):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post(f"/api/v1/orders/{quote('A-1001 ')}/{path}", body)
    # then
    assert response.status_code == 422
    assert (_error(response)["code"], _error(response)["fields"]) == (code, {"orderId": [TRIMMED]})
    assert list(Order.objects.values_list("order_id", "status")) == [("A-1001", "received")]
    assert not Shipment.objects.exists()


def test_the_urls_order_id_is_checked_before_a_queued_message_is_accepted(api):
    response = api.post(f"/api/v1/orders/{quote('A-1001 ')}/shipments", SHIPMENT,
                        HTTP_PREFER="respond-async")  # fmt: skip
    assert (response.status_code, _error(response)["fields"]) == (422, {"orderId": [TRIMMED]})
    assert InboundMessage.objects.get().outcome == "rejected"


@pytest.mark.parametrize(
    "event",
    [
        {"eventId": "e-1", "type": "order.created", "data": {**ORDER, "orderId": "A-1001 "}},
        {
            "eventId": "e-2",
            "type": "shipment.confirmed",
            "data": {**SHIPMENT, "orderId": "A-1001 "},
        },
    ],
)
def test_an_events_order_id_follows_the_same_rule(api, event):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post("/api/v1/events", event)
    # then
    assert response.status_code == 422
    assert list(_error(response)["fields"].values()) == [[TRIMMED]]
    assert list(Order.objects.values_list("order_id", "customer_name")) == [("A-1001", "Jane Doe")]
    assert not Shipment.objects.exists()


def test_a_trackers_order_id_follows_the_same_rule(api):
    # given
    api.post("/api/v1/orders", ORDER)
    # when
    response = api.post("/api/v1/trackers", {"trackerExternalId": "T-1", "orderId": "A-1001 ",
                                             "trackingNumber": "SBXDELIVERED0001",
                                             "carrier": "sandbox"})  # fmt: skip
    # then
    assert response.status_code == 422
    assert (_error(response)["code"], _error(response)["fields"]) == (
        "INVALID_TRACKER_DATA", {"orderId": [TRIMMED]},
    )  # fmt: skip
    assert not Tracker.objects.exists()


def test_a_queued_records_order_id_follows_the_same_rule_and_is_kept_rejected(merchant):
    # given: the envelope as a queue channel receives it
    body = json.dumps({"eventId": "q-1", "type": "order.created",
                       "data": {**ORDER, "orderId": "A-10\n01"}}).encode()  # fmt: skip
    # when
    outcome = channel_deliver(
        merchant=merchant, channel=InboundChannel.QUEUE, route="envelope", body=body,
        source="orders-queue",
    )  # fmt: skip
    # then
    assert isinstance(outcome, Failure)
    assert (outcome.error.code, outcome.error.fields) == (
        "INVALID_ORDER_DATA", {"data.orderId": [CONTROL]},
    )  # fmt: skip
    assert not Order.objects.exists()
    message = InboundMessage.objects.get()
    assert (bytes(message.body), message.outcome) == (body, "rejected")


def test_a_queued_record_nested_too_deep_is_rejected_not_failed(merchant):
    body = b"[" * 5000 + b"]" * 5000
    outcome = channel_deliver(
        merchant=merchant, channel=InboundChannel.QUEUE, route="envelope", body=body,
        source="orders-queue",
    )  # fmt: skip
    assert (outcome.error.code, outcome.error.status) == ("MALFORMED_JSON", 400)
    assert InboundMessage.objects.get().outcome == "rejected"


def test_the_openapi_schema_states_the_order_id_rule(client):
    # when
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # then
    order_create = schema["paths"]["/api/v1/orders"]["post"]
    shipment = schema["paths"]["/api/v1/orders/{order_id}/shipments"]["post"]
    [order_id] = [p for p in shipment["parameters"] if p["name"] == "order_id"]
    assert order_create["description"].endswith(ORDER_ID_RULE)
    assert order_id["description"] == ORDER_ID_RULE
    assert "411" in shipment["responses"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"[" * 100_000 + b"]" * 100_000, {}),
        (json.dumps(JSON_ORDER).replace('"2002"', '"2002\\ud800"').encode(),
         {"order.number": [SURROGATE]}),
    ],
)  # fmt: skip
def test_a_format_dictionarys_json_too_deep_or_not_text_is_rejected_not_failed(
    merchant, body, fields
):
    # given: a merchant's own JSON, mapped by their format dictionary
    format_dictionary = dictionary(merchant, "json", JSON_MAPPING)
    # when
    outcome = channel_deliver(
        merchant=merchant, channel=InboundChannel.QUEUE, body=body, source="orders-queue",
        route=f"dictionary:{format_dictionary.pk}",
    )  # fmt: skip
    # then: a 4xx, so the queue dead-letters it rather than redelivering it for ever
    assert (outcome.error.status, outcome.error.code, outcome.error.fields) == (
        400, "MALFORMED_JSON", fields,
    )  # fmt: skip
    assert not Order.objects.exists()
    message = InboundMessage.objects.get()
    assert (bytes(message.body), message.outcome) == (body, "rejected")
