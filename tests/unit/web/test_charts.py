"""SVG charts: escaped labels, values as data attributes, sensible scales."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from web.charts import BarRow, Legend, Segment, bar_chart, cumulative_chart, nice_step, wrap

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
    svg = ElementTree.fromstring(html[: html.index("</svg>") + 6])  # the wide drawing; the phone one follows
    assert svg.get("data-total") == "13"
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "18:00" in labels  # 17:00 UTC shown in Paris time
    assert {"0", "5", "10", "15"} <= set(labels)


def test_nice_step():
    """Steps of 1, 2, 5 x 10^k."""
    assert [nice_step(n) for n in (0, 3, 4, 7, 13, 40, 95, 230)] == [1, 1, 1, 2, 5, 10, 50, 100]


def test_long_labels_wrap_between_words_and_are_never_cut():
    """A long team title is drawn whole, on several lines, in both the wide and the phone drawing."""
    title = "Réserver une activité du centre social depuis son téléphone"
    html = str(bar_chart([BarRow(title, [Segment("a", 1, "#000")], 16, "x")], title="t", chart_id="c"))
    drawings = [ElementTree.fromstring(part + "</svg>") for part in html.split("</svg>")[:2]]
    assert [svg.get("id") for svg in drawings] == ["c", "c-phone"]
    for svg in drawings:
        spans = [span.text for span in svg.iter(f"{SVG}tspan")]
        assert " ".join(spans) == title and len(spans) >= 2 and all("…" not in s for s in spans)
    assert wrap("un deux trois", 7) == ["un deux", "trois"] and wrap("anticonstitutionnel", 5) == [
        "anticonstitutionnel"
    ]


def test_pending_is_drawn_apart_and_not_counted():
    """People who did not answer: a dashed part after the bar, outside its value."""
    row = BarRow(
        "Déjeuner", [Segment("Confirmés", 2, "#0a0")], key="lunch", pending=3, pending_label="Sans réponse"
    )
    html = str(bar_chart([row], title="t", chart_id="c", legend=Legend([("Confirmés", "#0a0")], pending="?")))
    svg = ElementTree.fromstring(html[: html.index("</svg>") + 6])
    bar = svg.find(f"{SVG}g")
    assert bar is not None and (bar.get("data-value"), bar.get("data-pending")) == ("2", "3")
    assert bar.find(f"{SVG}rect[@class='pending']") is not None
    assert 'class="key-pending"' in html


def test_the_time_axis_ends_now():
    """The registrations axis stops at `until` (now), not ten minutes after the first point."""
    first = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    now = first + timedelta(minutes=3)
    html = str(cumulative_chart([first], title="t", chart_id="c", tz=ZoneInfo("Europe/Paris"), until=now))
    svg = ElementTree.fromstring(html[: html.index("</svg>") + 6])
    assert svg.get("data-end") == now.isoformat()
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert labels[-1] != "18:10" and "18:03" in labels
