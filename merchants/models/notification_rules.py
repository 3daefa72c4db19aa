"""Notification rules: which channel tells the customer on which status or order event."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import Status

from .merchants import Merchant


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    # The merchant's own team, on chosen status moves (staff alerts go there regardless).
    SLACK = "slack", _("Slack")
    TEAMS = "teams", _("Microsoft Teams")


class NotificationTrigger(models.TextChoices):
    """What can notify a customer: a shipment status (TRACKING.md) or an order event."""

    PRE_TRANSIT = Status.PRE_TRANSIT.value, Status.PRE_TRANSIT.label
    IN_TRANSIT = Status.IN_TRANSIT.value, Status.IN_TRANSIT.label
    OUT_FOR_DELIVERY = Status.OUT_FOR_DELIVERY.value, Status.OUT_FOR_DELIVERY.label
    AVAILABLE_FOR_PICKUP = Status.AVAILABLE_FOR_PICKUP.value, Status.AVAILABLE_FOR_PICKUP.label
    DELIVERED = Status.DELIVERED.value, Status.DELIVERED.label
    FAILED_ATTEMPT = Status.FAILED_ATTEMPT.value, Status.FAILED_ATTEMPT.label
    EXCEPTION = Status.EXCEPTION.value, Status.EXCEPTION.label
    RETURN_TO_SENDER = Status.RETURN_TO_SENDER.value, Status.RETURN_TO_SENDER.label
    CANCELLED = Status.CANCELLED.value, Status.CANCELLED.label
    ORDER_RECEIVED = "order_received", _("Order received")
    ITEMS_CANCELLED = "items_cancelled", _("Items cancelled")
    ITEMS_BACKORDERED = "items_backordered", _("Items backordered")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURN_APPROVED = "return_approved", _("Return approved")
    RETURN_REFUSED = "return_refused", _("Return refused")
    RETURN_LABEL_READY = "return_label_ready", _("Return label ready")
    RETURN_RECEIVED = "return_received", _("Return received")


class NotificationRule(models.Model):
    """A row means: tell the customer on this channel when this happens."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="notification_rules"
    )
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    trigger = models.CharField(max_length=32, choices=NotificationTrigger.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel", "trigger"], name="notification_rule_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} on {self.get_trigger_display()}"
