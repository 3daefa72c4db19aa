"""Models → API.md JSON (camelCase, JSON-native values, so a replayed answer is byte-for-byte the
first one). The shapes are documented by the output serializers in serializers.py."""

from datetime import date
from typing import Protocol

from django.utils import timezone

from carriers.links import public_tracking_url
from carriers.vocabulary import (
    OFF_COURSE_STATUSES,
    TERMINAL_STATUSES,
    ExceptionCode,
    Status,
)
from flextracker.api.envelope import iso, number
from merchants.selectors import branding_template_for, return_policy_for
from orders.links import returns_page_url, tracking_page_url
from orders.models import LineItem, Order, ReturnRequest, Shipment, ShipmentItem


class Details(Protocol):
    """Where an answer finds an order's line items and shipments and a shipment's items and
    events: the selectors' prefetched rows, or the ledger that just wrote them."""

    def line_items_of(self, order: Order) -> list[LineItem]: ...
    def shipments_of(self, order: Order) -> list[Shipment]: ...
    def items_of(self, shipment: Shipment) -> list[ShipmentItem]: ...
    def events_of(self, shipment: Shipment) -> list: ...


class Written(Details, Protocol):
    """Details from the ledger that just wrote them (orders.services.ledger.Ledger), which finds
    a shipment by its carrier and number."""

    def shipment(self, carrier: str, tracking_number: str) -> Shipment | None: ...


class Prefetched:
    """Details from rows prefetched by orders.selectors (or tracking.selectors)."""

    def line_items_of(self, order: Order):
        return order.line_items.all()

    def shipments_of(self, order: Order):
        return order.shipments.all()

    def items_of(self, shipment: Shipment):
        return shipment.items.all()

    def events_of(self, shipment: Shipment):
        return shipment.events.all()


PREFETCHED = Prefetched()


def event_json(event, shipment: Shipment) -> dict:
    """A tracking event of `shipment` (passed apart: the event's own reference is not loaded)."""
    exception_reason = ExceptionCode(event.exception_code).label if event.exception_code else None
    return {
        "eventId": f"evt_{event.dedupe_key[:20]}",
        "shipmentId": str(shipment.public_id),
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


# No prediction for a package that is done or in trouble: its date is not the lane's.
NO_PREDICTION = TERMINAL_STATUSES | OFF_COURSE_STATUSES


def prediction_for(shipment: Shipment) -> tuple[date, date, int] | None:
    """Our estimate (tracking/predictions.py) — earliest, latest, the deliveries behind it — when
    the carrier gives none and it is still ahead; else None."""
    today = timezone.localdate()
    if (
        shipment.estimated_delivery_date or shipment.estimated_delivery_at
        or shipment.predicted_latest is None or shipment.status in NO_PREDICTION
        or shipment.predicted_latest < today
    ):  # fmt: skip
        return None
    earliest = max(shipment.predicted_earliest or today, today)
    return earliest, shipment.predicted_latest, shipment.predicted_from_deliveries or 0


def predicted_delivery(shipment: Shipment) -> dict | None:
    """API.md's `predictedDelivery`: `{earliest, latest, basis: {deliveries, origin,
    destination}}`, or None."""
    prediction = prediction_for(shipment)
    if prediction is None:
        return None
    earliest, latest, deliveries = prediction
    return {
        "earliest": iso(earliest),
        "latest": iso(latest),
        "basis": {
            "deliveries": deliveries,
            "origin": ", ".join(p for p in (shipment.origin_state, shipment.origin_country) if p),
            "destination": ", ".join(
                p for p in (shipment.destination_state, shipment.destination_country) if p
            ),
        },
    }


def shipment_json(shipment: Shipment, *, tracked: set[str], details: Details = PREFETCHED) -> dict:
    """The tracking object; `tracked` is merchants.selectors.tracked_carriers(merchant)."""
    order = shipment.order  # cached: prefetched, or assigned by the ledger before it is saved
    return {
        "shipmentId": str(shipment.public_id),
        "trackingNumber": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrierName": shipment.carrier_name,
        "service": shipment.service,
        "status": shipment.status,
        "statusDetail": shipment.status_detail,
        "statusDescription": shipment.status_description or str(Status(shipment.status).label),
        "estimatedDelivery": iso(
            shipment.estimated_delivery_at or shipment.estimated_delivery_date
        ),
        "predictedDelivery": predicted_delivery(shipment),
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
        "orderId": order.order_id if order is not None else None,
        "items": [
            {"itemId": si.line_item.item_id, "name": si.line_item.name, "quantity": si.quantity}
            for si in details.items_of(shipment)
        ],
        "events": [event_json(event, shipment) for event in details.events_of(shipment)],
    }  # fmt: skip


def _delivered_quantities(shipments, details: Details) -> dict[str, int]:
    delivered: dict[str, int] = {}
    for shipment in shipments:
        if shipment.status == Status.DELIVERED:
            for si in details.items_of(shipment):
                item_id = si.line_item.item_id
                delivered[item_id] = delivered.get(item_id, 0) + si.quantity
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
        "returnable": item.is_returnable,
        "quantityReturnRequested": item.quantity_return_requested,
        "quantityReturned": item.quantity_returned,
    }


def order_json(order: Order, *, tracked: set[str], details: Details = PREFETCHED) -> dict:
    """An order prefetched by orders.selectors, with its items, shipments and links."""
    shipments = details.shipments_of(order)
    delivered = _delivered_quantities(shipments, details)
    line_items = details.line_items_of(order)
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
        "lineItems": [_line_item_json(i, delivered.get(i.item_id, 0)) for i in line_items],
        "shipments": [shipment_json(s, tracked=tracked, details=details) for s in shipments],
        "links": order_links(order),
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
    }  # fmt: skip


def order_links(order: Order) -> dict:
    """`trackingPage`, and `returnsUrl` (the customer's return flow) when the merchant offers
    returns."""
    links = {"trackingPage": tracking_page_url(order)}
    if return_policy_for(order.merchant) is not None:
        links["returnsUrl"] = returns_page_url(order)
    return links


def returns_url(merchant, order: Order | None) -> str:
    """`referenceLinks.returnsUrl`: our return flow for an order when the merchant offers
    returns, else the default branding's returns page ("" when none)."""
    if order is not None and return_policy_for(merchant) is not None:
        return returns_page_url(order)
    return branding_template_for(merchant, None).returns_url


def return_json(return_request: ReturnRequest) -> dict:
    """A return request as GET /returns/{id} and the return.* webhooks show it (selected by
    orders.selectors.return_request_queryset)."""
    order, shipment = return_request.order, return_request.shipment
    return {
        "returnId": return_request.public_id,
        "orderId": order.order_id,
        "status": return_request.status,
        "reason": {"code": return_request.reason_code, "label": return_request.reason_label},
        "exchangeVariant": return_request.exchange_variant,
        "customerComment": return_request.customer_comment,
        "language": return_request.language,
        "merchantMessage": return_request.merchant_message,
        "items": [
            {"itemId": item.line_item.item_id, "name": item.line_item.name,
             "quantity": item.quantity}
            for item in return_request.items.all()
        ],
        "labelUrl": return_request.label_url or None,
        "returnShipment": _return_shipment_json(shipment) if shipment is not None else None,
        "requestedAt": iso(return_request.created_at),
        "approvedAt": iso(return_request.approved_at),
        "refusedAt": iso(return_request.refused_at),
        "receivedAt": iso(return_request.received_at),
        "updatedAt": iso(return_request.updated_at),
        "links": {"trackingPage": tracking_page_url(order), "returnsUrl": returns_page_url(order)},
    }  # fmt: skip


def _return_shipment_json(shipment: Shipment) -> dict:
    return {
        "shipmentId": str(shipment.public_id),
        "trackingNumber": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrierName": shipment.carrier_name,
        "status": shipment.status,
        "deliveredAt": iso(shipment.delivered_at),
        "carrierTrackingUrl": public_tracking_url(shipment.carrier, shipment.tracking_number),
    }


def restamp(data: dict, instance: Order | Shipment, ledger: Written) -> None:
    """An answer built before its change was written: the timestamps the write set."""
    if isinstance(instance, Shipment):
        data["lastUpdated"] = iso(instance.updated_at)
        return
    data["createdAt"], data["updatedAt"] = iso(instance.created_at), iso(instance.updated_at)
    for shipment_data in data["shipments"]:
        shipment = ledger.shipment(shipment_data["carrier"], shipment_data["trackingNumber"])
        if shipment is not None:
            shipment_data["lastUpdated"] = iso(shipment.updated_at)
