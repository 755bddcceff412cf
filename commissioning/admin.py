"""Django admin for support staff. Contracts and their profiles are read here; changes that move
commitments go through commissioning.services (the pages and the API), so the admin shows the
profile read-only."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from commissioning.models import (
    BcfCondition,
    BcfMetric,
    BcfScheme,
    Contract,
    ContractCommitment,
    ContractDecision,
    ContractLine,
    Provider,
    Service,
)


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "organisation", "companies_house_number"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation__code", "companies_house_number"]
    list_select_related = ["organisation"]


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "service_area", "locality", "care_setting", "commissioner"]
    list_filter = ["care_setting", "locality"]
    search_fields = ["name"]
    list_select_related = ["service_area", "locality", "commissioner"]


class ContractLineInline(admin.TabularInline):
    model = ContractLine
    extra = 0
    can_delete = False
    readonly_fields = ["line"]


@admin.register(Contract)
class ContractAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "title", "provider", "fund", "year", "value", "end_date", "status"]
    list_filter = ["status", "fund", "year"]
    search_fields = ["reference", "title", "provider__name"]
    list_select_related = ["provider", "fund", "year"]
    readonly_fields = ["value", "fund", "year", "status"]
    inlines = [ContractLineInline]


@admin.register(ContractCommitment)
class ContractCommitmentAdmin(admin.ModelAdmin):
    list_display = ["contract_line", "period_number", "amount"]
    list_filter = ["period_number"]
    search_fields = ["contract_line__contract__reference"]
    readonly_fields = ["contract_line", "period_number", "amount"]


@admin.register(ContractDecision)
class ContractDecisionAdmin(SimpleHistoryAdmin):
    list_display = ["contract", "kind", "value", "route", "status", "decided_on"]
    list_filter = ["kind", "status", "route", "fund"]
    search_fields = ["contract__reference", "participants", "board_decision_reference"]
    list_select_related = ["contract", "fund"]
    readonly_fields = ["status", "route", "value", "board_decision_reference"]


@admin.register(BcfScheme)
class BcfSchemeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "fund", "year", "scheme_type", "planned_spend"]
    list_filter = ["fund", "year", "scheme_type", "funding_source"]
    search_fields = ["code", "name"]
    list_select_related = ["fund", "year"]


@admin.register(BcfCondition)
class BcfConditionAdmin(SimpleHistoryAdmin):
    list_display = ["fund", "year", "number", "status"]
    list_filter = ["status", "year"]


@admin.register(BcfMetric)
class BcfMetricAdmin(SimpleHistoryAdmin):
    list_display = ["fund", "year", "code", "quarter", "plan", "actual"]
    list_filter = ["code", "quarter", "year"]
