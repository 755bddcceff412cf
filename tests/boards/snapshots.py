"""Recompute-engine snapshot rows for board tests (FundPosition, LineVariance,
RiskShareAllocation). Money columns a test does not set are zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from budgets.models import Forecast, FundPosition, LineVariance, Period, RiskShareAllocation

D = Decimal


def _create(model: Any, **values: Any) -> Any:
    for field in model._meta.concrete_fields:
        if field.name in values or field.primary_key or field.has_default() or field.null:
            continue
        if isinstance(field, models.DecimalField):
            values[field.name] = D("0")
        elif isinstance(field, models.IntegerField):
            values[field.name] = 0
        elif isinstance(field, models.DateTimeField):
            values[field.name] = timezone.now()
        elif isinstance(field, models.CharField):
            values[field.name] = ""
    return model.objects.create(**values)


def seed_snapshots(board: Any, *, periods: int = 6) -> tuple[Any, dict[str, Decimal]]:
    """One fund overseen by `board` with two lines (one red, one green) for months 1..periods."""
    from tests.budgets.factories import (
        BudgetLineFactory,
        PooledFundFactory,
        ServiceAreaFactory,
        make_year,
    )

    year = make_year("2016/17")
    fund = PooledFundFactory(code="GM-TEST", name="GM test pool")
    board.funds.add(fund)
    asc = ServiceAreaFactory(code="ASC", name="Adult social care")
    ph = ServiceAreaFactory(code="PH", name="Public health")
    red = BudgetLineFactory(
        fund=fund,
        year=year,
        code="RED1",
        name="Residential care",
        service_area=asc,
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
    now = timezone.now()
    for p in range(1, periods + 1):
        red_fv = D("15000.00") * p
        green_fv = D("-1000.00") * p
        for line, fv, rag in ((red, red_fv, "red"), (green, green_fv, "green")):
            _create(
                LineVariance,
                fund=fund,
                year=year,
                line=line,
                period_number=p,
                original_budget=line.current_budget,
                current_budget=line.current_budget,
                ytd_budget=line.current_budget * p / 12,
                ytd_actual=line.current_budget * p / 12 + fv / 2,
                forecast_outturn=line.current_budget + fv,
                forecast_variance=fv,
                movement=fv / p if p > 1 else D("0"),
                rag=rag,
                computed_at=now,
            )
        _create(
            FundPosition,
            fund=fund,
            year=year,
            period_number=p,
            current_budget=D("1800000.00"),
            ytd_actual=D("900000.00") + D(p),
            forecast_outturn=D("1800000.00") + red_fv + green_fv,
            forecast_variance=red_fv + green_fv,
            computed_at=now,
            red_count=1,
            amber_count=0,
            green_count=1,
        )
    partner = fund.host
    _create(
        RiskShareAllocation,
        fund=fund,
        year=year,
        period_number=periods,
        partner=partner,
        basis="forecast",
        amount=D("54000.00"),
        rule="pro_rata",
        inputs={},
    )
    Forecast.objects.create(
        line=red,
        period=Period.objects.get(year=year, number=periods),
        amount=red.current_budget + D("15000.00") * periods,
        commentary="Placements above plan",
    )
    return fund, {
        "forecast_variance": D("14000.00") * periods,
        "current_budget": D("1800000.00"),
    }


__all__ = ["seed_snapshots"]
