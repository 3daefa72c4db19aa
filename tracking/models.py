"""Tracking events as carriers report them, and the merchants' carrier accounts that poll them."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import (
    CarrierCode,
    EventSource,
    EventType,
    ExceptionCode,
    Status,
    StatusDetail,
)
from merchants.models import Merchant
from orders.models import Shipment


class TrackingEvent(models.Model):
    """One normalized carrier scan, with the carrier's raw code and text kept beside it."""

    # Not indexed alone: event_unique and event_timeline_idx lead with it (docs/scaling.md).
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=24, choices=Status.choices)
    status_detail = models.CharField(max_length=32, choices=StatusDetail.choices)
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    description = models.CharField(max_length=500, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    exception_code = models.CharField(
        max_length=3, choices=ExceptionCode.choices, blank=True, default=""
    )
    recipient = models.CharField(max_length=200, blank=True)
    signature_url = models.URLField(max_length=1000, blank=True)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    raw_code = models.CharField(max_length=64, blank=True)
    raw_description = models.CharField(max_length=500, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # Hash of what identifies a scan (time, code, place, text): the same scan twice is a no-op.
    dedupe_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "dedupe_key"], name="event_unique"),
        ]
        indexes = [
            models.Index(fields=["shipment", "-occurred_at"], name="event_timeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.status}"


POLLED_CARRIERS = [c for c in CarrierCode.choices if c[0] not in ("sandbox", "other")]


class CarrierAccount(models.Model):
    """A merchant's own carrier credentials; they override the platform's for that merchant."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="carrier_accounts"
    )
    carrier = models.CharField(max_length=16, choices=POLLED_CARRIERS)
    client_id = models.CharField(
        _("client ID / username"), max_length=200, blank=True, help_text=_("Not used by DHL.")
    )
    secret = models.CharField(
        _("client secret / password / API key"), max_length=500, help_text=_("Stored as given.")
    )
    base_url = models.URLField(blank=True, help_text=_("Blank: the carrier's production API."))
    requests_per_minute = models.PositiveIntegerField(
        default=60, help_text=_("The poller never exceeds this for the account.")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "merchants_carrieraccount"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "carrier"], name="carrier_account_unique"),
            models.CheckConstraint(
                condition=Q(requests_per_minute__gte=1), name="carrier_rate_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.merchant_id} · {self.get_carrier_display()}"
