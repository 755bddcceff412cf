"""Read-only admin for the recompute engine's snapshots: support staff look, only the engine writes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from budgets.admin_base import ReadOnlyAdmin
from budgets.models import (
    AllocationResult,
    AllocationRun,
    FundPosition,
    LineCommitment,
    LineVariance,
    RiskShareAllocation,
    StaleMark,
)


@admin.register(LineVariance)
class LineVarianceAdmin(ReadOnlyAdmin):
    list_display = [
        "line",
        "period_number",
        "ytd_actual",
        "forecast_variance",
        "rag",
        "computed_at",
    ]
    list_filter = ["fund", "period_number", "rag"]
    list_select_related = ["line"]
    search_fields = ["line__code", "line__name"]


@admin.register(FundPosition)
class FundPositionAdmin(ReadOnlyAdmin):
    list_display = [
        "fund",
        "year",
        "period_number",
        "current_budget",
        "forecast_variance",
        "red_count",
        "computed_at",
    ]
    list_filter = ["fund", "year"]
    list_select_related = ["fund", "year"]


@admin.register(RiskShareAllocation)
class RiskShareAllocationAdmin(ReadOnlyAdmin):
    list_display = ["fund", "period_number", "basis", "partner", "amount", "rule"]
    list_filter = ["fund", "basis", "rule"]
    list_select_related = ["fund", "partner"]


class AllocationResultInline(admin.TabularInline):
    model = AllocationResult
    extra = 0
    can_delete = False
    readonly_fields = [
        "locality",
        "weighted_population",
        "baseline",
        "target",
        "dft_before",
        "allocation",
        "dft_after",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year", "method", "total_pot", "status", "computed_at"]
    list_filter = ["fund", "method", "status"]
    inlines = [AllocationResultInline]


@admin.register(LineCommitment)
class LineCommitmentAdmin(ReadOnlyAdmin):
    list_display = ["line", "period_number", "amount", "source_ref"]
    search_fields = ["source_ref", "line__code"]
    raw_id_fields = ["line"]


@admin.register(StaleMark)
class StaleMarkAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year_id", "line_id", "period_number", "reason", "created_at"]
    list_filter = ["fund"]
