"""Orders endpoints of API.md: parse, call one service, render."""

from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import EnvelopePaginationParameters, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi
from flextracker.errors import NotFound
from flextracker.openapi import RESPOND_ASYNC, documented
from inbound.api.base import InboundApi
from inbound.api.views import MessageOutputSerializer
from inbound.services import Result
from ingest.api.serializers import (
    BackorderInputSerializer,
    CancellationInputSerializer,
    OrderInputSerializer,
    ShipmentInputSerializer,
)
from ingest.envelope import Parsed, message_apply, message_parsed
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.models import OrderStatus
from orders.representation import order_json
from orders.search import order_list
from orders.selectors import order_get_for_merchant
from orders.serializers import OrderOutputSerializer, TrackingOutputSerializer


class ChangeApi(InboundApi):
    """An endpoint whose message is one Change, of its event type's (ingest/events.py)."""

    event_type: ClassVar[str]

    def handle(self, merchant: Merchant, payload, order_id: str | None = None) -> Result:
        return message_apply(self.event_type, merchant, payload, order_id)

    def queued(self, payload, order_id: str | None = None) -> Parsed:
        return message_parsed(self.event_type, payload, order_id)


class OrderListQuery(InputSerializer):
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
ORDER_ID_RULE = (
    "Order ids are kept exactly as sent, never trimmed: one with spaces at the start or end, a "
    "control character (tab, newline …) or a line break is refused with 422 and the field "
    "`orderId`, in a body and in the URL alike."
)
ORDER_ID = OpenApiParameter(
    "order_id", OpenApiTypes.STR, OpenApiParameter.PATH, description=ORDER_ID_RULE
)


@extend_schema_view(
    post=documented(
        summary="Order created or updated",
        description="201 for a new order, 200 when the same orderId is posted again (updated in "
        "place; a placeholder made by an earlier shipment or cancellation is filled in). "
        + ORDER_ID_RULE,
        request=OrderInputSerializer,
        responses={
            201: OrderOutputSerializer,
            200: OrderOutputSerializer,
            202: MessageOutputSerializer,
        },
        errors=("MISSING_ORDER_DATA", "INVALID_ORDER_DATA"),
        examples=[ORDER_EXAMPLE],
        tags=TAGS,
        parameters=[RESPOND_ASYNC],
        operation_id="order_create",
    ),
    get=documented(
        summary="List and search orders",
        description="`search` matches an order id, tracking number, email or phone exactly (a "
        "phone in any format, by its last 10 digits), or the customer's name: its words in any "
        "order, or a part of 3 characters or more. Newest updates first.",
        responses={200: OrderOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_ORDER_DATA",),
        parameters=[OrderListQuery, EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="order_list",
    ),
)
class OrdersApi(ChangeApi):
    """POST: an order was created (201) or updated (200). GET: the merchant's orders."""

    event_type = "order.created"

    def get(self, request):
        merchant = self.merchant()
        query = self.validated(OrderListQuery, request.query_params)
        orders = order_list(
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
        responses={
            201: TrackingOutputSerializer,
            200: TrackingOutputSerializer,
            202: MessageOutputSerializer,
        },
        errors=("MISSING_SHIPMENT_DATA", "INVALID_SHIPMENT_DATA"),
        examples=[SHIPMENT_EXAMPLE],
        tags=TAGS,
        parameters=[ORDER_ID, RESPOND_ASYNC],
        operation_id="shipment_confirm",
    )
)
class ShipmentsApi(ChangeApi):
    """A shipment was confirmed: 201 new, 200 for a tracking number already on the order."""

    entity = "SHIPMENT"
    event_type = "shipment.confirmed"


@extend_schema_view(
    post=documented(
        summary="Cancel the whole order (no items) or some items",
        request=CancellationInputSerializer,
        responses={200: OrderOutputSerializer, 202: MessageOutputSerializer},
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
        parameters=[ORDER_ID, RESPOND_ASYNC],
        operation_id="order_cancel",
    )
)
class CancellationsApi(ChangeApi):
    """Cancels the whole order (no `items`) or some items; answers with the order."""

    event_type = "order.cancelled"


@extend_schema_view(
    post=documented(
        summary="Items backordered",
        description="`quantity` is the number of units now backordered (a repeat changes "
        "nothing); they remain among the units awaiting shipment.",
        request=BackorderInputSerializer,
        responses={200: OrderOutputSerializer, 202: MessageOutputSerializer},
        errors=("MISSING_ORDER_DATA", "INVALID_ORDER_DATA", "ORDER_NOT_FOUND"),
        examples=[
            OpenApiExample(
                "Backorder",
                request_only=True,
                value={"items": [{"itemId": "SKU-2", "quantity": 1, "expectedDate": "2026-12-01"}]},
            )
        ],
        tags=TAGS,
        parameters=[ORDER_ID, RESPOND_ASYNC],
        operation_id="order_backorder",
    )
)
class BackordersApi(ChangeApi):
    """Items backordered; answers with the order."""

    event_type = "items.backordered"
