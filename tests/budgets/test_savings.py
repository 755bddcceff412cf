"""Savings plans: delivery RAG by hand, and the scheme services' rules."""

from decimal import Decimal

import pytest

from budgets.models import FundBudget, SavingsDelivery, SavingsScheme
from budgets.planning import savings
from budgets.planning.services.savings import (
    savings_delivery_record,
    savings_scheme_create,
    savings_scheme_update,
)
from budgets.planning.year_selectors import savings_summary
from budgets.rag import Rag, Thresholds
from gmhsc.errors import ApplicationError, NotAllowed
from tests.budgets.factories import BudgetLineFactory, PooledFundFactory, budget_world

D = Decimal
T = Thresholds(D("2.00"), D("5.00"), D("0.00"))
PLAN = [D("10000.00")] * 12  # 120,000.00 for the year


def test_a_shortfall_to_date_above_the_red_threshold_is_red():
    # Planned to M3 30,000; delivered 26,000: shortfall 4,000 = 13.33% -> red. The forecast
    # (26,000 + 9 x 10,000 = 116,000) puts 4,000 at risk = 3.33% of 120,000 -> amber. Worse: red.
    d = savings.delivery(PLAN, {1: D("10000.00"), 2: D("9000.00"), 3: D("7000.00")}, 3, T)
    assert (d.planned_to_date, d.delivered_to_date, d.forecast, d.at_risk) == (
        D("30000.00"),
        D("26000.00"),
        D("116000.00"),
        D("4000.00"),
    )
    assert d.shortfall == D("4000.00")
    assert d.rag == Rag.RED


def test_a_small_shortfall_is_green_until_the_forecast_puts_the_year_at_risk():
    delivered = {1: D("10000.00"), 2: D("10000.00"), 3: D("9500.00")}
    # Shortfall 500 = 1.67% of 30,000 -> green; at risk 500 = 0.42% of 120,000 -> green.
    assert savings.delivery(PLAN, delivered, 3, T).rag == Rag.GREEN
    # The lead forecasts 114,000 for the year: 6,000 at risk = 5.00% -> amber (red above 5%).
    at_five = savings.delivery(PLAN, delivered, 3, T, forecast=D("114000.00"))
    assert (at_five.at_risk, at_five.rag) == (D("6000.00"), Rag.AMBER)
    assert savings.delivery(PLAN, delivered, 3, T, forecast=D("113999.99")).rag == Rag.RED


def test_over_delivery_is_green():
    d = savings.delivery(PLAN, {1: D("25000.00")}, 1, T)
    assert (d.shortfall, d.at_risk, d.rag) == (D("-15000.00"), D("0.00"), Rag.GREEN)


@pytest.fixture
def world(db):
    return budget_world(status=FundBudget.Status.APPROVED)


def create(w, actor=None, **kw):
    params = {
        "actor": actor or w.comm_ccg,
        "fund": w.fund,
        "year": w.year,
        "code": "QIPP-01",
        "name": "Community nursing skill mix",
        "lead_commissioner": w.ccg,
        "lines": [w.ccg_line],
        "planned": ["1000.00"] * 12,
    }
    params.update(kw)
    return savings_scheme_create(**params)


def test_the_lead_records_deliveries_and_the_summary_rates_them(world):
    w = world
    scheme = create(w)
    for month, amount in ((1, "1000.00"), (2, "700.00")):
        savings_delivery_record(actor=w.comm_ccg, scheme=scheme, month=month, amount=amount)
    savings_delivery_record(
        actor=w.fin_host, scheme=scheme, month="M02", amount="800.00", commentary="Agency staff"
    )
    summary = savings_summary(w.fund, w.year, month=2)
    row = summary.schemes[0]
    # Planned 2,000 to M2, delivered 1,800: shortfall 200 = 10% -> red.
    assert (row.delivery.delivered_to_date, row.delivery.rag) == (D("1800.00"), Rag.RED)
    assert (summary.planned_year, summary.at_risk, summary.red) == (D("12000.00"), D("200.00"), 1)
    record = SavingsDelivery.objects.get(scheme=scheme, month=2).history.first()
    assert (record.history_user, record.history_change_reason) == (
        w.fin_host,
        "M02 delivery changed from 700.00 to 800.00",
    )
    savings_scheme_update(
        actor=w.comm_ccg, scheme=scheme, forecast_delivery="9000.00", commentary="Slipping"
    )
    assert savings_summary(w.fund, w.year, month=2).schemes[0].delivery.at_risk == D("3000.00")


def test_savings_on_lines_of_another_fund_are_refused(world):
    w = world
    other = BudgetLineFactory(
        fund=PooledFundFactory(code="OTHER", host=w.host), year=w.year, code="X1"
    )
    with pytest.raises(ApplicationError, match="Line X1 is in OTHER 2016/17, not LP-TEST 2016/17"):
        create(w, lines=[w.ccg_line, other])
    assert not SavingsScheme.objects.exists()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"planned": ["1"] * 11}, "each of the 12 months"),
        ({"planned": ["-1"] + ["0"] * 11}, r"M01 cannot be below £0\.00"),
        ({"code": ""}, "a code of up to 30 characters"),
        # Through the one text cleaner (the pages passed control characters straight through).
        ({"code": "Q\x01"}, r"The code contains the control character U\+0001"),
        ({"name": "Rates\x1b[31m"}, r"The name contains the control character U\+001B"),
        ({"commentary": "ok\x00"}, r"The commentary contains the NUL character"),
    ],
)
def test_bad_schemes_are_refused(world, kw, message):
    with pytest.raises(ApplicationError, match=message):
        create(world, **kw)
    assert not SavingsScheme.objects.exists()


def test_who_may_keep_a_scheme(world):
    w = world
    with pytest.raises(NotAllowed):
        create(w, actor=w.comm_host)  # the council's commissioner, for a CCG-led scheme
    scheme = create(w)
    with pytest.raises(NotAllowed):
        savings_delivery_record(actor=w.comm_host, scheme=scheme, month=1, amount="1.00")
    with pytest.raises(ApplicationError, match="not a month"):
        savings_delivery_record(actor=w.comm_ccg, scheme=scheme, month=13, amount="1.00")
    assert not SavingsDelivery.objects.exists()
