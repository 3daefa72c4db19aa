"""The merchant dashboard: parse the merchant and the dates, call one selector, draw the charts.

A merchant's members see their own merchant(s); flexEngage staff any merchant or all of them. A
`merchant` the user cannot see is a 404, like every other console screen. Bad dates never fail the
page: it says what was wrong and shows the default period.
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from carriers.vocabulary import Status
from console.charts import (
    Bar,
    Column,
    Series,
    horizontal_bar_chart,
    stacked_column_chart,
)
from console.metrics import ChannelVolume, Dashboard, Period, dashboard_for
from console.views import agent_readers, console_view
from flextracker.replica import replica_reads
from merchants.models import Merchant
from merchants.selectors import merchants_visible_to, user_sees_all_merchants

PRESET_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
ALL = "all"
STATUS_TONES = {
    Status.DELIVERED: "ok",
    Status.EXCEPTION: "bad",
    Status.FAILED_ATTEMPT: "bad",
    Status.RETURN_TO_SENDER: "bad",
    Status.EXPIRED: "warn",
    Status.CANCELLED: "muted",
    Status.UNKNOWN: "muted",
}


@require_GET
@console_view
@replica_reads(agent_readers)
def dashboard(request: HttpRequest) -> HttpResponse:
    merchants = list(merchants_visible_to(request.user).order_by("name", "pk"))
    sees_all = user_sees_all_merchants(request.user)
    merchant = _chosen_merchant(request.GET.get("merchant", "").strip(), merchants, sees_all)
    zone = ZoneInfo(merchant.time_zone if merchant else "UTC")
    period, problems = period_from(request.GET, today=timezone.localdate(timezone=zone), zone=zone)
    scope = (
        Merchant.objects.filter(pk=merchant.pk) if merchant else merchants_visible_to(request.user)
    )
    data = dashboard_for(merchants=scope, period=period, now=timezone.now())
    context = {
        "data": data,
        "merchant": merchant,
        "merchants": merchants,
        "sees_all": sees_all,
        "selected": merchant.merchant_id if merchant else ALL,
        "problems": problems,
        "presets": _presets(request.GET),
        "charts": _charts(data),
        "statuses": [(row, _percent(row.percent)) for row in data.statuses],
        "delivered_percent": _percent(data.headline.delivered_percent),
        "on_time_percent": _percent(data.headline.on_time_percent),
        "transit": [(row, _days(row.average_days)) for row in data.transit],
    }
    return render(request, "console/dashboard.html", context)


def _chosen_merchant(value: str, merchants: list[Merchant], sees_all: bool) -> Merchant | None:
    """The merchant named by its ID (or row id); None means all merchants (staff only)."""
    if not value:
        return None if sees_all else merchants[0]
    if value == ALL and sees_all:
        return None
    for merchant in merchants:
        if value in (merchant.merchant_id, str(merchant.pk)):
            return merchant
    raise Http404(_("No such merchant."))


def period_from(params: QueryDict, *, today: date, zone: ZoneInfo) -> tuple[Period, list[str]]:
    """`from`/`to` (YYYY-MM-DD, both included) or `days` (7, 30, 90) ending today."""
    problems: list[str] = []
    first = _date(params.get("from", ""), _("start date"), problems)
    last = _date(params.get("to", ""), _("end date"), problems)
    days = DEFAULT_DAYS
    if params.get("days") and not (first or last):
        if params["days"] in {str(preset) for preset in PRESET_DAYS}:
            days = int(params["days"])
        else:
            problems.append(_("Choose 7, 30 or 90 days; showing the last 30 days."))
    last = last or today
    first = first or last - timedelta(days=days - 1)
    if first > last:
        first, last = last, first
        problems.append(_("The start date was after the end date: the two were swapped."))
    if (last - first).days + 1 > MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
        problems.append(
            _("At most %(days)s days are shown at once: the period now starts on %(first)s.")
            % {"days": MAX_DAYS, "first": first.isoformat()}
        )
    return Period(first=first, last=last, zone=zone), problems


def _date(raw: str, name: str, problems: list[str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or not EARLIEST <= value <= LATEST:
        problems.append(
            _("The %(name)s “%(raw)s” is not a date like 2026-03-31; the default was used.")
            % {"name": name, "raw": raw[:30]}
        )
        return None
    return value


def _presets(params: QueryDict) -> list[dict]:
    explicit = bool(params.get("from") or params.get("to"))
    chosen = params.get("days") or str(DEFAULT_DAYS)
    return [
        {"days": days, "is_current": not explicit and chosen == str(days)} for days in PRESET_DAYS
    ]


def _percent(value: float | None) -> str:
    """40%, 16.3%: one decimal at most, and never "0%" for a share that is not nothing."""
    if value is None:
        return "—"
    return "<0.1%" if 0 < value < 0.05 else f"{round(value, 1):g}%"


def _days(value: float) -> str:
    return f"{value:.1f}"


def _charts(data: Dashboard) -> dict[str, SafeString | list]:
    statuses = [
        Bar(row.label, row.count, f"{row.count} ({_percent(row.percent)})",
            STATUS_TONES.get(Status(row.status), "info"))
        for row in data.statuses
    ]  # fmt: skip
    transit = [Bar(row.label, row.average_days, _("%s days") % _days(row.average_days))
               for row in data.transit]  # fmt: skip
    transit_text = "; ".join(
        _("%(carrier)s: %(days)s days over %(count)s deliveries")
        % {"carrier": row.label, "days": _days(row.average_days), "count": row.delivered}
        for row in data.transit
    )
    return {
        "statuses": horizontal_bar_chart(
            chart_id="chart-statuses",
            title=_("Shipments by status"),
            description="; ".join(f"{bar.label}: {bar.text}" for bar in statuses),
            bars=statuses,
        ),
        "transit": horizontal_bar_chart(
            chart_id="chart-transit",
            title=_("Average transit days per carrier"),
            description=transit_text or _("No delivered shipments in this period."),
            bars=transit,
        ),
        "notifications": [
            (volume, _notification_chart(volume, data.period)) for volume in data.notifications
        ],
    }


def _notification_chart(volume: ChannelVolume, period: Period) -> SafeString:
    description = _("%(sent)s sent and %(failed)s failed from %(first)s to %(last)s") % {
        "sent": volume.sent,
        "failed": volume.failed,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
    }
    return stacked_column_chart(
        chart_id=f"chart-notifications-{volume.channel}",
        title=_("%(channel)s per day") % {"channel": volume.label},
        description=description,
        series=(Series(_("Sent"), "info"), Series(_("Failed"), "bad")),
        columns=[
            Column(date_format(day.day, "M j"), (day.sent, day.failed)) for day in volume.days
        ],
    )
