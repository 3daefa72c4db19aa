"""Reads for the merchant dashboard: aggregates over a period, always scoped by merchant.

Every number comes from one aggregate query (GROUP BY status, carrier, day and channel), so the
page costs the same few queries whether a merchant shipped ten packages or a million. The caller
passes the scope as a queryset of merchants derived from `merchants_visible_to(user)`.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext, ngettext

from carriers.vocabulary import (
    EXCEPTION_CODE_BY_DETAIL,
    TERMINAL_STATUSES,
    CarrierCode,
    Status,
)
from merchants.models import Merchant
from notifications.models import Channel, Notification, NotificationStatus
from orders.models import Order, Shipment

ATTENTION_LIMIT = 50
STALE_AFTER = timedelta(days=5)  # no carrier scan for this long while moving needs a look
MOVING_STATUSES = (Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY)
PROBLEM_STATUSES = (Status.EXCEPTION, Status.FAILED_ATTEMPT, Status.RETURN_TO_SENDER)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days `first`..`last` (both included) in the time zone `zone`."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100 * part / whole


@dataclass(frozen=True, slots=True)
class Headline:
    orders: int
    shipments: int
    delivered: int
    delivered_with_estimate: int  # delivered shipments that had an estimated delivery date
    delivered_on_time: int  # … delivered on or before that date
    attention: int

    @property
    def delivered_percent(self) -> float | None:
        return percent(self.delivered, self.shipments)

    @property
    def on_time_percent(self) -> float | None:
        return percent(self.delivered_on_time, self.delivered_with_estimate)


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: str
    label: str
    count: int
    percent: float | None


@dataclass(frozen=True, slots=True)
class CarrierTransit:
    carrier: str
    label: str
    average_days: float
    delivered: int


@dataclass(frozen=True, slots=True)
class AttentionRow:
    shipment: Shipment  # with its order and merchant
    reasons: list[str]
    days_since_event: int | None  # None: no carrier scan yet
    exception_code: str  # TRACKING.md's 001–008 when the detail names one


@dataclass(frozen=True, slots=True)
class DayVolume:
    day: date
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class ChannelVolume:
    channel: str
    label: str
    days: list[DayVolume]

    @property
    def sent(self) -> int:
        return sum(day.sent for day in self.days)

    @property
    def failed(self) -> int:
        return sum(day.failed for day in self.days)


@dataclass(frozen=True, slots=True)
class Dashboard:
    period: Period
    headline: Headline
    statuses: list[StatusCount]
    attention: list[AttentionRow]
    attention_not_shown: int
    transit: list[CarrierTransit]
    notifications: list[ChannelVolume]

    @property
    def notifications_sent(self) -> int:
        return sum(volume.sent for volume in self.notifications)

    @property
    def notifications_failed(self) -> int:
        return sum(volume.failed for volume in self.notifications)

    @property
    def notification_days(self) -> list[tuple[date, list[DayVolume]]]:
        """Day by day, one entry per channel (in the order of `notifications`): the table."""
        return [
            (day, [volume.days[index] for volume in self.notifications])
            for index, day in enumerate(self.period.days)
        ]


def dashboard_for(*, merchants: QuerySet[Merchant], period: Period, now: datetime) -> Dashboard:
    """At most six queries whatever the data: orders, statuses, attention (rows, and their count
    when the list is full), transit times and notifications."""
    shipments = _shipments_in(merchants, period)
    status_rows = _status_rows(shipments, period.zone)
    statuses = _status_counts(status_rows)
    attention_query = _needing_attention(shipments, now)
    attention = [_attention_row(s, now) for s in _attention_shipments(attention_query)]
    attention_total = len(attention)
    if attention_total == ATTENTION_LIMIT:
        attention_total = attention_query.count()
    delivered = next(row for row in status_rows if row["status"] == Status.DELIVERED)
    headline = Headline(
        orders=_orders_in(merchants, period).count(),
        shipments=sum(row["count"] for row in status_rows),
        delivered=delivered["count"],
        delivered_with_estimate=delivered["with_estimate"],
        delivered_on_time=delivered["on_time"],
        attention=attention_total,
    )
    return Dashboard(
        period=period,
        headline=headline,
        statuses=statuses,
        attention=attention,
        attention_not_shown=attention_total - len(attention),
        transit=_transit_by_carrier(shipments),
        notifications=_notification_volume(merchants, period),
    )


def _orders_in(merchants: QuerySet[Merchant], period: Period) -> QuerySet[Order]:
    return (
        Order.objects.filter(merchant__in=merchants, is_placeholder=False)
        .alias(placed_at=Coalesce("order_date", "created_at"))
        .filter(placed_at__gte=period.start, placed_at__lt=period.end)
    )


def _shipments_in(merchants: QuerySet[Merchant], period: Period) -> QuerySet[Shipment]:
    """Shipments counted by the day they shipped (the day we heard of them when unknown)."""
    return (
        Shipment.objects.filter(merchant__in=merchants)
        .alias(counted_at=Coalesce("shipped_at", "created_at"))
        .filter(counted_at__gte=period.start, counted_at__lt=period.end)
    )


def _status_rows(shipments: QuerySet[Shipment], zone: ZoneInfo) -> list[dict]:
    """One row per status (zeros included), with the on-time counts for delivered shipments."""
    with_estimate = Q(estimated_delivery_date__isnull=False, delivered_at__isnull=False)
    found = {
        row["status"]: row
        for row in shipments.alias(delivered_on=TruncDate("delivered_at", tzinfo=zone))
        .values("status")
        .annotate(
            count=Count("pk"),
            with_estimate=Count("pk", filter=with_estimate),
            on_time=Count(
                "pk", filter=with_estimate & Q(delivered_on__lte=F("estimated_delivery_date"))
            ),
        )
        .order_by()
    }
    empty = {"count": 0, "with_estimate": 0, "on_time": 0}
    return [{**empty, **found.get(status.value, {}), "status": status.value} for status in Status]


def _status_counts(rows: list[dict]) -> list[StatusCount]:
    total = sum(row["count"] for row in rows)
    return [
        StatusCount(
            status=row["status"],
            label=str(Status(row["status"]).label),
            count=row["count"],
            percent=percent(row["count"], total),
        )
        for row in rows
    ]


def _needing_attention(shipments: QuerySet[Shipment], now: datetime) -> QuerySet[Shipment]:
    return shipments.alias(
        news_at=Coalesce("last_event_at", "shipped_at", "created_at"),
    ).filter(
        Q(status__in=PROBLEM_STATUSES)
        | (Q(is_delayed=True) & ~Q(status__in=TERMINAL_STATUSES))
        | Q(status__in=MOVING_STATUSES, news_at__lte=now - STALE_AFTER)
    )


def _attention_shipments(query: QuerySet[Shipment]) -> list[Shipment]:
    """The latest news first: what went wrong most recently is the most actionable."""
    return list(
        query.select_related("order", "merchant").order_by(F("news_at").desc(), "-pk")[
            :ATTENTION_LIMIT
        ]
    )


def _attention_row(shipment: Shipment, now: datetime) -> AttentionRow:
    news_at = shipment.last_event_at or shipment.shipped_at or shipment.created_at
    reasons = []
    if shipment.status in PROBLEM_STATUSES:
        reasons.append(str(shipment.get_status_display()))
    if shipment.is_delayed and shipment.status not in TERMINAL_STATUSES:
        reasons.append(gettext("Delayed"))
    stale = shipment.status in MOVING_STATUSES and now - news_at >= STALE_AFTER
    if stale:
        silent = (now - news_at).days
        reasons.append(
            ngettext(
                "No carrier scan for %(days)s day", "No carrier scan for %(days)s days", silent
            )
            % {"days": silent}
        )
    code = EXCEPTION_CODE_BY_DETAIL.get(shipment.status_detail)
    return AttentionRow(
        shipment=shipment,
        reasons=reasons,
        days_since_event=(now - shipment.last_event_at).days if shipment.last_event_at else None,
        exception_code=code.value if code else "",
    )


def _transit_by_carrier(shipments: QuerySet[Shipment]) -> list[CarrierTransit]:
    """Delivered shipments with both dates: delivered_at − shipped_at, averaged by the database."""
    transit = ExpressionWrapper(F("delivered_at") - F("shipped_at"), output_field=DurationField())
    rows = (
        shipments.filter(
            status=Status.DELIVERED,
            shipped_at__isnull=False,
            delivered_at__isnull=False,
            delivered_at__gte=F("shipped_at"),
        )
        .values("carrier")
        .annotate(average=Avg(transit), delivered=Count("pk"))
        .order_by("carrier")
    )
    result = [
        CarrierTransit(
            carrier=row["carrier"],
            label=str(CarrierCode(row["carrier"]).label),
            average_days=_days(row["average"]),
            delivered=row["delivered"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda row: row.average_days)


def _days(average: timedelta | float | int) -> float:
    # A duration on PostgreSQL; some backends hand back microseconds for Avg of a duration.
    if isinstance(average, timedelta):
        return average.total_seconds() / 86400
    return float(average) / 1_000_000 / 86400


def _notification_volume(merchants: QuerySet[Merchant], period: Period) -> list[ChannelVolume]:
    """Sent and failed messages per day (by the day they were created) for each channel used."""
    rows = (
        Notification.objects.filter(
            merchant__in=merchants, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(day=TruncDate("created_at", tzinfo=period.zone))
        .values("day", "channel")
        .annotate(
            sent=Count("pk", filter=Q(status=NotificationStatus.SENT)),
            failed=Count("pk", filter=Q(status=NotificationStatus.FAILED)),
        )
        .order_by()
    )
    counts = {(row["channel"], row["day"]): (row["sent"], row["failed"]) for row in rows}
    used = {channel for channel, _day in counts}
    return [
        ChannelVolume(
            channel=channel.value,
            label=str(channel.label),
            days=[DayVolume(day, *counts.get((channel.value, day), (0, 0))) for day in period.days],
        )
        for channel in Channel
        if channel.value in used
    ]
