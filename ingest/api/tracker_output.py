"""A tracker as the trackers endpoints answer it: seed 001's response shape (the provider as an
object, the upper-case lifecycle status, where it is picked up, reference links) beside every
field the merchant sent and the native tracking object."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from rest_framework import serializers

from carriers.vocabulary import CarrierCode, Status, StatusDetail
from flextracker.api.envelope import iso, number
from orders.links import group_page_url, tracker_page_url
from orders.models import Shipment, Tracker
from orders.representation import returns_url, shipment_json
from orders.serializers import AddressOutput, CustomerOutput, TrackingOutputSerializer

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CARRIER_CODES = frozenset(CarrierCode.values)

# Seed 001's lifecycle: ORDER_DISPATCHED until the carrier or the merchant reports movement.
LIFECYCLE = {
    Status.UNKNOWN: "ORDER_DISPATCHED",
    Status.PRE_TRANSIT: "ORDER_DISPATCHED",
    Status.IN_TRANSIT: "IN_TRANSIT",
    Status.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    Status.AVAILABLE_FOR_PICKUP: "READY_FOR_PICKUP",
    Status.DELIVERED: "DELIVERED",
    Status.FAILED_ATTEMPT: "DELIVERY_FAILED",
    Status.EXCEPTION: "EXCEPTION",
    Status.RETURN_TO_SENDER: "RETURNED",
    Status.CANCELLED: "CANCELLED",
    Status.EXPIRED: "EXCEPTION",
}
PICKED_UP_DETAILS = frozenset({StatusDetail.PICKED_UP, StatusDetail.ACCEPTED})
LIFECYCLE_STATUSES = sorted({*LIFECYCLE.values(), "PICKED_UP"})


def milliseconds(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // timedelta(milliseconds=1)


def lifecycle_status(status: str, status_detail: str = "") -> str:
    if status == Status.IN_TRANSIT and status_detail in PICKED_UP_DETAILS:
        return "PICKED_UP"
    return LIFECYCLE[Status(status)]


# --- Output serializers (the OpenAPI schema of the answer) ------------------------------------


class TimeWindowOutput(serializers.Serializer):
    startsAt = serializers.IntegerField(allow_null=True, help_text="Unix ms; null: ASAP.")
    endsAt = serializers.IntegerField(allow_null=True, help_text="Unix ms.")


class DeliveryAddressOutput(AddressOutput):
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    apartmentNumber = serializers.CharField()


class PickupAddressOutput(AddressOutput):
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class PickupContactOutput(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()


class ProviderOutput(serializers.Serializer):
    id = serializers.CharField(
        allow_null=True, help_text="The carrier code, or the configured provider's id."
    )
    name = serializers.CharField()
    displayName = serializers.CharField()
    serviceType = serializers.CharField(help_text="Shipping, Delivery or Pickup.")
    serviceId = serializers.CharField(help_text="The tracker's type.")


class SourceOutput(serializers.Serializer):
    type = serializers.CharField(help_text="How the tracker reached us: `api`.")
    id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)


class PackageOutput(serializers.Serializer):
    trackerExternalId = serializers.CharField()
    barcodes = serializers.ListField(child=serializers.CharField())
    items = serializers.ListField(child=serializers.DictField())
    createdDate = serializers.IntegerField(allow_null=True, help_text="Unix ms.")


class ReferenceLinksSerializer(serializers.Serializer):
    customerWebflowUrl = serializers.URLField(help_text="The customer page (seed 001's name).")
    trackingPage = serializers.URLField(help_text="The same customer page.")
    groupPage = serializers.URLField(required=False, help_text="Only when groupId is set.")
    returnsUrl = serializers.URLField(
        required=False,
        help_text="Only when the merchant offers returns: the return flow of the tracker's order "
        "when the merchant's return policy is on, else its default branding's returns page.",
    )


class TrackerOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Our id of the tracker.")
    trackerExternalId = serializers.CharField()
    orderExternalId = serializers.CharField(
        help_text="The linked order's orderId, else the trackerExternalId (seed 001)."
    )
    brandExternalId = serializers.CharField(help_text="The merchant ID.")
    trackingId = serializers.CharField(help_text="The tracking number (seed 001's name).")
    trackingNumber = serializers.CharField(help_text="Normalized when it is a carrier's.")
    provider = ProviderOutput(allow_null=True, help_text="Null when none was sent or detected.")
    carrier = serializers.CharField(allow_null=True, help_text="Null for a delivery provider.")
    type = serializers.CharField(help_text="shipping, delivery or pickup.")
    status = serializers.ChoiceField(
        choices=LIFECYCLE_STATUSES,
        help_text="Seed 001's lifecycle, from the followed shipment's status (TRACKING.md's in "
        "`tracking.status`); ORDER_DISPATCHED until movement is reported.",
    )
    groupId = serializers.CharField()
    orderId = serializers.CharField(allow_null=True)
    orderAttributes = serializers.DictField()
    orderValue = serializers.FloatField(allow_null=True)
    currencyCode = serializers.CharField(
        allow_null=True, help_text="As sent, else the linked order's currency."
    )
    pickupTime = TimeWindowOutput()
    deliveryTime = TimeWindowOutput()
    estimatedPickupTime = TimeWindowOutput()
    estimatedDeliveryTime = TimeWindowOutput(help_text="From the carrier's estimate.")
    locationExternalId = serializers.CharField(allow_null=True)
    pickup = serializers.DictField(allow_null=True, help_text="The pickup object as sent.")
    pickupAddress = PickupAddressOutput(allow_null=True, help_text="From the location or pickup.")
    pickupContact = PickupContactOutput(allow_null=True, help_text="From the location or pickup.")
    deliveryContact = CustomerOutput()
    deliveryAddress = DeliveryAddressOutput()
    pickupInstructions = serializers.CharField(
        help_text="As sent, else the pickup's or the location's."
    )
    deliveryInstructions = serializers.CharField()
    timeZone = serializers.CharField(help_text="The location's, else the merchant's.")
    lastLocation = serializers.DictField(
        allow_null=True, help_text="The place of the newest tracking event."
    )
    tips = serializers.JSONField(allow_null=True, help_text="Always null (not tracked here).")
    driver = serializers.JSONField(allow_null=True, help_text="Always null (not tracked here).")
    vehicle = serializers.JSONField(allow_null=True, help_text="Always null (not tracked here).")
    barcodes = serializers.ListField(child=serializers.CharField())
    items = serializers.ListField(child=serializers.DictField())
    packages = PackageOutput(many=True)
    locale = serializers.CharField()
    createdDate = serializers.IntegerField(allow_null=True, help_text="Unix ms.")
    source = SourceOutput()
    tracking = TrackingOutputSerializer(
        allow_null=True, help_text="The carrier shipment the tracker follows, if any."
    )
    referenceLinks = ReferenceLinksSerializer()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


# --- The answer --------------------------------------------------------------------------------


def tracker_json(tracker: Tracker, *, tracked: set[str]) -> dict:
    """A tracker prefetched by tracker_queryset_with_details (JSON-native, so replays match)."""
    shipment = tracker.shipment
    tracking = shipment_json(shipment, tracked=tracked) if shipment else None
    time_zone = (tracker.location and tracker.location.time_zone) or tracker.merchant.time_zone
    return {
        "id": str(tracker.pk),
        "trackerExternalId": tracker.external_id,
        "orderExternalId": tracker.order.order_id if tracker.order_id else tracker.external_id,
        "brandExternalId": tracker.merchant.merchant_id,
        "trackingId": tracker.tracking_number,
        "trackingNumber": tracker.tracking_number,
        "provider": _provider(tracker),
        "carrier": tracker.provider if tracker.provider in CARRIER_CODES else None,
        "type": tracker.type,
        "status": _status(tracker, shipment),
        "groupId": tracker.group_id,
        "orderId": tracker.order.order_id if tracker.order_id else None,
        "orderAttributes": tracker.order_attributes,
        "orderValue": number(tracker.order_value),
        "currencyCode": tracker.currency_code
        or (tracker.order.currency if tracker.order_id else "")
        or None,
        "pickupTime": _window(tracker.pickup_starts_at, tracker.pickup_ends_at),
        "deliveryTime": _window(tracker.delivery_starts_at, tracker.delivery_ends_at),
        "estimatedPickupTime": _window(None, None),
        "estimatedDeliveryTime": _window(_estimated_delivery(shipment, time_zone), None),
        **_pickup_json(tracker),
        "deliveryContact": {"name": tracker.contact_name, "phone": tracker.contact_phone,
                            "email": tracker.contact_email},
        "deliveryAddress": {**_address(tracker), "apartmentNumber": tracker.apartment_number},
        "deliveryInstructions": tracker.delivery_instructions,
        "timeZone": time_zone,
        "lastLocation": tracking["events"][0]["location"] if tracking and tracking["events"]
        else None,
        "tips": None,
        "driver": None,
        "vehicle": None,
        "barcodes": tracker.barcodes,
        "items": tracker.items,
        "packages": tracker.packages,
        "locale": tracker.locale,
        "createdDate": milliseconds(tracker.created_date),
        "source": {"type": "api", "id": None, "name": None},
        "tracking": tracking,
        "referenceLinks": _reference_links(tracker),
        "createdAt": iso(tracker.created_at),
        "updatedAt": iso(tracker.updated_at),
    }  # fmt: skip


def _status(tracker: Tracker, shipment: Shipment | None) -> str:
    if shipment is None:
        return lifecycle_status(tracker.status)
    return lifecycle_status(shipment.status, shipment.status_detail)


def _provider(tracker: Tracker) -> dict | None:
    if not tracker.provider:
        return None
    service = {"serviceType": tracker.type.capitalize(), "serviceId": tracker.type}
    if tracker.provider in CARRIER_CODES:
        name = str(CarrierCode(tracker.provider).label)
        return {"id": tracker.provider, "name": tracker.provider, "displayName": name, **service}
    # Prefetched with the merchant: one query for a whole list.
    configured = {p.name: p for p in tracker.merchant.delivery_providers.all()}
    provider = configured.get(tracker.provider)
    provider_id = str(provider.pk) if provider else None
    return {"id": provider_id, "name": tracker.provider, "displayName": tracker.provider,
            **service}  # fmt: skip


def _window(starts_at: datetime | None, ends_at: datetime | None) -> dict:
    return {"startsAt": milliseconds(starts_at), "endsAt": milliseconds(ends_at)}


def _estimated_delivery(shipment: Shipment | None, time_zone: str) -> datetime | None:
    """The carrier's estimate; a date alone is the start of that day where the tracker is."""
    if shipment is None:
        return None
    if shipment.estimated_delivery_at is not None:
        return shipment.estimated_delivery_at
    day: date | None = shipment.estimated_delivery_date
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=zoneinfo.ZoneInfo(time_zone))


def _address(place) -> dict:
    """A model's address fields (a tracker's or a pickup location's) as the API shows them."""
    return {"street1": place.street1, "street2": place.street2, "city": place.city,
            "state": place.state, "postalCode": place.postal_code,
            "countryCode": place.country_code, "latitude": number(place.latitude),
            "longitude": number(place.longitude)}  # fmt: skip


def _pickup_json(tracker: Tracker) -> dict:
    """Where it is picked up: the `pickup` object as sent wins over the configured location;
    the tracker's own pickupInstructions win over both (seed 001)."""
    pickup, location = tracker.pickup, tracker.location
    address = contact = None
    instructions = ""
    if pickup is not None:
        address = pickup.get("address")
        contact = {"name": pickup.get("name", ""), "phone": pickup.get("phone", "")}
        instructions = pickup.get("instructions", "")
    elif location is not None:
        address = _address(location)
        contact = {"name": location.contact_name or location.name, "phone": location.contact_phone}
        instructions = location.instructions
    return {
        "locationExternalId": tracker.location_external_id or None,
        "pickup": pickup,
        "pickupAddress": address,
        "pickupContact": contact,
        "pickupInstructions": tracker.pickup_instructions or instructions,
    }


def _reference_links(tracker: Tracker) -> dict:
    merchant_id = tracker.merchant.merchant_id
    page = tracker_page_url(merchant_id, tracker.external_id)
    links = {"customerWebflowUrl": page, "trackingPage": page}
    if tracker.group_id:
        links["groupPage"] = group_page_url(merchant_id, tracker.group_id)
    # The merchant's policy and templates are selected with the tracker.
    if url := returns_url(tracker.merchant, tracker.order):
        links["returnsUrl"] = url
    return links
