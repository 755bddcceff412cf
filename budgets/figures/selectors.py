"""Read queries for the recompute engine's snapshots: figures are read from snapshots, never
summed from raw postings on the fly."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from budgets.models import (
    AllocationResult,
    AllocationRun,
    Forecast,
    FundPosition,
    LineVariance,
    RiskShareAllocation,
    StaleMark,
)
from budgets.rag import NEEDS_COMMENTARY


def oldest_stale_mark_age() -> float | None:
    """Seconds since the oldest recompute mark still waiting; None when nothing waits."""
    oldest = StaleMark.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return None if oldest is None else round((timezone.now() - oldest).total_seconds(), 1)


def variance_rows(fund: Any, period_number: int, year: Any = None) -> QuerySet[Any]:
    """LineVariance rows of a fund at one period, shaped for tables (no N+1)."""
    qs = LineVariance.objects.filter(fund=fund, period_number=period_number).select_related(
        "line__service_area__parent", "line__locality", "line__lead_commissioner"
    )
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("line__code")


def fund_positions(fund: Any, year: Any = None) -> QuerySet[Any]:
    qs = FundPosition.objects.filter(fund=fund).select_related("year")
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("year__start_date", "period_number")


def risk_share_allocations(
    fund: Any, year: Any = None, period_number: int | None = None
) -> QuerySet[Any]:
    qs = RiskShareAllocation.objects.filter(fund=fund).select_related("partner", "year")
    if year is not None:
        qs = qs.filter(year=year)
    if period_number is not None:
        qs = qs.filter(period_number=period_number)
    return qs.order_by("period_number", "basis", "partner__name")


def allocation_runs(fund: Any, year: Any = None) -> QuerySet[Any]:
    qs = (
        AllocationRun.objects.filter(fund=fund)
        .select_related("year")
        .prefetch_related(
            Prefetch("results", queryset=AllocationResult.objects.select_related("locality"))
        )
    )
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("year__start_date", "method")


def lines_missing_commentary(fund: Any, period_number: int, year: Any = None) -> QuerySet[Any]:
    """Amber and red lines at a period whose Forecast for that period has no commentary."""
    with_comment = Forecast.objects.filter(
        line_id=OuterRef("line_id"),
        period__number=period_number,
        period__year_id=OuterRef("year_id"),
    ).exclude(commentary="")
    return (
        variance_rows(fund, period_number, year)
        .filter(rag__in=NEEDS_COMMENTARY)
        .annotate(has_commentary=Exists(with_comment))
        .filter(has_commentary=False)
    )
