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
_LINE = 14
_LABEL_CHARS = 30
# The phone layout: a narrower drawing (shown about 1:1 on a 390 px screen), each label on its own
# line(s) above its bar, so long titles are shown whole and the bars get the full width.
_PHONE_WIDTH = 360
_PHONE_VALUE_WIDTH = 70
_PHONE_LINE = 16
_PHONE_LABEL_CHARS = 44
INK = "#111827"
FRAME = "#6b7280"


@dataclass(frozen=True)
class Segment:
    """A part of a bar (one role in a team, for instance)."""

    label: str
    value: int
    colour: str


@dataclass(frozen=True)
class BarRow:
    """One horizontal bar: stacked segments, and an optional capacity drawn as a frame.

    `pending` (with `pending_label`) is drawn after the segments as a dashed outline and is not
    counted in the value: people who have not answered yet, for instance.
    """

    label: str
    segments: Sequence[Segment]
    capacity: int | None = None
    key: str = ""
    """A stable id for tests and scripts (the challenge id, the role id...)."""
    pending: int = 0
    pending_label: str = ""

    @property
    def total(self) -> int:
        """The bar's value."""
        return sum(segment.value for segment in self.segments)


@dataclass(frozen=True)
class Legend:
    """Colour keys shown under a chart; `frame` explains the capacity frame, `pending` the dashed part."""

    items: list[tuple[str, str]] = field(default_factory=list)
    frame: str | None = None
    pending: str | None = None


def wrap(text: str, limit: int) -> list[str]:
    """`text` in lines of at most `limit` characters, broken between words only (never cut)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


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


def _value_text(row: BarRow) -> str:
    return f"{row.total} / {row.capacity}" if row.capacity is not None else str(row.total)


def _bar(row: BarRow, *, x0: float, y: float, width: float, scale_max: int) -> list[str]:
    """The frame, the segments and the dashed pending part of one bar."""
    parts = []
    if row.capacity is not None:
        frame = width * row.capacity / scale_max
        parts.append(
            f'<rect class="frame" x="{x0}" y="{y}" width="{frame:.1f}" height="{_BAR}" fill="#f3f4f6" '
            f'stroke="{FRAME}" stroke-width="1"/>'
        )
    x = float(x0)
    for segment in row.segments:
        if segment.value <= 0:
            continue
        seg_width = width * segment.value / scale_max
        parts.append(
            f'<rect class="segment" x="{x:.1f}" y="{y}" width="{seg_width:.1f}" height="{_BAR}" '
            f'fill="{_attr(segment.colour)}" data-label="{_attr(segment.label)}" '
            f'data-value="{segment.value}">'
            f"<title>{escape(segment.label)}: {segment.value}</title></rect>"
        )
        x += seg_width
    if row.pending > 0:
        pending_width = width * row.pending / scale_max
        parts.append(
            f'<rect class="pending" x="{x + 0.5:.1f}" y="{y + 0.5}" width="{max(pending_width - 1, 1):.1f}" '
            f'height="{_BAR - 1}" fill="none" stroke="{FRAME}" stroke-width="1" stroke-dasharray="3 2" '
            f'data-label="{_attr(row.pending_label)}" data-value="{row.pending}">'
            f"<title>{escape(row.pending_label)}: {row.pending}</title></rect>"
        )
    return parts


def _group(row: BarRow) -> str:
    return (
        f'<g class="bar" data-key="{_attr(row.key)}" data-label="{_attr(row.label)}" data-value="{row.total}"'
        + (f' data-capacity="{row.capacity}"' if row.capacity is not None else "")
        + (f' data-pending="{row.pending}"' if row.pending else "")
        + f"><title>{escape(row.label)}: {escape(_value_text(row))}</title>"
    )


def _lines(lines: list[str], *, x: float, y: float, step: float, size: int, anchor: str) -> str:
    spans = "".join(
        f'<tspan x="{x}" y="{y + index * step:.1f}">{escape(line)}</tspan>'
        for index, line in enumerate(lines)
    )
    return f'<text class="label" text-anchor="{anchor}" font-size="{size}" fill="{INK}">{spans}</text>'


def bar_chart(rows: Sequence[BarRow], *, title: str, chart_id: str, legend: Legend | None = None) -> Markup:
    """Horizontal bars, one per row; with a capacity, the frame shows how full the row is.

    Drawn twice: labels beside the bars for wide screens (`chart_id`), labels above the bars for
    phones (`chart_id-phone`); the stylesheet shows one of the two. Labels wrap, never cut.
    """
    if not rows:
        return Markup("")
    scale_max = max([1, *(row.total + row.pending for row in rows), *(row.capacity or 0 for row in rows)])
    wide = _wide_chart(rows, title=title, chart_id=chart_id, scale_max=scale_max)
    phone = _phone_chart(rows, title=title, chart_id=f"{chart_id}-phone", scale_max=scale_max)
    return Markup(wide + phone) + legend_html(legend)  # noqa: S704 - every text is escaped


def _wide_chart(rows: Sequence[BarRow], *, title: str, chart_id: str, scale_max: int) -> str:
    bar_width = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    body = []
    y = 5.0
    for row in rows:
        lines = wrap(row.label, _LABEL_CHARS)
        height = max(_ROW, _LINE * len(lines) + 10)
        middle = y + height / 2
        first_baseline = middle - _LINE * (len(lines) - 1) / 2 + 4
        body.append(_group(row))
        body.append(_lines(lines, x=_LABEL_WIDTH - 8, y=first_baseline, step=_LINE, size=12, anchor="end"))
        body += _bar(row, x0=_LABEL_WIDTH, y=middle - _BAR / 2, width=bar_width, scale_max=scale_max)
        body.append(
            f'<text class="value" x="{_WIDTH - _VALUE_WIDTH + 6}" y="{middle + 5:.1f}" font-size="13" '
            f'fill="{INK}" font-weight="bold">{escape(_value_text(row))}</text></g>'
        )
        y += height
    return (
        f'<svg class="chart chart-wide" id="{_attr(chart_id)}" viewBox="0 0 {_WIDTH} {y + 5:.0f}" '
        f'width="100%" role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _phone_chart(rows: Sequence[BarRow], *, title: str, chart_id: str, scale_max: int) -> str:
    left = 8
    bar_width = _PHONE_WIDTH - left - _PHONE_VALUE_WIDTH
    body = []
    y = 6.0
    for row in rows:
        lines = wrap(row.label, _PHONE_LABEL_CHARS)
        body.append(_group(row))
        body.append(_lines(lines, x=left, y=y + 12, step=_PHONE_LINE, size=13, anchor="start"))
        bar_y = y + _PHONE_LINE * len(lines) + 2
        body += _bar(row, x0=left, y=bar_y, width=bar_width, scale_max=scale_max)
        body.append(
            f'<text class="value" x="{_PHONE_WIDTH - _PHONE_VALUE_WIDTH + 6}" y="{bar_y + 14:.1f}" '
            f'font-size="14" fill="{INK}" font-weight="bold">{escape(_value_text(row))}</text></g>'
        )
        y = bar_y + _BAR + 10
    return (
        f'<svg class="chart chart-phone" id="{_attr(chart_id)}" viewBox="0 0 {_PHONE_WIDTH} {y:.0f}" '
        f'width="100%" role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def legend_html(legend: Legend | None) -> Markup:
    """The colour keys of a chart as a list (text, so it wraps on a phone)."""
    if legend is None or not (legend.items or legend.frame or legend.pending):
        return Markup("")
    items = [f"<li>{_swatch(_fill(colour))} {escape(label)}</li>" for label, colour in legend.items]
    if legend.pending:
        dashed = f'x="0.5" y="0.5" width="11" height="11" fill="none" stroke="{FRAME}" stroke-dasharray="3 2"'
        items.append(f'<li class="key-pending">{_swatch(dashed)} {escape(legend.pending)}</li>')
    if legend.frame:
        frame = f'x="0.5" y="0.5" width="11" height="11" fill="#f3f4f6" stroke="{FRAME}"'
        items.append(f'<li class="key-frame">{_swatch(frame)} {escape(legend.frame)}</li>')
    return Markup(f'<ul class="legend">{"".join(items)}</ul>')  # noqa: S704 - labels escaped above


def _fill(colour: str) -> str:
    return f'width="12" height="12" fill="{_attr(colour)}"'


def _swatch(rect: str) -> str:
    return f'<svg width="12" height="12" aria-hidden="true"><rect {rect}/></svg>'


def _time_label(moment: datetime, span: timedelta) -> str:
    return moment.strftime("%H:%M") if span <= timedelta(days=1) else moment.strftime("%d/%m %H:%M")


def cumulative_chart(
    times: Sequence[datetime], *, title: str, chart_id: str, tz: ZoneInfo, until: datetime | None = None
) -> Markup:
    """A step line of the running total over time (registrations as they came), with labelled axes.

    Drawn twice like the bar charts: wide (`chart_id`) and for phones (`chart_id-phone`), with
    fewer time labels.
    """
    if not times:
        return Markup("")
    ordered = sorted(times)
    # The axis ends now (or at the last point): never in the future. A short history is widened
    # backwards, to at least ten minutes.
    end = max(ordered[-1], until or ordered[-1])
    start = min(ordered[0], end - timedelta(minutes=10))
    wide = _cumulative_svg(ordered, start, end, tz, title=title, chart_id=chart_id, width=_WIDTH, ticks=5)
    phone = _cumulative_svg(
        ordered, start, end, tz, title=title, chart_id=f"{chart_id}-phone", width=_PHONE_WIDTH, ticks=3
    )
    return Markup(wide + phone)  # noqa: S704 - only numbers and escaped time labels


def _cumulative_svg(
    ordered: Sequence[datetime],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    *,
    title: str,
    chart_id: str,
    width: int,
    ticks: int,
) -> str:
    span = end - start
    total = len(ordered)
    left, right, top, bottom = 48, 16, 12, 36
    height = 260 if width == _WIDTH else 220
    plot_w = width - left - right
    plot_h = height - top - bottom
    step = nice_step(total)
    y_max = max(step, math.ceil(total / step) * step)
    layout = "chart-wide" if width == _WIDTH else "chart-phone"

    def x_of(moment: datetime) -> float:
        return left + plot_w * ((moment - start) / span)

    def y_of(count: int) -> float:
        return top + plot_h * (1 - count / y_max)

    parts = [
        f'<svg class="chart {layout}" id="{_attr(chart_id)}" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{_attr(title)}" data-total="{total}" data-end="{_attr(end.isoformat())}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for value in range(0, y_max + 1, step):
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#374151">{value}</text>'
        )
    for index in range(ticks):
        moment = start + span * index / (ticks - 1)
        x = x_of(moment)
        anchor = "start" if index == 0 else "end" if index == ticks - 1 else "middle"
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
        f'<text x="{width - right}" y="{max(top + 12, y_of(total) - 6):.1f}" text-anchor="end" '
        f'font-size="13" font-weight="bold" fill="{PALETTE[0]}">{total}</text>'
    )
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#6b7280"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#6b7280"/>'
    )
    parts.append("</svg>")
    return "".join(parts)
