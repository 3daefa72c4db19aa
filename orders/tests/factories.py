from decimal import Decimal

from merchants.models import Merchant
from orders.models import Order
from orders.services import (
    ItemQuantity,
    LineItemInput,
    OrderInput,
    ShipmentInput,
    order_create_or_update,
    shipment_confirm,
)


def order_input(order_id: str = "1001", **overrides) -> OrderInput:
    values = {
        "order_id": order_id,
        "customer_name": "Jane Doe",
        "customer_email": "Jane@Example.com",
        "customer_phone": "+1 (512) 555-0100",
        "shipping_address": {"street1": "1 Main St", "city": "Austin", "state": "TX",
                             "postal_code": "78701", "country_code": "US"},
        "line_items": [
            LineItemInput(item_id="MUG", name="Blue mug", quantity=2, price=Decimal("10.00")),
            LineItemInput(item_id="TOWEL", name="Tea towel", quantity=1),
        ],
    }  # fmt: skip
    values.update(overrides)
    return OrderInput(**values)


def create_order(merchant: Merchant, order_id: str = "1001", **overrides) -> Order:
    return order_create_or_update(
        merchant=merchant, data=order_input(order_id, **overrides)
    ).instance


def ship(merchant: Merchant, order_id: str, tracking_number: str, *items: tuple[str, int], **kw):
    data = ShipmentInput(
        tracking_number=tracking_number,
        carrier=kw.pop("carrier", "sandbox"),
        items=[ItemQuantity(item_id, quantity) for item_id, quantity in items],
        **kw,
    )
    return shipment_confirm(merchant=merchant, order_id=order_id, data=data)
