"""Orders and their line items, cancellations, backorders, console notes and audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


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
