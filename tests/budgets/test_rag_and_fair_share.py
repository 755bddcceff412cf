"""The RAG boundary (domain.md 2.4: "Green < 2%, Amber 2% to 5%, Red > 5%"; budgets.rag.rag_for)
through the rule itself and through a recomputed line, and the variance report's fair-share
section naming the run it shows, with the formula target beside each allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from budgets.figures.recompute import recompute_fund_now
from budgets.models import AllocationRun, Forecast, LineVariance, Period
from budgets.outbox import mark_stale
from budgets.rag import Rag, Thresholds, rag_for
from budgets.reports.variance import compute_variance_report
from tests.budgets.factories import budget_world, fund_line, make_posting
from tests.factories import LocalityFactory

pytestmark = pytest.mark.django_db
D = Decimal
BOUNDARY = [
    ("1.99", Rag.GREEN),
    ("2.00", Rag.AMBER),
    ("4.99", Rag.AMBER),
    ("5.00", Rag.AMBER),
    ("5.01", Rag.RED),
]


@pytest.mark.parametrize(("pct", "expected"), BOUNDARY)
def test_rag_for_at_the_boundaries(pct, expected):
    thresholds = Thresholds(amber_pct=D("2.00"), red_pct=D("5.00"), floor=D("0.00"))
    variance = D(pct) * 1000  # pct% of a £100,000 budget
    assert rag_for(variance, D("100000.00"), thresholds) == expected
    assert rag_for(-variance, D("100000.00"), thresholds) == expected  # underspends alike


def test_a_recomputed_line_is_rated_by_the_same_boundaries():
    w = budget_world()
    april = Period.objects.get(year=w.year, number=1)
    lines = {}
    for pct, _ in BOUNDARY:
        line = fund_line(w, f"B{pct.replace('.', '')}", "100000.00")
        Forecast.objects.create(line=line, period=april, amount=D("100000.00") + D(pct) * 1000)
        lines[pct] = line
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="forecasts")
    recompute_fund_now(w.fund)
    rated = {
        pct: LineVariance.objects.get(line=line, period_number=1) for pct, line in lines.items()
    }
    assert {pct: (v.forecast_variance_pct, v.rag) for pct, v in rated.items()} == {
        pct: (D(pct), expected) for pct, expected in BOUNDARY
    }


@pytest.fixture
def two_localities():
    w = budget_world()
    bolton = LocalityFactory(gss_code="E08000001", name="Bolton", population_mid2015=280_000)
    bury = LocalityFactory(gss_code="E08000002", name="Bury", population_mid2015=190_000)
    for code, locality, amount in (("BO1", bolton, "300000.00"), ("BU1", bury, "200000.00")):
        fund_line(w, code, amount, locality=locality, recurrent=True)
    make_posting(
        organisation=w.host, line=w.host_line, document="INV-1", amount="1.00", period_number=1
    )
    recompute_fund_now(w.fund, full=True)
    w.m1 = Period.objects.get(year=w.year, number=1)
    return w


def test_the_report_names_the_pace_of_change_run_and_shows_each_target(two_localities):
    w = two_localities
    report = compute_variance_report(fund=w.fund, period=w.m1)
    run = AllocationRun.objects.get(fund=w.fund, method=AllocationRun.Method.PACE_OF_CHANGE)
    results = {r.locality.name: r for r in run.results.select_related("locality")}
    assert report.fair_share_method == "pace_of_change"
    assert report.fair_share_note.startswith("Pace of change run (proposed), calculated at ")
    assert report.fair_share_note.endswith(
        "each locality's allocation beside its pure formula target. Also calculated for "
        "comparison: pure formula and last year + uplift."
    )
    assert [(e.locality, e.amount, e.target) for e in report.fair_share] == [
        ("Bolton", results["Bolton"].allocation, results["Bolton"].target),
        ("Bury", results["Bury"].allocation, results["Bury"].target),
    ]
    assert sum(e.amount for e in report.fair_share) == D("500000.00")
    assert sum(e.target for e in report.fair_share) == D("500000.00")
    # Bolton's weighted population is 280/470 of the pot: its target is £297,872.34.
    assert results["Bolton"].target == D("297872.34")
    bolton = report.fair_share[0]
    expected = f"{abs(results['Bolton'].dft_after) * 100:.2f}% " + (
        "under target" if results["Bolton"].dft_after < 0 else "over target"
    )
    assert bolton.detail == expected


def test_an_approved_run_is_the_one_shown(two_localities):
    w = two_localities
    AllocationRun.objects.filter(fund=w.fund, method=AllocationRun.Method.UPLIFT).update(
        status=AllocationRun.Status.APPROVED, approved_by="JCB/2016/012"
    )
    report = compute_variance_report(fund=w.fund, period=w.m1)
    assert report.fair_share_method == "uplift"
    assert report.fair_share_note.startswith(
        "Last year + uplift run (approved, approved by JCB/2016/012), calculated at "
    )


def test_the_report_page_and_api_show_the_run_and_targets(two_localities, client):
    w = two_localities
    client.force_login(w.fin_host)
    page = client.get(
        "/budgets/reports/variance/", {"fund": w.fund.code, "period": w.m1.code}
    ).content.decode()
    assert 'data-method="pace_of_change"' in page
    assert "Formula target" in page
    assert "£297,872.34" in page
    body = client.get(f"/api/v1/funds/{w.fund.code}/variance/", {"period": w.m1.code}).json()
    assert body["fair_share"]["method"] == "pace_of_change"
    assert body["fair_share"]["localities"][0]["target"] == "297872.34"


def test_a_snapshot_frozen_before_targets_were_recorded_still_reads(two_localities):
    from budgets.reports.variance import report_from_data

    report = compute_variance_report(fund=two_localities.fund, period=two_localities.m1)
    data = report.to_data()
    for entry in data["fair_share"]:
        del entry["target"], entry["dft_after"]
    del data["fair_share_method"]
    again = report_from_data(data, closed=True, source="snapshot")
    assert [e.target for e in again.fair_share] == [None, None]
    assert again.fair_share_method == ""
