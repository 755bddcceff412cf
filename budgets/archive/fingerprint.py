"""What must survive a round trip through an archive: the lines, phasing, forecasts, actuals
per line and period, the periods closed, and the variance report of every period."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from budgets.archive.codec import cell, money_sum
from budgets.archive.scope import control_totals, fund_lines
from budgets.figures.recompute import recompute_fund_now
from budgets.models import FinancialYear, Forecast, FundPeriod, Period, PooledFund, SpendPosting
from budgets.models.fields import MoneySum
from budgets.models.lines import MONTH_FIELDS
from budgets.reports.variance import compute_variance_report


def fingerprint(fund: PooledFund, year: FinancialYear) -> dict[str, Any]:
    """Everything the variance report is computed from, plus the report itself."""
    lines = {
        ln.code: {
            "current_budget": cell(ln.current_budget),
            "original_budget": cell(ln.original_budget),
            "changes": cell(ln.changes),
            "phasing": [cell(getattr(ln, m)) for m in MONTH_FIELDS],
            "service_area": ln.service_area.code,
            "lead_commissioner": ln.lead_commissioner.code,
        }
        for ln in fund_lines(fund, year)
    }
    actuals = {
        f"{r['budget_line__code']}|{r['period__number']}": cell(money_sum(r["total"]))
        for r in SpendPosting.objects.filter(fund=fund, budget_line__year=year)
        .values("budget_line__code", "period__number")
        .annotate(total=MoneySum("amount"))
    }
    forecasts = {
        f"{f.line.code}|{f.period.number}": cell(f.amount)
        for f in Forecast.objects.filter(line__fund=fund, line__year=year).select_related(
            "line", "period"
        )
    }
    result: dict[str, Any] = {
        "totals": control_totals(fund, year),
        "lines": lines,
        "actuals": actuals,
        "forecasts": forecasts,
        "periods_closed": sorted(
            fp.period.number
            for fp in FundPeriod.objects.filter(
                fund=fund, period__year=year, status="closed"
            ).select_related("period")
        ),
        "variance_reports": variance_reports(fund, year),
    }
    return result


def variance_reports(fund: PooledFund, year: FinancialYear) -> dict[str, Any]:
    """Each period's variance report as plain data, from figures recomputed now."""
    recompute_fund_now(fund, full=True)  # every line, whatever marks are (or are not) waiting
    reports = {}
    for period in Period.objects.filter(year=year, number__lte=12).order_by("number"):
        report = compute_variance_report(fund=fund, period=period)
        reports[str(period.number)] = _plain_report(report)
    return reports


_VOLATILE = {
    "computed_at",
    "generated_at",
    "freshness",
    "figures_as_at",
    "pending",
    "as_at",
    "source",
    "fair_share_note",  # names when the fair-share run was calculated (its method is compared)
}


def _plain_report(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain_report(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _VOLATILE and not f.name.endswith("_id") and f.name != "id"
        }
    if isinstance(value, dict):
        return {str(k): _plain_report(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list | tuple):
        return [_plain_report(v) for v in value]
    if isinstance(value, Decimal | date | datetime):
        return cell(value)
    if isinstance(value, models.Model):
        return str(value)
    return value
