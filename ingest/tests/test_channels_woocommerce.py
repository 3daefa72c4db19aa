"""WooCommerce webhooks on a platform connection: verified by their HMAC, logged, mapped onto the
events envelope and applied by the same code as the API. The order is an order of our own in
the shape of `GET /wp-json/wc/v3/orders/<id>` (fixtures/woocommerce/order.json), its post id
(48213) not its number ("1057"), with the Shipment Tracking extension's meta."""

import base64
import copy
import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from inbound.models import InboundMessage
from ingest.replay import inbound_replay
from orders.models import Order, Shipment
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

ORDER = json.loads((Path(__file__).parent / "fixtures/woocommerce/order.json").read_text())
NUMBER, WOO_ID = "1057", "48213"
SECRET = "wc-fred-webhook-secret-0123"
USPS_NUMBER = "9400111899223197428490"


def woo_order(**changes) -> dict:
    order = copy.deepcopy(ORDER)
    order.update(changes)
    return order


def tracking_meta(*items: dict) -> dict:
    return {"id": 90240, "key": "_wc_shipment_tracking_items", "value": list(items)}


def with_tracking(order: dict, *items: dict) -> dict:
    order["meta_data"] = [m for m in order["meta_data"] if m["key"] != tracking_meta()["key"]]
    order["meta_data"].append(tracking_meta(*items))
    return order


def wp_json(payload: dict) -> bytes:
    """As WooCommerce sends it: trim(wp_json_encode()) — compact, "/" escaped."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def connection_for(merchant, *, name="Fred's store", secret=SECRET, kind="woocommerce"):
    return PlatformConnection.objects.create(
        merchant=merchant, name=name, kind=kind, base_url="https://fred.example",
        username="ck_fred", secret="cs_fred", webhook_secret=secret,
    )  # fmt: skip


@pytest.fixture
def store(merchant):
    return connection_for(merchant)


def deliver(client, connection_id, payload, *, topic="order.created", secret=SECRET,
            delivery_id=None, signature=None):  # fmt: skip
    body = payload if isinstance(payload, bytes) else wp_json(payload)
    headers = {
        "HTTP_USER_AGENT": "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
        "HTTP_X_WC_WEBHOOK_SOURCE": "https://fred.example/",
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_RESOURCE": topic.partition(".")[0],
        "HTTP_X_WC_WEBHOOK_EVENT": topic.partition(".")[2],
        "HTTP_X_WC_WEBHOOK_SIGNATURE": signature if signature is not None else signed(body, secret),
        "HTTP_X_WC_WEBHOOK_ID": "12",
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id or hashlib.md5(body).hexdigest(),  # noqa: S324
    }
    return client.post(
        reverse("hooks-woocommerce", args=[str(connection_id)]), body,
        content_type="application/json", **headers,
    )  # fmt: skip


def test_an_order_created_becomes_the_order_under_its_number_with_its_shipment(
    client, store, merchant
):
    # when
    response = deliver(client, store.public_id, woo_order())
    # then
    assert response.status_code == 200
    assert response.json()["data"] == {
        "received": True, "topic": "order.created", "outcome": "accepted", "replayed": False,
    }  # fmt: skip
    order = Order.objects.get(merchant=merchant)
    assert order.order_id == NUMBER
    assert order.attributes == {"platformOrder": {"connection": str(store.public_id), "id": WOO_ID}}
    assert (order.customer_name, order.customer_email, order.customer_phone) == (
        "Jane Doe", "jane@example.com", "+15125550100",
    )  # fmt: skip
    assert (order.street1, order.street2, order.city, order.state, order.postal_code) == (
        "1 Main St", "Apt 4", "Austin", "TX", "78701",
    )  # fmt: skip
    assert order.country_code == "US"
    assert (order.currency, order.order_value) == ("USD", Decimal("41.48"))
    assert order.order_date == datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)
    assert [
        (i.item_id, i.name, i.quantity_ordered, i.price, i.image_url)
        for i in order.line_items.order_by("position")
    ] == [
        ("3101", "Blue Mug – Size: 12 oz", 2, Decimal("10.00"),
         "https://fred.example/wp-content/uploads/blue-mug.jpg"),
        ("3102", "Tea Towel", 1, Decimal("10.45"), ""),
    ]  # fmt: skip
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.tracking_number, shipment.carrier, shipment.order_id) == (
        USPS_NUMBER, "usps", order.pk,
    )  # fmt: skip
    assert sorted(shipment.items.values_list("line_item__item_id", "quantity")) == [
        ("3101", 2), ("3102", 1),
    ]  # fmt: skip
    assert shipment.shipped_at == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    message = InboundMessage.objects.get()
    assert (message.channel, message.path, message.source, message.outcome, message.order_ref) == (
        "woocommerce", f"woocommerce:{store.pk}:order.created", "https://fred.example",
        "accepted", NUMBER,
    )  # fmt: skip


def test_advanced_shipment_trackings_two_numbers_are_two_packages_with_the_units_dealt(
    client, store, merchant
):
    # given: AST's flavour of the meta (its own fields, a provider slug), two parcels
    ast = {"date_shipped": "1795273200", "tracking_id": "a51b6661efac402935259a80011cb864",
           "tracking_product_code": "", "status_shipped": "1"}  # fmt: skip
    order = with_tracking(
        woo_order(),
        {**ast, "tracking_number": "1Z5R89390357567127", "tracking_provider": "ups"},
        {**ast, "tracking_number": "111222", "tracking_provider": "dhl-at"},
    )
    # when
    response = deliver(client, store.public_id, order, topic="order.updated")
    # then: each parcel its share of the units; a provider we do not know is "other"
    assert response.json()["data"]["outcome"] == "accepted"
    shipments = {
        s.tracking_number: (
            s.carrier,
            sorted(s.items.values_list("line_item__item_id", "quantity")),
        )
        for s in Shipment.objects.filter(merchant=merchant)
    }
    assert shipments == {
        "1Z5R89390357567127": ("ups", [("3101", 1), ("3102", 1)]),
        "111222": ("other", [("3101", 1)]),
    }


def test_a_custom_provider_of_the_official_extension_leaves_the_carrier_to_the_number(
    client, store, merchant
):
    # given: a provider the extension does not list, named in custom_tracking_provider
    order = with_tracking(woo_order(), {
        "tracking_provider": "", "custom_tracking_provider": "Fred's Couriers",
        "custom_tracking_link": "https://couriers.fred.example/?n=%1$s",
        "tracking_number": "SBXDELIVERED0001", "date_shipped": "2026-11-21", "tracking_id": "c1",
    })  # fmt: skip
    # when
    deliver(client, store.public_id, order)
    # then
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.tracking_number, shipment.carrier, shipment.shipped_at) == (
        "SBXDELIVERED0001", "sandbox", datetime(2026, 11, 21, tzinfo=UTC),
    )  # fmt: skip


def test_a_redelivery_changes_nothing(client, store, merchant):
    # given
    body = wp_json(woo_order())
    deliver(client, store.public_id, body, delivery_id="6f1c0e")
    before = Order.objects.values("updated_at").get()
    # when: the same delivery again
    response = deliver(client, store.public_id, body, delivery_id="6f1c0e")
    # then
    assert response.status_code == 200
    assert response.json()["data"]["replayed"] is True
    assert InboundMessage.objects.count() == 1
    assert Order.objects.values("updated_at").get() == before
    assert Shipment.objects.filter(merchant=merchant).count() == 1


def test_an_order_updated_that_changed_nothing_of_ours_is_a_no_op(client, store, merchant):
    # given
    deliver(client, store.public_id, woo_order())
    before = Order.objects.values("updated_at").get()
    # when: a later update (a payment note, say) delivered on its own
    updated = woo_order(date_modified_gmt="2026-11-20T16:00:00", status="completed")
    response = deliver(client, store.public_id, updated, topic="order.updated")
    # then: every event a duplicate
    assert response.json()["data"]["outcome"] == "accepted"
    message = InboundMessage.objects.get(path=f"woocommerce:{store.pk}:order.updated")
    assert [w["code"] for w in message.response()["warnings"]] == ["DUPLICATE_EVENT"] * 2
    assert Order.objects.values("updated_at").get() == before
    assert Shipment.objects.filter(merchant=merchant).count() == 1


def test_an_order_updated_with_a_new_address_and_a_second_parcel_updates_the_order(
    client, store, merchant
):
    # given
    deliver(client, store.public_id, woo_order())
    changed = woo_order()
    changed["shipping"] = {**changed["shipping"], "address_1": "9 Elm St", "address_2": ""}
    first = changed["meta_data"][-1]["value"][0]
    with_tracking(changed, first, {**first, "tracking_number": "9400111899223197428506"})
    # when
    deliver(client, store.public_id, changed, topic="order.updated")
    # then: one order, the new street, the units dealt to both parcels
    order = Order.objects.get(merchant=merchant)
    assert (order.order_id, order.street1, order.street2) == (NUMBER, "9 Elm St", "")
    assert {
        s.tracking_number: sorted(s.items.values_list("line_item__item_id", "quantity"))
        for s in Shipment.objects.filter(merchant=merchant)
    } == {
        USPS_NUMBER: [("3101", 1), ("3102", 1)],
        "9400111899223197428506": [("3101", 1)],
    }


def test_an_order_updated_for_an_order_never_seen_creates_it(client, store, merchant):
    # when
    response = deliver(client, store.public_id, woo_order(), topic="order.updated")
    # then
    assert response.json()["data"]["outcome"] == "accepted"
    assert Order.objects.get(merchant=merchant).order_id == NUMBER


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_order_is_cancelled(client, store, merchant, status):
    # given: nothing shipped yet
    unshipped = woo_order()
    with_tracking(unshipped)
    deliver(client, store.public_id, unshipped)
    # when
    cancelled = woo_order(status=status, date_modified_gmt="2026-11-20T18:00:00")
    with_tracking(cancelled)
    deliver(client, store.public_id, cancelled, topic="order.updated")
    # then
    order = Order.objects.get(merchant=merchant)
    assert order.status == "cancelled"
    assert order.cancel_reason == f"{status.capitalize()} in WooCommerce."
    assert sorted(order.line_items.values_list("item_id", "quantity_cancelled")) == [
        ("3101", 2), ("3102", 1),
    ]  # fmt: skip


def test_a_wrong_signature_is_refused_and_nothing_is_stored(client, store, merchant, caplog):
    # when
    with caplog.at_level(logging.WARNING, logger="ingest.hooks"):
        response = deliver(client, store.public_id, woo_order(), secret="not-the-secret")
    # then
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": {
        "code": "UNAUTHORIZED", "severity": "hard", "details": {}, "fields": {},
        "message": "Unknown store connection, or the signature does not match.",
    }}  # fmt: skip
    assert InboundMessage.objects.count() == 0
    assert Order.objects.count() == 0
    assert "wrong signature" in caplog.text
    assert SECRET not in caplog.text


def test_a_missing_signature_is_refused(client, store):
    # when
    response = deliver(client, store.public_id, woo_order(), signature="")
    # then
    assert response.status_code == 401
    assert InboundMessage.objects.count() == 0


def test_the_ping_woocommerce_sends_when_a_webhook_is_saved_is_answered_200(client, store):
    # when: a form body, no topic, no signature
    response = client.post(
        reverse("hooks-woocommerce", args=[str(store.public_id)]), b"webhook_id=12",
        content_type="application/x-www-form-urlencoded",
        HTTP_USER_AGENT="WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
    )  # fmt: skip
    # then
    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "ping"
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize("connection_id", [uuid.UUID(int=7), "not-a-uuid"])
def test_an_unknown_connection_is_refused_ping_or_not(client, store, connection_id):
    # when
    ping = client.post(
        reverse("hooks-woocommerce", args=[str(connection_id)]),
        b"webhook_id=12",
        content_type="application/x-www-form-urlencoded",
    )
    order = deliver(client, connection_id, woo_order())
    # then
    assert (ping.status_code, order.status_code) == (401, 401)
    assert ping.json()["error"]["message"] == order.json()["error"]["message"]
    assert InboundMessage.objects.count() == 0


def test_another_merchants_connection_takes_neither_this_secret_nor_gives_its_orders_here(
    client, store, merchant, other_merchant
):
    # given: the other merchant's store, with a secret of its own
    theirs = connection_for(other_merchant, name="Other store", secret="other-secret")
    # when: signed with this merchant's secret, sent to theirs; then theirs, properly signed
    refused = deliver(client, theirs.public_id, woo_order())
    accepted = deliver(client, theirs.public_id, woo_order(), secret="other-secret")
    # then
    assert refused.status_code == 401
    assert accepted.json()["data"]["outcome"] == "accepted"
    assert list(Order.objects.values_list("merchant__merchant_id", "order_id")) == [
        ("OTH-02-54321", NUMBER)
    ]
    assert Order.objects.get().attributes["platformOrder"]["connection"] == str(theirs.public_id)


@pytest.mark.parametrize("change", [{"kind": "shopify"}, {"is_active": False}])
def test_a_connection_that_is_not_an_active_woocommerce_one_is_refused(client, store, change):
    # given
    PlatformConnection.objects.filter(pk=store.pk).update(**change)
    # when
    response = deliver(client, store.public_id, woo_order())
    # then
    assert response.status_code == 401
    assert Order.objects.count() == 0


def test_a_topic_we_do_not_handle_is_a_200_ignored(client, store):
    # when
    response = deliver(client, store.public_id, {"id": 48213}, topic="order.deleted")
    # then
    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "ignored"
    assert InboundMessage.objects.count() == 0


def test_an_order_we_cannot_take_is_kept_and_answered_200_so_the_webhook_stays_active(
    client, store
):
    # when
    response = deliver(client, store.public_id, woo_order(line_items=[]))
    # then
    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "rejected"
    assert response.json()["data"]["error"]["code"] == "MISSING_WOOCOMMERCE_DATA"
    assert InboundMessage.objects.get().outcome == "rejected"
    assert Order.objects.count() == 0


def test_a_rejected_delivery_replayed_maps_again(client, store, merchant):
    # given: an order whose number WooCommerce lost (a plugin's bug), rejected and kept
    deliver(client, store.public_id, woo_order(number=""))
    message = InboundMessage.objects.get()
    assert message.outcome == "rejected"
    # when: staff fixed the body (as the admin's edit would) and replayed it
    message.body = wp_json(woo_order())
    message.save()
    inbound_replay(message)
    # then
    message.refresh_from_db()
    assert message.outcome == "accepted"
    assert Order.objects.get(merchant=merchant).order_id == NUMBER
