"""compute_variance_report maps the recompute engine's LineVariance rows into the report, adds
commentary, groups and totals on the server; pages, API and month close lay the same report out.

The LineVariance rows are written here with figures chosen by hand, so these tests pin the
reporting code on its own; test_report_variance.py pins the whole chain from postings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import ExportJob, Forecast, FundBudget, Period, ReportSnapshot
from budgets.reports.tasks import period_close_reports
from budgets.reports.variance import compute_live_report, compute_variance_report
from tests.budgets.factories import (
    BudgetLineFactory,
    ServiceAreaFactory,
    budget_world,
    close_months_by_service,
    line_variance,
    make_posting,
)
from tests.factories import LocalityFactory

pytestmark = pytest.mark.django_db
D = Decimal
AS_AT = datetime(2016, 10, 3, 13, 2, tzinfo=UTC)
# The recompute engine's M6 rows, chosen by hand: budget (original and current), then M6_COLUMNS.
M6_COLUMNS = [
    "ytd_budget",
    "ytd_actual",
    "ytd_variance",
    "ytd_variance_pct",
    "commitments",
    "forecast_outturn",
    "forecast_variance",
    "forecast_variance_pct",
    "movement",
]
M6 = """
host_line  120000.00  60000.00  66000.00   6000.00  10.00  500.00  130000.00  10000.00   8.33   2500.00  red    adverse
ccg_line    60000.00  30000.00  29000.00  -1000.00  -3.33    0.00   59000.00  -1000.00  -1.67   -200.00  green  favourable
ph_line     24000.00  12000.00  12600.00    600.00   5.00    0.00   24720.00    720.00   3.00      0.00  amber  adverse
"""


@pytest.fixture
def world():
    w = budget_world(status=FundBudget.Status.APPROVED)
    parent = ServiceAreaFactory(code="ASC", name="Adult social care")
    w.area.parent = parent
    w.area.save()
    ph = ServiceAreaFactory(
        code="PH.SEX",
        name="Sexual health",
        parent=ServiceAreaFactory(code="PH", name="Public health"),
    )
    bolton = LocalityFactory(gss_code="E08000001", name="Bolton")
    w.ph_line = BudgetLineFactory(
        fund=w.fund,
        year=w.year,
        code="PH01",
        name="Sexual health clinics",
        service_area=ph,
        lead_commissioner=w.host,
        locality=bolton,
        original_budget=D("24000.00"),
    )
    for attr, *figures, rag, adverse_favourable in (row.split() for row in M6.strip().split("\n")):
        budget, *money = (D(f) for f in figures)
        line_variance(
            getattr(w, attr),
            6,
            original_budget=budget,
            current_budget=budget,
            **dict(zip(M6_COLUMNS, money, strict=True)),
            rag=rag,
            adverse_favourable=adverse_favourable,
        )
    line_variance(w.host_line, 5)  # another month: never in the M6 report
    # Spend in April: the year has started (budgets.context), so lines are rated.
    make_posting(
        organisation=w.host, line=w.host_line, document="INV-1", amount="100.00", period_number=1
    )
    m5, m6 = (Period.objects.get(year=w.year, number=n) for n in (5, 6))
    Forecast.objects.create(
        line=w.ccg_line, period=m5, amount=D("59000.00"), commentary="Earlier note"
    )
    Forecast.objects.create(line=w.host_line, period=m5, amount=D("125000.00"), commentary="Old")
    Forecast.objects.create(
        line=w.host_line, period=m6, amount=D("130000.00"), commentary="Winter pressures"
    )
    w.m6 = m6
    return w


def test_rows_totals_groups_and_commentary(world):
    report = compute_variance_report(fund=world.fund, period=world.m6)
    assert [r.line_code for r in report.rows] == ["CH01", "HC01", "PH01"]
    rows = {r.line_code: r for r in report.rows}
    assert rows["HC01"].commentary == "Winter pressures"
    assert rows["CH01"].commentary == "Earlier note"  # latest earlier forecast's commentary
    assert rows["PH01"].commentary == ""
    assert rows["PH01"].locality == "Bolton"
    assert rows["HC01"].lead_commissioner == "Test Council"
    assert rows["HC01"].service_area == "Home care"
    assert rows["HC01"].service_area_parent == "Adult social care"
    t = report.totals
    assert (t.current_budget, t.ytd_budget, t.ytd_actual, t.ytd_variance) == (
        D("204000.00"),
        D("102000.00"),
        D("107600.00"),
        D("5600.00"),
    )
    assert t.ytd_variance_pct == D("5.49")  # 5,600 / 102,000
    assert (t.forecast_outturn, t.forecast_variance, t.movement, t.commitments) == (
        D("213720.00"),
        D("9720.00"),
        D("2300.00"),
        D("500.00"),
    )
    assert t.forecast_variance_pct == D("4.76")  # 9,720 / 204,000
    assert (t.red, t.amber, t.green, t.adverse_favourable) == (1, 1, 1, "adverse")
    assert report.as_at == AS_AT
    groups = [
        (g.label, [r.line_code for r in g.rows], g.subtotal.forecast_variance)
        for g in report.groups
    ]
    assert groups == [
        ("Adult social care: Home care", ["CH01", "HC01"], D("9000.00")),
        ("Public health: Sexual health", ["PH01"], D("720.00")),
    ]
    by_locality = report.regroup("locality")
    assert [(g.label, g.subtotal.lines) for g in by_locality.groups] == [
        ("Bolton", 1),
        ("Greater Manchester-wide (no locality)", 2),
    ]
    assert by_locality.totals == report.totals
    by_lead = report.regroup("lead_commissioner")
    assert [(g.label, g.subtotal.current_budget) for g in by_lead.groups] == [
        ("Test CCG", D("60000.00")),
        ("Test Council", D("144000.00")),
    ]


def test_page_shows_groups_subtotals_totals_and_sign_convention(world, client):
    client.force_login(world.comm_ccg)
    response = client.get(reverse("budgets:variance"), {"fund": "LP-TEST", "period": "2016/17-M06"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Adult social care: Home care" in html
    assert ">£213,720</td>" in html  # fund total forecast outturn
    assert ">£9,000</td>" in html  # service-area subtotal forecast variance
    assert ">(£1,000)</td>" in html  # negative in brackets
    assert "Figures as at 14:02 on 3 October 2016" in html
    assert "a positive variance is an overspend" in html
    assert "1 red, 1 amber, 1 green" in html
    client.force_login(world.comm_outsider)
    assert (
        client.get(
            reverse("budgets:variance"), {"fund": "LP-TEST", "period": "2016/17-M06"}
        ).status_code
        == 404
    )


def test_page_query_count_does_not_grow_with_lines(world, client, django_assert_max_num_queries):
    client.force_login(world.comm_host)
    with django_assert_max_num_queries(25):
        client.get(reverse("budgets:variance"), {"fund": "LP-TEST", "period": "2016/17-M06"})


def test_api_gives_the_same_figures_as_strings(world, client):
    client.force_login(world.fin_ccg)
    url = reverse("api-fund-variance", args=["LP-TEST"])
    body = client.get(url, {"period": "2016/17-M06", "grouping": "locality"}).json()
    assert body["totals"]["forecast_outturn"] == "213720.00"
    assert body["totals"]["ytd_variance_pct"] == "5.49"
    assert {r["line_code"]: r["ytd_actual"] for r in body["rows"]} == {
        "CH01": "29000.00",
        "HC01": "66000.00",
        "PH01": "12600.00",
    }
    assert body["groups"][0]["label"] == "Bolton"
    assert body["groups"][0]["subtotal"]["forecast_variance"] == "720.00"
    assert client.get(url, {"period": "2016/17-M99"}).status_code == 404
    assert client.get(url, {"period": "2016/17-M06", "grouping": "x"}).status_code == 400
    client.force_login(world.fin_outsider)
    assert client.get(url, {"period": "2016/17-M06"}).status_code == 404


def test_month_close_freezes_the_figures_the_engine_holds_at_close(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        close_months_by_service(world, through=6, files=True)
    snapshot = ReportSnapshot.objects.get(fund=world.fund, period=world.m6)
    report = compute_variance_report(fund=world.fund, period=world.m6)
    assert report.source == "snapshot"
    assert report.snapshot_checksum == snapshot.checksum
    # The close recomputed the fund from its lines and forecasts first, and froze that.
    live = compute_live_report(fund=world.fund, period=world.m6, closed=True)
    assert report.rows == live.rows
    assert report.totals == live.totals
    assert {r.line_code: r.forecast_outturn for r in report.rows}["HC01"] == D("130000.00")
    assert ExportJob.objects.filter(snapshot=snapshot, status="done").count() == 3
    assert ReportSnapshot.objects.filter(fund=world.fund).count() == 6
    # idempotent
    period_close_reports.apply(args=[world.fund.pk, world.m6.pk])
    assert ReportSnapshot.objects.filter(fund=world.fund).count() == 6
