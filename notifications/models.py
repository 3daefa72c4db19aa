import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class Channel(models.TextChoices):
    EMAIL = "email", _("Customer email")
    SMS = "sms", _("Customer SMS")
    STAFF_EMAIL = "staff_email", _("Staff alert email")
    SLACK = "slack", _("Slack")
    TEAMS = "teams", _("Microsoft Teams")
    WEBHOOK = "webhook", _("Merchant webhook")
    PLATFORM = "platform", _("Merchant's store (written back)")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Gave up")
    CANCELLED = "cancelled", _("Cancelled")
    # A customer message folded into an earlier one of the same order that was still waiting
    # (CUSTOMER_MESSAGE_MERGE_SECONDS): kept so its cause stays told once, never sent itself.
    MERGED = "merged", _("Merged into another message")


class Notification(models.Model):
    """The outbox: one row per message to send, created in the transaction of its cause.

    `dedupe_key` names the cause (e.g. "shipment:42:delivered"); with channel and recipient it is
    unique, so the same message is never created twice.
    """

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    # Named by string: notifications must not import the orders app (import direction).
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    shipment = models.ForeignKey(
        "orders.Shipment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=1000)
    trigger = models.CharField(max_length=64)
    dedupe_key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    # Set just before a provider that takes no idempotency key is called, cleared when the outcome
    # is recorded: a row abandoned with it set may have been delivered (notifications/sending.py).
    handed_over_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel", "recipient", "dedupe_key"],
                name="notification_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notification_due_idx",
            ),
            # The dashboard's messages per day.
            models.Index(fields=["merchant", "created_at"], name="notification_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient} ({self.trigger})"


class NotificationAttempt(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {'ok' if self.succeeded else 'failed'}"


class WebhookEventType(models.TextChoices):
    """API.md "Outbound webhooks": what a merchant can subscribe to."""

    ORDER_CREATED = "order.created", _("Order created")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    SHIPMENT_CREATED = "shipment.created", _("Shipment created")
    TRACKING_UPDATED = "tracking.updated", _("Tracking updated")
    TRACKING_OUT_FOR_DELIVERY = "tracking.out_for_delivery", _("Out for delivery")
    TRACKING_DELIVERED = "tracking.delivered", _("Delivered")
    TRACKING_AVAILABLE_FOR_PICKUP = "tracking.available_for_pickup", _("Available for pickup")
    TRACKING_EXCEPTION = "tracking.exception", _("Exception")
    TRACKING_DELAYED = "tracking.delayed", _("Delayed")
    TRACKING_RETURNED = "tracking.returned", _("Returned")
    RETURN_REQUESTED = "return.requested", _("Return requested")
    RETURN_APPROVED = "return.approved", _("Return approved")
    RETURN_REFUSED = "return.refused", _("Return refused")
    RETURN_RECEIVED = "return.received", _("Return received")


class SeedWebhookEventType(models.TextChoices):
    """Seed 002's event names, what a `tracking-api` subscription subscribes to: `shipment.` and
    the lower-cased seed-002 status a change reaches (carriers/seed002.py)."""

    LABEL_CREATED = "shipment.label_created", _("Label created")
    PICKED_UP = "shipment.picked_up", _("Picked up")
    IN_TRANSIT = "shipment.in_transit", _("In transit")
    OUT_FOR_DELIVERY = "shipment.out_for_delivery", _("Out for delivery")
    DELIVERED = "shipment.delivered", _("Delivered")
    EXCEPTION = "shipment.exception", _("Exception")
    RETURNED = "shipment.returned", _("Returned")


class WebhookStyle(models.TextChoices):
    """API.md: the vocabulary, body and signature a subscription's deliveries speak."""

    NATIVE = "native", _("Native (TRACKING.md)")
    TRACKING_API = "tracking-api", _("Tracking API (seed 002)")


WEBHOOK_EVENT_TYPES = {
    WebhookStyle.NATIVE: WebhookEventType.values,
    WebhookStyle.TRACKING_API: SeedWebhookEventType.values,
}
ANY_WEBHOOK_EVENT_TYPES = [*WebhookEventType.values, *SeedWebhookEventType.values]


def webhook_public_id() -> str:
    return f"whk_{secrets.token_hex(12)}"


class WebhookEndpoint(models.Model):
    """A merchant's subscription to our outbound webhooks (API.md /webhooks)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints", db_index=False
    )
    # The `{id}` of /api/v1/webhooks/{id}: not the row id, which would count subscriptions.
    public_id = models.CharField(
        max_length=40, unique=True, editable=False, default=webhook_public_id
    )
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    style = models.CharField(
        max_length=16, choices=WebhookStyle.choices, default=WebhookStyle.NATIVE, editable=False
    )
    # Needed in clear to sign deliveries; shown to the merchant once, at creation.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The first failure since the last success: 72 hours of failures disable the endpoint, and
    # staff are alerted 24 hours before (notifications/webhook_health.py).
    failing_since = models.DateTimeField(null=True, blank=True)
    disable_warned_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One subscription per URL and merchant: a retried POST cannot double every delivery.
            models.UniqueConstraint(fields=["merchant", "url"], name="webhook_endpoint_unique_url"),
        ]

    def __str__(self) -> str:
        return self.url


class MessageTemplate(models.Model):
    """A merchant's own wording for a customer message; without one, our default (translated).

    Placeholders in braces: {customer_name} {merchant} {order_id} {status} {carrier}
    {tracking_number} {estimated_delivery} {tracking_link} {items}.
    """

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="message_templates", db_index=False
    )
    channel = models.CharField(max_length=8, choices=[("email", _("Email")), ("sms", _("SMS"))])
    trigger = models.CharField(max_length=32)
    subject = models.CharField(max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(help_text=_("Plain text; a blank line starts a new paragraph."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel", "trigger"], name="message_template_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.trigger}"
