"""The orders app's models, split by sub-domain; every name is importable from orders.models.

- orders: Order, its LineItems, their cancellations and backorders, console notes and audit.
- shipments: Shipment (outbound or return) and ShipmentItem.
- returns: ReturnRequest and ReturnItem.
- trackers: API trackers.
"""

from .orders import (
    Address,
    AuditAction,
    AuditEntry,
    ItemBackorder,
    ItemCancellation,
    LineItem,
    Order,
    OrderNote,
    OrderStatus,
)
from .returns import ReturnItem, ReturnRequest, ReturnStatus, return_public_id
from .shipments import Shipment, ShipmentDirection, ShipmentItem
from .trackers import Tracker, TrackerType

__all__ = [
    "Address",
    "AuditAction",
    "AuditEntry",
    "ItemBackorder",
    "ItemCancellation",
    "LineItem",
    "Order",
    "OrderNote",
    "OrderStatus",
    "ReturnItem",
    "ReturnRequest",
    "ReturnStatus",
    "Shipment",
    "ShipmentDirection",
    "ShipmentItem",
    "Tracker",
    "TrackerType",
    "return_public_id",
]
