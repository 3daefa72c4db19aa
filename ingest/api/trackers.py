"""Trackers endpoints of API.md: a tracker for a shipment that has no order here (own vans, a
local courier, a marketplace). Input serializers and views; the answer is tracker_output's."""

from datetime import datetime, timedelta
from decimal import Decimal

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import EnvelopePaginationParameters, number, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, validated
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result, unknown_fields_noted
from ingest.api.serializers import (
    TEXT,
    AddressInput,
    CustomerInput,
    address_fields,
    order_id_field,
    tracker_external_id_valid,
)
from ingest.api.tracker_output import EPOCH, TrackerOutputSerializer, milliseconds, tracker_json
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.models import TrackerType
from orders.selectors import tracker_get_for_merchant, tracker_list
from orders.services.trackers import TrackerInput, tracker_create_or_update

# Seed 001 allows null for these (and answers null for an absent location): null is "none".
NULLABLE_TEXT = {**TEXT, "allow_null": True}
MAX_MILLISECONDS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
COORDINATE = Decimal("0.000001")  # the model keeps six decimal places (about 10 cm)


# --- Input -----------------------------------------------------------------------------------


class UnixMillisecondsField(serializers.IntegerField):
    """A moment as Unix time in milliseconds (seed 001's format), read as an aware datetime."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=MAX_MILLISECONDS, **kwargs)

    def run_validation(self, data=serializers.empty) -> datetime | None:
        value = super().run_validation(data)  # an int, within the bounds, or None
        return None if value is None else EPOCH + timedelta(milliseconds=value)

    def to_representation(self, value: datetime) -> int:
        return milliseconds(value)


class TimeWindowInput(InputSerializer):
    startsAt = UnixMillisecondsField(required=False, allow_null=True, help_text="Null: ASAP.")
    endsAt = UnixMillisecondsField(required=False, allow_null=True)


class DeliveryContactInput(CustomerInput):
    """Who receives the delivery: the same fields as an order's customer."""


# Decimal (not float) so that NaN and Infinity are refused; extra digits are rounded.
COORDINATE_FIELD = {"max_digits": None, "decimal_places": None, "coerce_to_string": False,
                    "required": False, "allow_null": True}  # fmt: skip


class DeliveryAddressInput(AddressInput):
    latitude = serializers.DecimalField(min_value=-90, max_value=90, **COORDINATE_FIELD)
    longitude = serializers.DecimalField(min_value=-180, max_value=180, **COORDINATE_FIELD)
    apartmentNumber = serializers.CharField(max_length=50, **TEXT)


class PickupInput(InputSerializer):
    name = serializers.CharField(max_length=200, **TEXT)
    phone = serializers.CharField(max_length=32, **TEXT)
    address = DeliveryAddressInput(required=False, allow_null=True)
    instructions = serializers.CharField(max_length=10_000, **TEXT)


class PackageInput(InputSerializer):
    trackerExternalId = serializers.CharField(max_length=100, **TEXT)
    barcodes = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=100, required=False, default=list
    )
    items = serializers.ListField(
        child=serializers.DictField(), max_length=500, required=False, default=list
    )
    createdDate = serializers.IntegerField(
        min_value=0,
        max_value=MAX_MILLISECONDS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Unix ms.",
    )


class TrackerInputSerializer(InputSerializer):
    trackerExternalId = serializers.CharField(
        max_length=100,
        trim_whitespace=False,
        validators=[tracker_external_id_valid],
        help_text="Your id for the tracker, unique per merchant, kept exactly as sent.",
    )
    trackingNumber = serializers.CharField(max_length=100, **TEXT)
    trackingId = serializers.CharField(max_length=100, help_text="Alias of trackingNumber.", **TEXT)
    carrier = serializers.CharField(
        max_length=100,
        help_text="A carrier code (ups, fedex, usps, dhl, canada_post, sandbox, other) or the name "
        "of a delivery provider configured for the merchant (any case). Absent with a tracking "
        "number: detected from the number.",
        **TEXT,
    )
    provider = serializers.CharField(max_length=100, help_text="Alias of carrier.", **TEXT)
    type = serializers.ChoiceField(choices=TrackerType.values, default=TrackerType.SHIPPING)
    groupId = serializers.CharField(
        max_length=100, help_text="Groups orders and trackers on one page.", **NULLABLE_TEXT
    )
    orderId = order_id_field(
        help_text="Optional link to one of your orders already sent here.", **TEXT
    )
    orderAttributes = serializers.DictField(required=False, default=dict)
    orderValue = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    pickupTime = TimeWindowInput(required=False, allow_null=True)
    deliveryTime = TimeWindowInput(required=False, allow_null=True)
    deliveryContact = DeliveryContactInput(required=False)
    deliveryAddress = DeliveryAddressInput(
        required=False, help_text="Required when type is delivery."
    )
    pickupInstructions = serializers.CharField(max_length=10_000, **TEXT)
    deliveryInstructions = serializers.CharField(max_length=10_000, **NULLABLE_TEXT)
    barcodes = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=100, required=False, default=list
    )
    items = serializers.ListField(
        child=serializers.DictField(), max_length=500, required=False, default=list
    )
    locale = serializers.CharField(max_length=16, **TEXT)
    createdDate = UnixMillisecondsField(required=False, allow_null=True)
    locationExternalId = serializers.CharField(
        max_length=100,
        help_text="A pickup location configured for the merchant (the admin). A delivery or "
        "pickup tracker needs this or `pickup`.",
        **NULLABLE_TEXT,
    )
    pickup = PickupInput(
        required=False, allow_null=True, help_text="Where it is picked up, when not a location."
    )
    packages = PackageInput(many=True, required=False, default=list, max_length=100)
    currencyCode = serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 of orderValue, e.g. USD.", **TEXT
    )

    def validate(self, data: dict) -> dict:
        errors = {}
        for name, alias in (("trackingNumber", "trackingId"), ("carrier", "provider")):
            if data[name] and data[alias] and data[name] != data[alias]:
                errors[alias] = [f"Send {name} or {alias}, not two different values."]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    @staticmethod
    def to_input(data: dict) -> TrackerInput:
        pickup = data.get("pickupTime") or {}
        delivery = data.get("deliveryTime") or {}
        contact = data.get("deliveryContact", {})
        address = data.get("deliveryAddress", {})
        return TrackerInput(
            external_id=data["trackerExternalId"],
            tracking_number=data["trackingNumber"] or data["trackingId"],
            carrier=data["carrier"],
            provider=data["provider"],
            type=data["type"],
            group_id=data["groupId"] or "",
            order_id=data["orderId"],
            order_attributes=data["orderAttributes"],
            order_value=data.get("orderValue"),
            pickup_starts_at=pickup.get("startsAt"),
            pickup_ends_at=pickup.get("endsAt"),
            delivery_starts_at=delivery.get("startsAt"),
            delivery_ends_at=delivery.get("endsAt"),
            contact_name=contact.get("name", ""),
            contact_phone=contact.get("phone", ""),
            contact_email=contact.get("email", ""),
            delivery_address=address_fields(address),
            apartment_number=address.get("apartmentNumber", ""),
            latitude=_rounded(address.get("latitude")),
            longitude=_rounded(address.get("longitude")),
            pickup_instructions=data["pickupInstructions"],
            delivery_instructions=data["deliveryInstructions"] or "",
            barcodes=data["barcodes"],
            items=data["items"],
            locale=data["locale"],
            created_date=data.get("createdDate"),
            location_external_id=data["locationExternalId"] or "",
            pickup=_pickup_stored(data.get("pickup")),
            packages=[dict(package) for package in data["packages"]],
            currency_code=data["currencyCode"],
        )


def _pickup_stored(pickup: dict | None) -> dict | None:
    """The pickup object as JSON (its coordinates as numbers), stored and answered back."""
    if pickup is None:
        return None
    address = pickup.get("address")
    if address is not None:
        address = {**address, "latitude": number(_rounded(address.get("latitude"))),
                   "longitude": number(_rounded(address.get("longitude")))}  # fmt: skip
    return {**pickup, "address": address}


def _rounded(coordinate: Decimal | None) -> Decimal | None:
    return None if coordinate is None else coordinate.quantize(COORDINATE)


class TrackerListQuery(InputSerializer):
    groupId = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- Views -----------------------------------------------------------------------------------

TRACKER_EXAMPLE = OpenApiExample(
    "Local delivery by the merchant's own van",
    request_only=True,
    value={
        "trackerExternalId": "TRK-1001", "trackingId": "VAN-7-STOP-3", "provider": "Self Delivery",
        "type": "delivery", "groupId": "BASKET-77", "orderValue": 42.50, "currencyCode": "USD",
        "locationExternalId": "MAIN-STORE",
        "deliveryTime": {"startsAt": 1795532400000, "endsAt": 1795539600000},
        "deliveryContact": {"name": "Jane Doe", "phone": "+15125550100",
                            "email": "jane@example.com"},
        "deliveryAddress": {"street1": "1 Main St", "city": "Austin", "state": "TX",
                            "postalCode": "78701", "countryCode": "US", "latitude": 30.2672,
                            "longitude": -97.7431, "apartmentNumber": "4B"},
        "deliveryInstructions": "Leave with the concierge.", "barcodes": ["0123456789012"],
        "items": [{"name": "Sourdough loaf", "quantity": 2}], "locale": "en-US",
        "createdDate": 1795528800000,
    },
)  # fmt: skip
CARRIER_TRACKER_EXAMPLE = OpenApiExample(
    "A carrier shipment sold on a marketplace",
    request_only=True,
    value={"trackerExternalId": "MKT-55", "trackingNumber": "1Z5R89390357567127",
           "carrier": "ups", "orderAttributes": {"marketplace": "etsy"}},
)  # fmt: skip
SEED_001_EXAMPLE = OpenApiExample(
    "Seed 001's example: delivery from a configured pickup location",
    request_only=True,
    value={
        "provider": "Self Delivery", "locationExternalId": "Self Delivery Store",
        "trackerExternalId": "tracker001", "trackingId": "del_004",
        "barcodes": ["12312351", "77091078"], "type": "delivery", "orderAttributes": {},
        "orderValue": 100, "pickupTime": {"startsAt": 1649253600000},
        "deliveryTime": {"endsAt": 1649268000000},
        "deliveryContact": {"name": "Mein Wan", "phone": "+12322322323",
                            "email": "nycustomer@email.com"},
        "deliveryAddress": {"street1": "8849 North Sam Houston Parkway West", "street2": "",
                            "city": "Houston", "state": "TX", "countryCode": "US",
                            "postalCode": "77064", "latitude": 29.9259823,
                            "longitude": -95.5523879, "apartmentNumber": ""},
    },
)  # fmt: skip
TAGS = ["Trackers"]


@extend_schema_view(
    post=documented(
        summary="Tracker created or updated",
        description="For shipments outside the OMS flow (own vans, a local courier, a "
        "marketplace). 201 for a new `trackerExternalId`, 200 when it is posted again (every "
        "field replaced). A carrier code and a tracking number link the tracker to the carrier "
        "shipment (polled like any other; `CARRIER_NOT_TRACKED` when we cannot poll that "
        "carrier); without `carrier`/`provider` the carrier is detected from the number. A "
        "`provider` not configured for the merchant is a 422; a `delivery` tracker without "
        "`deliveryAddress` is a 400, and a `delivery` or `pickup` tracker without "
        "`locationExternalId` (a pickup location configured in the admin; unknown: 422) or "
        "`pickup` is a 400. A delivery provider's tracking id is followed as an `other` "
        "shipment that the merchant moves with `POST /tracking/{trackingNumber}/events`; the "
        "delivery contact gets the customer notifications the merchant chose. The answer is "
        "seed 001's shape (upper-case lifecycle `status`, `provider` object, "
        "`referenceLinks.customerWebflowUrl`) with every field sent. Times are Unix "
        "milliseconds.",
        request=TrackerInputSerializer,
        responses={201: TrackerOutputSerializer, 200: TrackerOutputSerializer},
        errors=("MISSING_TRACKER_DATA", "INVALID_TRACKER_DATA"),
        examples=[SEED_001_EXAMPLE, TRACKER_EXAMPLE, CARRIER_TRACKER_EXAMPLE],
        tags=TAGS,
        operation_id="tracker_create",
    ),
    get=documented(
        summary="List trackers, optionally those of one group",
        description="Newest first.",
        responses={200: TrackerOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_TRACKER_DATA",),
        parameters=[TrackerListQuery, EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="tracker_list",
    ),
)
class TrackersApi(InboundApi):
    """POST: a tracker was created (201) or updated (200). GET: the merchant's trackers."""

    entity = "TRACKER"
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload) -> Result:
        return tracker_answer(merchant, payload)

    def get(self, request):
        merchant = self.merchant()
        query = self.validated(TrackerListQuery, request.query_params)
        tracked = tracked_carriers(merchant)
        trackers = tracker_list(merchant, group_id=query.get("groupId", ""))
        return paginated(request, trackers, lambda t: tracker_json(t, tracked=tracked))


def tracker_answer(merchant: Merchant, payload) -> Result:
    """POST /trackers's message answered (a plain function: replay calls it too)."""
    data = TrackerInputSerializer.to_input(validated(TrackerInputSerializer, payload, "TRACKER"))
    outcome = tracker_create_or_update(merchant=merchant, data=data)
    tracker = tracker_get_for_merchant(merchant, data.external_id)
    answer = Result(
        201 if outcome.created else 200,
        tracker_json(tracker, tracked=tracked_carriers(merchant)),
        outcome.warnings,
    )
    return unknown_fields_noted(answer, TrackerInputSerializer, payload)


@extend_schema_view(
    get=documented(
        summary="A tracker with its status, carrier tracking and links",
        responses={200: TrackerOutputSerializer},
        errors=("TRACKING_NOT_FOUND",),
        tags=TAGS,
        operation_id="tracker_get",
    )
)
class TrackerDetailApi(MerchantApi):
    entity = "TRACKER"
    not_found_code = "TRACKING_NOT_FOUND"

    def get(self, request, tracker_external_id: str):
        merchant = self.merchant()
        tracker = tracker_get_for_merchant(merchant, tracker_external_id)
        if tracker is None:
            raise NotFound(
                f"Tracker {tracker_external_id} was not found.", code="TRACKING_NOT_FOUND"
            )
        return success(tracker_json(tracker, tracked=tracked_carriers(merchant)))
