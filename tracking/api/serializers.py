"""The shapes of seed-002 style answers (OpenAPI schema only: answers are built by
tracking/representation.py), and of answers whose style the request picks."""

from rest_framework import serializers

from carriers.seed002 import SEED002_STATUSES
from flextracker.openapi import one_of
from orders.serializers import TrackingEventOutputSerializer, TrackingOutputSerializer


class Seed002Location(serializers.Serializer):
    address = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    postalCode = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)


class Seed002Event(serializers.Serializer):
    eventId = serializers.CharField()
    shipmentId = serializers.UUIDField()
    trackingNumber = serializers.CharField()
    timestamp = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=SEED002_STATUSES)
    eventType = serializers.CharField()
    description = serializers.CharField()
    location = Seed002Location(allow_null=True)
    facilityType = serializers.CharField(allow_null=True)
    exceptionCode = serializers.CharField(allow_null=True)
    exceptionReason = serializers.CharField(allow_null=True)
    recipient = serializers.CharField(allow_null=True)
    signature = serializers.CharField(allow_null=True, help_text="A URL.")


class Seed002ListedEvent(Seed002Event):
    orderId = serializers.CharField(allow_null=True)


class Seed002Tracking(serializers.Serializer):
    shipmentId = serializers.UUIDField()
    trackingNumber = serializers.CharField()
    proNumber = serializers.CharField(allow_null=True)
    provider = serializers.CharField(help_text="The carrier, upper case: FEDEX, UPS, USPS …")
    service = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=SEED002_STATUSES)
    statusDescription = serializers.CharField()
    estimatedDelivery = serializers.CharField(
        allow_null=True, help_text="A date (YYYY-MM-DD), or a date-time when the carrier gives one."
    )
    actualDelivery = serializers.DateTimeField(allow_null=True)
    weight = serializers.FloatField(allow_null=True)
    origin = Seed002Location(allow_null=True)
    destination = Seed002Location(allow_null=True)
    events = Seed002Event(many=True)
    lastUpdated = serializers.DateTimeField()


class Seed002OrderShipment(Seed002Tracking):
    """A shipment of an order looked up by load ID (its own name: the schema's list envelope of
    Seed002Tracking is the paginated one)."""


class ProofOfDelivery(serializers.Serializer):
    deliveredAt = serializers.DateTimeField(allow_null=True)
    recipient = serializers.CharField(allow_null=True)
    signature = serializers.CharField(allow_null=True, help_text="A URL.")


class Seed002TrackingDetails(Seed002Tracking):
    proofOfDelivery = ProofOfDelivery(allow_null=True, help_text="Null until delivered.")


class ShipmentInfo(serializers.Serializer):
    createdAt = serializers.DateTimeField()
    estimatedDelivery = serializers.CharField(allow_null=True, help_text="A date or a date-time.")
    totalCost = serializers.FloatField(allow_null=True)
    currency = serializers.CharField(allow_null=True)


class Seed002ShipmentTrack(Seed002Tracking):
    reference = serializers.CharField(allow_null=True, help_text="The orderId.")
    shipmentInfo = ShipmentInfo()


class Seed002BatchItem(serializers.Serializer):
    trackingNumber = serializers.CharField(required=False)
    shipmentId = serializers.CharField(required=False)
    success = serializers.BooleanField()
    data = Seed002Tracking(required=False)
    error = serializers.DictField(required=False)


# Seed 002's "Track Single Shipment" answer, as we give it (null where we hold no value).
SEED_EXAMPLE = {
    "shipmentId": "660e8400-e29b-41d4-a716-446655440001",
    "trackingNumber": "1234567890",
    "proNumber": None,
    "provider": "FEDEX",
    "service": "FEDEX_GROUND",
    "status": "IN_TRANSIT",
    "statusDescription": "Package is in transit to destination",
    "estimatedDelivery": "2025-02-21T17:00:00Z",
    "actualDelivery": None,
    "weight": None,
    "origin": {"address": "Dallas, TX", "city": "Dallas", "state": "TX", "postalCode": None,
               "country": "US"},
    "destination": {"address": "Houston, TX 77001", "city": "Houston", "state": "TX",
                    "postalCode": "77001", "country": "US"},
    "events": [
        {"eventId": "evt_3f9c2a1b7d4e5f60a1b2",
         "shipmentId": "660e8400-e29b-41d4-a716-446655440001",
         "trackingNumber": "1234567890", "timestamp": "2025-02-21T06:30:00Z",
         "status": "IN_TRANSIT", "eventType": "TRANSIT", "description": "At local FedEx facility",
         "location": {"address": "Houston, TX 77041", "city": "Houston", "state": "TX",
                      "postalCode": "77041", "country": "US"},
         "facilityType": None, "exceptionCode": None, "exceptionReason": None,
         "recipient": None, "signature": None},
    ],
    "lastUpdated": "2025-02-21T09:15:00Z",
}  # fmt: skip


class ListedEventSerializer(TrackingEventOutputSerializer):
    trackingNumber = serializers.CharField()
    orderId = serializers.CharField(allow_null=True)


StyledTracking = one_of("StyledTracking", TrackingOutputSerializer, Seed002Tracking)
StyledListedEvent = one_of("StyledListedEvent", ListedEventSerializer, Seed002ListedEvent)


class TrackingBatchItem(serializers.Serializer):
    trackingNumber = serializers.CharField()
    success = serializers.BooleanField()
    data = StyledTracking(required=False)
    error = serializers.DictField(required=False)
