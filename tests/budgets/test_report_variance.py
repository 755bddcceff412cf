"""Every column of the variance report pinned by hand for a small fund, built through the services:
a virement, an accrual, a reversal, a forecast, commitments and a closed month.

HC01 (Test Council): 120,000 original, -12,000 virement to CH01 in M1 -> 108,000 (9,000 a month).
  Spend M1..M6 9,500 a month = 57,000; an accrual of 2,000 in M6; an error of 5,000 posted in M2
  and reversed in M3. YTD actual M6 = 59,000 against YTD budget 54,000: +5,000 (9.26%).
  Forecast at M6 115,000 -> forecast variance +7,000 (6.48%, red, adverse). At M5 no forecast:
  47,500 + 7 x 9,000 = 110,500 -> +2,500, so movement +4,500. Commitments for M7 and M8: 2,000.
CH01 (Test CCG): 60,000 + 12,000 -> 72,000 (6,000 a month). Spend 5,500 a month = 33,000 against
  36,000: -3,000 (-8.33%). No forecast: 33,000 + 6 x 6,000 = 69,000 -> -3,000 (-4.17%, amber,
  favourable); at M5 27,500 + 7 x 6,000 = 69,500 -> -2,500, movement -500.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.figures import recompute
from budgets.ledger.services import postings as ledger
from budgets.models import ExportJob, Period, ReportSnapshot
from budgets.reports.variance import compute_variance_report
from tests.budgets.factories import small_variance_fund

pytestmark = pytest.mark.django_db
D = Decimal

HC01 = {
    "original_budget": D("120000.00"),
    "changes": D("-12000.00"),
    "current_budget": D("108000.00"),
    "ytd_budget": D("54000.00"),
    "ytd_actual": D("59000.00"),
    "ytd_variance": D("5000.00"),
    "ytd_variance_pct": D("9.26"),
    "commitments": D("2000.00"),
    "forecast_outturn": D("115000.00"),
    "forecast_variance": D("7000.00"),
    "forecast_variance_pct": D("6.48"),
    "movement": D("4500.00"),
    "rag": "red",
    "adverse_favourable": "adverse",
    "commentary": "Winter pressures; recovery plan agreed",
}
CH01 = {
    "original_budget": D("60000.00"),
    "changes": D("12000.00"),
    "current_budget": D("72000.00"),
    "ytd_budget": D("36000.00"),
    "ytd_actual": D("33000.00"),
    "ytd_variance": D("-3000.00"),
    "ytd_variance_pct": D("-8.33"),
    "commitments": D("0.00"),
    "forecast_outturn": D("69000.00"),
    "forecast_variance": D("-3000.00"),
    "forecast_variance_pct": D("-4.17"),
    "movement": D("-500.00"),
    "rag": "amber",
    "adverse_favourable": "favourable",
    "commentary": "",
}
TOTAL = {
    "original_budget": D("180000.00"),
    "changes": D("0.00"),
    "current_budget": D("180000.00"),
    "ytd_budget": D("90000.00"),
    "ytd_actual": D("92000.00"),
    "ytd_variance": D("2000.00"),
    "ytd_variance_pct": D("2.22"),
    "commitments": D("2000.00"),
    "forecast_outturn": D("184000.00"),
    "forecast_variance": D("4000.00"),
    "forecast_variance_pct": D("2.22"),
    "movement": D("4000.00"),
    "adverse_favourable": "adverse",
    "red": 1,
    "amber": 1,
    "green": 0,
}


@pytest.fixture
def small_fund(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        w = small_variance_fund()
    recompute.recompute_fund_now(w.fund)
    w.periods = {p.number: p for p in Period.objects.filter(year=w.year)}
    return w


def post_late_invoice(w, period, amount):
    """One late Acme Care invoice on HC01 (document H-LATE), dated the period's last day."""
    ledger.spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[
            {
                "document_number": "H-LATE",
                "line_number": 1,
                "posting_date": period.end_date,
                "amount": D(amount),
                "budget_line": w.host_line,
                "supplier": "Acme Care Ltd",
                "description": "Late invoice",
                "is_accrual": False,
            }
        ],
    )


def assert_row(row, expected):
    for key, value in expected.items():
        assert row.value(key) == value, key


def test_every_column_is_pinned_for_an_open_month(small_fund):
    w = small_fund
    report = compute_variance_report(fund=w.fund, period=w.periods[6])
    assert report.source == "live"
    assert not report.closed
    rows = {r.line_code: r for r in report.rows}
    assert_row(rows["HC01"], HC01)
    assert_row(rows["CH01"], CH01)
    for key, value in TOTAL.items():
        assert report.totals.value(key) == value, key
    assert [g.label for g in report.regroup("lead_commissioner").groups] == [
        "Test CCG",
        "Test Council",
    ]


def test_closing_m6_freezes_the_figures_and_makes_the_month_files(
    small_fund, django_capture_on_commit_callbacks
):
    from budgets.planning.services.periods import period_close

    w = small_fund
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(1, 7):
            period_close(actor=w.fin_host, fund=w.fund, period=w.periods[n])
    snapshot = ReportSnapshot.objects.get(fund=w.fund, period=w.periods[6])
    assert snapshot.run == 1
    assert snapshot.verify()
    report = compute_variance_report(fund=w.fund, period=w.periods[6])
    assert report.source == "snapshot"
    assert report.closed
    assert_row({r.line_code: r for r in report.rows}["HC01"], HC01)
    jobs = ExportJob.objects.filter(snapshot=snapshot, source=ExportJob.Source.PERIOD_CLOSE)
    assert sorted(j.format for j in jobs) == ["csv", "pdf", "xlsx"]
    assert all(j.status == ExportJob.Status.DONE for j in jobs)
    first_csv = jobs.get(format="csv").file.read()

    # Late spend goes into M7; the closed M6 never moves, and re-exporting gives the same figures.
    with django_capture_on_commit_callbacks(execute=True):
        post_late_invoice(w, w.periods[7], "4000.00")
    recompute.recompute_fund_now(w.fund)
    again = compute_variance_report(fund=w.fund, period=w.periods[6])
    assert again.rows == report.rows
    assert again.totals == report.totals
    from budgets.reports.exports import render

    assert render(again, "csv") == first_csv
    parsed = {r["line_code"]: r for r in csv.DictReader(io.StringIO(first_csv.decode("utf-8-sig")))}
    assert parsed["HC01"]["ytd_actual"] == "59000.00"
    assert parsed["CH01"]["forecast_variance_pct"] == "-4.17"
    m7 = compute_variance_report(fund=w.fund, period=w.periods[7])
    # M7 year to date: M6's 59,000 plus the late 4,000 invoice (no other October spend).
    assert {r.line_code: r for r in m7.rows}["HC01"].ytd_actual == D("63000.00")


def test_api_returns_the_same_figures_as_strings(small_fund, client):
    w = small_fund
    client.force_login(w.comm_ccg)
    url = reverse("api-fund-variance", args=[w.fund.code])
    body = client.get(url, {"period": "2016/17-M06"}).json()
    rows = {r["line_code"]: r for r in body["rows"]}
    assert rows["HC01"]["ytd_actual"] == "59000.00"
    assert rows["HC01"]["forecast_variance_pct"] == "6.48"
    assert rows["CH01"]["movement"] == "-500.00"
    assert body["totals"]["forecast_outturn"] == "184000.00"
    assert body["period"] == "2016/17-M06"
    assert "overspend" in body["sign_convention"]
    client.force_login(w.comm_outsider)
    assert client.get(url, {"period": "2016/17-M06"}).status_code == 404


def test_variance_page_shows_the_figures_to_partners_only(small_fund, client):
    w = small_fund
    client.force_login(w.comm_host)
    url = reverse("budgets:variance")
    page = client.get(url, {"fund": w.fund.code, "period": "2016/17-M06"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '">£59,000</td>' in html  # whole pounds on the page (pence stay in the exports)
    assert '">£184,000</td>' in html
    assert "Winter pressures; recovery plan agreed" in html
    assert "positive variance is an overspend" in html
    by_locality = client.get(
        url, {"fund": w.fund.code, "period": "2016/17-M06", "grouping": "locality"}
    )
    assert "Greater Manchester-wide (no locality)" in by_locality.content.decode()
    client.force_login(w.comm_outsider)
    assert client.get(url, {"fund": w.fund.code, "period": "2016/17-M06"}).status_code == 404


def test_variance_page_shows_new_spend_once_the_engine_has_recomputed(small_fund, client):
    """The page reuses a computed report while its version stands; a recompute gives a new one."""
    w = small_fund
    client.force_login(w.comm_host)
    query = {"fund": w.fund.code, "period": "2016/17-M06"}
    url = reverse("budgets:variance")
    assert "£59,000" in client.get(url, query).content.decode()
    post_late_invoice(w, w.periods[6], "1000.00")
    pending = client.get(url, query).content.decode()
    assert "£59,000" in pending  # not recomputed yet: the old figures, marked pending
    assert "Recalculating: 1 change pending" in pending
    recompute.recompute_fund_now(w.fund)
    fresh = client.get(url, query).content.decode()
    assert "£60,000" in fresh
    assert "£59,000" not in fresh
    assert "Recalculating" not in fresh
