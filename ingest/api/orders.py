"""Orders endpoints of API.md: parse, call one service, render."""

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
    OrderRefInput,
    ShipmentInputSerializer,
    item_quantities,
)
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.models import OrderStatus
from orders.representation import order_json, restamp, shipment_json
from orders.search import order_list
from orders.selectors import order_get_for_merchant
from orders.serializers import OrderOutputSerializer, TrackingOutputSerializer
from orders.services import (
    Backorder,
    Cancellation,
    Change,
    Outcome,
    ShipmentConfirmation,
    changes_apply,
)


def change_answer(change: Change, outcome: Outcome) -> Result:
    """What the change's endpoint answers: the shipment's tracking object, or the order as GET
    returns it — from the ledger that applied it, as the change left it (no re-read)."""
    details, status = outcome.details, 201 if outcome.created else 200
    if isinstance(change, ShipmentConfirmation):
        data = shipment_json(outcome.instance, tracked=details.tracked, details=details)
        return Result(status, data, outcome.warnings)
    shipments = details.shipments_of(outcome.instance)
    tracked = details.tracked if shipments else set()  # only shipments show it
    return Result(status, order_json(outcome.instance, tracked=tracked, details=details),
                  outcome.warnings)  # fmt: skip


def changes_answer(
    merchant: Merchant, changes: list, event_ids: list[str | None] | None = None
) -> list[Result | Exception | None]:
    """orders.services.changes_apply, each applied change answered as its endpoint does."""
    answers: dict[int, Result] = {}

    def answer(index: int, outcome: Outcome) -> None:
        answers[index] = change_answer(changes[index], outcome)

    results = changes_apply(
        merchant=merchant, changes=changes, event_ids=event_ids, on_applied=answer
    )
    for index, result in enumerate(results):
        if isinstance(result, Outcome):
            restamp(answers[index].data, result.instance, result.details)
            results[index] = answers[index]
    return results


class ChangeApi(InboundApi):
    """An endpoint whose message is one Change: `change` parses it, `handle` applies and
    answers (the events envelope reuses `change`)."""

    def change(self, payload, **kwargs) -> Change:
        raise NotImplementedError

    def handle(self, merchant: Merchant, payload, **kwargs) -> Result:
        [result] = changes_answer(merchant, [self.change(payload, **self._url(kwargs))])
        if isinstance(result, Exception):
            raise result
        return result

    def queued(self, payload, **kwargs) -> tuple[None, None, Change]:
        """The change a queued message means (orders/api/queued.py): parsed when it is posted,
        so a bad body is answered at once, and again when the worker applies it."""
        return None, None, self.change(payload, **self._url(kwargs))

    def _url(self, kwargs: dict) -> dict:
        """The URL's {orderId} under the rule of a body's `orderId` (never trimmed)."""
        if "order_id" in kwargs:
            self.validated(OrderRefInput, {"orderId": kwargs["order_id"]})
        return kwargs


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

    def change(self, payload) -> Change:
        return OrderInputSerializer.to_input(self.validated(OrderInputSerializer, payload))

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

    def change(self, payload, order_id: str) -> Change:
        data = ShipmentInputSerializer.to_input(self.validated(ShipmentInputSerializer, payload))
        return ShipmentConfirmation(order_id, data)


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

    def change(self, payload, order_id: str) -> Change:
        data = self.validated(CancellationInputSerializer, payload)
        items = item_quantities(data["items"]) if "items" in data else None
        return Cancellation(order_id, items, data["reason"])


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
    def change(self, payload, order_id: str) -> Change:
        data = self.validated(BackorderInputSerializer, payload)
        return Backorder(order_id, item_quantities(data["items"]))
