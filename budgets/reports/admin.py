"""Read-only admin for frozen month-end report snapshots and export jobs."""

from __future__ import annotations

from django.contrib import admin

from budgets.admin_base import ReadOnlyAdmin, ReadOnlyInline
from budgets.models import ExportJob, ReportSnapshot, Settlement, YearEnd


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["fund", "period", "kind", "run", "closed_at", "checksum"]
    list_filter = ["kind", "period__year", "fund"]
    list_select_related = ["fund", "period__year"]
    search_fields = ["fund__code", "checksum"]
    exclude = ["data"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "format", "source", "owner", "fund", "period", "status", "rows"]
    list_filter = ["kind", "format", "status", "source"]
    list_select_related = ["owner", "fund", "period__year"]
    search_fields = ["filename", "owner__username", "fund__code"]


class SettlementInline(ReadOnlyInline):
    model = Settlement
    readonly_fields = [
        "partner",
        "is_host",
        "contribution",
        "carried_forward_in",
        "receipts",
        "variance_share",
        "underspend_returned",
        "underspend_retained",
        "underspend_carried_forward",
        "net_due",
    ]


@admin.register(YearEnd)
class YearEndAdmin(ReadOnlyAdmin):
    """Closes and reopens happen on the year-end page, the API or the commands."""

    list_display = ["fund", "year", "run", "status", "variance", "closed_by", "closed_at"]
    list_filter = ["status", "year", "fund"]
    list_select_related = ["fund", "year", "closed_by"]
    search_fields = ["fund__code", "reason", "reopen_reason"]
    inlines = [SettlementInline]
