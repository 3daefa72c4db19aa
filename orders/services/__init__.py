"""Every write to orders and what hangs off them; one module per sub-domain."""

from orders.services.orders import (
    WARNING_CARRIER_NOT_TRACKED,
    WARNING_ORDER_NOT_YET_RECEIVED,
    ItemQuantity,
    LineItemInput,
    OrderInput,
    Outcome,
    ShipmentInput,
    carrier_not_tracked_warning,
    carrier_resolve,
    items_backorder,
    order_cancel,
    order_create_or_update,
    order_refresh_status,
    order_status_derive,
    phone_digits,
    shipment_confirm,
)

__all__ = [
    "WARNING_CARRIER_NOT_TRACKED",
    "WARNING_ORDER_NOT_YET_RECEIVED",
    "ItemQuantity",
    "LineItemInput",
    "OrderInput",
    "Outcome",
    "ShipmentInput",
    "carrier_not_tracked_warning",
    "carrier_resolve",
    "items_backorder",
    "order_cancel",
    "order_create_or_update",
    "order_refresh_status",
    "order_status_derive",
    "phone_digits",
    "shipment_confirm",
]
