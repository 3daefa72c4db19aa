from django.db import models

from orders.models import Shipment
from tracking.carriers.vocabulary import (
    EventSource,
    EventType,
    ExceptionCode,
    Status,
    StatusDetail,
)


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
