"""Models → API.md JSON (camelCase, JSON-native values, so a replayed answer is byte-for-byte the
first one). The shapes are documented by the output serializers in serializers.py."""

from datetime import date, datetime
from decimal import Decimal

from orders.links import tracking_page_url
from orders.models import LineItem, Order, Shipment
from tracking.carriers.links import public_tracking_url
from tracking.carriers.vocabulary import ExceptionCode, Status


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def event_json(event) -> dict:
    exception_reason = ExceptionCode(event.exception_code).label if event.exception_code else None
    return {
        "eventId": f"evt_{event.dedupe_key[:20]}",
        "timestamp": iso(event.occurred_at),
        "status": event.status,
        "statusDetail": event.status_detail,
        "eventType": event.event_type,
        "description": event.description,
        "location": {
            "city": event.city, "state": event.state, "postalCode": event.postal_code,
            "country": event.country,
        },
        "exceptionCode": event.exception_code or None,
        "exceptionReason": exception_reason,
        "recipient": event.recipient or None,
        "signatureUrl": event.signature_url or None,
        "source": event.source,
        "carrierCode": event.raw_code,
        "carrierDescription": event.raw_description,
    }  # fmt: skip


def shipment_json(shipment: Shipment, *, tracked: set[str]) -> dict:
    """The tracking object; `tracked` is merchants.selectors.tracked_carriers(merchant)."""
    return {
        "trackingNumber": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrierName": shipment.get_carrier_display(),
        "service": shipment.service,
        "status": shipment.status,
        "statusDetail": shipment.status_detail,
        "statusDescription": shipment.status_description or str(Status(shipment.status).label),
        "estimatedDelivery": iso(
            shipment.estimated_delivery_at or shipment.estimated_delivery_date
        ),
        "deliveredAt": iso(shipment.delivered_at),
        "delayed": shipment.is_delayed,
        "origin": {"city": shipment.origin_city, "state": shipment.origin_state,
                   "country": shipment.origin_country},
        "destination": {"city": shipment.destination_city, "state": shipment.destination_state,
                        "postalCode": shipment.destination_postal_code,
                        "country": shipment.destination_country},
        "carrierTrackingUrl": public_tracking_url(shipment.carrier, shipment.tracking_number),
        "tracked": shipment.carrier in tracked,
        "lastUpdated": iso(shipment.updated_at),
        "lastCheckedAt": iso(shipment.last_checked_at),
        "nextCheckAt": iso(shipment.next_check_at),
        "updateSource": shipment.last_update_source or None,
        "orderId": shipment.order.order_id if shipment.order_id else None,
        "items": [
            {"itemId": si.line_item.item_id, "name": si.line_item.name, "quantity": si.quantity}
            for si in shipment.items.all()
        ],
        "events": [event_json(event) for event in shipment.events.all()],
    }  # fmt: skip


def _delivered_quantities(order: Order) -> dict[int, int]:
    delivered: dict[int, int] = {}
    for shipment in order.shipments.all():
        if shipment.status == Status.DELIVERED:
            for si in shipment.items.all():
                delivered[si.line_item_id] = delivered.get(si.line_item_id, 0) + si.quantity
    return delivered


def _line_item_json(item: LineItem, delivered: int) -> dict:
    return {
        "itemId": item.item_id,
        "name": item.name,
        "description": item.description,
        "price": number(item.price),
        "imageUrl": item.image_url,
        "quantityOrdered": item.quantity_ordered,
        "quantityShipped": item.quantity_shipped,
        "quantityDelivered": delivered,
        "quantityCancelled": item.quantity_cancelled,
        "quantityBackordered": item.quantity_backordered,
        "quantityAwaitingShipment": item.quantity_awaiting_shipment,
        "expectedDate": iso(item.backorder_expected_date),
    }


def order_json(order: Order, *, tracked: set[str]) -> dict:
    """An order prefetched by orders.selectors, with its items, shipments and links."""
    delivered = _delivered_quantities(order)
    return {
        "orderId": order.order_id,
        "status": order.status,
        "orderDate": iso(order.order_date),
        "placeholder": order.is_placeholder,
        "customer": {"name": order.customer_name, "email": order.customer_email,
                     "phone": order.customer_phone},
        "shippingAddress": {"street1": order.street1, "street2": order.street2, "city": order.city,
                            "state": order.state, "postalCode": order.postal_code,
                            "countryCode": order.country_code},
        "locale": order.locale,
        "currency": order.currency,
        "orderValue": number(order.order_value),
        "attributes": order.attributes,
        "lineItems": [_line_item_json(i, delivered.get(i.pk, 0)) for i in order.line_items.all()],
        "shipments": [shipment_json(s, tracked=tracked) for s in order.shipments.all()],
        "links": {"trackingPage": tracking_page_url(order)},
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
    }  # fmt: skip
