"""Charts rendered on the server as inline SVG: no script, no external library, legible on a phone.

Every text that may come from a person (names, titles) is escaped here; every bar carries its
label and value as `data-` attributes and a `<title>` tooltip, so the figures are both visible
and checkable by tests. Colours are set with presentation attributes (the page's CSP forbids
inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563", "#db2777"]
GREY = "#9ca3af"

_WIDTH = 640
_LABEL_WIDTH = 215
_VALUE_WIDTH = 75
_ROW = 30
_BAR = 18
_LABEL_CHARS = 27


@dataclass(frozen=True)
class Segment:
    """A part of a bar (one role in a team, for instance)."""

    label: str
    value: int
    colour: str


@dataclass(frozen=True)
class BarRow:
    """One horizontal bar: stacked segments, and an optional capacity drawn as a frame."""

    label: str
    segments: Sequence[Segment]
    capacity: int | None = None
    key: str = ""
    """A stable id for tests and scripts (the challenge id, the role id...)."""

    @property
    def total(self) -> int:
        """The bar's value."""
        return sum(segment.value for segment in self.segments)


@dataclass(frozen=True)
class Legend:
    """Colour keys shown under a chart."""

    items: list[tuple[str, str]] = field(default_factory=list)


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _attr(value: object) -> str:
    return str(escape(str(value)))


def nice_step(maximum: float, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5 x 10^k) so that about `ticks` steps cover `maximum`."""
    if maximum <= ticks:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def bar_chart(rows: Sequence[BarRow], *, title: str, chart_id: str, legend: Legend | None = None) -> Markup:
    """Horizontal bars, one per row; with a capacity, the frame shows how full the row is."""
    if not rows:
        return Markup("")
    scale_max = max([1, *(row.total for row in rows), *(row.capacity or 0 for row in rows)])
    bar_width = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = _ROW * len(rows) + 10
    parts = [
        f'<svg class="chart" id="{_attr(chart_id)}" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, row in enumerate(rows):
        y = 5 + index * _ROW
        bar_y = y + (_ROW - _BAR) / 2
        value_text = f"{row.total} / {row.capacity}" if row.capacity is not None else str(row.total)
        parts.append(
            f'<g class="bar" data-key="{_attr(row.key)}" data-label="{_attr(row.label)}" '
            f'data-value="{row.total}"'
            + (f' data-capacity="{row.capacity}"' if row.capacity is not None else "")
            + ">"
        )
        parts.append(f"<title>{escape(row.label)}: {escape(value_text)}</title>")
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + _ROW / 2 + 5}" text-anchor="end" font-size="12" '
            f'fill="#111827">{escape(_short(row.label))}</text>'
        )
        if row.capacity is not None:
            frame = bar_width * row.capacity / scale_max
            parts.append(
                f'<rect x="{_LABEL_WIDTH}" y="{bar_y}" width="{frame:.1f}" height="{_BAR}" fill="#f3f4f6" '
                f'stroke="#6b7280" stroke-width="1"/>'
            )
        x = float(_LABEL_WIDTH)
        for segment in row.segments:
            if segment.value <= 0:
                continue
            width = bar_width * segment.value / scale_max
            parts.append(
                f'<rect class="segment" x="{x:.1f}" y="{bar_y}" width="{width:.1f}" height="{_BAR}" '
                f'fill="{_attr(segment.colour)}" data-label="{_attr(segment.label)}" '
                f'data-value="{segment.value}">'
                f"<title>{escape(segment.label)}: {segment.value}</title></rect>"
            )
            x += width
        parts.append(
            f'<text x="{_WIDTH - _VALUE_WIDTH + 6}" y="{y + _ROW / 2 + 5}" font-size="13" fill="#111827" '
            f'font-weight="bold">{escape(value_text)}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts)) + legend_html(legend)  # noqa: S704 - every text above is escaped


def legend_html(legend: Legend | None) -> Markup:
    """The colour keys of a chart as a list (text, so it wraps on a phone)."""
    if legend is None or not legend.items:
        return Markup("")
    items = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" fill="{_attr(colour)}"/></svg> {escape(label)}</li>'
        for label, colour in legend.items
    )
    return Markup(f'<ul class="legend">{items}</ul>')  # noqa: S704 - labels escaped above


def _time_label(moment: datetime, span: timedelta) -> str:
    return moment.strftime("%H:%M") if span <= timedelta(days=1) else moment.strftime("%d/%m %H:%M")


def cumulative_chart(
    times: Sequence[datetime], *, title: str, chart_id: str, tz: ZoneInfo, until: datetime | None = None
) -> Markup:
    """A step line of the running total over time (registrations as they came), with labelled axes."""
    if not times:
        return Markup("")
    ordered = sorted(times)
    start = ordered[0]
    end = max(ordered[-1], until or ordered[-1])
    if end - start < timedelta(minutes=10):
        end = start + timedelta(minutes=10)
    span = end - start
    total = len(ordered)
    left, right, top, bottom = 48, 16, 12, 36
    height = 260
    plot_w = _WIDTH - left - right
    plot_h = height - top - bottom
    step = nice_step(total)
    y_max = max(step, math.ceil(total / step) * step)

    def x_of(moment: datetime) -> float:
        return left + plot_w * ((moment - start) / span)

    def y_of(count: int) -> float:
        return top + plot_h * (1 - count / y_max)

    parts = [
        f'<svg class="chart" id="{_attr(chart_id)}" viewBox="0 0 {_WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{_attr(title)}" data-total="{total}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for value in range(0, y_max + 1, step):
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" x2="{_WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#374151">{value}</text>'
        )
    for index in range(5):
        moment = start + span * index / 4
        x = x_of(moment)
        anchor = "start" if index == 0 else "end" if index == 4 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" text-anchor="{anchor}" font-size="12" fill="#374151">'
            f"{escape(_time_label(moment.astimezone(tz), span))}</text>"
        )
    path = [f"M{x_of(start):.1f},{y_of(0):.1f}"]
    for count, moment in enumerate(ordered, start=1):
        path.append(f"H{x_of(moment):.1f}V{y_of(count):.1f}")
    path.append(f"H{x_of(end):.1f}")
    parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2.5"/>')
    parts.append(
        f'<text x="{_WIDTH - right}" y="{max(top + 12, y_of(total) - 6):.1f}" text-anchor="end" '
        f'font-size="13" font-weight="bold" fill="{PALETTE[0]}">{total}</text>'
    )
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#6b7280"/>'
        f'<line x1="{left}" x2="{_WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#6b7280"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - only numbers and escaped time labels
