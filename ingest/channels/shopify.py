"""Shopify webhooks mapped onto our event envelope (API.md `/events`), so a Shopify store reaches
the same services as an OMS posting to the API. Route `shopify:<connection pk>:<topic>`; the
receiver is `ingest/hooks.py`. Payload shapes: Shopify's webhook reference (fixtures in
`ingest/tests/fixtures/shopify/`).

Choices (docs/channels.md, "Shopify"):
- The order id is the order's `name` ("#1001"), the number the customer knows, types into a
  search and finds in a link; Shopify's numeric `id` ("820982911946154508") is kept in the
  attributes (`shopifyOrderId`, and as the platform order, PLATFORM_ORDER_ATTRIBUTE, with the
  connection, for the write-back). A fulfillment names its order only by that `id` (`order_id`),
  but its own name is the order's plus ".<n>" ("#1001.1"), so it is read from there. Orders
  stored before, under the numeric id, keep it: every topic first looks for an order with that
  id, so their fulfillments and cancellations still find them (no data migration).
- An item id is Shopify's line item `id`: unique within the order and named by every
  fulfillment, where a SKU may be blank or shared by two lines. Lines that need no shipping
  (gift cards, digital goods) are left out: they would never ship.
- A fulfillment's tracking number is a shipment: eventId `shopify-fulfillment-<id>-<number>`,
  so a fulfillments/update with the same number is a no-op and one that brings a number (a
  fulfillment created before its label) ships. Several numbers are several packages: one event
  per number, the units dealt out in turn, the eventId ending `-of-<count>` so that adding a
  number deals again (a shipment's items are set, not added, so the earlier packages give up
  the units the new one takes). Our shipments carry at least one unit: a number left without a
  unit of its own (two boxes for one sofa) is not recorded. Each shipment remembers its
  fulfillment's id (`sourceReference`): the write-back creates fulfillment events on it.
"""

import functools
import re
from collections.abc import Callable

from carriers.aggregators import verify_aftership
from carriers.detection import normalize_tracking_number
from flextracker.errors import ApiError, InvalidData, MissingData
from inbound.services import parse_json
from ingest.channels.platform_shipping import carrier_named, units_dealt
from merchants.models import Merchant
from orders.selectors import order_exists, order_id_get_by_attribute
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection, PlatformKind

TOPICS = ("orders/create", "orders/cancelled", "fulfillments/create", "fulfillments/update")

# A fulfillment in these states shipped nothing.
NOT_SHIPPED = frozenset({"cancelled", "error", "failure"})

# A fulfillment's name: its order's name, a dot and its own number ("#1001.1").
FULFILLMENT_NAME = re.compile(r"(?P<order>.+)\.[0-9]+")


# `X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body with the app's secret, the
# scheme AfterShip signs its pushes with.
shopify_signature_valid = verify_aftership


def shopify_route(connection: PlatformConnection, topic: str) -> str:
    return f"shopify:{connection.pk}:{topic}"


def shopify_mapper(merchant: Merchant, argument: str) -> Callable[[bytes], list[dict]]:
    """The route's mapper (ingest/channels/core.py MAPPERS). A record logged before Shopify
    stores were connections (route `shopify:<topic>`) is mapped for the merchant's only Shopify
    connection, or for none (then nothing is written back for its order)."""
    connection_pk, separator, topic = argument.partition(":")
    if not separator:
        only = PlatformConnection.objects.filter(merchant=merchant, kind=PlatformKind.SHOPIFY)
        connections = list(only[:2])
        connection = connections[0] if len(connections) == 1 else None
        return functools.partial(map_shopify, merchant, argument, connection=connection)
    connection = (
        PlatformConnection.objects.filter(
            merchant=merchant, pk=int(connection_pk), kind=PlatformKind.SHOPIFY
        ).first()
        if connection_pk.isdigit()
        else None
    )
    if connection is None:
        raise ApiError("The Shopify connection of this record was removed.", code="UNKNOWN_ROUTE")
    return functools.partial(map_shopify, merchant, topic, connection=connection)


def map_shopify(
    merchant: Merchant, topic: str, body: bytes, *, connection: PlatformConnection | None = None
) -> list[dict]:
    """The events a webhook means; with the connection it came through, the order remembers
    it (the write-back's address)."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise InvalidData("A Shopify webhook body is a JSON object.", code="INVALID_SHOPIFY_DATA")
    if topic == "orders/create":
        return [_order_created(merchant, payload, connection)]
    if topic == "orders/cancelled":
        return [_order_cancelled(merchant, payload)]
    if topic in ("fulfillments/create", "fulfillments/update"):
        return _shipments_confirmed(merchant, payload)
    raise InvalidData(
        f"Shopify topic {topic!r} is not one we handle; subscribe to {', '.join(TOPICS)}.",
        code="INVALID_SHOPIFY_DATA",
    )


def _our_order_id(merchant: Merchant, shopify_id: str, name: str) -> str:
    """Our id for a Shopify order: its name; Shopify's id for an order stored under it before
    names were used; with no name, the id of the order that holds this Shopify id."""
    if order_exists(merchant, shopify_id):
        return shopify_id
    if name:
        return name[:100]
    return order_id_get_by_attribute(merchant, "shopifyOrderId", shopify_id) or shopify_id


def _fulfilled_order_id(merchant: Merchant, shopify_id: str, fulfillment_name: str) -> str:
    """A fulfillment's order: one stored under Shopify's id before names were used; else the
    order its name names ("#1001.1" → "#1001"); else the order that holds this Shopify id (no
    name, or one that names no order); else that name, for a placeholder the order's own
    webhook fills in."""
    named = FULFILLMENT_NAME.fullmatch(fulfillment_name)
    name = named["order"][:100] if named else ""
    if order_exists(merchant, shopify_id):
        return shopify_id
    if name and order_exists(merchant, name):
        return name
    found = order_id_get_by_attribute(merchant, "shopifyOrderId", shopify_id)
    return found or name or shopify_id


def _order_created(merchant: Merchant, order: dict, connection: PlatformConnection | None) -> dict:
    shopify_id = _required_id(order, "id")
    order_id = _our_order_id(merchant, shopify_id, _text(order.get("name")))
    customer = _object(order.get("customer"))
    email = order.get("email") or order.get("contact_email") or customer.get("email")
    line_items = [_line_item(item) for item in _shipping_lines(order)]
    if not line_items:
        raise InvalidData(
            f"Shopify order {order_id} has no item that needs shipping; nothing to track.",
            code="INVALID_SHOPIFY_DATA",
            fields={"line_items": ["No line item with requires_shipping."]},
        )
    data = {
        "orderId": order_id,
        "customer": {
            "name": _customer_name(customer, _object(order.get("shipping_address"))),
            "email": _text(email),
            "phone": _text(order.get("phone") or customer.get("phone")),
        },
        "locale": _text(order.get("customer_locale")),
        "currency": _text(order.get("currency")),
        "lineItems": line_items,
        "attributes": {
            "shopifyOrderId": shopify_id,
            "shopifyOrderName": _text(order.get("name")),
            "shopifyOrderNumber": order.get("order_number"),
        },
    }
    if connection is not None:
        data["attributes"][PLATFORM_ORDER_ATTRIBUTE] = {
            "connection": str(connection.public_id), "id": shopify_id,
        }  # fmt: skip
    for field, value in (("orderDate", order.get("created_at")),
                         ("orderValue", order.get("total_price"))):  # fmt: skip
        if value not in (None, ""):
            data[field] = value
    if address := _address(_object(order.get("shipping_address"))):
        data["shippingAddress"] = address
    return _event(f"shopify-order-{shopify_id}-created", "order.created", order, "created_at", data)


def _order_cancelled(merchant: Merchant, order: dict) -> dict:
    shopify_id = _required_id(order, "id")
    order_id = _our_order_id(merchant, shopify_id, _text(order.get("name")))
    data = {"orderId": order_id, "reason": _text(order.get("cancel_reason"))[:500]}
    return _event(
        f"shopify-order-{shopify_id}-cancelled", "order.cancelled", order, "cancelled_at", data
    )


def _shipments_confirmed(merchant: Merchant, fulfillment: dict) -> list[dict]:
    fulfillment_id = _required_id(fulfillment, "id")
    order_id = _fulfilled_order_id(
        merchant, _required_id(fulfillment, "order_id"), _text(fulfillment.get("name"))
    )
    status = _text(fulfillment.get("status"))
    if status in NOT_SHIPPED:
        raise InvalidData(
            f"Shopify fulfillment {fulfillment_id} is {status}: nothing shipped.",
            code="INVALID_SHOPIFY_DATA",
            fields={"status": [f"A {status} fulfillment is not a shipment."]},
        )
    numbers = _tracking_numbers(fulfillment)
    if not numbers:
        raise MissingData(
            f"Shopify fulfillment {fulfillment_id} has no tracking number yet; the "
            "fulfillments/update that adds one will ship it.",
            code="MISSING_SHOPIFY_DATA",
            fields={"tracking_numbers": ["No tracking number."]},
        )
    units = [(_required_id(item, "id"), _quantity(item)) for item in _shipping_lines(fulfillment)]
    company = _text(fulfillment.get("tracking_company"))
    events = []
    for number, items in zip(numbers, units_dealt(units, len(numbers)), strict=True):
        if not items:
            continue  # more packages than units: this one has no unit of its own to carry
        data = {
            "orderId": order_id,
            "trackingNumber": number,
            "carrier": carrier_named(company, number),
            "items": items,
            "sourceReference": fulfillment_id,
        }
        if shipped_at := fulfillment.get("created_at"):
            data["shippedAt"] = shipped_at
        event_id = f"shopify-fulfillment-{fulfillment_id}-{number}"
        if len(numbers) > 1:  # the units are dealt anew when a number is added
            event_id += f"-of-{len(numbers)}"
        events.append(_event(event_id, "shipment.confirmed", fulfillment, "updated_at", data))
    return events


def _tracking_numbers(fulfillment: dict) -> list[str]:
    listed = fulfillment.get("tracking_numbers")
    raw = listed if isinstance(listed, list) and listed else [fulfillment.get("tracking_number")]
    numbers = []
    for value in raw:
        number = normalize_tracking_number(_text(value))
        if number and number not in numbers:
            numbers.append(number)
    return numbers


def _shipping_lines(resource: dict) -> list[dict]:
    items = resource.get("line_items")
    if not isinstance(items, list):
        raise MissingData(
            "The Shopify payload has no line_items.",
            code="MISSING_SHOPIFY_DATA",
            fields={"line_items": ["This field is required."]},
        )
    lines = [_object(item) for item in items]
    return [item for item in lines if item.get("requires_shipping", True) is not False]


def _line_item(item: dict) -> dict:
    return {
        "itemId": _required_id(item, "id"),
        "name": _text(item.get("name") or item.get("title") or item.get("sku"))[:300],
        "description": _text(item.get("variant_title")),
        "quantity": _quantity(item),
        "price": item.get("price"),
    }


def _quantity(item: dict) -> int:
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidData(
            f"Shopify line item {item.get('id')} has quantity {quantity!r}.",
            code="INVALID_SHOPIFY_DATA",
            fields={"line_items.quantity": ["A whole number of at least 1."]},
        )
    return quantity


def _customer_name(customer: dict, address: dict) -> str:
    name = " ".join(
        part for part in (_text(customer.get("first_name")), _text(customer.get("last_name")))
        if part
    )  # fmt: skip
    return (name or _text(address.get("name")))[:200]


def _address(address: dict) -> dict[str, str]:
    fields = {
        "street1": _text(address.get("address1")),
        "street2": _text(address.get("address2")),
        "city": _text(address.get("city")),
        "state": _text(address.get("province_code") or address.get("province")),
        "postalCode": _text(address.get("zip")),
        "countryCode": _text(address.get("country_code")),
    }
    return fields if any(fields.values()) else {}


def _event(event_id: str, kind: str, resource: dict, time_field: str, data: dict) -> dict:
    event = {"eventId": event_id, "type": kind, "data": data}
    if occurred_at := resource.get(time_field):
        event["occurredAt"] = occurred_at
    return event


def _required_id(resource: dict, field: str) -> str:
    value = resource.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise MissingData(
            f"The Shopify payload has no {field}.",
            code="MISSING_SHOPIFY_DATA",
            fields={field: ["This field is required."]},
        )
    return str(value).strip()[:100]


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    return "" if value is None else str(value).strip()
