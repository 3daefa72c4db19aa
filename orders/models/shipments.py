"""Shipments (outbound and return packages followed with their carrier) and their items."""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import CarrierCode, EventSource, Status, StatusDetail
from merchants.models import Merchant

from .orders import LineItem, Order


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
