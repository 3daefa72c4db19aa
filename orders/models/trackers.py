"""API trackers: deliveries made outside the OMS flow (own vans, a local courier, pickups)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import Status
from merchants.models import Merchant, PickupLocation

from .orders import Address, Order
from .shipments import Shipment


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
