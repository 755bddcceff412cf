"""Budgets pages. Each sub-domain keeps its own views: budgets/planning/views/, budgets/ledger/views/,
budgets/reports/views.py (included from budgets/reports/urls.py)."""

from django.urls import include, path

from budgets import choosers
from budgets.ledger.views import imports as ledger_imports
from budgets.ledger.views import mappings as ledger_mappings
from budgets.ledger.views import postings as ledger_postings
from budgets.ledger.views import profiles as ledger_profiles
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
    # ledger: imports (preview, then post), mappings and rules, import profiles, reversals
    path("ledger/imports/", ledger_imports.import_list, name="ledger-imports"),
    path("ledger/imports/<int:pk>/", ledger_imports.import_detail, name="ledger-import-detail"),
    path(
        "ledger/imports/<int:pk>/progress/",
        ledger_imports.import_progress,
        name="ledger-import-progress",
    ),
    path(
        "ledger/imports/<int:pk>/errors.csv",
        ledger_imports.import_errors_csv,
        name="ledger-import-errors",
    ),
    path("ledger/imports/<int:pk>/post/", ledger_imports.import_post, name="ledger-import-post"),
    path(
        "ledger/imports/<int:pk>/check-again/",
        ledger_imports.import_check_again,
        name="ledger-import-check-again",
    ),
    path("ledger/imports/<int:pk>/map/", ledger_imports.import_map, name="ledger-import-map"),
    path("ledger/mappings/", ledger_mappings.mapping_list, name="ledger-mappings"),
    path(
        "ledger/mappings/<int:pk>/delete/",
        ledger_mappings.mapping_delete,
        name="ledger-mapping-delete",
    ),
    path("ledger/profiles/", ledger_profiles.profile_list, name="ledger-profiles"),
    path("ledger/profiles/new/", ledger_profiles.profile_build, name="ledger-profile-new"),
    path("ledger/profiles/<int:pk>/", ledger_profiles.profile_detail, name="ledger-profile-detail"),
    path(
        "ledger/profiles/<int:pk>/edit/", ledger_profiles.profile_edit, name="ledger-profile-edit"
    ),
    path(
        "ledger/profiles/<int:pk>/export/",
        ledger_profiles.profile_export,
        name="ledger-profile-export",
    ),
    path(
        "ledger/profiles/<int:pk>/copy/", ledger_profiles.profile_copy, name="ledger-profile-copy"
    ),
    path(
        "ledger/profiles/<int:pk>/delete/",
        ledger_profiles.profile_delete,
        name="ledger-profile-delete",
    ),
    path("postings/<int:pk>/reverse/", ledger_postings.posting_reverse, name="posting-reverse"),
    path("", include("budgets.reports.urls")),
]
