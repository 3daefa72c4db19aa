"""The shape of an order and a shipment as API answers and webhook payloads show them (OpenAPI)."""

from rest_framework import serializers

from orders.models import Order


class LocationSerializer(serializers.Serializer):
    city = serializers.CharField()
    state = serializers.CharField()
    postalCode = serializers.CharField(required=False)
    country = serializers.CharField()


class TrackingEventOutputSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    shipmentId = serializers.UUIDField(help_text="The shipment's public id.")
    timestamp = serializers.DateTimeField()
    status = serializers.CharField()
    statusDetail = serializers.CharField()
    eventType = serializers.CharField()
    description = serializers.CharField()
    location = LocationSerializer()
    exceptionCode = serializers.CharField(allow_null=True)
    exceptionReason = serializers.CharField(allow_null=True)
    recipient = serializers.CharField(allow_null=True)
    signatureUrl = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=["poll", "push", "merchant"])
    carrierCode = serializers.CharField()
    carrierDescription = serializers.CharField()


class ShipmentItemOutputSerializer(serializers.Serializer):
    itemId = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class PredictionBasisSerializer(serializers.Serializer):
    deliveries = serializers.IntegerField(help_text="Past deliveries the range rests on.")
    origin = serializers.CharField(help_text="The lane's origin region: state, country.")
    destination = serializers.CharField(help_text="The lane's destination region.")


class PredictedDeliverySerializer(serializers.Serializer):
    earliest = serializers.DateField()
    latest = serializers.DateField()
    basis = PredictionBasisSerializer()


class TrackingOutputSerializer(serializers.Serializer):
    """API.md's tracking object."""

    shipmentId = serializers.UUIDField(help_text="The shipment's public id: stable, unique.")
    trackingNumber = serializers.CharField()
    carrier = serializers.CharField()
    carrierName = serializers.CharField()
    service = serializers.CharField()
    status = serializers.CharField()
    statusDetail = serializers.CharField()
    statusDescription = serializers.CharField()
    estimatedDelivery = serializers.CharField(
        allow_null=True, help_text="A date (YYYY-MM-DD), or a date-time when the carrier gives one."
    )
    predictedDelivery = PredictedDeliverySerializer(
        allow_null=True,
        help_text="Our estimate when the carrier gives none, from past deliveries on the same "
        "carrier, service and route; null when the carrier gives one, the history is too thin, or "
        "the package is delivered or in trouble.",
    )
    deliveredAt = serializers.DateTimeField(allow_null=True)
    delayed = serializers.BooleanField()
    origin = LocationSerializer()
    destination = LocationSerializer()
    carrierTrackingUrl = serializers.CharField()
    tracked = serializers.BooleanField(
        help_text="False for carriers we cannot poll: the shipment shows what the OMS sent."
    )
    lastUpdated = serializers.DateTimeField()
    lastCheckedAt = serializers.DateTimeField(allow_null=True)
    nextCheckAt = serializers.DateTimeField(allow_null=True)
    updateSource = serializers.CharField(allow_null=True)
    orderId = serializers.CharField(allow_null=True)
    items = ShipmentItemOutputSerializer(many=True)
    events = TrackingEventOutputSerializer(many=True)


class LineItemOutputSerializer(serializers.Serializer):
    itemId = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    imageUrl = serializers.CharField()
    quantityOrdered = serializers.IntegerField()
    quantityShipped = serializers.IntegerField()
    quantityDelivered = serializers.IntegerField()
    quantityCancelled = serializers.IntegerField()
    quantityBackordered = serializers.IntegerField()
    quantityAwaitingShipment = serializers.IntegerField()
    expectedDate = serializers.DateField(allow_null=True)


class CustomerOutput(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class AddressOutput(serializers.Serializer):
    street1 = serializers.CharField()
    street2 = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    postalCode = serializers.CharField()
    countryCode = serializers.CharField()


class OrderLinksSerializer(serializers.Serializer):
    trackingPage = serializers.URLField()


class OrderOutputSerializer(serializers.Serializer):
    orderId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[value for value, _label in Order._meta.get_field("status").choices]
    )
    orderDate = serializers.DateTimeField(allow_null=True)
    placeholder = serializers.BooleanField(
        help_text="True while only shipments or cancellations have arrived for this order."
    )
    customer = CustomerOutput()
    shippingAddress = AddressOutput()
    locale = serializers.CharField()
    currency = serializers.CharField()
    orderValue = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    attributes = serializers.DictField()
    lineItems = LineItemOutputSerializer(many=True)
    shipments = TrackingOutputSerializer(many=True)
    links = OrderLinksSerializer()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
