from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from boards import charts
from boards.dashboard import (
    Dashboard,
    FundSummary,
    Headline,
    _group,
    _locality_label,
    _movements,
    _movements_label,
    _service_area_label,
    build_dashboard,
)
from budgets.freshness import as_at_text
from tests.boards.snapshots import seed_snapshots

D = Decimal


def row(code, fv, movement="0", area="Adult social care", locality=None, rag="green", line_id=None):
    area_obj = SimpleNamespace(name=area, parent_id=None, parent=None)
    line = SimpleNamespace(
        code=code,
        name=f"Line {code}",
        service_area=area_obj,
        locality_id=1 if locality else None,
        locality=SimpleNamespace(name=locality),
    )
    return SimpleNamespace(
        line=line,
        line_id=line_id or hash(code) % 10000,
        forecast_variance=D(fv),
        movement=D(movement),
        rag=rag,
        current_budget=D("1000"),
        forecast_variance_pct=None,
    )


FUND = SimpleNamespace(code="F1")


def test_grouping_by_service_area_and_locality():
    rows = [
        (FUND, row("A", "100", area="Adult social care", locality="Bolton")),
        (FUND, row("B", "-40.50", area="Public health", locality="Bolton")),
        (FUND, row("C", "10", area="Adult social care")),
    ]
    assert _group(rows, _service_area_label) == [
        ("Adult social care", D("110")),
        ("Public health", D("-40.50")),
    ]
    assert _group(rows, _locality_label) == [
        ("Bolton", D("59.50")),
        ("Greater Manchester-wide", D("10")),
    ]


def test_movements_since_last_meeting_and_top_ten():
    rows = [
        (FUND, row(f"L{n:02d}", str(n * 100), movement=str(n), line_id=n)) for n in range(1, 13)
    ]
    before = {n: D(n * 100 - n * 10) for n in range(1, 13)}  # moved by n*10 since the last meeting
    moves = _movements(rows, before)
    assert [m.line_code for m in moves] == [f"L{n:02d}" for n in range(12, 2, -1)]
    assert (moves[0].before, moves[0].after, moves[0].movement) == (D("1080"), D("1200"), D("120"))
    meeting = SimpleNamespace(date=dt.date(2016, 9, 14))
    assert _movements_label(meeting, {5}) == (
        "since the last meeting (14 September 2016, figures for M05)"
    )
    # no earlier meeting: the engine's own month-on-month movement
    moves = _movements(rows, {})
    assert moves[0].movement == D("12")
    assert _movements_label(None, {None}) == "in the latest month"


def test_json_round_trip_keeps_decimals():
    dash = Dashboard(
        board_code="JCB",
        board_name="Joint",
        period_label="Sep 2016/17 (M06)",
        funds=[
            FundSummary(
                1,
                "F1",
                "Fund",
                "2016/17",
                6,
                Headline(D("1000.00"), D("400.00"), D("1100.00"), D("100.00"), 1, 2, 3),
                "2016/17-M06",
                "closed",
            )
        ],
        total=Headline(D("1000.00"), D("400.00"), D("1100.00"), D("100.00"), 1, 2, 3),
        by_service_area=[("Adult social care", D("100.00"))],
        trend=[("Apr", D("1.00"), D("2.00"))],
        as_at=timezone.make_aware(dt.datetime(2016, 10, 3, 14, 2)),
    )
    data = dash.to_json()
    assert data["total"]["forecast_variance"] == "100.00"
    again = Dashboard.from_json(data)
    assert again == dash
    assert as_at_text(again.as_at) == "Figures as at 14:02 on 3 October 2016"


def test_a_pack_frozen_before_the_reporting_context_still_reads():
    """Packs built before each fund carried its period and state keep loading."""
    data = Dashboard(
        board_code="JCB",
        board_name="Joint",
        funds=[FundSummary(1, "F1", "Fund", "2016/17", 6, Headline())],
    ).to_json()
    for key in ("period_code", "state"):
        del data["funds"][0][key]
    del data["on"]
    again = Dashboard.from_json(data)
    assert (again.funds[0].period_code, again.funds[0].state, again.on) == ("", "", "")


def test_charts_are_svg_without_script():
    dash = Dashboard(
        board_code="X",
        board_name="X",
        by_service_area=[("A", D("5"))],
        by_locality=[("B", D("-3"))],
        trend=[("Apr", D("10"), D("12"))],
        risk_share=[("Council", D("2"))],
    )
    for name in charts.CHART_NAMES:
        svg = charts.chart_svg(name, dash)
        assert svg.startswith(b"<svg")
        assert b"<script" not in svg


def test_chart_view_is_svg_with_its_own_csp(client, jcb_setup):
    client.force_login(jcb_setup["member"])
    resp = client.get(f"/boards/{jcb_setup['board'].pk}/dashboard/charts/trend.svg")
    assert resp["Content-Type"] == "image/svg+xml"
    csp = resp["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "style-src 'unsafe-inline'" in csp
    page = client.get(f"/boards/{jcb_setup['board'].pk}/dashboard/")
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    assert resp.content.startswith(b"<svg")


def test_dashboard_from_snapshots(jcb_setup):
    s = jcb_setup
    fund, expected = seed_snapshots(s["board"])
    dash = build_dashboard(s["board"])
    assert [f.code for f in dash.funds] == [fund.code]
    assert dash.total.forecast_variance == expected["forecast_variance"]
    assert dash.total.current_budget == expected["current_budget"]
    assert (dash.total.red, dash.total.green) == (1, 1)
    assert dash.red_lines[0].line_code == "RED1"
    assert dash.red_lines[0].commentary == "Placements above plan"
