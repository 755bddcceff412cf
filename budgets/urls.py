"""Budgets pages. Each sub-domain keeps its own views: budgets/planning/views/, budgets/ledger/views.py,
budgets/reports/views.py (included from budgets/reports/urls.py)."""

from django.urls import include, path

from budgets import choosers
from budgets.ledger import views as ledger
from budgets.planning.views import cycle, funds, lines, virements

app_name = "budgets"

urlpatterns = [
    path("funds/", funds.fund_list, name="fund-list"),
    # planning: funds, lines, virements
    path("funds/<int:pk>/", funds.fund_overview, name="fund-overview"),
    path("funds/<int:pk>/budget/submit/", funds.budget_submit, name="budget-submit"),
    path("funds/<int:pk>/budget/approve/", funds.budget_approve, name="budget-approve"),
    path("funds/<int:pk>/budget/return/", funds.budget_return, name="budget-return"),
    path("funds/<int:pk>/lines/", lines.line_table, name="line-table"),
    path("funds/<int:pk>/lines/totals/", lines.line_table_totals, name="line-table-totals"),
    path("funds/<int:pk>/virements/", virements.fund_virements, name="fund-virements"),
    # The financial year cycle
    path("funds/<int:pk>/budget-setting/", cycle.budget_setting, name="budget-setting"),
    path("funds/<int:pk>/contributions/", cycle.fund_contributions, name="fund-contributions"),
    path("funds/<int:pk>/savings/", cycle.fund_savings, name="fund-savings"),
    path("funds/<int:pk>/years/", cycle.fund_years, name="fund-years"),
    path("savings/<int:pk>/", cycle.savings_scheme, name="savings-scheme"),
    path("funds/<int:pk>/virements/new/", virements.virement_request, name="virement-request"),
    path("lines/search/", choosers.line_search, name="line-search"),
    path("lines/<int:pk>/", lines.line_detail, name="line-detail"),
    path("lines/<int:pk>/row/", lines.line_row, name="line-row"),
    path("lines/<int:pk>/edit/", lines.line_edit, name="line-edit"),
    path("lines/<int:pk>/phasing/", lines.line_phasing, name="line-phasing"),
    path("lines/<int:pk>/phasing/check/", lines.line_phasing_check, name="line-phasing-check"),
    path("lines/<int:pk>/rephase/", lines.line_rephase, name="line-rephase"),
    path("lines/<int:pk>/forecast/", lines.line_forecast, name="line-forecast"),
    path("lines/<int:pk>/adjust/", lines.line_adjust, name="line-adjust"),
    path("virements/mine/", virements.my_requests, name="my-requests"),
    path("virements/<int:pk>/", virements.virement_detail, name="virement-detail"),
    path("virements/<int:pk>/decide/", virements.virement_decide, name="virement-decide"),
    # ledger: imports, mappings, reversals
    path("ledger/imports/", ledger.import_list, name="ledger-imports"),
    path("ledger/imports/<int:pk>/", ledger.import_detail, name="ledger-import-detail"),
    path(
        "ledger/imports/<int:pk>/progress/", ledger.import_progress, name="ledger-import-progress"
    ),
    path(
        "ledger/imports/<int:pk>/errors.csv", ledger.import_errors_csv, name="ledger-import-errors"
    ),
    path("ledger/mappings/", ledger.mapping_list, name="ledger-mappings"),
    path("postings/<int:pk>/reverse/", ledger.posting_reverse, name="posting-reverse"),
    path("ledger/mappings/<int:pk>/delete/", ledger.mapping_delete, name="ledger-mapping-delete"),
    path("", include("budgets.reports.urls")),
]
