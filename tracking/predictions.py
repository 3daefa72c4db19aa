"""Predicted delivery when the carrier gives no estimate (USPS often doesn't): from our own
delivered history on the same lane — carrier, service, origin and destination regions — a range
of days (10th to 90th percentile of shipping-to-delivery) and the number of deliveries behind it,
never when the lane has fewer than PREDICTION_MIN_DELIVERIES. The lanes are rebuilt and the open
shipments' ranges set by the hourly schedule `tracking.tasks.refresh_predictions`; what the API,
the page and the emails show (and when) is orders.representation.predicted_delivery."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from carriers.vocabulary import TERMINAL_STATUSES, Status
from orders.models import Shipment
from tracking.models import TransitLane

HISTORY = timedelta(days=120)  # the deliveries a lane is learnt from
LANES_FRESH_FOR = timedelta(hours=24)
BATCH = 2000


def region(country: str, state: str) -> str:
    return f"{country}-{state}".upper() if country and state else country.upper()


def lane_key(carrier, service, origin_country, origin_state, dest_country, dest_state) -> tuple:
    return (
        carrier,
        service,
        region(origin_country, origin_state),
        region(dest_country, dest_state),
    )


def transit_lanes_rebuild(*, now: datetime | None = None) -> int:
    """Every lane from the deliveries of the last HISTORY; the lanes replaced at once."""
    now = now or timezone.now()
    days: dict[tuple, list[int]] = defaultdict(list)
    delivered = Shipment.objects.filter(
        status=Status.DELIVERED, delivered_at__gte=now - HISTORY, delivered_at__lte=now,
        shipped_at__isnull=False,
    ).values_list("carrier", "service", "origin_country", "origin_state", "destination_country",
                  "destination_state", "shipped_at", "delivered_at")  # fmt: skip
    for *lane, shipped_at, delivered_at in delivered.iterator(chunk_size=BATCH):
        days[lane_key(*lane)].append(max((delivered_at.date() - shipped_at.date()).days, 0))
    minimum = settings.PREDICTION_MIN_DELIVERIES
    lanes = [
        TransitLane(carrier=key[0], service=key[1], origin=key[2], destination=key[3],
                    deliveries=len(spread), earliest_days=percentile(spread, 0.1),
                    latest_days=percentile(spread, 0.9), refreshed_at=now)
        for key, spread in days.items() if len(spread) >= minimum
    ]  # fmt: skip
    with transaction.atomic():
        TransitLane.objects.all().delete()
        TransitLane.objects.bulk_create(lanes, batch_size=BATCH)
    return len(lanes)


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank value below which `share` of `values` lie."""
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def predictions_refresh(*, now: datetime | None = None) -> int:
    """Sets the range of every open shipment the carrier gave no estimate for (and clears it
    where the lane is gone); the lanes rebuilt first when older than a day. Shipments updated."""
    now = now or timezone.now()
    newest = TransitLane.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True)
    refreshed = newest.first()
    if refreshed is None or now - refreshed > LANES_FRESH_FOR:
        transit_lanes_rebuild(now=now)
    lanes = {
        (lane.carrier, lane.service, lane.origin, lane.destination): lane
        for lane in TransitLane.objects.all()
    }
    open_shipments = (
        Shipment.objects.exclude(status__in=TERMINAL_STATUSES)
        .filter(shipped_at__isnull=False, estimated_delivery_date__isnull=True,
                estimated_delivery_at__isnull=True)
        .only("pk", "carrier", "service", "origin_country", "origin_state", "destination_country",
              "destination_state", "shipped_at", "predicted_earliest", "predicted_latest",
              "predicted_from_deliveries")
    )  # fmt: skip
    changed = []
    for shipment in open_shipments.iterator(chunk_size=BATCH):
        lane = lanes.get(lane_key(
            shipment.carrier, shipment.service, shipment.origin_country, shipment.origin_state,
            shipment.destination_country, shipment.destination_state))  # fmt: skip
        wanted = _range(shipment, lane)
        current = (shipment.predicted_earliest, shipment.predicted_latest,
                   shipment.predicted_from_deliveries)  # fmt: skip
        if wanted != current:
            shipment.predicted_earliest, shipment.predicted_latest = wanted[0], wanted[1]
            shipment.predicted_from_deliveries = wanted[2]
            shipment.updated_at = timezone.now()  # a new page version (pages/page_cache.py)
            changed.append(shipment)
    Shipment.objects.bulk_update(
        changed,
        ["predicted_earliest", "predicted_latest", "predicted_from_deliveries", "updated_at"],
        batch_size=BATCH,
    )
    return len(changed)


def _range(shipment: Shipment, lane: TransitLane | None) -> tuple:
    """(earliest, latest, deliveries), or Nones."""
    if lane is None:
        return (None, None, None)
    shipped = timezone.localdate(shipment.shipped_at)
    return (shipped + timedelta(days=lane.earliest_days),
            shipped + timedelta(days=lane.latest_days), lane.deliveries)  # fmt: skip
