"""build_dashboard end to end over in-memory snapshot rows shaped like the engine's models
(FundPosition, LineVariance, RiskShareAllocation), so the pipeline is checked without the engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from boards import dashboard as dashboard_module
from tests.boards.factories import MeetingFactory

D = Decimal


class FakeQS(list):
    def _match(self, obj, key, value):
        field, _, op = key.partition("__")
        if field.endswith("_id") and not hasattr(obj, field):
            field = field[:-3]
        current = getattr(obj, field, None)
        if op == "" and hasattr(current, "pk") and not hasattr(value, "pk"):
            current = current.pk
        if hasattr(value, "pk") and op == "":
            value = value.pk
            current = getattr(current, "pk", current)
        if op == "lte":
            return current <= value
        if op == "in":
            return current in value
        return current == value

    def filter(self, **kw):
        return FakeQS(o for o in self if all(self._match(o, k, v) for k, v in kw.items()))

    def select_related(self, *a):
        return self

    def order_by(self, *keys):
        out = list(self)
        for key in reversed(keys):
            name = key.lstrip("-")
            if "__" in name:
                continue
            out.sort(key=lambda o, n=name: getattr(o, n), reverse=key.startswith("-"))
        return FakeQS(out)

    def first(self):
        return self[0] if self else None

    def values_list(self, *names):
        return [tuple(getattr(o, n) for n in names) for o in self]


def fake_model(rows):
    return SimpleNamespace(objects=FakeQS(rows))


@pytest.fixture
def engine(jcb_setup, monkeypatch):
    from tests.budgets.factories import (
        BudgetLineFactory,
        PooledFundFactory,
        ServiceAreaFactory,
        make_year,
    )
    from tests.factories import LocalityFactory

    board = jcb_setup["board"]
    year = make_year("2016/17")
    fund = PooledFundFactory(code="GM-X", name="GM pool")
    board.funds.add(fund)
    bolton = LocalityFactory(name="Bolton")
    asc = ServiceAreaFactory(code="ASC", name="Adult social care")
    ph = ServiceAreaFactory(code="PH", name="Public health")
    red = BudgetLineFactory(
        fund=fund, year=year, code="RED1", name="Residential", service_area=asc, locality=bolton
    )
    green = BudgetLineFactory(
        fund=fund, year=year, code="GRN1", name="Sexual health", service_area=ph
    )
    now = dt.datetime(2016, 10, 3, 13, 2, tzinfo=dt.UTC)
    lv, fp = [], []
    for p in range(1, 7):
        for line, fv, rag in ((red, D(15000) * p, "red"), (green, D(-1000) * p, "green")):
            lv.append(
                SimpleNamespace(
                    fund=fund,
                    year=year,
                    year_id=year.pk,
                    line=line,
                    line_id=line.pk,
                    period_number=p,
                    forecast_variance=fv,
                    movement=fv / p,
                    rag=rag,
                    current_budget=line.current_budget,
                    forecast_variance_pct=D("7.50"),
                )
            )
        fp.append(
            SimpleNamespace(
                fund=fund,
                fund_id=fund.pk,
                year=year,
                year_id=year.pk,
                period_number=p,
                current_budget=D("180000.00"),
                ytd_actual=D(90000 + p),
                forecast_outturn=D(180000) + D(14000) * p,
                forecast_variance=D(14000) * p,
                red_count=1,
                amber_count=0,
                green_count=1,
                computed_at=now,
            )
        )
    rs = [
        SimpleNamespace(
            fund=fund,
            year=year,
            period_number=6,
            basis="forecast",
            amount=D("50400.00"),
            partner=SimpleNamespace(short_name="", name="Host council"),
        )
    ]
    models = {
        "FundPosition": fake_model(fp),
        "LineVariance": fake_model(lv),
        "RiskShareAllocation": fake_model(rs),
        "StaleMark": None,
        "Forecast": None,
    }
    monkeypatch.setattr(dashboard_module, "_model", lambda name: models.get(name))
    import budgets.selectors as bs

    monkeypatch.setattr(
        bs,
        "variance_rows",
        lambda f, p: models["LineVariance"].objects.filter(fund=f, period_number=p),
        raising=False,
    )
    return jcb_setup, fund


def test_build_dashboard_pipeline(engine):
    s, _fund = engine
    dash = dashboard_module.build_dashboard(s["board"])
    assert [f.code for f in dash.funds] == ["GM-X"]
    assert dash.period_label == "Sep 2016/17 (M06)"
    h = dash.total
    assert (h.current_budget, h.ytd_actual, h.forecast_outturn, h.forecast_variance) == (
        D("180000.00"),
        D("90006"),
        D("264000"),
        D("84000"),
    )
    assert (h.red, h.amber, h.green) == (1, 0, 1)
    assert dash.by_service_area == [
        ("Adult social care", D("90000")),
        ("Public health", D("-6000")),
    ]
    assert dash.by_locality == [("Bolton", D("90000")), ("Greater Manchester-wide", D("-6000"))]
    assert [t[0] for t in dash.trend] == ["Apr", "May", "Jun", "Jul", "Aug", "Sep"]
    assert dash.trend[-1][1:] == (D("264000"), D("180000.00"))
    assert dash.risk_share == [("Host council", D("50400.00"))]
    assert [(r.line_code, r.forecast_variance) for r in dash.red_lines] == [("RED1", D("90000"))]
    assert dash.movements_since == "in the latest month"
    assert [(m.line_code, m.movement) for m in dash.movements] == [
        ("RED1", D("15000")),
        ("GRN1", D("-1000")),
    ]
    assert dashboard_module.figures_as_at_text(dash) == "Figures as at 14:02 on 3 October 2016"


def test_movements_since_last_meeting(engine):
    s, _fund = engine
    last = MeetingFactory(
        board=s["board"], starts_at=dt.datetime(2016, 7, 13, 14, tzinfo=dt.UTC)
    )  # reviews M03
    dash = dashboard_module.build_dashboard(s["board"], since=last)
    assert dash.movements_since == "since the last meeting (13 July 2016, figures for M03)"
    assert [(m.line_code, m.before, m.after, m.movement) for m in dash.movements] == [
        ("RED1", D("45000"), D("90000"), D("45000")),
        ("GRN1", D("-3000"), D("-6000"), D("-3000")),
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
    assert pack.figures_as_at == dt.datetime(2016, 10, 3, 13, 2, tzinfo=dt.UTC)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pack.file.read())).pages]
    text = "\n".join(pages)
    assert re.search(
        r"GM-X GM pool – Forecast variance £84,000 on a current budget of £180,000", text
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
