"""Django admin for support staff: every core budgets model, searchable, filtered, history where kept.

budgets/admin.py imports this module and the ledger, figures and reports admins.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from budgets.admin_base import ReadOnlyAdmin, ReadOnlyInline
from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    BudgetSetting,
    BudgetSettingRate,
    Contribution,
    ContributionInstalment,
    ContributionReceipt,
    FinancialYear,
    Forecast,
    FundBudget,
    FundPeriod,
    Period,
    PooledFund,
    RiskShareAgreement,
    SavingsDelivery,
    SavingsScheme,
    ServiceArea,
    Virement,
)
from budgets.models.lines import MONTH_FIELDS
from budgets.planning.services.years import financial_year_open
from gmhsc.errors import ApplicationError
from localities.actors import actor_of


@admin.register(FinancialYear)
class FinancialYearAdmin(SimpleHistoryAdmin):
    """Years are opened by the open_financial_year service (the action below, the command or the
    API), so each has its 13 periods; the admin does not add or change them by hand."""

    list_display = ["code", "start_date", "end_date"]
    search_fields = ["code"]
    readonly_fields = ["code", "start_date", "end_date"]
    actions = ["open_following_year"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Open the year after each selected year (with M1..M13)")
    def open_following_year(self, request: HttpRequest, queryset: QuerySet[FinancialYear]) -> None:
        for year in queryset.order_by("start_date"):
            try:
                opened, created = financial_year_open(
                    actor=actor_of(request), code=year.next_code, reason="Opened in the admin"
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            verb = "opened" if created else "was already open"
            self.message_user(request, f"{opened.code} {verb}.", messages.SUCCESS)


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "number", "start_date", "end_date"]
    list_filter = ["year"]
    list_select_related = ["year"]
    search_fields = ["year__code"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "maps_to"]
    list_filter = ["parent"]
    list_select_related = ["parent"]
    search_fields = ["code", "name", "maps_to"]


@admin.register(PooledFund)
class PooledFundAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "scope",
        "arrangement",
        "host",
        "locality",
        "is_bcf",
        "officer_virement_limit",
    ]
    list_filter = ["scope", "arrangement", "is_bcf"]
    list_select_related = ["host", "locality"]
    search_fields = ["code", "name", "host__name", "host__code"]


@admin.register(FundBudget)
class FundBudgetAdmin(SimpleHistoryAdmin):
    list_display = [
        "fund",
        "year",
        "status",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
    ]
    list_filter = ["status", "year"]
    list_select_related = ["fund", "year", "submitted_by", "approved_by"]
    search_fields = ["fund__code", "fund__name"]
    raw_id_fields = ["submitted_by", "approved_by"]


@admin.register(FundPeriod)
class FundPeriodAdmin(SimpleHistoryAdmin):
    list_display = ["fund", "period", "status", "changed_by", "changed_at", "reason"]
    list_filter = ["status", "period__year", "fund"]
    list_select_related = ["fund", "period__year", "changed_by"]
    search_fields = ["fund__code", "reason"]
    raw_id_fields = ["changed_by"]


class ContributionInstalmentInline(admin.TabularInline):
    model = ContributionInstalment
    extra = 0


@admin.register(Contribution)
class ContributionAdmin(SimpleHistoryAdmin):
    list_display = [
        "fund",
        "year",
        "partner",
        "amount",
        "carried_forward",
        "share",
        "shares_fixed_at",
    ]
    list_filter = ["year", "fund"]
    list_select_related = ["fund", "year", "partner"]
    search_fields = ["fund__code", "partner__name", "partner__code"]
    inlines = [ContributionInstalmentInline]


@admin.register(RiskShareAgreement)
class RiskShareAgreementAdmin(SimpleHistoryAdmin):
    list_display = ["fund", "year", "rule", "underspend", "agreed_on"]
    list_filter = ["rule", "underspend", "year"]
    list_select_related = ["fund", "year"]
    search_fields = ["fund__code", "fund__name", "notes"]


@admin.register(BudgetLine)
class BudgetLineAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "fund",
        "year",
        "service_area",
        "locality",
        "lead_commissioner",
        "original_budget",
        "changes",
        "current_budget",
        "phasing_method",
        "version",
    ]
    list_filter = ["year", "phasing_method", "recurrent", "fund", "service_area__parent"]
    list_select_related = ["fund", "year", "service_area", "locality", "lead_commissioner"]
    search_fields = [
        "code",
        "name",
        "fund__code",
        "lead_commissioner__name",
        "lead_commissioner__code",
    ]
    raw_id_fields = ["updated_by"]
    # Money changes go through the services (draft edits, adjustments, virements) so they are
    # checked, audited and marked for recompute; the admin shows them but does not change them.
    readonly_fields = [
        "original_budget",
        "changes",
        "current_budget",
        "phasing_method",
        *MONTH_FIELDS,
        "version",
        "updated_at",
        "updated_by",
    ]


@admin.register(BudgetAdjustment)
class BudgetAdjustmentAdmin(admin.ModelAdmin):
    list_display = ["line", "period", "amount", "recurrent", "reason", "created_by", "created_at"]
    list_filter = ["recurrent", "period__year"]
    list_select_related = ["line", "period__year", "created_by"]
    search_fields = ["line__code", "line__name", "reason"]
    raw_id_fields = ["line", "created_by"]


@admin.register(Virement)
class VirementAdmin(SimpleHistoryAdmin):
    list_display = [
        "pk",
        "fund",
        "from_line",
        "to_line",
        "amount",
        "status",
        "approval_reference",
        "requested_by",
        "requested_at",
        "applied_at",
    ]
    list_filter = ["status", "recurrent", "fund"]
    list_select_related = ["fund", "from_line", "to_line", "requested_by"]
    search_fields = ["from_line__code", "to_line__code", "reason", "approval_reference"]
    raw_id_fields = ["from_line", "to_line", "requested_by", "decided_by"]
    readonly_fields = ["fund", "from_line", "to_line", "amount", "status", "period", "applied_at"]


@admin.register(Forecast)
class ForecastAdmin(SimpleHistoryAdmin):
    list_display = ["line", "period", "amount", "commentary", "updated_by", "updated_at"]
    list_filter = ["period__year", "period__number"]
    list_select_related = ["line", "period__year", "updated_by"]
    search_fields = ["line__code", "line__name", "commentary"]
    raw_id_fields = ["line", "updated_by"]


# ---- the financial year cycle: read here, changed through the services (pages, API, commands) ----


@admin.register(ContributionReceipt)
class ContributionReceiptAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["contribution", "received_on", "amount", "reference", "recorded_by"]
    list_filter = ["contribution__year", "contribution__fund"]
    list_select_related = ["contribution__fund", "contribution__year", "contribution__partner"]
    search_fields = ["reference", "contribution__partner__code", "contribution__fund__code"]


class BudgetSettingRateInline(ReadOnlyInline):
    model = BudgetSettingRate


@admin.register(BudgetSetting)
class BudgetSettingAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = [
        "fund",
        "year",
        "from_year",
        "uplift_pct",
        "efficiency_pct",
        "contribution_uplift_pct",
        "lines_carried",
        "rolled_by",
        "rolled_at",
    ]
    list_filter = ["year"]
    list_select_related = ["fund", "year", "from_year", "rolled_by"]
    search_fields = ["fund__code"]
    inlines = [BudgetSettingRateInline]


class SavingsDeliveryInline(ReadOnlyInline):
    model = SavingsDelivery


@admin.register(SavingsScheme)
class SavingsSchemeAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["code", "name", "fund", "year", "lead_commissioner", "forecast_delivery"]
    list_filter = ["year", "fund"]
    list_select_related = ["fund", "year", "lead_commissioner"]
    search_fields = ["code", "name", "fund__code"]
    inlines = [SavingsDeliveryInline]
