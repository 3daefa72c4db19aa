"""Server-rendered SVG charts: small pure functions from numbers to safe markup.

No JavaScript and no library: the page prints, works without scripts, and every chart carries a
<title> and a <desc> that reads its numbers out (the page shows them in a table as well). Every
piece of text goes through format_html, so a merchant's or carrier's name cannot inject markup.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SVG_NS = "http://www.w3.org/2000/svg"
TONES = {
    "ok": "#1b7f3b",
    "bad": "#b42318",
    "warn": "#a15c00",
    "info": "#1f5fbf",
    "muted": "#8793a8",
}
TEXT = "#1d2330"
GRID = "#dde2ea"
FONT_SIZE = 13


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # the value as people read it: "12 (40%)", "3.5 days"
    tone: str = "info"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    tone: str


@dataclass(frozen=True, slots=True)
class Column:
    label: str  # "Mar 3"
    values: tuple[int, ...]  # one per series, stacked bottom to top


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> SafeString:
    return format_html(
        '<svg xmlns="{}" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" font-size="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
        SVG_NS, width, height, width, height, chart_id, chart_id, FONT_SIZE,
        chart_id, title, chart_id, description,
    )  # fmt: skip


def horizontal_bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar]
) -> SafeString:
    """One labelled bar per row, the value written at the end of its bar."""
    label_width, bar_width, value_width = 170, 300, 110
    row, thickness = 26, 16
    width = label_width + bar_width + value_width
    height = max(1, len(bars)) * row + 8
    longest = max((bar.value for bar in bars), default=0) or 1
    rows = []
    for index, bar in enumerate(bars):
        top = 4 + index * row
        length = round(bar_width * bar.value / longest, 1)
        markup = format_html(
            '<g class="bar"><text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}">'
            "<title>{}: {}</title></rect>"
            '<text x="{}" y="{}" fill="{}">{}</text></g>',
            label_width - 8, top + 13, TEXT, bar.label,
            label_width, top, length, thickness, TONES[bar.tone], bar.label, bar.text,
            label_width + length + 6, top + 13, TEXT, bar.text,
        )  # fmt: skip
        rows.append(markup)
    if not bars:
        rows.append(format_html('<text x="0" y="18" fill="{}">{}</text>', TEXT, "—"))
    return _close(_open(chart_id, title, description, width, height), rows)


def nice_ceiling(value: float) -> int:
    """The smallest 2, 4, 6, 8 or 10 × 10ⁿ at or above `value` (at least 2): a y-axis top that
    people read at a glance, whose half (the middle gridline) is a whole number too."""
    if value <= 2:
        return 2
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 4, 6, 8, 10) if step * magnitude >= value)


def stacked_column_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[Series],
    columns: Sequence[Column],
) -> SafeString:
    """Columns (one per day) stacked by series, a y axis with three gridlines, a legend."""
    width, height = 580, 190
    left, right, top, bottom = 44, 8, 28, 24
    plot_width, plot_height = width - left - right, height - top - bottom
    ceiling = nice_ceiling(max((sum(column.values) for column in columns), default=0))
    slot = plot_width / max(1, len(columns))
    thickness = max(1.0, round(slot * 0.7, 2))
    parts = [_legend(series, width - right), _y_axis(ceiling, left, top, plot_width, plot_height)]
    for index, column in enumerate(columns):
        x = round(left + index * slot + (slot - thickness) / 2, 2)
        base = top + plot_height
        for value, one in zip(column.values, series, strict=True):
            if not value:
                continue
            size = round(plot_height * value / ceiling, 2)
            base = round(base - size, 2)
            markup = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title>'
                "</rect>",
                x, base, thickness, size, TONES[one.tone], column.label, value, one.name,
            )  # fmt: skip
            parts.append(markup)
    parts.append(_x_labels(columns, left, slot, height - 6))
    return _close(_open(chart_id, title, description, width, height), parts)


def _legend(series: Sequence[Series], right_edge: int) -> SafeString:
    items, x = [], right_edge
    for one in reversed(series):
        x -= 12 + 8 * len(one.name) + 12
        markup = format_html(
            '<rect x="{}" y="6" width="12" height="12" fill="{}"/>'
            '<text x="{}" y="16" fill="{}">{}</text>',
            x, TONES[one.tone], x + 16, TEXT, one.name,
        )  # fmt: skip
        items.append(markup)
    return _join(reversed(items))


def _y_axis(ceiling: int, left: int, top: int, plot_width: int, plot_height: int) -> SafeString:
    lines = []
    for fraction in (0, 0.5, 1):
        y = round(top + plot_height * (1 - fraction), 2)
        label = str(round(ceiling * fraction))
        lines.append((left, y, left + plot_width, y, GRID, left - 6, y + 4, TEXT, label))
    return format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
        '<text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>',
        lines,
    )


def _x_labels(columns: Sequence[Column], left: int, slot: float, y: int) -> SafeString:
    """First, middle and last day: enough to read the dates without crowding."""
    if not columns:
        return SafeString("")
    shown = sorted({0, len(columns) // 2, len(columns) - 1})
    anchors = {0: "start", len(columns) - 1: "end"}
    labels = []
    for index in shown:
        anchor = anchors.get(index, "middle") if len(columns) > 1 else "middle"
        x = {"start": left + index * slot, "end": left + (index + 1) * slot}.get(
            anchor, left + (index + 0.5) * slot
        )
        labels.append((round(x, 2), y, anchor, TEXT, columns[index].label))
    return format_html_join("", '<text x="{}" y="{}" text-anchor="{}" fill="{}">{}</text>', labels)


def _join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _close(opening: SafeString, parts: Sequence[SafeString]) -> SafeString:
    return format_html("{}{}</svg>", opening, _join(parts))
