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


class Aggregator(models.TextChoices):
    """Tracking aggregators: they follow a number at the carrier and push us its news."""

    EASYPOST = "easypost", "EasyPost"
    AFTERSHIP = "aftership", "AfterShip"
    SHIPPO = "shippo", "Shippo"


class PushOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    IGNORED = "ignored", _("Ignored (not a tracking update)")
    REJECTED = "rejected", _("Rejected (malformed)")


class PushMessage(models.Model):
    """Every signed push an aggregator sent, raw, with what we made of it. Pushes belong to no
    one merchant (an aggregator follows a number; docs/channels.md), so they have their own log
    rather than the merchants' inbound log; unsigned bodies are never stored (only logged)."""

    aggregator = models.CharField(max_length=16, choices=Aggregator.choices)
    event = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    body = models.BinaryField()
    outcome = models.CharField(max_length=16, choices=PushOutcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    response_status = models.PositiveSmallIntegerField()
    shipments_updated = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["-received_at"], name="push_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_aggregator_display()} {self.event or '?'} → {self.outcome}"


class AggregatorRoute(models.Model):
    """A merchant's carrier followed through their own aggregator account: new shipments on it
    are registered there, and its pushes keep them fresh. Overrides the platform's route."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="aggregator_routes", db_index=False
    )
    carrier = models.CharField(max_length=16, choices=POLLED_CARRIERS)
    aggregator = models.CharField(max_length=16, choices=Aggregator.choices)
    api_key = models.CharField(_("API key"), max_length=500, help_text=_("Stored as given."))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "carrier"], name="aggregator_route_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.merchant_id} · {self.carrier} → {self.get_aggregator_display()}"


class RegistrationState(models.TextChoices):
    PENDING = "pending", _("Pending (will be tried)")
    REGISTERED = "registered", _("Registered")
    REFUSED = "refused", _("Given up")


class AggregatorRegistration(models.Model):
    """A shipment registered (or to be) with an aggregator. The row is the outbox: due at
    `next_attempt_at`, leased while an attempt runs, backed off after a transient failure."""

    shipment = models.OneToOneField(
        Shipment, on_delete=models.CASCADE, related_name="aggregator_registration"
    )
    aggregator = models.CharField(max_length=16, choices=Aggregator.choices)
    # Whose account: "platform", or "route:<pk>" (the merchant's own AggregatorRoute).
    account = models.CharField(max_length=40)
    state = models.CharField(
        max_length=16, choices=RegistrationState.choices, default=RegistrationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Each attempt: {"at", "outcome", "detail"}, the last 20 (no credentials, ever).
    history = models.JSONField(default=list, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="registration_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id} @ {self.get_aggregator_display()}: {self.state}"


class TransitLane(models.Model):
    """How long our delivered history took on one lane — carrier, service, origin region,
    destination region ("US-TX") — from shipping to delivery, in days: the 10th and 90th
    percentiles and how many deliveries they rest on. Rebuilt by tracking/predictions.py."""

    carrier = models.CharField(max_length=16)
    service = models.CharField(max_length=100, blank=True)
    origin = models.CharField(max_length=40)
    destination = models.CharField(max_length=40)
    deliveries = models.PositiveIntegerField()
    earliest_days = models.PositiveSmallIntegerField()
    latest_days = models.PositiveSmallIntegerField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "service", "origin", "destination"], name="transit_lane_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.service} {self.origin} → {self.destination}"
