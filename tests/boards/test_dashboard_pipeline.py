"""build_dashboard end to end over the engine's snapshot rows (FundPosition, LineVariance,
RiskShareAllocation), each fund in its reporting context: the latest closed month, judged today
for the dashboard and on the meeting's date for a board pack."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from boards import dashboard as dashboard_module
from budgets.freshness import as_at_text
from tests.boards.factories import MeetingFactory
from tests.boards.snapshots import seed_snapshots

D = Decimal
COMPUTED = dt.datetime(2016, 10, 3, 13, 2, tzinfo=dt.UTC)


@pytest.fixture
def engine(jcb_setup):
    from tests.factories import LocalityFactory

    fund, _ = seed_snapshots(
        jcb_setup["board"],
        periods=6,
        computed_at=COMPUTED,
        locality=LocalityFactory(name="Bolton"),
        code="GM-X",
        name="GM pool",
    )
    return jcb_setup, fund


def test_build_dashboard_pipeline(engine):
    s, fund = engine
    dash = dashboard_module.build_dashboard(s["board"])
    assert [f.code for f in dash.funds] == ["GM-X"]
    assert dash.period_label == "2016/17-M06 (closed)"
    assert (dash.funds[0].period_code, dash.funds[0].state) == ("2016/17-M06", "closed")
    h = dash.total
    assert (h.current_budget, h.ytd_actual, h.forecast_outturn, h.forecast_variance) == (
        D("1800000.00"),
        D("900006.00"),
        D("1884000.00"),
        D("84000.00"),
    )
    assert (h.red, h.amber, h.green) == (1, 0, 1)
    assert dash.by_service_area == [
        ("Adult social care", D("90000.00")),
        ("Public health", D("-6000.00")),
    ]
    assert dash.by_locality == [
        ("Bolton", D("90000.00")),
        ("Greater Manchester-wide", D("-6000.00")),
    ]
    assert [t[0] for t in dash.trend] == ["Apr", "May", "Jun", "Jul", "Aug", "Sep"]
    assert dash.trend[-1][1:] == (D("1884000.00"), D("1800000.00"))
    assert dash.risk_share == [(fund.host.short_name or fund.host.name, D("54000.00"))]
    assert [(r.line_code, r.forecast_variance) for r in dash.red_lines] == [("RED1", D("90000.00"))]
    assert dash.movements_since == "in the latest month"
    assert [(m.fund_code, m.line_code, m.movement) for m in dash.movements] == [
        ("GM-X", "RED1", D("15000.00")),
        ("GM-X", "GRN1", D("-1000.00")),
    ]
    assert as_at_text(dash.as_at) == "Figures as at 14:02 on 3 October 2016"


def test_the_dashboard_shows_the_latest_closed_month_not_the_latest_position(jcb_setup):
    """Regression: the engine writes a position for every month of the year; the dashboard took
    the latest (M12, a month with no spend). It shows the fund's reporting month: M05 here."""
    seed_snapshots(jcb_setup["board"], periods=12, closed=5)
    dash = dashboard_module.build_dashboard(jcb_setup["board"])
    assert dash.period_label == "2016/17-M05 (closed)"
    assert dash.funds[0].period_number == 5
    assert dash.total.forecast_variance == D("70000.00")  # M12 would be 168,000
    assert [t[0] for t in dash.trend] == ["Apr", "May", "Jun", "Jul", "Aug"]
    assert dash.risk_share[0][1] == D("45000.00")


def test_a_year_or_month_asked_for_is_shown_for_every_fund(jcb_setup):
    seed_snapshots(jcb_setup["board"], periods=12, closed=5)
    dash = dashboard_module.build_dashboard(jcb_setup["board"], period="2016/17-M03")
    assert dash.period_label == "2016/17-M03 (closed)"
    assert dash.total.forecast_variance == D("42000.00")
    dash = dashboard_module.build_dashboard(jcb_setup["board"], period="2016/17-M08")
    assert dash.period_label == "2016/17-M08 (not yet closed)"


def test_movements_since_last_meeting(engine):
    s, _fund = engine
    last = MeetingFactory(
        board=s["board"], starts_at=dt.datetime(2016, 7, 13, 14, tzinfo=dt.UTC)
    )  # June (M03) had ended: the month that meeting reviewed
    dash = dashboard_module.build_dashboard(s["board"], since=last)
    assert dash.movements_since == "since the last meeting (13 July 2016, figures for M03)"
    assert [(m.line_code, m.before, m.after, m.movement) for m in dash.movements] == [
        ("RED1", D("45000.00"), D("90000.00"), D("45000.00")),
        ("GRN1", D("-3000.00"), D("-6000.00"), D("-3000.00")),
    ]


def test_pack_freezes_dashboard_figures(
    engine, settings, tmp_path, django_capture_on_commit_callbacks
):
    import io
    import re

    from pypdf import PdfReader

    from boards import services

    settings.MEDIA_ROOT = tmp_path
    s, _ = engine
    with django_capture_on_commit_callbacks(execute=True):
        pack = services.pack_request(actor=s["chair"], meeting=s["meeting"])
    pack.refresh_from_db()
    assert pack.status == "ready", pack.error
    assert pack.snapshot["total"]["forecast_variance"] == "84000.00"
    assert pack.snapshot["on"] == "2016-10-12"  # the meeting's date
    assert pack.figures_as_at == COMPUTED
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pack.file.read())).pages]
    text = "\n".join(pages)
    assert re.search(
        r"GM-X GM pool \(2016/17-M06, closed\) – Forecast variance £84,000 on a current budget "
        r"of £1,800,000",
        text,
    )
    assert "Figures as at 14:02 on 3 October 2016" in text
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_dashboard_page_with_figures(engine, client):
    from django.core.cache import cache

    from tests.boards.test_views import assert_csp_clean

    cache.clear()
    s, _ = engine
    client.force_login(s["member"])
    html = client.get(f"/boards/{s['board'].pk}/dashboard/").content.decode()
    assert '<td class="govuk-table__cell app-money" data-fund="GM-X">£84,000</td>' in html
    assert "Figures as at 14:02 on 3 October 2016" in html
    # The four charts travel inside the page; each decodes to the same SVG as its download URL.
    import base64
    import re

    sources = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(sources) == 4
    charts = [base64.b64decode(src) for src in sources]
    assert all(svg.startswith(b"<svg") for svg in charts)
    for name in ("service-area", "locality", "trend", "risk-share"):
        assert f'href="/boards/{s["board"].pk}/dashboard/charts/{name}.svg" download' in html
    downloaded = client.get(f"/boards/{s['board'].pk}/dashboard/charts/service-area.svg")
    assert downloaded.content == charts[0]
    assert '<span class="app-rag app-rag--red">Red</span> RED1 Residential' in html
    assert_csp_clean(html)
    svg = client.get(f"/boards/{s['board'].pk}/dashboard/charts/service-area.svg")
    assert svg.content.startswith(b"<svg")
    cache.clear()


def test_dashboard_cache_key_moves_with_pending_changes_and_each_recompute(jcb_setup):
    """The dashboard page is cached under this stamp: a change waiting for the recompute gives a
    new key (so the page says "Recalculating"), and so does the recompute that clears it."""
    from boards.views import _snapshot_stamp
    from budgets.figures.recompute import recompute_fund_now
    from budgets.outbox import mark_stale
    from tests.budgets.factories import budget_world

    board = jcb_setup["board"]
    w = budget_world()
    board.funds.add(w.fund)
    recompute_fund_now(w.fund, full=True)
    computed = _snapshot_stamp(board)
    assert computed != "none"
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, line_ids=[w.host_line.pk], reason="test")
    pending = _snapshot_stamp(board)
    assert pending != computed
    assert pending.endswith(":1")
    recompute_fund_now(w.fund)
    assert _snapshot_stamp(board) not in (computed, pending)


def test_a_pack_freezes_the_month_its_meeting_reviews(
    jcb_setup, settings, tmp_path, django_capture_on_commit_callbacks
):
    """A meeting on 14 September 2016 reviews August (M05): September had not ended, though it is
    closed now. The largest movements name each line's fund."""
    import io

    from pypdf import PdfReader

    from boards import services

    settings.MEDIA_ROOT = tmp_path
    seed_snapshots(jcb_setup["board"], periods=12, closed=6, code="GM-X", name="GM pool")
    meeting = MeetingFactory(
        board=jcb_setup["board"], starts_at=dt.datetime(2016, 9, 14, 14, tzinfo=dt.UTC)
    )
    with django_capture_on_commit_callbacks(execute=True):
        pack = services.pack_request(actor=jcb_setup["chair"], meeting=meeting)
    pack.refresh_from_db()
    assert pack.status == "ready", pack.error
    assert pack.snapshot["period_label"] == "2016/17-M05 (closed)"
    assert pack.snapshot["total"]["forecast_variance"] == "70000.00"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pack.file.read())).pages)
    assert "Period: 2016/17-M05 (closed)." in text
    assert "GM-X RED1 Residential care £60,000 £75,000 £15,000" in text
