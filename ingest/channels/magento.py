"""A Magento 2 / Adobe Commerce order, as pulled from its REST API
(ingest/channels/magento_pull.py), mapped onto our event envelope (API.md `/events`). Route
`magento:<connection pk>`; the record is `{"order": <an item of GET /V1/orders>, "shipments":
[<the items of GET /V1/shipments of that order>]}`.

Choices (docs/channels.md, "Magento 2 / Adobe Commerce"):
- The order id is its `increment_id` ("000000013", what the customer sees), never the database
  `entity_id`, which is kept in the attributes (PLATFORM_ORDER_ATTRIBUTE) for writing back.
- An item id is Magento's `item_id`, what shipments name (`order_item_id`). A configurable
  product is listed twice, the parent and its child simple with the same SKU: the parent carries
  the quantity and the price, the child is left out. Virtual and downloadable items never ship.
- Each version of an order (`updated_at`) is an `order.created` (posting an order again updates
  it); a `canceled` order is then an `order.cancelled`.
- Each track of a shipment is a shipment: eventId `magento-shipment-<entity_id>-<number>`, the
  shipment's units dealt over its tracks as Shopify's fulfillments are (`-of-<count>` when there
  are several, so a track added later deals again).
"""

from datetime import UTC, datetime

from carriers.detection import normalize_tracking_number
from flextracker.errors import ApiError, InvalidData, MissingData
from inbound.services import parse_json
from ingest.channels.platform_shipping import CARRIER_NAMES, carrier_named, units_dealt
from merchants.models import Merchant
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection, PlatformKind

NOT_SHIPPED_TYPES = frozenset({"virtual", "downloadable"})
MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"  # UTC, no zone


def map_magento(merchant: Merchant, connection_pk: str, body: bytes) -> list[dict]:
    connection = _connection(merchant, connection_pk)
    record = parse_json(body)
    order = record.get("order") if isinstance(record, dict) else None
    if not isinstance(order, dict):
        raise InvalidData("A Magento record holds an order.", code="INVALID_MAGENTO_DATA")
    shipments = record.get("shipments") or []
    events = [_order_created(connection, order)]
    if _text(order.get("state")) == "canceled":
        events.append(_order_cancelled(order))
    items = {_text(item.get("item_id")) for item in _shipping_items(order)}
    for shipment in shipments if isinstance(shipments, list) else []:
        events.extend(_shipments_confirmed(order, _object(shipment), items))
    return events


def magento_dedupe_key(connection: PlatformConnection, order: dict) -> str:
    """A version of an order is read once: the same order unchanged is not logged again."""
    return f"magento:{connection.pk}:order:{order.get('entity_id')}:{order.get('updated_at')}"


def _connection(merchant: Merchant, connection_pk: str) -> PlatformConnection:
    connection = PlatformConnection.objects.filter(
        merchant=merchant, pk=connection_pk if connection_pk.isdigit() else None,
        kind=PlatformKind.MAGENTO,
    ).first()  # fmt: skip
    if connection is None:
        raise ApiError("The Magento connection of this record was removed.",
                       code="UNKNOWN_ROUTE")  # fmt: skip
    return connection


def _order_created(connection: PlatformConnection, order: dict) -> dict:
    entity_id = _required(order, "entity_id")
    order_id = _required(order, "increment_id")
    line_items = [_line_item(item) for item in _shipping_items(order)]
    if not line_items:
        raise InvalidData(
            f"Magento order {order_id} has no item that ships; nothing to track.",
            code="INVALID_MAGENTO_DATA", fields={"items": ["No item that ships."]},
        )  # fmt: skip
    address = _shipping_address(order)
    data = {
        "orderId": order_id,
        "customer": {
            "name": _customer_name(order, address),
            "email": _text(order.get("customer_email") or address.get("email")),
            "phone": _text(address.get("telephone")),
        },
        "currency": _text(order.get("order_currency_code")),
        "lineItems": line_items,
        "attributes": {
            PLATFORM_ORDER_ATTRIBUTE: {"connection": str(connection.public_id), "id": entity_id}
        },
    }
    if ordered_at := _utc(order.get("created_at")):
        data["orderDate"] = ordered_at
    if order.get("grand_total") not in (None, ""):
        data["orderValue"] = order["grand_total"]
    if fields := _address(address):
        data["shippingAddress"] = fields
    version = _text(order.get("updated_at")).replace(" ", "T")
    return _event(f"magento-order-{entity_id}-{version}", "order.created", order, data)


def _order_cancelled(order: dict) -> dict:
    entity_id = _required(order, "entity_id")
    data = {"orderId": _required(order, "increment_id"), "reason": "canceled in Magento"}
    return _event(f"magento-order-{entity_id}-cancelled", "order.cancelled", order, data)


def _shipments_confirmed(order: dict, shipment: dict, order_items: set[str]) -> list[dict]:
    shipment_id = _required(shipment, "entity_id")
    units = [
        (_text(item.get("order_item_id")), _quantity(item, "qty"))
        for item in (_object(i) for i in _list(shipment.get("items")))
        if _text(item.get("order_item_id")) in order_items and item.get("qty")
    ]
    tracks = _tracks(shipment)
    events = []
    for (number, carrier), items in zip(tracks, units_dealt(units, len(tracks)), strict=True):
        if not items:
            continue  # more tracks than units: this one carries no unit of its own
        data = {"orderId": _required(order, "increment_id"), "trackingNumber": number,
                "carrier": carrier, "items": items}  # fmt: skip
        if shipped_at := _utc(shipment.get("created_at")):
            data["shippedAt"] = shipped_at
        event_id = f"magento-shipment-{shipment_id}-{number}"
        if len(tracks) > 1:  # the units are dealt anew when a track is added
            event_id += f"-of-{len(tracks)}"
        events.append(_event(event_id, "shipment.confirmed", shipment, data))
    return events


def _tracks(shipment: dict) -> list[tuple[str, str]]:
    """(number, our carrier) of each of the shipment's tracks, each number once."""
    tracks: list[tuple[str, str]] = []
    for track in (_object(t) for t in _list(shipment.get("tracks"))):
        number = normalize_tracking_number(_text(track.get("track_number")))
        if not number or number in (known for known, _carrier in tracks):
            continue
        code = _text(track.get("carrier_code")).lower()
        company = code if code in CARRIER_NAMES else _text(track.get("title"))
        tracks.append((number, carrier_named(company, number)))
    return tracks


def _shipping_items(order: dict) -> list[dict]:
    """The order's items that ship, each once: a configurable product's child is left out (its
    parent carries the quantity)."""
    items = [_object(item) for item in _list(order.get("items"))]
    configurable = {
        _text(item.get("item_id")) for item in items if item.get("product_type") == "configurable"
    }
    return [
        item for item in items
        if _text(item.get("parent_item_id")) not in configurable
        and item.get("product_type") not in NOT_SHIPPED_TYPES and not item.get("is_virtual")
    ]  # fmt: skip


def _line_item(item: dict) -> dict:
    return {
        "itemId": _required(item, "item_id"),
        "name": _text(item.get("name") or item.get("sku"))[:300],
        "description": _text(item.get("sku")),
        "quantity": _quantity(item, "qty_ordered"),
        "price": item.get("price"),
    }


def _quantity(item: dict, field: str) -> int:
    """Magento's quantities are decimals (1, 2.0000): whole units only."""
    value = item.get(field)
    try:
        quantity = float(value)
    except (TypeError, ValueError):
        quantity = 0.0
    if isinstance(value, bool) or quantity < 1 or not quantity.is_integer():
        raise InvalidData(
            f"Magento item {item.get('item_id') or item.get('order_item_id')} has {field} "
            f"{value!r}.", code="INVALID_MAGENTO_DATA",
            fields={f"items.{field}": ["A whole number of at least 1."]},
        )  # fmt: skip
    return int(quantity)


def _shipping_address(order: dict) -> dict:
    extension = _object(order.get("extension_attributes"))
    for assignment in (_object(a) for a in _list(extension.get("shipping_assignments"))):
        address = _object(_object(assignment.get("shipping")).get("address"))
        if address:
            return address
    return {}


def _address(address: dict) -> dict[str, str]:
    street = [_text(line) for line in _list(address.get("street"))]
    fields = {
        "street1": street[0] if street else "",
        "street2": ", ".join(line for line in street[1:] if line),
        "city": _text(address.get("city")),
        "state": _text(address.get("region_code") or address.get("region")),
        "postalCode": _text(address.get("postcode")),
        "countryCode": _text(address.get("country_id")),
    }
    return fields if any(fields.values()) else {}


def _customer_name(order: dict, address: dict) -> str:
    for first, last in ((order.get("customer_firstname"), order.get("customer_lastname")),
                        (address.get("firstname"), address.get("lastname"))):  # fmt: skip
        if name := " ".join(part for part in (_text(first), _text(last)) if part):
            return name[:200]
    return ""


def _utc(value) -> str:
    """Magento's "2020-04-24 15:50:17" (UTC) as ISO 8601; "" when it is not one."""
    try:
        moment = datetime.strptime(_text(value), MAGENTO_TIME)
    except ValueError:
        return ""
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _event(event_id: str, kind: str, resource: dict, data: dict) -> dict:
    event = {"eventId": event_id[:200], "type": kind, "data": data}
    if occurred_at := _utc(resource.get("updated_at") or resource.get("created_at")):
        event["occurredAt"] = occurred_at
    return event


def _required(resource: dict, field: str) -> str:
    value = resource.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise MissingData(
            f"The Magento record has no {field}.", code="MISSING_MAGENTO_DATA",
            fields={field: ["This field is required."]},
        )  # fmt: skip
    return str(value).strip()[:100]


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    return "" if value is None else str(value).strip()
