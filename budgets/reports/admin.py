"""Read-only admin for frozen month-end report snapshots and export jobs."""

from __future__ import annotations

from django.contrib import admin

from budgets.figures.admin import ReadOnlyAdmin
from budgets.models import ExportJob, ReportSnapshot


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
