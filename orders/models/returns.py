"""Return requests, their items and statuses."""

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant

from .orders import LineItem, Order
from .shipments import Shipment


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
