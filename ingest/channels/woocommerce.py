"""WooCommerce order webhooks mapped onto our event envelope (API.md `/events`): a store on the
platform connection (kind `woocommerce`) reaches the same services as an OMS posting to the API.
Route `woocommerce:<connection pk>:<topic>`; the receiver is `ingest/hooks.py`. Payload shape:
`GET /wp-json/wc/v3/orders/<id>`, which both topics deliver, built when WooCommerce sends it.

Choices (docs/channels.md, "WooCommerce"):
- The order id is the order's `number`, the one the customer sees; WooCommerce's post `id`,
  which its URLs take, is kept in the attributes as the platform order (PLATFORM_ORDER_ATTRIBUTE)
  for the write-back. In a plain store both are alike ("727"); with a sequential-numbers plugin
  they are not (id 35404, number "2109").
- `order.created` and `order.updated` are read alike: the order as it is now. Its event id holds
  a digest of what we take from it, so a redelivery or an update that changed nothing of ours is
  a no-op, and an order first seen in an update is created.
- Shipments come from the Shipment Tracking extension's order meta `_wc_shipment_tracking_items`
  (the official extension and AST write the same key): one shipment per tracking number, its
  event id the order's and the number, so a repeat is a no-op. The meta does not say which lines
  a package carries: the order's units are dealt to its packages, as for Shopify, the event id
  ending `-of-<count>` so that adding a number deals again.
- Status `cancelled` or `refunded` cancels what has not shipped.
"""

import functools
import hashlib
import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from carriers.aggregators import verify_aftership
from carriers.detection import normalize_tracking_number
from flextracker.errors import ApiError, InvalidData, MissingData
from inbound.services import parse_json
from ingest.channels.platform_shipping import carrier_named, units_dealt
from merchants.models import Merchant
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection, PlatformKind

TOPICS = ("order.created", "order.updated")
TRACKING_META = "_wc_shipment_tracking_items"
CANCELLED_STATUSES = {
    "cancelled": "Cancelled in WooCommerce.",
    "refunded": "Refunded in WooCommerce.",
}
CENTS = Decimal("0.01")

# `X-WC-Webhook-Signature`: base64 of HMAC-SHA256 over the raw body with the webhook's secret,
# the scheme Shopify and AfterShip sign with.
woocommerce_signature_valid = verify_aftership


def woocommerce_route(connection: PlatformConnection, topic: str) -> str:
    return f"woocommerce:{connection.pk}:{topic}"


def woocommerce_mapper(merchant: Merchant, argument: str) -> Callable[[bytes], list[dict]]:
    """The route's mapper (ingest/channels/core.py MAPPERS): its connection, the merchant's own."""
    connection_pk, _, topic = argument.partition(":")
    connection = (
        PlatformConnection.objects.filter(
            merchant=merchant, pk=int(connection_pk), kind=PlatformKind.WOOCOMMERCE
        ).first()
        if connection_pk.isdigit()
        else None
    )
    if connection is None:
        raise ApiError(
            "The WooCommerce connection of this record was removed.", code="UNKNOWN_ROUTE"
        )
    return functools.partial(map_woocommerce, connection, topic)


def map_woocommerce(connection: PlatformConnection, topic: str, body: bytes) -> list[dict]:
    if topic not in TOPICS:
        raise _invalid(
            f"WooCommerce topic {topic!r} is not one we handle; use {', '.join(TOPICS)}."
        )
    order = parse_json(body)
    if not isinstance(order, dict):
        raise _invalid("A WooCommerce webhook body is a JSON object.")
    woo_id = _required_id(order, "id")
    prefix = f"woocommerce-{connection.pk}-{woo_id}"
    data = _order_data(connection, order, woo_id)
    events = [_event(f"{prefix}-order-{_digest(data)}", "order.created", order, data)]
    events += _shipments(prefix, order, data)
    if reason := CANCELLED_STATUSES.get(_text(order.get("status"))):
        cancellation = {"orderId": data["orderId"], "reason": reason}
        events.append(_event(f"{prefix}-cancelled", "order.cancelled", order, cancellation))
    return events


def _order_data(connection: PlatformConnection, order: dict, woo_id: str) -> dict:
    billing, shipping = _object(order.get("billing")), _object(order.get("shipping"))
    line_items = [_line_item(_object(item)) for item in _lines(order)]
    data = {
        "orderId": _required_id(order, "number"),
        "customer": {
            "name": (_person(billing) or _person(shipping))[:200],
            "email": _text(billing.get("email")),
            "phone": _text(billing.get("phone") or shipping.get("phone"))[:32],
        },
        "currency": _text(order.get("currency")),
        "lineItems": line_items,
        "attributes": {
            PLATFORM_ORDER_ATTRIBUTE: {"connection": str(connection.public_id), "id": woo_id}
        },
    }
    if created := _gmt(order.get("date_created_gmt")):
        data["orderDate"] = created
    if (total := _money(order.get("total"))) is not None:
        data["orderValue"] = total
    if address := _address(shipping):
        data["shippingAddress"] = address
    return data


def _lines(order: dict) -> list:
    items = order.get("line_items")
    if not isinstance(items, list) or not items:
        raise MissingData(
            "The WooCommerce order has no line_items.",
            code="MISSING_WOOCOMMERCE_DATA",
            fields={"line_items": ["At least one line item."]},
        )
    return items


def _line_item(item: dict) -> dict:
    line = {
        "itemId": _required_id(item, "id"),
        "name": html.unescape(_text(item.get("name") or item.get("sku")))[:300]
        or f"Product {_text(item.get('product_id'))}",
        "quantity": _quantity(item),
    }
    if (price := _money(item.get("price"))) is not None:
        line["price"] = price
    if image := _text(_object(item.get("image")).get("src")):
        line["imageUrl"] = image
    return line


def _shipments(prefix: str, order: dict, data: dict) -> list[dict]:
    trackings = _tracking_items(order)
    numbers = list(trackings)
    units = [(item["itemId"], item["quantity"]) for item in data["lineItems"]]
    events = []
    for number, items in zip(numbers, units_dealt(units, len(numbers)), strict=True):
        if not items:
            continue  # more packages than units: this one has no unit of its own to carry
        tracking = trackings[number]
        provider = _text(
            tracking.get("tracking_provider") or tracking.get("custom_tracking_provider")
        )
        shipment = {
            "orderId": data["orderId"],
            "trackingNumber": number,
            "carrier": carrier_named(provider, number),
            "items": items,
        }
        if shipped_at := _shipped_at(tracking.get("date_shipped")):
            shipment["shippedAt"] = shipped_at
        event_id = f"{prefix}-shipment-{number}"
        if len(numbers) > 1:  # the units are dealt anew when a number is added
            event_id += f"-of-{len(numbers)}"
        events.append(_event(event_id, "shipment.confirmed", order, shipment))
    return events


def _tracking_items(order: dict) -> dict[str, dict]:
    """The Shipment Tracking meta's items by their normalized number, in order. PHP encodes an
    array whose keys have a gap (an item deleted) as a JSON object: its values are the items."""
    for meta in order.get("meta_data") or []:
        if not isinstance(meta, dict) or meta.get("key") != TRACKING_META:
            continue
        value = meta.get("value")
        listed = list(value.values()) if isinstance(value, dict) else value
        items: dict[str, dict] = {}
        for item in map(_object, listed if isinstance(listed, list) else []):
            if number := normalize_tracking_number(_text(item.get("tracking_number"))):
                items.setdefault(number, item)
        return items
    return {}


def _shipped_at(value) -> str | None:
    """The meta keeps a Unix timestamp ("1600128000"); the extension's REST API a date."""
    text = _text(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC).isoformat()
    try:
        return f"{datetime.strptime(text, '%Y-%m-%d').date().isoformat()}T00:00:00+00:00"
    except ValueError:
        return None


def _address(address: dict) -> dict[str, str]:
    fields = {
        "street1": _text(address.get("address_1"))[:200],
        "street2": _text(address.get("address_2"))[:200],
        "city": _text(address.get("city"))[:100],
        "state": _text(address.get("state"))[:100],
        "postalCode": _text(address.get("postcode"))[:20],
        "countryCode": _text(address.get("country")),
    }
    return fields if any(fields.values()) else {}


def _person(contact: dict) -> str:
    parts = (_text(contact.get("first_name")), _text(contact.get("last_name")))
    return " ".join(part for part in parts if part)


def _gmt(value) -> str | None:
    """WooCommerce's `_gmt` dates are UTC without an offset ("2017-03-22T19:28:02")."""
    text = _text(value)
    return f"{text}+00:00" if text else None


def _money(value) -> str | None:
    """Money to the cent: line prices come unrounded (5.454545), totals as strings."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return str(Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


def _quantity(item: dict) -> int:
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise _invalid(
            f"WooCommerce line item {item.get('id')} has quantity {quantity!r}.",
            fields={"line_items.quantity": ["A whole number of at least 1."]},
        )
    return quantity


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _event(event_id: str, kind: str, order: dict, data: dict) -> dict:
    event = {"eventId": event_id, "type": kind, "data": data}
    if occurred_at := _gmt(order.get("date_modified_gmt")):
        event["occurredAt"] = occurred_at
    return event


def _required_id(resource: dict, field: str) -> str:
    value = resource.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise MissingData(
            f"The WooCommerce payload has no {field}.",
            code="MISSING_WOOCOMMERCE_DATA",
            fields={field: ["This field is required."]},
        )
    return str(value).strip()[:100]


def _invalid(message: str, fields: dict | None = None) -> InvalidData:
    return InvalidData(message, code="INVALID_WOOCOMMERCE_DATA", fields=fields)


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    return "" if value is None else str(value).strip()
