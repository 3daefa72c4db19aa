"""The shape of an order and a shipment as API answers and webhook payloads show them (OpenAPI)."""

from rest_framework import serializers

from orders.models import Order, ReturnStatus


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
    returnable = serializers.BooleanField(
        help_text="The OMS's flag; the merchant's return policy may still refuse the item."
    )
    quantityReturnRequested = serializers.IntegerField(
        help_text="Units in return requests not refused (received ones included)."
    )
    quantityReturned = serializers.IntegerField(help_text="Units received back.")


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
    returnsUrl = serializers.URLField(
        required=False,
        help_text="The customer's return flow, signed like trackingPage; only when the merchant "
        "offers returns.",
    )


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


class ReturnReasonOutput(serializers.Serializer):
    code = serializers.CharField(help_text="One of the merchant's reasons; empty when it has none.")
    label = serializers.CharField(help_text="As the customer read it, in `language`.")


class ReturnItemOutput(serializers.Serializer):
    itemId = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class ReturnShipmentOutput(serializers.Serializer):
    shipmentId = serializers.UUIDField()
    trackingNumber = serializers.CharField()
    carrier = serializers.CharField()
    carrierName = serializers.CharField()
    status = serializers.CharField(help_text="TRACKING.md's status of the package coming back.")
    deliveredAt = serializers.DateTimeField(allow_null=True)
    carrierTrackingUrl = serializers.URLField(allow_null=True)


class ReturnLinksSerializer(serializers.Serializer):
    trackingPage = serializers.URLField()
    returnsUrl = serializers.URLField(help_text="The customer's return flow for the order.")


class ReturnOutputSerializer(serializers.Serializer):
    returnId = serializers.CharField(help_text="Our id of the return request, `ret_…`.")
    orderId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=ReturnStatus.values,
        help_text="requested → approved or refused; approved → in_transit (its return shipment "
        "moves) → received (delivered back to you).",
    )
    reason = ReturnReasonOutput()
    exchangeVariant = serializers.CharField(
        help_text="What the customer wants instead; empty for a plain return."
    )
    customerComment = serializers.CharField()
    language = serializers.CharField(help_text="The customer's page language.")
    merchantMessage = serializers.CharField(help_text="Your message to the customer.")
    items = ReturnItemOutput(many=True)
    labelUrl = serializers.URLField(allow_null=True)
    returnShipment = ReturnShipmentOutput(allow_null=True)
    requestedAt = serializers.DateTimeField()
    approvedAt = serializers.DateTimeField(allow_null=True)
    refusedAt = serializers.DateTimeField(allow_null=True)
    receivedAt = serializers.DateTimeField(allow_null=True)
    updatedAt = serializers.DateTimeField()
    links = ReturnLinksSerializer()
