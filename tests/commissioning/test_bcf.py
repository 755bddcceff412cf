"""Better Care Fund schemes, conditions, metrics and the quarterly return workbook."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from budgets.models import FundBudget
from commissioning import bcf_return, services
from commissioning.models import BcfMetric, BcfScheme
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.budgets.factories import budget_world
from tests.commissioning.helpers import bcf_metric, bcf_scheme

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def bcf():
    w = budget_world(status=FundBudget.Status.APPROVED)
    w.fund.is_bcf = True
    w.fund.save()
    return w


def test_quarterly_return_opens_with_openpyxl_and_carries_the_totals(bcf):
    w = bcf
    bcf_scheme(w, "S01", "400000.00", {1: "95000.00", 2: "101000.50", 3: "99000.00"})
    bcf_scheme(w, "S02", "200000.00", {1: "50000.00", 2: "49999.50"}, funding_source="dfg")
    bcf_metric(w, "BCF1", 1, "2450", actual="2391.5")
    bcf_metric(w, "BCF1", 2, "2450")
    bcf_metric(w, "BCF6", 3, "520", actual="530", local_definition="Falls admissions 65+")
    ret = bcf_return.compute(w.fund, w.year, 2)
    # Q2 return: actual to date is Q1 + Q2 only (S01's Q3 is left out).
    assert ret.planned_total == D("600000.00")
    assert ret.actual_total == D("296000.00")
    # Income: contributions 600,000 + 400,000; Q1 + Q2 planned is half.
    assert (ret.income_total, ret.income_to_date) == (D("1000000.00"), D("500000.00"))

    wb = load_workbook(io.BytesIO(bcf_return.render_xlsx(ret)))
    assert wb.sheetnames == ["Income and expenditure", "Metrics"]
    ie = wb["Income and expenditure"]
    cells = {row[0].value: [c.value for c in row] for row in ie.iter_rows() if row[0].value}
    assert cells["Quarter"][1] == "Q2"
    assert cells["Total income"][1] == 1000000
    assert cells["Total income"][6] == 500000
    assert cells["Total expenditure"][7] == 600000
    assert cells["Total expenditure"][12] == 296000
    assert cells["S01"][7:13] == [400000, 95000, 101000.5, None, None, 196000.5]
    assert cells["S02"][6] == "Disabled Facilities Grant"
    header = [c.value for c in next(r for r in ie.iter_rows() if r[0].value == "Scheme")]
    assert header[:8] == [
        "Scheme",
        "Scheme name",
        "Scheme type",
        "Lead commissioner",
        "Provider type",
        "Area of spend",
        "Source of funding",
        "Planned spend",
    ]
    metrics = wb["Metrics"]
    rows = {r[0].value: [c.value for c in r] for r in metrics.iter_rows(min_row=7)}
    assert list(rows) == ["BCF1", "BCF2", "BCF3", "BCF4", "BCF5", "BCF6"]
    assert rows["BCF1"][3:7] == [2450, 2391.5, 2450, None]
    # Q3's actual is after the return's quarter: left blank; the plan is shown.
    assert rows["BCF6"][7:9] == [520, None]
    assert rows["BCF6"][1].endswith("Falls admissions 65+")


def test_scheme_save_updates_by_code(bcf):
    bcf_scheme(bcf, "S01", "100.00", {})
    scheme = bcf_scheme(bcf, "S01", "200.00", {4: "10.00"})
    assert BcfScheme.objects.count() == 1
    assert (scheme.planned_spend, scheme.actual_spend) == (D("200.00"), D("10.00"))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"planned_spend": D("-1.00")}, "planned_spend"),
        ({"scheme_type": "magic"}, "scheme_type"),
        ({"funding_source": ""}, "funding_source"),
        ({"actuals": {2: "-3.00"}}, "actual_q2"),
    ],
)
def test_bad_scheme_input_is_refused(bcf, overrides, field):
    actuals = overrides.pop("actuals", {})
    with pytest.raises(ApplicationError) as exc:
        bcf_scheme(bcf, "S09", "100.00", actuals, **overrides)
    assert exc.value.extra["field"] == field
    assert not BcfScheme.objects.exists()


def test_metric_limits_and_conditions(bcf):
    with pytest.raises(ApplicationError) as exc:
        bcf_metric(bcf, "BCF1", 1, "100000001")
    assert exc.value.extra["field"] == "plan"
    with pytest.raises(ApplicationError):
        bcf_metric(bcf, "BCF9", 1, "1")
    assert not BcfMetric.objects.exists()
    row = services.bcf_condition_set(
        actor=bcf.comm_host, fund=bcf.fund, year=bcf.year, number=8, status="partially_met"
    )
    assert row.text.startswith("Local action plan to reduce delayed transfers")


def test_bcf_permissions_from_both_sides(bcf):
    with pytest.raises(NotFound):
        bcf_scheme(bcf, "S01", "1.00", {}, actor=bcf.comm_outsider)
    with pytest.raises(NotAllowed):
        bcf_scheme(bcf, "S01", "1.00", {}, actor=bcf.fin_host)
    assert bcf_scheme(bcf, "S01", "1.00", {}, actor=bcf.comm_ccg).fund == bcf.fund


def test_a_fund_that_is_not_bcf_is_refused(bcf):
    bcf.fund.is_bcf = False
    bcf.fund.save()
    with pytest.raises(ApplicationError) as exc:
        bcf_scheme(bcf, "S01", "1.00", {})
    assert exc.value.extra["field"] == "fund"
