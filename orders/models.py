import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import CarrierCode, EventSource, Status, StatusDetail
from merchants.models import Merchant, PickupLocation


class OrderStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    PARTIALLY_DELIVERED = "partially_delivered", _("Partially delivered")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    EXCEPTION = "exception", _("Exception")


class Address(models.Model):
    """Address fields shared by orders and trackers (an abstract base, no table of its own)."""

    street1 = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, blank=True)

    class Meta:
        abstract = True


class Order(Address):
    # Not indexed alone: order_unique (merchant, order_id) leads with it (docs/scaling.md).
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="orders", db_index=False
    )
    order_id = models.CharField(_("order ID"), max_length=100)
    order_date = models.DateTimeField(null=True, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    # The name as search compares it, without accents or case ("maria lopez" for "María López"),
    # kept by the services so that SQLite and PostgreSQL's indexes answer alike (migration 0014).
    customer_name_search = models.CharField(max_length=200, blank=True, editable=False)
    customer_email = models.EmailField(max_length=254, blank=True)  # stored lower-case
    customer_phone = models.CharField(max_length=32, blank=True)
    customer_phone_digits = models.CharField(max_length=32, blank=True, editable=False)
    locale = models.CharField(max_length=16, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    order_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    group_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default="received")
    # A shipment or cancellation arrived before the order itself (API.md "out of order").
    is_placeholder = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    # The customer unsubscribed from this order's messages (the link in every email and SMS).
    notifications_muted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "order_id"], name="order_unique"),
            models.CheckConstraint(condition=~Q(order_id=""), name="order_id_not_empty"),
            models.CheckConstraint(
                condition=Q(order_value__isnull=True) | Q(order_value__gte=0),
                name="order_value_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "customer_email"], name="order_email_idx"),
            models.Index(fields=["merchant", "customer_phone_digits"], name="order_phone_idx"),
            # A customer's text to our number names no merchant (pages/sms_replies.py).
            models.Index(fields=["customer_phone_digits"], name="order_phone_any_merchant_idx"),
            models.Index(fields=["merchant", "-updated_at"], name="order_updated_idx"),
            models.Index(fields=["merchant", "status"], name="order_status_idx"),
            models.Index(fields=["merchant", "group_id"], name="order_group_idx"),
            # The console's search across merchants; PostgreSQL adds trigram and full-text
            # indexes on names, phones and order IDs (migrations 0004 and 0014).
            models.Index(fields=["order_id"], name="order_order_id_idx"),
            models.Index(fields=["customer_email"], name="order_email_all_idx"),
            models.Index(fields=["postal_code"], name="order_postal_code_idx"),
            # The dashboard counts a merchant's orders placed in a date range.
            models.Index("merchant", Coalesce("order_date", "created_at"), name="order_placed_idx"),
        ]

    def __str__(self) -> str:
        return self.order_id


class LineItem(models.Model):
    """Per-item quantities are counters kept by the services; the database keeps them coherent."""

    # Not indexed alone: line_item_unique (order, item_id) leads with it.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="line_items", db_index=False
    )
    item_id = models.CharField(_("item ID"), max_length=100)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    quantity_ordered = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    # Backordered units are among those awaiting shipment (API.md).
    quantity_backordered = models.PositiveIntegerField(default=0)
    backorder_expected_date = models.DateField(null=True, blank=True)
    # The OMS's `returnable` flag; the merchant's itemId patterns can refuse a return too.
    is_returnable = models.BooleanField(default=True)
    # Units in return requests not refused, and those of them received back. "Requested ≤
    # delivered" cannot be a constraint (delivered is derived from delivered shipments): the
    # returns service checks it with the order and its line items locked (select_for_update).
    quantity_return_requested = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item_id"], name="line_item_unique"),
            models.CheckConstraint(condition=Q(quantity_ordered__gte=0), name="ordered_gte_0"),
            models.CheckConstraint(condition=Q(quantity_shipped__gte=0), name="shipped_gte_0"),
            models.CheckConstraint(condition=Q(quantity_cancelled__gte=0), name="cancelled_gte_0"),
            models.CheckConstraint(
                condition=Q(quantity_backordered__gte=0), name="backordered_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gte=F("quantity_shipped") + F("quantity_cancelled")),
                name="not_more_than_ordered",
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity_backordered__lte=F("quantity_ordered")
                    - F("quantity_shipped")
                    - F("quantity_cancelled")
                ),
                name="backordered_within_awaiting",
            ),
            models.CheckConstraint(
                condition=Q(quantity_return_requested__gte=0), name="return_requested_gte_0"
            ),
            models.CheckConstraint(condition=Q(quantity_returned__gte=0), name="returned_gte_0"),
            models.CheckConstraint(
                condition=Q(quantity_return_requested__lte=F("quantity_shipped")),
                name="return_requested_within_shipped",
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_return_requested")),
                name="returned_within_return_requested",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} × {self.quantity_ordered}"

    @property
    def quantity_awaiting_shipment(self) -> int:
        return self.quantity_ordered - self.quantity_shipped - self.quantity_cancelled


class ShipmentDirection(models.TextChoices):
    OUTBOUND = "outbound", _("To the customer")
    RETURN = "return", _("Back to the merchant")


class Shipment(models.Model):
    """A package followed with its carrier; also the tracked object behind an API tracker.

    A return shipment (direction "return") belongs to its ReturnRequest, never to the order's
    `shipments`: it is polled like any package but counts toward no order status, delivered
    quantity or "your order" message."""

    # Not indexed alone: shipment_unique (merchant, carrier, tracking_number) leads with it.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="shipments", db_index=False
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="shipments"
    )
    carrier = models.CharField(max_length=16, choices=CarrierCode.choices)
    tracking_number = models.CharField(max_length=100)  # normalized: no spaces, upper-case
    # The shipment's public id (API.md `shipmentId`): stable, unique across merchants.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    direction = models.CharField(
        max_length=8, choices=ShipmentDirection.choices, default=ShipmentDirection.OUTBOUND
    )
    service = models.CharField(max_length=100, blank=True)
    # The platform's own id of this shipment (a Shopify fulfillment's id), for writing back.
    source_reference = models.CharField(max_length=200, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery_date = models.DateField(null=True, blank=True)
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    # Our own estimate when the carrier gives none (tracking/predictions.py): a range of days
    # and how many past deliveries on the same lane it rests on.
    predicted_earliest = models.DateField(null=True, blank=True)
    predicted_latest = models.DateField(null=True, blank=True)
    predicted_from_deliveries = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.UNKNOWN)
    status_detail = models.CharField(
        max_length=32, choices=StatusDetail.choices, default=StatusDetail.UNKNOWN
    )
    status_description = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    is_delayed = models.BooleanField(default=False)
    origin_city = models.CharField(max_length=100, blank=True)
    origin_state = models.CharField(max_length=100, blank=True)
    origin_country = models.CharField(max_length=2, blank=True)
    destination_city = models.CharField(max_length=100, blank=True)
    destination_state = models.CharField(max_length=100, blank=True)
    destination_postal_code = models.CharField(max_length=20, blank=True)
    destination_country = models.CharField(max_length=2, blank=True)
    # Freshness (TRACKING.md): when we asked, when we will ask next, where the news came from.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_update_source = models.CharField(max_length=16, choices=EventSource.choices, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    consecutive_check_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "carrier", "tracking_number"], name="shipment_unique"
            ),
            models.CheckConstraint(
                condition=~Q(tracking_number=""), name="tracking_number_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(direction="outbound") | Q(order__isnull=True),
                name="return_shipment_not_in_order",
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_tracking_number_idx"),
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="shipment_due_idx",
            ),
            models.Index(fields=["merchant", "-updated_at"], name="shipment_updated_idx"),
            # The dashboard counts a merchant's shipments shipped in a date range.
            models.Index(
                "merchant", Coalesce("shipped_at", "created_at"), name="shipment_shipped_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_name} {self.tracking_number}"

    @property
    def carrier_name(self) -> str:
        """get_carrier_display() without rebuilding the choices dict: answers name hundreds."""
        return str(CarrierCode(self.carrier).label)


class ShipmentItem(models.Model):
    # Not indexed alone: shipment_item_unique (shipment, line_item) leads with it.
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="shipment_items")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line_item"], name="shipment_item_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shipment_item_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.line_item.item_id} × {self.quantity}"


class ItemCancellation(models.Model):
    """History of cancelled units; LineItem.quantity_cancelled is their sum."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="cancellations")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cancellation_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} cancelled"


class ItemBackorder(models.Model):
    """History of backorder notices; LineItem keeps the current backordered quantity and date."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="backorders")
    quantity = models.PositiveIntegerField()
    expected_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="backorder_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} backordered"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    IN_TRANSIT = "in_transit", _("On its way back")
    RECEIVED = "received", _("Received")


def return_public_id() -> str:
    return f"ret_{secrets.token_hex(12)}"


class ReturnRequest(models.Model):
    """A customer's request to return (or exchange) delivered units of an order: requested →
    approved | refused → in transit (its return shipment moves) → received (delivered back)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="return_requests", db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="return_requests")
    # The `{id}` of /api/v1/returns/{id}: not the row id, which would count returns.
    public_id = models.CharField(
        max_length=40, unique=True, editable=False, default=return_public_id
    )
    status = models.CharField(
        max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    reason_code = models.CharField(max_length=40, blank=True)
    reason_label = models.CharField(max_length=200, blank=True)  # as the customer read it
    exchange_variant = models.CharField(max_length=300, blank=True)
    customer_comment = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    merchant_message = models.TextField(blank=True)
    label_url = models.URLField(max_length=2000, blank=True)
    shipment = models.OneToOneField(
        Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="return_request"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["merchant", "status", "-created_at"], name="return_status_idx"),
            models.Index(fields=["merchant", "-created_at"], name="return_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.public_id


class ReturnItem(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="return_items")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["return_request", "line_item"], name="return_item_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_item_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.line_item.item_id} × {self.quantity}"


class TrackerType(models.TextChoices):
    SHIPPING = "shipping", _("Shipping")
    DELIVERY = "delivery", _("Local delivery")
    PICKUP = "pickup", _("Pickup")


class Tracker(Address):
    """API.md trackers: something shipped outside the OMS flow (own vans, a local courier)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="trackers", db_index=False
    )
    external_id = models.CharField(_("tracker external ID"), max_length=100)
    shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="trackers"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="trackers"
    )
    tracking_number = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=16, choices=TrackerType.choices, default="shipping")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.UNKNOWN)
    group_id = models.CharField(max_length=100, blank=True)
    order_attributes = models.JSONField(default=dict, blank=True)
    order_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    pickup_starts_at = models.DateTimeField(null=True, blank=True)
    pickup_ends_at = models.DateTimeField(null=True, blank=True)
    delivery_starts_at = models.DateTimeField(null=True, blank=True)
    delivery_ends_at = models.DateTimeField(null=True, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    contact_email = models.EmailField(blank=True)
    apartment_number = models.CharField(max_length=50, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    pickup_instructions = models.TextField(blank=True)
    delivery_instructions = models.TextField(blank=True)
    barcodes = models.JSONField(default=list, blank=True)
    items = models.JSONField(default=list, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    created_date = models.DateTimeField(null=True, blank=True)
    # Where it is picked up (seed 001): a configured location, kept by the id as sent, or the
    # `pickup` object as sent. A deleted location leaves the id, answered without its details.
    location = models.ForeignKey(
        PickupLocation, null=True, blank=True, on_delete=models.SET_NULL, related_name="trackers"
    )
    location_external_id = models.CharField(max_length=100, blank=True)
    pickup = models.JSONField(null=True, blank=True)
    packages = models.JSONField(default=list, blank=True)
    currency_code = models.CharField(max_length=3, blank=True)
    # The delivery contact unsubscribed from this tracker's messages (the link in every email).
    notifications_muted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="tracker_unique"),
            models.CheckConstraint(
                condition=Q(order_value__isnull=True) | Q(order_value__gte=0),
                name="tracker_order_value_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "group_id"], name="tracker_group_idx")]

    def __str__(self) -> str:
        return self.external_id


class OrderNote(models.Model):
    """An internal note a customer-service agent left on an order; customers never see it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)  # kept when the user is deleted
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.text[:50]


class AuditAction(models.TextChoices):
    REFRESH_TRACKING = "refresh_tracking", _("Refreshed tracking")
    RESEND_NOTIFICATION = "resend_notification", _("Resent a notification")
    COPY_LINK = "copy_link", _("Copied the customer link")
    OPEN_PDF = "open_pdf", _("Opened the PDF")
    ADD_NOTE = "add_note", _("Added a note")
    APPROVE_RETURN = "approve_return", _("Approved a return")
    REFUSE_RETURN = "refuse_return", _("Refused a return")
    RETURN_LABEL = "return_label", _("Gave a return its label or tracking number")


class AuditEntry(models.Model):
    """Who did what to an order in the console, and when."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    user_name = models.CharField(max_length=150)  # kept when the user is deleted
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["merchant", "-created_at"], name="audit_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user_name} · {self.get_action_display()}"
