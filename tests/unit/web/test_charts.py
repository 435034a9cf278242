"""SVG charts: escaped labels, values as data attributes, sensible scales."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from web.charts import BarRow, Legend, Segment, bar_chart, cumulative_chart, nice_step

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart_escapes_labels_and_carries_values():
    """A label full of HTML is text in the SVG; values and capacities are attributes."""
    rows = [
        BarRow(
            "<script>alert(1)</script>", [Segment("<b>a</b>", 2, "#000"), Segment("b", 1, "#111")], 10, "x"
        ),
        BarRow("Zoé", [Segment("a", 0, "#000")], None, "y"),
    ]
    html = str(bar_chart(rows, title="T & <t>", chart_id="c", legend=Legend([("<i>", "#000")])))
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    svg = ElementTree.fromstring(html[: html.index("</svg>") + 6])
    bars = svg.findall(f"{SVG}g")
    assert [b.get("data-value") for b in bars] == ["3", "0"]
    assert bars[0].get("data-capacity") == "10" and bars[1].get("data-capacity") is None
    assert bars[0].get("data-label") == "<script>alert(1)</script>"  # parsed back from escaped text
    assert len(bars[0].findall(f"{SVG}rect[@class='segment']")) == 2
    assert len(bars[1].findall(f"{SVG}rect[@class='segment']")) == 0  # zero values draw nothing


def test_empty_charts_render_nothing():
    """No rows, no chart (the page shows "nothing yet")."""
    assert str(bar_chart([], title="t", chart_id="c")) == ""
    assert str(cumulative_chart([], title="t", chart_id="c", tz=ZoneInfo("Europe/Paris"))) == ""


def test_cumulative_chart_counts_every_point():
    """The running total reaches the number of times given; the y axis is round."""
    start = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    times = [start + timedelta(minutes=7 * i) for i in range(13)]
    html = str(cumulative_chart(times, title="t", chart_id="c", tz=ZoneInfo("Europe/Paris")))
    svg = ElementTree.fromstring(html)
    assert svg.get("data-total") == "13"
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "18:00" in labels  # 17:00 UTC shown in Paris time
    assert {"0", "5", "10", "15"} <= set(labels)


def test_nice_step():
    """Steps of 1, 2, 5 x 10^k."""
    assert [nice_step(n) for n in (0, 3, 4, 7, 13, 40, 95, 230)] == [1, 1, 1, 2, 5, 10, 50, 100]
