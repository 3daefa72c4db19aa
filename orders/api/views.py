"""Orders endpoints of API.md: parse, call one service, render."""

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from flextracker.api import EnvelopePaginationParameters, paginated, success
from flextracker.errors import NotFound
from flextracker.openapi import documented
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.api.base import InboundApi, MerchantApi
from orders.api.output import order_json, shipment_json
from orders.api.serializers import (
    BackorderInputSerializer,
    CancellationInputSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    ShipmentInputSerializer,
    TrackingOutputSerializer,
    item_quantities,
)
from orders.models import OrderStatus, Shipment
from orders.selectors import order_get_for_merchant, order_search
from orders.services import (
    items_backorder,
    order_cancel,
    order_create_or_update,
    shipment_confirm,
)
from orders.services.inbound import Result


def order_result(merchant: Merchant, order_id: str, status: int, warnings=()) -> Result:
    """The order as GET returns it, re-read with everything prefetched."""
    order = order_get_for_merchant(merchant, order_id)
    return Result(status, order_json(order, tracked=tracked_carriers(merchant)), list(warnings))


class OrderListQuery(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    status = serializers.ChoiceField(choices=OrderStatus.values, required=False, allow_blank=True)
    updatedAfter = serializers.DateTimeField(required=False)


ORDER_EXAMPLE = OpenApiExample(
    "Order created",
    request_only=True,
    value={
        "orderId": "12345", "orderDate": "2026-11-20T15:04:05Z",
        "customer": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+15125550100"},
        "shippingAddress": {"street1": "1 Main St", "street2": "", "city": "Austin", "state": "TX",
                            "postalCode": "78701", "countryCode": "US"},
        "locale": "en-US", "currency": "USD", "orderValue": 116.50,
        "lineItems": [{"itemId": "SKU-1", "name": "Blue Mug", "description": "12 oz", "quantity": 2,
                       "price": 10.00, "imageUrl": "https://cdn.example.com/mug.png"}],
        "attributes": {"channel": "web"},
    },
)  # fmt: skip
SHIPMENT_EXAMPLE = OpenApiExample(
    "Shipment confirmed",
    request_only=True,
    value={
        "trackingNumber": "1Z5R89390357567127", "carrier": "ups", "service": "UPS Ground",
        "shippedAt": "2026-11-21T10:00:00Z", "estimatedDelivery": "2026-11-25",
        "items": [{"itemId": "SKU-1", "quantity": 1}],
    },
)  # fmt: skip
TAGS = ["Orders"]


@extend_schema_view(
    post=documented(
        summary="Order created or updated",
        description="201 for a new order, 200 when the same orderId is posted again (updated in "
        "place; a placeholder made by an earlier shipment or cancellation is filled in).",
        request=OrderInputSerializer,
        responses={201: OrderOutputSerializer, 200: OrderOutputSerializer},
        errors=("MISSING_ORDER_DATA", "INVALID_ORDER_DATA"),
        examples=[ORDER_EXAMPLE],
        tags=TAGS,
        operation_id="order_create",
    ),
    get=documented(
        summary="List and search orders",
        description="`search` matches an order id, tracking number, email or phone exactly, or "
        "part of the customer's name. Newest updates first.",
        responses={200: OrderOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_ORDER_DATA",),
        parameters=[OrderListQuery, EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="order_list",
    ),
)
class OrdersApi(InboundApi):
    """POST: an order was created (201) or updated (200). GET: the merchant's orders."""

    def handle(self, merchant: Merchant, payload) -> Result:
        data = OrderInputSerializer.to_input(self.validated(OrderInputSerializer, payload))
        outcome = order_create_or_update(merchant=merchant, data=data)
        return order_result(merchant, data.order_id, 201 if outcome.created else 200)

    def get(self, request):
        merchant = self.merchant()
        query = self.validated(OrderListQuery, request.query_params)
        orders = order_search(
            merchant,
            search=query.get("search", ""),
            status=query.get("status", ""),
            updated_after=query.get("updatedAfter"),
        )
        tracked = tracked_carriers(merchant)
        return paginated(request, orders, lambda order: order_json(order, tracked=tracked))


@extend_schema_view(
    get=documented(
        summary="An order with its items, quantities, shipments and tracking link",
        responses={200: OrderOutputSerializer},
        errors=("ORDER_NOT_FOUND",),
        tags=TAGS,
        operation_id="order_get",
    )
)
class OrderDetailApi(MerchantApi):
    def get(self, request, order_id: str):
        merchant = self.merchant()
        order = order_get_for_merchant(merchant, order_id)
        if order is None:
            raise NotFound(f"Order {order_id} was not found.", code="ORDER_NOT_FOUND")
        return success(order_json(order, tracked=tracked_carriers(merchant)))


@extend_schema_view(
    post=documented(
        summary="Shipment confirmed (split shipments welcome)",
        description="`carrier` is detected from the tracking number (with check digits) when "
        "absent. A carrier we cannot poll is accepted with warning `CARRIER_NOT_TRACKED`. A "
        "shipment for an unknown order creates a placeholder order (`ORDER_NOT_YET_RECEIVED`).",
        request=ShipmentInputSerializer,
        responses={201: TrackingOutputSerializer, 200: TrackingOutputSerializer},
        errors=("MISSING_SHIPMENT_DATA", "INVALID_SHIPMENT_DATA"),
        examples=[SHIPMENT_EXAMPLE],
        tags=TAGS,
        operation_id="shipment_confirm",
    )
)
class ShipmentsApi(InboundApi):
    """A shipment was confirmed: 201 new, 200 for a tracking number already on the order."""

    entity = "SHIPMENT"

    def handle(self, merchant: Merchant, payload, order_id: str) -> Result:
        data = ShipmentInputSerializer.to_input(self.validated(ShipmentInputSerializer, payload))
        outcome = shipment_confirm(merchant=merchant, order_id=order_id, data=data)
        shipment = (
            Shipment.objects.select_related("order")
            .prefetch_related("items__line_item", "events")
            .get(pk=outcome.instance.pk)
        )
        return Result(
            201 if outcome.created else 200,
            shipment_json(shipment, tracked=tracked_carriers(merchant)),
            outcome.warnings,
        )


@extend_schema_view(
    post=documented(
        summary="Cancel the whole order (no items) or some items",
        request=CancellationInputSerializer,
        responses={200: OrderOutputSerializer},
        errors=("MISSING_ORDER_DATA", "INVALID_ORDER_DATA"),
        examples=[
            OpenApiExample(
                "Some items",
                request_only=True,
                value={"items": [{"itemId": "SKU-1", "quantity": 1}], "reason": "customer request"},
            ),
            OpenApiExample("Whole order", request_only=True, value={"reason": "fraud check"}),
        ],
        tags=TAGS,
        operation_id="order_cancel",
    )
)
class CancellationsApi(InboundApi):
    """Cancels the whole order (no `items`) or some items; answers with the order."""

    def handle(self, merchant: Merchant, payload, order_id: str) -> Result:
        data = self.validated(CancellationInputSerializer, payload)
        items = item_quantities(data["items"]) if "items" in data else None
        outcome = order_cancel(
            merchant=merchant, order_id=order_id, items=items, reason=data["reason"]
        )
        return order_result(merchant, order_id, 200, outcome.warnings)


@extend_schema_view(
    post=documented(
        summary="Items backordered",
        description="`quantity` is the number of units now backordered (a repeat changes "
        "nothing); they remain among the units awaiting shipment.",
        request=BackorderInputSerializer,
        responses={200: OrderOutputSerializer},
        errors=("MISSING_ORDER_DATA", "INVALID_ORDER_DATA", "ORDER_NOT_FOUND"),
        examples=[
            OpenApiExample(
                "Backorder",
                request_only=True,
                value={"items": [{"itemId": "SKU-2", "quantity": 1, "expectedDate": "2026-12-01"}]},
            )
        ],
        tags=TAGS,
        operation_id="order_backorder",
    )
)
class BackordersApi(InboundApi):
    def handle(self, merchant: Merchant, payload, order_id: str) -> Result:
        data = self.validated(BackorderInputSerializer, payload)
        items_backorder(merchant=merchant, order_id=order_id, items=item_quantities(data["items"]))
        return order_result(merchant, order_id, 200)
