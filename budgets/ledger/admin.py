"""Django admin for the ledger: mappings and rules, import profiles (both audited), imports,
postings and idempotency records.

Postings are immutable: the admin shows them but cannot add, change or delete them (a correction
is a reversal, through the API or the services).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from budgets.admin_base import ReadOnlyAdmin
from budgets.models import (
    IdempotencyRecord,
    ImportProfile,
    LedgerImport,
    LedgerMapping,
    SpendPosting,
)


@admin.register(LedgerMapping)
class LedgerMappingAdmin(SimpleHistoryAdmin):
    list_display = [
        "organisation",
        "year",
        "cost_centre",
        "cost_centre_match",
        "expense_code",
        "expense_code_match",
        "budget_line",
    ]
    list_filter = ["year", "cost_centre_match", "expense_code_match", "organisation"]
    list_select_related = ["organisation", "year", "budget_line"]
    search_fields = ["cost_centre", "expense_code", "budget_line__code", "organisation__code"]
    raw_id_fields = ["budget_line"]


@admin.register(ImportProfile)
class ImportProfileAdmin(SimpleHistoryAdmin):
    """Read here; changed through the pages, the API or (shipped ones) seed_reference, which
    check a profile's shape."""

    list_display = ["name", "organisation", "title", "updated_at"]
    list_filter = ["organisation"]
    list_select_related = ["organisation"]
    search_fields = ["name", "title", "organisation__code"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerImport)
class LedgerImportAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "organisation",
        "original_name",
        "status",
        "rows_total",
        "rows_checked",
        "rows_posted",
        "rows_already_posted",
        "error_count",
        "rows_outside",
        "profile",
        "uploaded_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "dry_run", "organisation"]
    list_select_related = ["organisation", "uploaded_by", "profile"]
    search_fields = ["original_name", "sha256", "organisation__code"]
    date_hierarchy = "created_at"


@admin.register(SpendPosting)
class SpendPostingAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "document_number",
        "line_number",
        "posting_date",
        "period",
        "fund",
        "budget_line",
        "amount",
        "supplier",
        "is_accrual",
        "reverses",
    ]
    list_filter = ["is_accrual", "period__year", "fund"]
    list_select_related = ["organisation", "period__year", "fund", "budget_line", "reverses"]
    search_fields = ["document_number", "supplier", "description", "budget_line__code"]
    show_full_result_count = False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "user", "endpoint", "status_code", "created_at"]
    list_filter = ["endpoint", "status_code"]
    list_select_related = ["user"]
    search_fields = ["key"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # old keys may be pruned (24 hours is enough for retries)
