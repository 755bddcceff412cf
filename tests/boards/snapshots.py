"""Recompute-engine snapshot rows for board tests, written to the H3 contract
(FundPosition, LineVariance, RiskShareAllocation). Missing money columns are filled with zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from budgets.models import Forecast, Period

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


def _counts(model: Any, red: int, amber: int, green: int) -> dict[str, int]:
    names = {f.name for f in model._meta.concrete_fields}
    out: dict[str, int] = {}
    for colour, value in (("red", red), ("amber", amber), ("green", green)):
        for name in (colour, f"{colour}_count", f"rag_{colour}"):
            if name in names:
                out[name] = value
    return out


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
    line_variance = apps.get_model("budgets", "LineVariance")
    position = apps.get_model("budgets", "FundPosition")
    now = timezone.now()
    for p in range(1, periods + 1):
        red_fv = D("15000.00") * p
        green_fv = D("-1000.00") * p
        for line, fv, rag in ((red, red_fv, "red"), (green, green_fv, "green")):
            _create(
                line_variance,
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
            position,
            fund=fund,
            year=year,
            period_number=p,
            current_budget=D("1800000.00"),
            ytd_actual=D("900000.00") + D(p),
            forecast_outturn=D("1800000.00") + red_fv + green_fv,
            forecast_variance=red_fv + green_fv,
            computed_at=now,
            **_counts(position, 1, 0, 1),
        )
    allocation = apps.get_model("budgets", "RiskShareAllocation")
    partner = fund.host
    _create(
        allocation,
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
