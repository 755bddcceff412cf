"""Read-only figures from the recompute snapshots under /api/v1/figures/<fund code>/...

Every response carries "as_at" (when the figures were computed) and "pending_changes" (stale marks
not yet recomputed), so no client shows a silently stale number. Money is a string, never a float.
Another organisation's fund answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets import selectors
from budgets.context import NoBudgetYear, reporting_context
from budgets.figures import selectors as figure_selectors
from budgets.freshness import fund_freshness
from budgets.models import FinancialYear, PooledFund
from budgets.models.figures import MONEY_COLUMNS
from gmhsc.errors import ApplicationError, NotFound

YEAR = OpenApiParameter("year", OpenApiTypes.STR, description='Financial year, e.g. "2016/17"')
PERIOD = OpenApiParameter("period", OpenApiTypes.INT, description="Period number 1..12")


def _money(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def _fund(request: Request, code: str) -> PooledFund:
    fund = selectors.funds_visible_to(request.user).filter(code=code).first()
    if fund is None:
        raise NotFound("Fund not found.")
    return fund


def _year(request: Request) -> FinancialYear | None:
    code = request.query_params.get("year")
    if not code:
        return None
    year = FinancialYear.objects.filter(code=code).first()
    if year is None:
        raise NotFound("Financial year not found.")
    return year


def _period(request: Request, required: bool = True) -> int | None:
    raw = request.query_params.get("period")
    if raw is None:
        if required:
            raise ApplicationError("Give the period number, e.g. ?period=6.")
        return None
    try:
        number = int(raw)
    except ValueError:
        raise ApplicationError("The period must be a number from 1 to 12.") from None
    if not 1 <= number <= 12:
        raise ApplicationError("The period must be a number from 1 to 12.")
    return number


def _envelope(
    fund: PooledFund, year: FinancialYear | None, results: list[dict[str, Any]]
) -> Response:
    return Response({"fund": fund.code, **fund_freshness(fund, year).as_dict(), "results": results})


def _year_rows(
    request: Request,
    code: str,
    rows: Callable[[PooledFund, FinancialYear | None], Iterable[Any]],
    row: Callable[[Any], dict[str, Any]],
) -> Response:
    """The fund's rows of the year asked for (?year=, else every year), one `row` each, in the
    freshness envelope."""
    fund = _fund(request, code)
    year = _year(request)
    return _envelope(fund, year, [row(r) for r in rows(fund, year)])


def _position(p: Any) -> dict[str, Any]:
    return {
        "year": p.year.code,
        "period_number": p.period_number,
        **{c: _money(getattr(p, c)) for c in MONEY_COLUMNS},
        "ytd_variance_pct": _money(p.ytd_variance_pct),
        "forecast_variance_pct": _money(p.forecast_variance_pct),
        "red_count": p.red_count,
        "amber_count": p.amber_count,
        "green_count": p.green_count,
        "computed_at": p.computed_at.isoformat(),
    }


def _allocation(a: Any) -> dict[str, Any]:
    return {
        "year": a.year.code,
        "period_number": a.period_number,
        "partner": a.partner.code,
        "partner_name": a.partner.name,
        "basis": a.basis,
        "rule": a.rule,
        "amount": _money(a.amount),
        "inputs": a.inputs,
    }


def _allocation_run(run: Any) -> dict[str, Any]:
    return {
        "year": run.year.code,
        "method": run.method,
        "method_name": run.get_method_display(),
        "status": run.status,
        "total_pot": _money(run.total_pot),
        "policy": run.policy,
        "inputs": run.inputs,
        "results": [
            {
                "locality": r.locality.name,
                "weighted_population": str(r.weighted_population),
                "baseline": _money(r.baseline),
                "target": _money(r.target),
                "dft_before": _money(r.dft_before),
                "allocation": _money(r.allocation),
                "dft_after": _money(r.dft_after),
            }
            for r in run.results.all()
        ],
    }


class FundPositionsView(APIView):
    @extend_schema(parameters=[YEAR], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        return _year_rows(request, code, figure_selectors.fund_positions, _position)


class LineVarianceView(APIView):
    @extend_schema(parameters=[YEAR, PERIOD], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        """Every line's figures at one month: the month asked for (of the year asked for, else
        of the fund's reporting year), else the fund's reporting month (budgets.context). A year
        that has not started has no RAG and no percentages."""
        fund = _fund(request, code)
        try:
            ctx = reporting_context(fund, year=_year(request))
        except NoBudgetYear:
            raise NotFound("This fund has no budget yet.") from None
        year = ctx.year
        number = _period(request, required=ctx.period is None) or ctx.period_number
        assert number is not None
        started = ctx.started
        rows = [
            {
                "line": v.line.code,
                "name": v.line.name,
                "service_area": v.line.service_area.name,
                "lead_commissioner": v.line.lead_commissioner.code,
                "locality": v.line.locality.name if v.line.locality else None,
                "period_number": v.period_number,
                **{c: _money(getattr(v, c)) for c in MONEY_COLUMNS},
                "ytd_variance_pct": _money(v.ytd_variance_pct) if started else None,
                "forecast_variance_pct": _money(v.forecast_variance_pct) if started else None,
                "rag": v.rag if started else "",
                "adverse_favourable": v.adverse_favourable,
            }
            for v in figure_selectors.variance_rows(fund, number, year)
        ]
        response = _envelope(fund, year, rows)
        response.data.update(year=year.code, period=f"{year.code}-M{number:02d}", started=started)
        return response


class RiskShareView(APIView):
    @extend_schema(parameters=[YEAR, PERIOD], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        return _year_rows(
            request,
            code,
            # The period is read after the fund: another organisation's fund is 404 first.
            lambda fund, year: figure_selectors.risk_share_allocations(
                fund, year, _period(request, required=False)
            ),
            _allocation,
        )


class AllocationRunsView(APIView):
    @extend_schema(parameters=[YEAR], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        return _year_rows(request, code, figure_selectors.allocation_runs, _allocation_run)


urlpatterns = [
    path("figures/<str:code>/positions/", FundPositionsView.as_view(), name="figures-positions"),
    path("figures/<str:code>/variance/", LineVarianceView.as_view(), name="figures-variance"),
    path("figures/<str:code>/risk-share/", RiskShareView.as_view(), name="figures-risk-share"),
    path(
        "figures/<str:code>/allocation-runs/",
        AllocationRunsView.as_view(),
        name="figures-allocation-runs",
    ),
]
