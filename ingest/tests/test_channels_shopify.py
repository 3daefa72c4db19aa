"""Shopify webhooks: verified by their HMAC, logged, mapped onto the events envelope, applied by
the same code as the API; Shopify's documented sample payloads (fixtures/shopify/)."""

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from inbound.models import InboundMessage
from inbound.services import request_hash
from ingest.channels.shopify import map_shopify
from ingest.replay import inbound_replay
from merchants.services import api_key_issue
from merchants.tests.factories import member_of
from orders.links import tracking_page_url
from orders.models import Order, Shipment
from orders.services import LineItemInput
from orders.tests.factories import create_order
from platforms.models import PlatformConnection
from tests.database import TableLock

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
ORDER_ID = "#9999"  # the samples' order: its name, the number the customer knows
SHOPIFY_ID = "820982911946154508"  # its id inside Shopify
SECRET = "shpss_fred_0123456789abcdef"


def sample(topic: str) -> dict:
    return json.loads((FIXTURES / f"{topic.replace('/', '_')}.json").read_text())


def signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shop_for(merchant, domain="fred.myshopify.com", secret=SECRET, **fields):
    """A merchant's Shopify store: a platform connection of kind shopify."""
    return PlatformConnection.objects.create(
        merchant=merchant, name=domain, kind="shopify", base_url=f"https://{domain}",
        shop_domain=domain, webhook_secret=secret, **fields,
    )  # fmt: skip


@pytest.fixture
def shop(merchant):
    return shop_for(merchant)


def deliver(client, topic, payload, *, merchant_id="FDC-01-12345", domain="fred.myshopify.com",
            secret=SECRET, webhook_id=None, signature=None):  # fmt: skip
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    # Shopify gives every delivery its own id; a retry repeats it.
    webhook_id = webhook_id or f"wh-{hashlib.sha256(topic.encode() + body).hexdigest()[:32]}"
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": domain,
        "HTTP_X_SHOPIFY_HMAC_SHA256": signature if signature is not None else signed(body, secret),
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id,
        "HTTP_X_SHOPIFY_API_VERSION": "2025-10",
    }
    return client.post(
        reverse("hooks-shopify", args=[merchant_id]), body,
        content_type="application/json", **headers,
    )  # fmt: skip


def test_an_order_created_in_shopify_becomes_the_order(client, shop, merchant):
    # when
    response = deliver(client, "orders/create", sample("orders/create"))
    # then
    assert response.status_code == 200
    assert response.json()["data"] == {
        "received": True, "topic": "orders/create", "outcome": "accepted", "replayed": False,
    }  # fmt: skip
    order = Order.objects.get(merchant=merchant, order_id=ORDER_ID)
    assert (order.customer_name, order.customer_email, order.customer_phone) == (
        "John Smith", "jon@example.com", "",
    )  # fmt: skip
    assert (order.street1, order.city, order.state, order.postal_code, order.country_code) == (
        "123 Shipping Street", "Shippington", "KY", "40003", "US",
    )  # fmt: skip
    assert (order.currency, order.order_value, order.locale) == ("USD", Decimal("404.95"), "en")
    assert order.attributes == {
        "shopifyOrderId": SHOPIFY_ID, "shopifyOrderName": "#9999", "shopifyOrderNumber": 1234,
        # where the write-back goes: this store, this order
        "platformOrder": {"connection": str(shop.public_id), "id": SHOPIFY_ID},
    }  # fmt: skip
    assert [(i.item_id, i.name, i.quantity_ordered, i.price) for i in order.line_items.all()] == [
        ("487817672276298554", "Aviator sunglasses", 1, Decimal("89.99")),
        ("789012345678901234", "Lens Protection Plan (2 Year)", 1, Decimal("19.99")),
        ("890123456789012345", "Premium Leather Case", 1, Decimal("24.99")),
        ("976318377106520349", "Mid-century lounger", 1, Decimal("159.99")),
        ("315789986012684393", "Coffee table", 1, Decimal("119.99")),
    ]
    message = InboundMessage.objects.get()
    assert (message.channel, message.path, message.source, message.outcome, message.order_ref) == (
        "shopify", f"shopify:{shop.pk}:orders/create", "fred.myshopify.com", "accepted", ORDER_ID,
    )  # fmt: skip


def test_a_fulfillment_ships_its_items_with_the_carrier_named_by_shopify(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    # when
    response = deliver(client, "fulfillments/create", sample("fulfillments/create"))
    # then
    assert response.json()["data"]["outcome"] == "accepted"
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.tracking_number, shipment.carrier, shipment.order.order_id) == (
        "1Z827WK74630", "ups", ORDER_ID,
    )  # fmt: skip
    assert shipment.source_reference == str(sample("fulfillments/create")["id"])  # written back to
    assert shipment.items.count() == 5
    assert Order.objects.get(order_id=ORDER_ID).status == "shipped"


def test_a_fulfillment_update_with_the_same_number_changes_nothing(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    deliver(client, "fulfillments/create", sample("fulfillments/create"))
    update = sample("fulfillments/update")
    update["shipment_status"] = "in_transit"
    # when
    response = deliver(client, "fulfillments/update", update)
    # then
    assert response.json()["data"]["outcome"] == "accepted"
    assert [w["code"] for w in response.json()["warnings"]] == []
    message = InboundMessage.objects.get(path=f"shopify:{shop.pk}:fulfillments/update")
    assert message.response()["warnings"][0]["code"] == "DUPLICATE_EVENT"
    assert Shipment.objects.filter(merchant=merchant).count() == 1


def test_a_fulfillment_without_a_number_waits_for_the_update_that_brings_one(
    client, shop, merchant
):
    deliver(client, "orders/create", sample("orders/create"))
    unlabelled = sample("fulfillments/create")
    unlabelled.update(tracking_number=None, tracking_numbers=[], tracking_company=None)
    # when
    first = deliver(client, "fulfillments/create", unlabelled)
    # then: kept, rejected with the reason, and Shopify is told it was received (no retries)
    assert first.status_code == 200
    assert first.json()["data"]["outcome"] == "rejected"
    assert first.json()["data"]["error"]["code"] == "MISSING_SHOPIFY_DATA"
    assert not Shipment.objects.exists()
    # when: the label is bought
    labelled = sample("fulfillments/update")
    labelled.update(tracking_company="FedEx", tracking_number="123456789012",
                    tracking_numbers=["123456789012"])  # fmt: skip
    deliver(client, "fulfillments/update", labelled)
    # then
    assert Shipment.objects.get().carrier == "fedex"


def test_a_second_fulfillment_ships_the_rest_of_a_split_order(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    first, second = sample("fulfillments/create"), sample("fulfillments/create")
    first["line_items"], second["line_items"] = first["line_items"][:2], second["line_items"][2:]
    second.update(id=123457, tracking_company="USPS", tracking_number="9400111899223197428490",
                  tracking_numbers=["9400111899223197428490"])  # fmt: skip
    # when
    deliver(client, "fulfillments/create", first)
    assert Order.objects.get(order_id=ORDER_ID).status == "partially_shipped"
    deliver(client, "fulfillments/create", second)
    # then
    shipments = Shipment.objects.order_by("pk")
    assert [(s.carrier, s.items.count()) for s in shipments] == [("ups", 2), ("usps", 3)]
    assert Order.objects.get(order_id=ORDER_ID).status == "shipped"


def test_a_number_added_to_a_fulfillment_takes_its_share_of_the_units(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    deliver(client, "fulfillments/create", sample("fulfillments/create"))
    update = sample("fulfillments/update")
    update["tracking_numbers"] = ["1z827wk74630", "1z827wk74631"]
    # when
    response = deliver(client, "fulfillments/update", update)
    # then: five units dealt to two boxes, three and two
    assert response.json()["data"]["outcome"] == "accepted"
    shipped = {
        s.tracking_number: sum(item.quantity for item in s.items.all())
        for s in Shipment.objects.all()
    }  # fmt: skip
    assert shipped == {"1Z827WK74630": 3, "1Z827WK74631": 2}
    assert Order.objects.get(order_id=ORDER_ID).status == "shipped"


def test_a_cancelled_order_is_cancelled_with_shopifys_reason(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    # when
    deliver(client, "orders/cancelled", sample("orders/cancelled"))
    # then
    order = Order.objects.get(order_id=ORDER_ID)
    assert (order.status, order.cancel_reason) == ("cancelled", "customer")
    assert {item.quantity_cancelled for item in order.line_items.all()} == {1}


def test_a_redelivered_webhook_answers_as_the_first_and_changes_nothing(client, shop):
    deliver(client, "orders/create", sample("orders/create"), webhook_id="b54557e4-bdd9-4b37")
    # when: Shopify retries (same webhook id)
    response = deliver(client, "orders/create", sample("orders/create"),
                       webhook_id="b54557e4-bdd9-4b37")  # fmt: skip
    # then
    assert response.json()["data"]["replayed"] is True
    assert InboundMessage.objects.count() == 1
    assert Order.objects.get().customer_email == "jon@example.com"


def test_a_redelivery_with_another_body_is_acknowledged_as_rejected_not_retried(client, shop):
    deliver(client, "orders/create", sample("orders/create"), webhook_id="b54557e4-bdd9-4b37")
    changed = sample("orders/create")
    changed["email"] = "someone.else@example.com"
    # when: the same webhook id comes with a body that differs
    response = deliver(client, "orders/create", changed, webhook_id="b54557e4-bdd9-4b37")
    # then: 200 (a retry would differ again, and Shopify drops failing subscriptions), told why
    data = response.json()["data"]
    assert (response.status_code, data["outcome"]) == (200, "rejected")
    assert data["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert Order.objects.get().customer_email == "jon@example.com"


def test_a_redelivery_while_the_first_is_still_processed_asks_shopify_to_retry(
    client, shop, merchant
):
    # given: the first delivery with this id was logged and is still being processed
    body, route = json.dumps(sample("orders/create")).encode(), f"shopify:{shop.pk}:orders/create"
    InboundMessage.objects.create(
        merchant=merchant, channel="shopify", method="", path=route, body=body,
        idempotency_key="shopify:wh-1", request_hash=request_hash("", route, body),
    )  # fmt: skip
    # when
    response = deliver(client, "orders/create", body, webhook_id="wh-1")
    # then
    assert (response.status_code, response.json()["error"]["severity"]) == (409, "transient")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("domain", "secret", "signature"),
    [
        ("fred.myshopify.com", "another-apps-secret", None),  # signed with the wrong secret
        ("fred.myshopify.com", SECRET, ""),  # unsigned
        ("fred.myshopify.com", SECRET, "not base64 at all"),
        ("unknown.myshopify.com", SECRET, None),  # a shop we do not know
        ("", SECRET, None),  # no shop named
    ],
)
def test_an_unverified_webhook_is_refused_and_nothing_is_stored(
    client, shop, domain, secret, signature
):
    response = deliver(client, "orders/create", sample("orders/create"), domain=domain,
                       secret=secret, signature=signature)  # fmt: skip
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert not InboundMessage.objects.exists() and not Order.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, shop):
    body = json.dumps(sample("orders/create")).encode()
    tampered = body.replace(b"jon@example.com", b"eve@example.com")
    response = deliver(client, "orders/create", tampered, signature=signed(body))
    assert response.status_code == 401
    assert not Order.objects.exists()


def test_merchant_a_secret_cannot_create_orders_for_merchant_b(client, shop, other_merchant):
    shop_for(other_merchant, "other.myshopify.com", "b-secret")
    payload = sample("orders/create")
    # when: signed with A's secret, sent to B's address, naming B's shop or A's
    as_b_shop = deliver(client, "orders/create", payload, merchant_id="OTH-02-54321",
                        domain="other.myshopify.com")  # fmt: skip
    as_a_shop = deliver(client, "orders/create", payload, merchant_id="OTH-02-54321")
    # then
    assert (as_b_shop.status_code, as_a_shop.status_code) == (401, 401)
    assert not Order.objects.filter(merchant=other_merchant).exists()
    assert not InboundMessage.objects.exists()


def test_an_inactive_shop_is_refused(client, shop):
    shop.is_active = False
    shop.save()
    assert deliver(client, "orders/create", sample("orders/create")).status_code == 401


def test_a_signed_body_that_is_not_json_is_logged_as_rejected(client, shop):
    response = deliver(client, "orders/create", b"\xff\xfe{not json")
    assert response.status_code == 200
    assert response.json()["data"]["error"]["code"] == "MALFORMED_JSON"
    message = InboundMessage.objects.get()
    assert (message.outcome, bytes(message.body)) == ("rejected", b"\xff\xfe{not json")


def test_an_order_with_a_negative_quantity_is_rejected_naming_the_field(client, shop):
    payload = sample("orders/create")
    payload["line_items"][0]["quantity"] = -1
    response = deliver(client, "orders/create", payload)
    assert response.json()["data"]["error"]["code"] == "INVALID_SHOPIFY_DATA"
    assert "line_items.quantity" in response.json()["data"]["error"]["fields"]
    assert not Order.objects.exists()


def test_a_topic_we_do_not_handle_is_acknowledged_and_not_stored(client, shop):
    response = deliver(client, "products/update", {"id": 1})
    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "ignored"
    assert not InboundMessage.objects.exists()


def test_a_get_is_refused_in_the_envelope(client, shop):
    response = client.get(reverse("hooks-shopify", args=["FDC-01-12345"]))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_our_database_failing_asks_shopify_to_retry_and_the_retry_applies(client, shop):
    # given: the orders table locked by another connection: writing the order fails
    with TableLock(Order):
        failed = deliver(client, "orders/create", sample("orders/create"), webhook_id="wh-1")
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert InboundMessage.objects.get().outcome == "failed"
    # when: Shopify retries the same delivery
    retried = deliver(client, "orders/create", sample("orders/create"), webhook_id="wh-1")
    # then
    assert retried.json()["data"]["outcome"] == "accepted"
    assert Order.objects.filter(order_id=ORDER_ID).exists()


def test_a_failed_webhook_is_replayed_from_the_console(client, shop, merchant):
    with TableLock(Order):  # writing the order fails
        deliver(client, "orders/create", sample("orders/create"))
    message = InboundMessage.objects.get()
    client.force_login(member_of(merchant, "admin"))
    # the console shows where it came from
    listing = client.get(reverse("admin:inbound_inboundmessage_changelist")).content.decode()
    assert "fred.myshopify.com" in listing
    # when
    page = client.post(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"action": "replay_selected", "_selected_action": [message.pk]},
        follow=True,
    ).content.decode()
    # then
    assert f"Message {message.pk} accepted." in page
    message.refresh_from_db()
    assert (message.outcome, message.replay_count) == ("accepted", 1)
    assert Order.objects.get(order_id=ORDER_ID).line_items.count() == 5


@pytest.mark.parametrize("shops", [1, 2])
def test_a_webhook_logged_before_shops_were_connections_replays_for_the_only_one(merchant, shops):
    # given: a rejected delivery logged under the old route, and the merchant's store(s)
    shop = shop_for(merchant)
    if shops == 2:
        shop_for(merchant, "fred-outlet.myshopify.com")
    body = json.dumps(sample("orders/create")).encode()
    message = InboundMessage.objects.create(
        merchant=merchant, channel="shopify", method="", path="shopify:orders/create",
        body=body, outcome="rejected", source="fred.myshopify.com",
    )  # fmt: skip
    # when
    outcome = inbound_replay(message)
    # then: the order, linked to the store when there is no doubt which one it came from
    assert outcome.replayed is False
    attributes = Order.objects.get(order_id=ORDER_ID).attributes
    link = {"connection": str(shop.public_id), "id": SHOPIFY_ID} if shops == 1 else None
    assert attributes.get("platformOrder") == link


def test_the_customer_finds_the_order_by_the_number_shopify_showed_them(
    client, shop, merchant, other_merchant
):
    deliver(client, "orders/create", sample("orders/create"))
    deliver(client, "fulfillments/create", sample("fulfillments/create"))
    _key, raw_key = api_key_issue(merchant=merchant, name="oms")
    _key, other_key = api_key_issue(merchant=other_merchant, name="oms")
    create_order(other_merchant, "#9999")  # another shop's order with the same number

    def api_search(query, key=raw_key):
        response = client.get("/api/v1/orders", {"search": query},
                              HTTP_AUTHORIZATION=f"Bearer {key}")  # fmt: skip
        return [
            (o["orderId"], o["attributes"].get("shopifyOrderId")) for o in response.json()["data"]
        ]

    # when / then: the API's search, with or without the "#"
    assert api_search("9999") == [("#9999", SHOPIFY_ID)]
    assert api_search("#9999") == [("#9999", SHOPIFY_ID)]
    assert api_search("9999", other_key) == [("#9999", None)]  # B's own order, never A's
    # the console's search box
    order = Order.objects.get(merchant=merchant)
    client.force_login(member_of(merchant, "agent"))
    for query in ("9999", "#9999"):
        found = client.get(reverse("console:search"), {"q": query, "go": "1"})
        assert found["Location"] == reverse("console:order", args=[order.pk])
    # the customer's link: the one we send, and one written with the number alone
    client.logout()
    sent = client.get(tracking_page_url(order).removeprefix("http://testserver"))
    by_number = client.get("/orders/FDC-01-12345/9999")
    assert (sent.status_code, by_number.status_code) == (200, 200)
    assert "1Z827WK74630" in sent.content.decode() and "1Z827WK74630" in by_number.content.decode()


def test_an_order_stored_under_shopifys_id_is_still_found_by_its_later_webhooks(
    client, shop, merchant
):
    # given: an order mapped before the name became the id
    lines = [LineItemInput(item_id=str(item["id"]), name=item["name"], quantity=1)
             for item in sample("orders/create")["line_items"]]  # fmt: skip
    legacy = create_order(merchant, SHOPIFY_ID, line_items=lines,
                          attributes={"shopifyOrderName": "#9999"})  # fmt: skip
    # when
    shipped = deliver(client, "fulfillments/create", sample("fulfillments/create"))
    cancelled = deliver(client, "orders/cancelled", sample("orders/cancelled"))
    # then: no second order, the webhooks applied to the one stored
    assert [r.json()["data"]["outcome"] for r in (shipped, cancelled)] == ["accepted", "accepted"]
    assert list(Order.objects.values_list("order_id", flat=True)) == [SHOPIFY_ID]
    assert Shipment.objects.get().order_id == legacy.pk


def test_a_fulfillment_without_a_name_finds_its_order_by_shopifys_id(client, shop, merchant):
    deliver(client, "orders/create", sample("orders/create"))
    unnamed = sample("fulfillments/create")
    del unnamed["name"]
    # when
    response = deliver(client, "fulfillments/create", unnamed)
    # then
    assert response.json()["data"]["outcome"] == "accepted"
    assert Shipment.objects.get().order.order_id == ORDER_ID
    assert Order.objects.count() == 1


# --- The mapping alone -------------------------------------------------------------------------


def _fulfillment(**changes) -> bytes:
    payload = copy.deepcopy(sample("fulfillments/create"))
    payload.update(changes)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("company", "number", "carrier"),
    [
        ("UPS", "1z827wk74630", "ups"),
        ("FedEx", "123456789012", "fedex"),
        ("USPS", "9400111899223197428490", "usps"),
        ("DHL Express", "1234567890", "dhl"),
        ("Canada Post", "1234567890123456", "canada_post"),
        ("Some Local Courier", "1Z5R89390357567127", ""),  # the number tells: detection decides
        ("New Zealand Post", "NZ0079421039261693147", "other"),  # nothing tells: kept as other
        (None, "NZ0079421039261693147", "other"),
    ],
)
def test_shopifys_tracking_company_becomes_our_carrier(merchant, company, number, carrier):
    body = _fulfillment(tracking_company=company, tracking_number=number,
                        tracking_numbers=[number])  # fmt: skip
    [event] = map_shopify(merchant, "fulfillments/create", body)
    assert event["data"]["carrier"] == carrier
    assert event["eventId"] == f"shopify-fulfillment-123456-{number.upper()}"


def test_one_event_per_tracking_number_with_the_units_dealt_out(merchant):
    body = _fulfillment(tracking_numbers=["1Z0001", "1Z0002"])
    events = map_shopify(merchant, "fulfillments/create", body)
    assert [e["eventId"] for e in events] == [
        "shopify-fulfillment-123456-1Z0001-of-2", "shopify-fulfillment-123456-1Z0002-of-2",
    ]  # fmt: skip
    assert [[i["itemId"] for i in e["data"]["items"]] for e in events] == [
        ["487817672276298554", "890123456789012345", "315789986012684393"],
        ["789012345678901234", "976318377106520349"],
    ]


def test_lines_that_need_no_shipping_are_left_out(merchant):
    payload = sample("orders/create")
    payload["line_items"][1]["requires_shipping"] = False  # the protection plan
    [event] = map_shopify(merchant, "orders/create", json.dumps(payload).encode())
    assert "789012345678901234" not in [item["itemId"] for item in event["data"]["lineItems"]]
    assert len(event["data"]["lineItems"]) == 4


# --- The console -------------------------------------------------------------------------------


def _shop_form(merchant, **overrides) -> dict:
    values = {
        "merchant": merchant.pk, "name": "Fred's store", "kind": "shopify",
        "base_url": "https://Fred.myshopify.com/", "username": "", "secret": "shpat_fred_token",
        "webhook_secret": SECRET, "auth": "", "pull_every_minutes": "15",
        "cursor_kind": "updated_since", "records_path": "", "page_size": "100",
        "max_pages": "20", "is_active": "on", "write_back_statuses": ["delivered"],
    }  # fmt: skip
    return {**values, **overrides}


def test_staff_connect_a_shop_whose_token_and_secret_are_never_shown_back(
    client, staff_client, merchant, fake_dns
):
    # given
    fake_dns()
    # when
    response = client.post(reverse("admin:platforms_platformconnection_add"), _shop_form(merchant))
    # then: the store is its myshopify.com domain, and its webhooks are taken
    assert response.status_code == 302
    shop = PlatformConnection.objects.get()
    assert (shop.base_url, shop.shop_domain, shop.secret, shop.webhook_secret) == (
        "https://fred.myshopify.com", "fred.myshopify.com", "shpat_fred_token", SECRET,
    )  # fmt: skip
    assert deliver(client, "orders/create", sample("orders/create")).status_code == 200
    page = client.get(reverse("admin:platforms_platformconnection_change", args=[shop.pk]))
    content = page.content.decode()
    assert SECRET not in content and "shpat_fred_token" not in content
    assert (
        f"{settings.PUBLIC_BASE_URL}/hooks/shopify/FDC-01-12345" in content
    )  # Shopify posts there
    # when: saved again without typing either
    client.post(
        reverse("admin:platforms_platformconnection_change", args=[shop.pk]),
        _shop_form(merchant, secret="", webhook_secret="", is_active=""),
    )
    # then: both kept (and the shop switched off, as the form said)
    shop.refresh_from_db()
    assert (shop.secret, shop.webhook_secret, shop.is_active) == (
        "shpat_fred_token", SECRET, False,
    )  # fmt: skip


def test_a_shop_needs_its_myshopify_address_and_a_webhook_secret(
    client, staff_client, merchant, fake_dns
):
    fake_dns()
    response = client.post(
        reverse("admin:platforms_platformconnection_add"),
        _shop_form(merchant, base_url="https://fredsdiscount.com", webhook_secret=""),
    )
    errors = response.context["adminform"].form.errors
    assert errors == {
        "base_url": ["Use the store's myshopify.com address, e.g. https://fred.myshopify.com."],
        "webhook_secret": ["Required: Shopify signs every webhook with it."],
    }
    assert not PlatformConnection.objects.exists()


def test_writing_back_to_a_shop_needs_its_admin_api_token(client, staff_client, merchant, fake_dns):
    fake_dns()
    response = client.post(
        reverse("admin:platforms_platformconnection_add"), _shop_form(merchant, secret="")
    )
    assert response.context["adminform"].form.errors == {
        "secret": ["Required to write back: the Admin API access token."]
    }
    assert not PlatformConnection.objects.exists()


def test_a_shop_connected_by_another_merchant_is_refused(
    client, staff_client, merchant, other_merchant, fake_dns
):
    # given
    fake_dns()
    shop_for(other_merchant)
    # when
    response = client.post(reverse("admin:platforms_platformconnection_add"), _shop_form(merchant))
    # then
    assert response.context["adminform"].form.errors == {
        "base_url": ["This Shopify store is connected already."]
    }
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()


def test_another_merchants_admin_does_not_see_the_shop(client, shop, other_merchant):
    client.force_login(member_of(other_merchant, "admin"))
    listing = client.get(reverse("admin:platforms_platformconnection_changelist"))
    assert listing.status_code == 200
    assert "fred.myshopify.com" not in listing.content.decode()
    page = client.get(reverse("admin:platforms_platformconnection_change", args=[shop.pk]))
    assert page.status_code in (302, 404)


def test_a_shop_turned_into_another_kind_no_longer_receives_shopifys_webhooks(
    client, staff_client, shop, merchant, fake_dns
):
    # given
    fake_dns()
    # when: staff make Fred's store connection a WooCommerce one
    response = client.post(
        reverse("admin:platforms_platformconnection_change", args=[shop.pk]),
        _shop_form(merchant, kind="woocommerce", base_url="https://fred.example",
                   username="ck_fred", write_back_statuses=[]),
    )  # fmt: skip
    # then
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.kind, shop.shop_domain) == ("woocommerce", "")
    assert deliver(client, "orders/create", sample("orders/create")).status_code == 401
