"""Reporting pages, included by budgets/urls.py (inside the "budgets" namespace)."""

from django.urls import path

from budgets.reports import views as reports
from budgets.reports import year_views

urlpatterns = [
    path("reports/variance/", reports.variance_report, name="variance"),
    path("reports/variance/export/", reports.variance_export, name="variance-export"),
    path("reports/transparency/", reports.transparency_export, name="transparency"),
    path("funds/<str:code>/reports/", reports.month_close, name="month-close"),
    path("funds/<str:code>/reports/reopen/", reports.period_reopen, name="period-reopen"),
    path("funds/<int:pk>/year-end/", year_views.year_end, name="year-end"),
    path("funds/<int:pk>/year-end/reopen/", year_views.year_reopen, name="year-reopen"),
    path(
        "funds/<int:pk>/year-end/statements/<str:partner>/",
        year_views.settlement_statement,
        name="settlement-statement",
    ),
    path(
        "funds/<int:pk>/memorandum-account/",
        year_views.memorandum_account,
        name="memorandum-account",
    ),
    path("exports/", reports.export_list, name="export-list"),
    path("exports/<int:pk>/", reports.export_detail, name="export-detail"),
    path("exports/<int:pk>/progress/", reports.export_progress, name="export-progress"),
    path("exports/<int:pk>/download/", reports.export_download, name="export-download"),
]
