"""Delivery providers and pickup locations a merchant's trackers name."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .merchants import Merchant, validate_time_zone


class DeliveryProvider(models.Model):
    """A delivery provider the merchant uses besides the carriers (own vans, a local courier).

    Trackers may name one instead of a carrier code (API.md `provider`, e.g. "Self Delivery").
    """

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="delivery_providers"
    )
    name = models.CharField(max_length=100)
    tracking_url_template = models.URLField(
        blank=True, help_text=_("Optional public tracking link; {number} is replaced.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="delivery_provider_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PickupLocation(models.Model):
    """Where the merchant's deliveries start (a store, a warehouse): trackers name one by
    `locationExternalId` (seed 001) instead of sending a `pickup` object each time."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="pickup_locations"
    )
    external_id = models.CharField(_("location external ID"), max_length=100)
    name = models.CharField(max_length=200, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    street1 = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    instructions = models.TextField(
        blank=True, help_text=_("Pickup instructions; a tracker's own pickupInstructions win.")
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Blank: the merchant's time zone."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"], name="pickup_location_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id
