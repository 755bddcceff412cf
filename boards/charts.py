"""Server-side SVG charts (pygal) for the board dashboard and pack.

No JavaScript (`js=[]`), no XML declaration; the SVG is served from its own URL and shown with
<img>, so the page itself carries no inline style or script. Each chart on a page sits next to a
data table with the same figures for screen readers. Money is converted to float only to place
bars and points; the figures people read come from the Decimal data.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from decimal import Decimal

import pygal
from pygal.style import Style

from gmhsc.money import format_money

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#0b0c0c",
    foreground_strong="#0b0c0c",
    foreground_subtle="#505a5f",
    font_family="Arial, Helvetica, sans-serif",
    colors=("#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#28a197"),
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    value_font_size=11,
)

COMMON = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "width": 800,
    "height": 400,
    "print_values": False,
    "legend_at_bottom": True,
    "explicit_size": True,
    # Never cut a label: a money axis reads "(£500,000,000)", not "(£500,000...".
    "truncate_label": -1,
    "truncate_legend": -1,
}

SCRIPT_RE = re.compile(rb"<script.*?</script>", re.S | re.I)


def _money(value: float | None) -> str:
    return "" if value is None else format_money(Decimal(str(round(value, 2))))


def _finish(chart: pygal.graph.graph.Graph) -> bytes:
    svg = chart.render()
    return SCRIPT_RE.sub(b"", svg if isinstance(svg, bytes) else svg.encode())


def variance_bar(title: str, pairs: Sequence[tuple[str, Decimal]]) -> bytes:
    chart = pygal.HorizontalBar(title=title, value_formatter=_money, show_legend=False, **COMMON)
    chart.x_labels = [label for label, _ in pairs]
    chart.add("Forecast variance", [float(v) for _, v in pairs])
    return _finish(chart)


def trend_line(title: str, trend: Sequence[tuple[str, Decimal, Decimal]]) -> bytes:
    chart = pygal.Line(title=title, value_formatter=_money, show_legend=True, **COMMON)
    chart.x_labels = [label for label, _, _ in trend]
    chart.add("Forecast outturn", [float(o) for _, o, _ in trend])
    chart.add("Current budget", [float(b) for _, _, b in trend])
    return _finish(chart)


def risk_share_bar(title: str, pairs: Sequence[tuple[str, Decimal]]) -> bytes:
    chart = pygal.HorizontalBar(title=title, value_formatter=_money, show_legend=False, **COMMON)
    chart.x_labels = [label for label, _ in pairs]
    chart.add("Share of forecast variance", [float(v) for _, v in pairs])
    return _finish(chart)


def chart_svg(name: str, dash: object) -> bytes:
    """One of the dashboard's four charts by name."""
    if name == "service-area":
        return variance_bar("Forecast variance by service area", dash.by_service_area)  # type: ignore[attr-defined]
    if name == "locality":
        return variance_bar("Forecast variance by locality", dash.by_locality)  # type: ignore[attr-defined]
    if name == "trend":
        return trend_line("Forecast outturn by month", dash.trend)  # type: ignore[attr-defined]
    if name == "risk-share":
        return risk_share_bar("Partners' share of the forecast variance", dash.risk_share)  # type: ignore[attr-defined]
    raise KeyError(name)


CHART_NAMES = ("service-area", "locality", "trend", "risk-share")


def data_uri(svg: bytes) -> str:
    """An SVG as a data: URI for <img>: the dashboard page and the board pack carry their charts
    inside the document (an image never runs script)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
