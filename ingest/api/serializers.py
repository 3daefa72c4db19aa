"""API.md's JSON shapes (camelCase). Input serializers validate shape and never write; output
serializers render models prepared by the selectors."""

import unicodedata

from rest_framework import serializers

from carriers.vocabulary import CarrierCode
from flextracker.api.views import InputSerializer
from orders.services import ItemQuantity, LineItemInput, OrderInput, ShipmentInput

TEXT = {"allow_blank": True, "required": False, "default": ""}


UNSAFE_CATEGORIES = {"Cc", "Zl", "Zp"}  # control characters, line and paragraph separators


def order_id_valid(value: str) -> None:
    """Order ids are kept exactly as sent, never trimmed (`"A-1001 "` is not order A-1001), so
    one with spaces at either end is refused, as is one holding a control character or a line
    break, which no URL or file line could carry back."""
    _kept_as_sent(value, "order ids")


def tracker_external_id_valid(value: str) -> None:
    """The same rule as order ids: `"TRK-1 "` is not tracker TRK-1."""
    _kept_as_sent(value, "tracker ids")


def _kept_as_sent(value: str, ids: str) -> None:
    if value != value.strip():
        raise serializers.ValidationError(
            f"Remove the spaces at the start or end: {ids} are never trimmed."
        )
    if any(unicodedata.category(character) in UNSAFE_CATEGORIES for character in value):
        raise serializers.ValidationError(
            "Remove the control characters and line breaks (tab, newline …)."
        )


def order_id_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        max_length=100, trim_whitespace=False, validators=[order_id_valid], **kwargs
    )


class OrderRefInput(InputSerializer):
    """The order a message addresses: an event's `data.orderId`, or the URL's {orderId}."""

    orderId = order_id_field()


class CustomerInput(InputSerializer):
    name = serializers.CharField(max_length=200, **TEXT)
    email = serializers.EmailField(max_length=254, **TEXT)
    phone = serializers.CharField(max_length=32, **TEXT)


class AddressInput(InputSerializer):
    street1 = serializers.CharField(max_length=200, **TEXT)
    street2 = serializers.CharField(max_length=200, **TEXT)
    city = serializers.CharField(max_length=100, **TEXT)
    state = serializers.CharField(max_length=100, **TEXT)
    postalCode = serializers.CharField(max_length=20, **TEXT)
    countryCode = serializers.RegexField(
        r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. US.", **TEXT
    )


def address_fields(address: dict) -> dict[str, str]:
    """A validated AddressInput as the services' address fields."""
    return {
        "street1": address.get("street1", ""),
        "street2": address.get("street2", ""),
        "city": address.get("city", ""),
        "state": address.get("state", ""),
        "postal_code": address.get("postalCode", ""),
        "country_code": address.get("countryCode", "").upper(),
    }


class LineItemInputSerializer(InputSerializer):
    itemId = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=5000, **TEXT)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    imageUrl = serializers.URLField(max_length=1000, **TEXT)
    returnable = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false: the customer can never return this item (issue 25); left out, the "
        "merchant's return policy decides.",
    )


def _unique_item_ids(items: list[dict]) -> list[dict]:
    seen = set()
    for item in items:
        if item["itemId"] in seen:
            raise serializers.ValidationError(f"itemId {item['itemId']} appears twice.")
        seen.add(item["itemId"])
    return items


class OrderInputSerializer(InputSerializer):
    orderId = order_id_field(
        help_text="Kept exactly as sent, never trimmed: spaces at the start or end, control "
        "characters and line breaks are refused (422)."
    )
    orderDate = serializers.DateTimeField(required=False, allow_null=True)
    customer = CustomerInput(required=False)
    shippingAddress = AddressInput(required=False)
    locale = serializers.CharField(max_length=16, **TEXT)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217, e.g. USD.", **TEXT)
    orderValue = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    lineItems = LineItemInputSerializer(many=True, allow_empty=False)
    attributes = serializers.DictField(required=False, default=dict)

    def validate_lineItems(self, items):
        return _unique_item_ids(items)

    @staticmethod
    def to_input(data: dict) -> OrderInput:
        customer = data.get("customer", {})
        address = data.get("shippingAddress", {})
        return OrderInput(
            order_id=data["orderId"],
            order_date=data.get("orderDate"),
            customer_name=customer.get("name", ""),
            customer_email=customer.get("email", ""),
            customer_phone=customer.get("phone", ""),
            shipping_address=address_fields(address),
            locale=data["locale"],
            currency=data["currency"].upper(),
            order_value=data.get("orderValue"),
            attributes=data["attributes"],
            line_items=[
                LineItemInput(
                    item_id=item["itemId"],
                    name=item["name"],
                    quantity=item["quantity"],
                    description=item["description"],
                    price=item.get("price"),
                    image_url=item["imageUrl"],
                    returnable=item["returnable"],
                )
                for item in data["lineItems"]
            ],
        )


class ItemQuantityInput(InputSerializer):
    itemId = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class BackorderItemInput(ItemQuantityInput):
    expectedDate = serializers.DateField(required=False, allow_null=True)


def item_quantities(items: list[dict]) -> list[ItemQuantity]:
    return [
        ItemQuantity(item["itemId"], item["quantity"], item.get("expectedDate")) for item in items
    ]


class ShipmentInputSerializer(InputSerializer):
    trackingNumber = serializers.CharField(max_length=100)
    carrier = serializers.ChoiceField(
        choices=CarrierCode.values,
        required=False,
        allow_blank=True,
        help_text="Optional: detected from the tracking number when absent.",
    )
    service = serializers.CharField(max_length=100, **TEXT)
    shippedAt = serializers.DateTimeField(required=False, allow_null=True)
    estimatedDelivery = serializers.DateField(required=False, allow_null=True)
    items = ItemQuantityInput(many=True, allow_empty=False)
    sourceReference = serializers.CharField(
        max_length=200, **TEXT,
        help_text="Optional: the platform's own id of this shipment (a Shopify fulfillment's), "
        "which the write-back to the platform addresses.",
    )  # fmt: skip

    def validate_items(self, items):
        return _unique_item_ids(items)

    @staticmethod
    def to_input(data: dict) -> ShipmentInput:
        return ShipmentInput(
            tracking_number=data["trackingNumber"],
            carrier=data.get("carrier", ""),
            service=data["service"],
            shipped_at=data.get("shippedAt"),
            estimated_delivery_date=data.get("estimatedDelivery"),
            items=item_quantities(data["items"]),
            source_reference=data["sourceReference"],
        )


class CancellationInputSerializer(InputSerializer):
    items = ItemQuantityInput(
        many=True, required=False, allow_empty=False, help_text="Absent: the whole order."
    )
    reason = serializers.CharField(max_length=500, **TEXT)

    def validate_items(self, items):
        return _unique_item_ids(items)


class BackorderInputSerializer(InputSerializer):
    items = BackorderItemInput(many=True, allow_empty=False)

    def validate_items(self, items):
        return _unique_item_ids(items)


# --- Output ----------------------------------------------------------------------------------
