"""Recompute-engine snapshot rows for board tests (FundPosition, LineVariance,
RiskShareAllocation), written directly so the board's reading of them is tested on its own.

The fund's 2016/17 budget is approved and months 1..`closed` are closed, so the fund's reporting
context (budgets.context) is M`closed`, whatever months have snapshot rows: the engine writes a
position for every month of the year.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from budgets.models import (
    Forecast,
    FundBudget,
    FundPeriod,
    FundPosition,
    LineVariance,
    Period,
    RiskShareAllocation,
)
from budgets.rag import Rag

D = Decimal
ZERO = D("0.00")


def _variance(fund: Any, year: Any, line: Any, p: int, fv: Decimal, rag: str, now: Any) -> None:
    budget = line.current_budget
    LineVariance.objects.create(
        fund=fund,
        year=year,
        line=line,
        period_number=p,
        original_budget=budget,
        changes=ZERO,
        current_budget=budget,
        ytd_budget=budget * p / 12,
        ytd_actual=budget * p / 12 + fv / 2,
        ytd_variance=fv / 2,
        commitments=ZERO,
        forecast_outturn=budget + fv,
        forecast_variance=fv,
        forecast_variance_pct=(fv * 100 / budget).quantize(D("0.01")),
        movement=fv / p if p > 1 else ZERO,
        rag=rag,
        computed_at=now,
    )


def seed_snapshots(
    board: Any,
    *,
    periods: int = 6,
    closed: int | None = None,
    computed_at: dt.datetime | None = None,
    locality: Any = None,
    code: str = "GM-TEST",
    name: str = "GM test pool",
) -> tuple[Any, dict[str, Decimal]]:
    """One fund overseen by `board` with two lines (one red, one green) and snapshot rows for
    months 1..periods; months 1..closed (default: all of them) are closed. The red line is in
    `locality` if given (else GM-wide), the green one GM-wide."""
    from tests.budgets.factories import (
        BudgetLineFactory,
        FundBudgetFactory,
        PooledFundFactory,
        ServiceAreaFactory,
        make_year,
    )

    closed = periods if closed is None else closed
    year = make_year("2016/17")
    fund = PooledFundFactory(code=code, name=name)
    FundBudgetFactory(fund=fund, year=year, status=FundBudget.Status.APPROVED)
    board.funds.add(fund)
    asc = ServiceAreaFactory(code="ASC", name="Adult social care")
    ph = ServiceAreaFactory(code="PH", name="Public health")
    red = BudgetLineFactory(
        fund=fund,
        year=year,
        code="RED1",
        name="Residential care",
        service_area=asc,
        locality=locality,
        original_budget=D("1200000.00"),
    )
    green = BudgetLineFactory(
        fund=fund,
        year=year,
        code="GRN1",
        name="Sexual health",
        service_area=ph,
        original_budget=D("600000.00"),
    )
    now = computed_at or timezone.now()
    for p in range(1, periods + 1):
        red_fv = D("15000.00") * p
        green_fv = D("-1000.00") * p
        _variance(fund, year, red, p, red_fv, Rag.RED, now)
        _variance(fund, year, green, p, green_fv, Rag.GREEN, now)
        FundPosition.objects.create(
            fund=fund,
            year=year,
            period_number=p,
            original_budget=D("1800000.00"),
            changes=ZERO,
            current_budget=D("1800000.00"),
            ytd_budget=D("150000.00") * p,
            ytd_actual=D("900000.00") + D(p),
            ytd_variance=ZERO,
            commitments=ZERO,
            forecast_outturn=D("1800000.00") + red_fv + green_fv,
            forecast_variance=red_fv + green_fv,
            movement=D("14000.00"),
            red_count=1,
            amber_count=0,
            green_count=1,
            computed_at=now,
        )
        RiskShareAllocation.objects.create(
            fund=fund,
            year=year,
            period_number=p,
            partner=fund.host,
            basis=RiskShareAllocation.Basis.FORECAST,
            amount=D("9000.00") * p,
            rule="pro_rata",
            inputs={},
            computed_at=now,
        )
    for period in Period.objects.filter(year=year, number__lte=closed):
        FundPeriod.objects.create(fund=fund, period=period, status=FundPeriod.Status.CLOSED)
    Forecast.objects.create(
        line=red,
        period=Period.objects.get(year=year, number=closed or 1),
        amount=red.current_budget + D("15000.00") * (closed or 1),
        commentary="Placements above plan",
    )
    return fund, {
        "forecast_variance": D("14000.00") * closed,
        "current_budget": D("1800000.00"),
    }


__all__ = ["seed_snapshots"]
