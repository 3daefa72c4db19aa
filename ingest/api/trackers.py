"""Trackers endpoints of API.md: a tracker for a shipment that has no order here (own vans, a
local courier, a marketplace). Serializers, output and views."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from carriers.vocabulary import CarrierCode
from flextracker.api.envelope import EnvelopePaginationParameters, iso, number, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, validated
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result
from ingest.api.serializers import (
    TEXT,
    AddressInput,
    CustomerInput,
    address_fields,
    order_id_field,
    tracker_external_id_valid,
)
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.links import group_page_url, tracker_page_url
from orders.models import Tracker, TrackerType
from orders.representation import shipment_json
from orders.selectors import tracker_get_for_merchant, tracker_list
from orders.serializers import AddressOutput, CustomerOutput, TrackingOutputSerializer
from orders.services.trackers import TrackerInput, tracker_create_or_update

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MILLISECONDS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
COORDINATE = Decimal("0.000001")  # the model keeps six decimal places (about 10 cm)
CARRIER_CODES = frozenset(CarrierCode.values)


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


def milliseconds(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // timedelta(milliseconds=1)


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
        max_length=100, help_text="Groups orders and trackers on one page.", **TEXT
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
    deliveryInstructions = serializers.CharField(max_length=10_000, **TEXT)
    barcodes = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=100, required=False, default=list
    )
    items = serializers.ListField(
        child=serializers.DictField(), max_length=500, required=False, default=list
    )
    locale = serializers.CharField(max_length=16, **TEXT)
    createdDate = UnixMillisecondsField(required=False, allow_null=True)

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
            group_id=data["groupId"],
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
            delivery_instructions=data["deliveryInstructions"],
            barcodes=data["barcodes"],
            items=data["items"],
            locale=data["locale"],
            created_date=data.get("createdDate"),
        )


def _rounded(coordinate: Decimal | None) -> Decimal | None:
    return None if coordinate is None else coordinate.quantize(COORDINATE)


class TrackerListQuery(InputSerializer):
    groupId = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- Output ----------------------------------------------------------------------------------


class TimeWindowOutput(serializers.Serializer):
    startsAt = serializers.IntegerField(allow_null=True, help_text="Unix ms; null: ASAP.")
    endsAt = serializers.IntegerField(allow_null=True, help_text="Unix ms.")


class DeliveryAddressOutput(AddressOutput):
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    apartmentNumber = serializers.CharField()


class ReferenceLinksSerializer(serializers.Serializer):
    trackingPage = serializers.URLField()
    groupPage = serializers.URLField(required=False, help_text="Only when groupId is set.")


class TrackerOutputSerializer(serializers.Serializer):
    trackerExternalId = serializers.CharField()
    trackingNumber = serializers.CharField(help_text="Normalized when it is a carrier's.")
    provider = serializers.CharField(help_text="The carrier code or the provider's name.")
    carrier = serializers.CharField(allow_null=True, help_text="Null for a delivery provider.")
    type = serializers.CharField(help_text="shipping, delivery or pickup.")
    status = serializers.CharField(
        help_text="TRACKING.md's status: the linked shipment's, else the tracker's own."
    )
    groupId = serializers.CharField()
    orderId = serializers.CharField(allow_null=True)
    orderAttributes = serializers.DictField()
    orderValue = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    pickupTime = TimeWindowOutput(allow_null=True)
    deliveryTime = TimeWindowOutput(allow_null=True)
    deliveryContact = CustomerOutput()
    deliveryAddress = DeliveryAddressOutput()
    pickupInstructions = serializers.CharField()
    deliveryInstructions = serializers.CharField()
    barcodes = serializers.ListField(child=serializers.CharField())
    items = serializers.ListField(child=serializers.DictField())
    locale = serializers.CharField()
    createdDate = serializers.IntegerField(allow_null=True, help_text="Unix ms.")
    tracking = TrackingOutputSerializer(
        allow_null=True, help_text="The carrier shipment the tracker follows, if any."
    )
    referenceLinks = ReferenceLinksSerializer()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


def _window(starts_at: datetime | None, ends_at: datetime | None) -> dict | None:
    if starts_at is None and ends_at is None:
        return None
    return {"startsAt": milliseconds(starts_at), "endsAt": milliseconds(ends_at)}


def _reference_links(tracker: Tracker) -> dict:
    merchant_id = tracker.merchant.merchant_id
    links = {"trackingPage": tracker_page_url(merchant_id, tracker.external_id)}
    if tracker.group_id:
        links["groupPage"] = group_page_url(merchant_id, tracker.group_id)
    return links


def tracker_json(tracker: Tracker, *, tracked: set[str]) -> dict:
    """A tracker prefetched by tracker_queryset_with_details (JSON-native, so replays match)."""
    shipment = tracker.shipment
    return {
        "trackerExternalId": tracker.external_id,
        "trackingNumber": tracker.tracking_number,
        "provider": tracker.provider,
        "carrier": tracker.provider if tracker.provider in CARRIER_CODES else None,
        "type": tracker.type,
        "status": shipment.status if shipment else tracker.status,
        "groupId": tracker.group_id,
        "orderId": tracker.order.order_id if tracker.order_id else None,
        "orderAttributes": tracker.order_attributes,
        "orderValue": number(tracker.order_value),
        "pickupTime": _window(tracker.pickup_starts_at, tracker.pickup_ends_at),
        "deliveryTime": _window(tracker.delivery_starts_at, tracker.delivery_ends_at),
        "deliveryContact": {"name": tracker.contact_name, "phone": tracker.contact_phone,
                            "email": tracker.contact_email},
        "deliveryAddress": {"street1": tracker.street1, "street2": tracker.street2,
                            "city": tracker.city, "state": tracker.state,
                            "postalCode": tracker.postal_code, "countryCode": tracker.country_code,
                            "latitude": number(tracker.latitude),
                            "longitude": number(tracker.longitude),
                            "apartmentNumber": tracker.apartment_number},
        "pickupInstructions": tracker.pickup_instructions,
        "deliveryInstructions": tracker.delivery_instructions,
        "barcodes": tracker.barcodes,
        "items": tracker.items,
        "locale": tracker.locale,
        "createdDate": milliseconds(tracker.created_date),
        "tracking": shipment_json(shipment, tracked=tracked) if shipment else None,
        "referenceLinks": _reference_links(tracker),
        "createdAt": iso(tracker.created_at),
        "updatedAt": iso(tracker.updated_at),
    }  # fmt: skip


# --- Views -----------------------------------------------------------------------------------

TRACKER_EXAMPLE = OpenApiExample(
    "Local delivery by the merchant's own van",
    request_only=True,
    value={
        "trackerExternalId": "TRK-1001", "trackingId": "VAN-7-STOP-3", "provider": "Self Delivery",
        "type": "delivery", "groupId": "BASKET-77", "orderValue": 42.50,
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
        "`deliveryAddress` is a 400. Times are Unix milliseconds.",
        request=TrackerInputSerializer,
        responses={201: TrackerOutputSerializer, 200: TrackerOutputSerializer},
        errors=("MISSING_TRACKER_DATA", "INVALID_TRACKER_DATA"),
        examples=[TRACKER_EXAMPLE, CARRIER_TRACKER_EXAMPLE],
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
    return Result(
        201 if outcome.created else 200,
        tracker_json(tracker, tracked=tracked_carriers(merchant)),
        outcome.warnings,
    )


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
