"""The inbound log: every message a merchant's systems send, raw, with its answer."""

import json

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class InboundChannel(models.TextChoices):
    API = "api", _("API")
    FILE = "file", _("File drop / SFTP")
    QUEUE = "queue", _("Message queue")
    SHOPIFY = "shopify", _("Shopify")
    PLATFORM = "platform", _("Store or OMS connection (pulled)")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    EMAIL = "email", _("Email (forwarded or mailbox)")


class InboundOutcome(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    QUEUED = "queued", _("Queued for the worker (Prefer: respond-async)")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected (bad data)")
    FAILED = "failed", _("Failed (our error)")


class InboundMessage(models.Model):
    """Every message an OMS sent us, kept raw with its outcome so nothing is lost (API.md)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="inbound_messages", db_index=False
    )
    channel = models.CharField(max_length=16, choices=InboundChannel.choices)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=1000, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    # Where a record came from outside the API: "orders-2026-11-21.csv line 17", a queue name …
    source = models.CharField(max_length=300, blank=True)
    body = models.BinaryField()
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_hash = models.CharField(max_length=64, blank=True)
    order_ref = models.CharField(_("order ID"), max_length=100, blank=True)
    outcome = models.CharField(
        max_length=16, choices=InboundOutcome.choices, default=InboundOutcome.RECEIVED
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The answer as the JSON text we sent: kept for replays, never queried inside, so not parsed
    # into jsonb (a batch's answer is half a megabyte; see docs/benchmarks.md).
    response_body = models.TextField(null=True, blank=True)  # noqa: DJ001 - NULL before the answer
    error_code = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "orders_inboundmessage"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="inbound_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-received_at"], name="inbound_recent_idx"),
            models.Index(fields=["merchant", "order_ref"], name="inbound_order_idx"),
            # The worker's queue (orders/api/queued.py): only queued rows, so it stays small.
            models.Index(
                fields=["id"], condition=Q(outcome=InboundOutcome.QUEUED), name="inbound_queued_idx"
            ),
            # A file's rejected and failed records, by the prefix of their source, for its error
            # report (orders/channels/files.py); only those rows, so it stays small.
            models.Index(
                fields=["merchant", "source"],
                opclasses=["int8_ops", "varchar_pattern_ops"],  # LIKE 'prefix%' on PostgreSQL
                condition=Q(outcome__in=[InboundOutcome.REJECTED, InboundOutcome.FAILED]),
                name="inbound_unaccepted_source_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.outcome}"

    def response(self) -> dict:
        """The stored answer's envelope ({} before there is one)."""
        return json.loads(self.response_body) if self.response_body else {}


class ProcessedEvent(models.Model):
    """An `/events` eventId the merchant sent and we applied; a repeat is a no-op (API.md)."""

    # Not indexed alone: processed_event_unique (merchant, event_id) leads with it.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event_id = models.CharField(max_length=200)
    inbound_message = models.ForeignKey(
        InboundMessage, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    response_status = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "orders_processedevent"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "event_id"], name="processed_event_unique"),
        ]

    def __str__(self) -> str:
        return self.event_id
