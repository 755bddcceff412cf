"""Permission matrix (issue 10 item 1): every URL pattern x role x own/foreign object x method.

How it works
- `urls_under_test()` walks Django's resolver (pages and API; format-suffix twins of API routes are
  the same view and are folded into their base route). Every URL name must have exactly one row
  in TABLE; a URL missing from TABLE fails with the list of missing names, and so does a row for
  a URL that no longer exists. Python would silently drop duplicate dict keys, so the table is
  built from a list of (name, row) pairs and duplicates fail too.
- Each row names the kind of object its URL arguments refer to (`obj`), and for every HTTP method
  the view accepts, the expected status per role in ROLE_ORDER:
      commissioner  finance_officer  board_member  administrator  anonymous
  written as one string, e.g. "200 200 200 200 302". A pair (own, foreign) gives the statuses
  for an object of the user's own organisation and for another organisation's object.
- Writes are sent with an empty body inside a savepoint that is rolled back, so nothing one
  request does changes what the next sees. A refused write must be refused before validation.
- Beyond the table, invariants hold for every request: no 5xx; anonymous users get nothing but
  the public pages; another organisation's object never answers 2xx to anyone but an
  administrator (404, or 403 where the role may not use the page at all).
- Admin URLs (admin:*) are checked by `test_admin_urls_are_for_administrators_only`.

To extend: add a row for each new URL. To see what the current code answers, run
    MATRIX_OBSERVE=1 .venv/bin/pytest -q tests/test_permission_matrix.py
which writes the observed table to /tmp/gmhsc-matrix-observed.py (review every line before
copying it: the table states what *should* happen).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from localities import roles

ROLE_ORDER = ("commissioner", "finance_officer", "board_member", "administrator", "anonymous")
# Answer everyone: sign-in, the health check, and the API contract (schema and its docs: no data).
PUBLIC = {"login", "health", "api-schema", "api-docs", "api-redoc"}
# Reference data shared by all partners: no own/foreign distinction.
REFERENCE_KINDS = {"locality", "organisation"}
MISSING_PK = 2_000_000_000


@dataclass(frozen=True)
class Row:
    obj: str | None = None
    methods: dict[str, str | tuple[str, str]] = field(default_factory=dict)
    kwargs: dict[str, str] = field(default_factory=dict)


def R(obj: str | None = None, kwargs: dict[str, str] | None = None, **methods: Any) -> Row:
    return Row(obj=obj, methods={m.upper(): v for m, v in methods.items()}, kwargs=kwargs or {})


# Frequent shapes --------------------------------------------------------------------------------
ALL_200_ANON_302 = "200 200 200 200 302"  # any signed-in user; pages send strangers to sign in
ALL_200_ANON_403 = "200 200 200 200 403"  # any signed-in user; the API refuses strangers
OWN_404 = "404 404 404 200 302"  # another organisation's object: 404 (admin sees all)
API_OWN_404 = "404 404 404 200 403"
NOT_ALLOWED = "405 405 405 405 302"
API_NOT_ALLOWED = "405 405 405 405 403"

# fmt: off
ROWS: list[tuple[str, Row]] = [
    ("api-docs", R(get="200 200 200 200 200")),
    ("api-export-detail", R("export", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("api-export-download", R("export", get="404 404 404 404 403")),
    ("api-export-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("api-fund-variance", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    # The financial year cycle. Endpoints whose body names the year validate it first (400), as
    # the budget approval and period endpoints do; pages refuse roles that may not act (403).
    ("api-fund-close-year", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("api-fund-memorandum-account", R("fund", get=("400 400 400 400 403", "404 404 404 400 403"))),
    ("api-fund-reopen-year", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("api-fund-settlement", R("fund", get=("400 400 400 400 403", "404 404 404 400 403"))),
    ("budgets:budget-setting", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("403 200 403 200 302", "404 404 404 200 302"))),
    ("budgets:fund-contributions", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("403 200 403 200 302", "404 404 404 200 302"))),
    ("budgets:fund-savings", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 403 200 302", "404 404 404 200 302"))),
    ("budgets:fund-years", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:memorandum-account", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:savings-scheme", R("savings_scheme", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 403 200 302", "404 404 404 200 302"))),
    # No year of the matrix's funds is closed, so there is no statement to read.
    ("budgets:settlement-statement", R("fund", kwargs={"partner": "MXOWN"}, get="404 404 404 404 302", post="405 405 405 405 302")),
    ("budgets:year-end", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("403 302 403 403 302", "404 404 404 403 302"))),
    ("budgets:year-reopen", R("fund", get=("403 403 403 200 302", "404 404 404 200 302"), post=("403 403 403 200 302", "404 404 404 200 302"))),
    ("contribution-receipt-detail", R("receipt", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contribution-receipt-history", R("receipt", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contribution-receipt-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("financial-year-list", R(get="200 200 200 200 403", post="403 403 403 400 403")),
    ("fund-budget-setting", R("fund", get=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-roll-forward", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-years", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("savings-scheme-deliveries", R("savings_scheme", post=("400 400 403 400 403", "404 404 404 400 403"))),
    ("savings-scheme-detail", R("savings_scheme", get=("200 200 200 200 403", "404 404 404 200 403"), patch=("200 200 403 200 403", "404 404 404 200 403"))),
    ("savings-scheme-history", R("savings_scheme", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("savings-scheme-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("figures-positions", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("figures-variance", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("figures-risk-share", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("figures-allocation-runs", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("api-redoc", R(get="200 200 200 200 200")),
    ("api-root", R(get="200 200 200 200 403")),
    ("api-schema", R(get="200 200 200 200 200")),
    ("board-dashboard", R("board", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-decision-detail", R("decision", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-decision-list", R(get="200 200 200 200 403")),
    ("board-detail", R("board", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-gift-detail", R("gift", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-gift-list", R(get="200 200 200 200 403")),
    ("board-interest-detail", R("interest", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-interest-list", R(get="200 200 200 200 403")),
    ("board-list", R(get="200 200 200 200 403")),
    ("board-meeting-detail", R("meeting", get=("404 404 200 200 403", "404 404 404 200 403"))),
    ("board-meeting-list", R(get="200 200 200 200 403")),
    # An empty form on the meeting and board pages comes back with its problems (200); the
    # service refuses a member who may not record (tests/boards).
    ("boards:action-add", R("meeting", get="405 405 405 405 302", post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:action-update", R("action", get="405 405 405 405 302", post=("404 404 302 302 302", "404 404 404 302 302"))),
    ("boards:board-detail", R("board", get=("404 404 200 200 302", "404 404 404 200 302"), post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:board-list", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("boards:chart", R("board", kwargs={"name": "service-area"}, get=("404 404 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("boards:dashboard", R("board", get=("404 404 200 200 302", "404 404 404 200 302"), post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:decision-add", R("meeting", get="405 405 405 405 302", post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:decision-register", R("board", get=("404 404 200 200 302", "404 404 404 200 302"), post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:declaration-add", R("meeting", get="405 405 405 405 302", post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:interest-register", R("board", get=("404 404 200 200 302", "404 404 404 200 302"), post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:item-add", R("meeting", get="405 405 405 405 302", post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:item-paper", R("agenda_item", get="404 404 404 404 302", post="405 405 405 405 302")),
    ("boards:meeting-create", R("board", get="405 405 405 405 302", post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:meeting-detail", R("meeting", get=("404 404 200 200 302", "404 404 404 200 302"), post=("404 404 200 200 302", "404 404 404 200 302"))),
    ("boards:meeting-minutes", R("meeting", get="405 405 405 405 302", post=("404 404 302 302 302", "404 404 404 302 302"))),
    ("boards:meeting-transition", R("meeting", get="405 405 405 405 302", post="404 404 404 404 302")),
    ("boards:my-gifts", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("boards:my-interests", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("boards:pack-build", R("meeting", get="405 405 405 405 302", post=("404 404 302 302 302", "404 404 404 302 302"))),
    ("boards:pack-download", R("pack", get=("404 404 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("boards:pack-publish", R("pack", get="405 405 405 405 302", post=("404 404 302 302 302", "404 404 404 302 302"))),
    ("boards:pack-status", R("pack", get=("404 404 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budget-adjustment-detail", R("adjustment", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("budget-adjustment-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("budget-import-list", R(post="400 400 400 400 403")),
    ("budget-line-detail", R("line", get=("200 200 200 200 403", "404 404 404 200 403"), patch=("428 428 428 428 403", "404 404 404 428 403"))),
    ("budget-line-history", R("line", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("budget-line-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("budget-line-phasing-preview", R("line", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("budget-line-rephase", R("line", post=("428 428 428 428 403", "404 404 404 428 403"))),
    ("budget-line-suggested-forecast", R("line", get="404 404 404 404 403")),
    ("budgets:budget-approve", R("fund", get="405 405 405 405 302", post=("302 302 302 302 302", "404 404 404 302 302"))),
    ("budgets:budget-return", R("fund", get="405 405 405 405 302", post=("302 302 302 302 302", "404 404 404 302 302"))),
    ("budgets:budget-submit", R("fund", get="405 405 405 405 302", post=("302 302 302 302 302", "404 404 404 302 302"))),
    ("budgets:export-detail", R("export", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:export-download", R("export", get="404 404 404 404 302", post="404 404 404 404 302")),
    ("budgets:export-list", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("budgets:export-progress", R("export", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:fund-list", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("budgets:fund-overview", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:fund-virements", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:line-adjust", R("line", get=("403 200 403 200 302", "404 404 404 200 302"), post=("403 200 403 200 302", "404 404 404 200 302"))),
    ("budgets:line-detail", R("line", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:line-edit", R("line", get=("200 404 404 404 302", "404 404 404 404 302"), post=("200 404 404 404 302", "404 404 404 404 302"))),
    ("budgets:line-forecast", R("line", get=("200 200 404 404 302", "404 404 404 404 302"), post=("200 200 404 404 302", "404 404 404 404 302"))),
    ("budgets:line-phasing", R("line", get="405 405 405 405 302", post=("200 404 404 404 302", "404 404 404 404 302"))),
    ("budgets:line-phasing-check", R("line", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:line-rephase", R("line", get="405 405 405 405 302", post=("200 404 404 404 302", "404 404 404 404 302"))),
    ("budgets:line-row", R("line", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:line-table", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:line-table-totals", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("budgets:month-close", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("403 404 403 403 302", "404 404 404 403 302"))),
    ("budgets:my-requests", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("budgets:posting-reverse", R("posting", get=("403 200 403 200 302", "404 404 404 200 302"), post=("403 200 403 200 302", "404 404 404 200 302"))),
    ("budgets:period-reopen", R("fund", get=("403 403 403 200 302", "404 404 404 200 302"), post=("403 403 403 200 302", "404 404 404 200 302"))),
    ("budgets:transparency", R(get="404 200 404 200 302", post="404 404 404 404 302")),
    ("budgets:variance", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("budgets:variance-export", R(get="405 405 405 405 302", post="404 404 404 404 302")),
    ("budgets:virement-decide", R("virement", get="405 405 405 405 302", post=("302 302 302 302 302", "404 404 404 302 302"))),
    ("budgets:virement-detail", R("virement", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    # The line chooser's search: every signed-in person, over the lines they may see
    # (tests/budgets/test_choosers.py checks the scoping from both sides).
    ("budgets:line-search", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("budgets:virement-request", R("fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 200 200 200 302", "404 404 404 200 302"))),
    ("contribution-detail", R("contribution", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contribution-history", R("contribution", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contribution-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("forecast-detail", R("forecast", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("forecast-history", R("forecast", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("forecast-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("fund-approve", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-budget", R("fund", get=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-close-period", R("fund", post="400 400 400 400 403")),
    ("fund-detail", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("fund-fix-shares", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-history", R("fund", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("fund-list", R(get="200 200 200 200 403")),
    ("fund-period-history", R("fund", get="404 404 404 404 403")),
    ("fund-periods", R("fund", get=("400 400 400 400 403", "404 404 404 400 403"))),
    ("fund-reopen-period", R("fund", post="400 400 400 400 403")),
    ("fund-submit", R("fund", post=("400 400 400 400 403", "404 404 404 400 403"))),
    ("health", R(get="200 200 200 200 200", post="200 200 200 200 200")),
    ("home", R(get="200 200 200 200 302", post="200 200 200 200 302")),
    ("locality-detail", R("locality", get="200 200 200 200 403")),
    ("locality-list", R(get="200 200 200 200 403")),
    ("login", R(get="302 302 302 302 200", post="302 302 302 302 200", put="302 302 302 302 200")),
    ("logout", R(post="302 302 302 302 302")),
    ("organisation-detail", R("organisation", get="200 200 200 200 403")),
    ("organisation-list", R(get="200 200 200 200 403")),
    ("risk-share-agreement-detail", R("risk_share", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("risk-share-agreement-history", R("risk_share", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("risk-share-agreement-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("virement-approve", R("virement", post=("403 200 403 403 403", "404 404 404 403 403"))),
    ("virement-detail", R("virement", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("virement-history", R("virement", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("virement-list", R(get="200 200 200 200 403", post="400 400 400 400 403")),
    ("virement-reject", R("virement", post=("403 400 403 400 403", "404 404 404 400 403"))),
    ("virement-withdraw", R("virement", post=("200 403 403 403 403", "404 404 404 403 403"))),
    # commissioning (issue 8)
    ("commissioning:bcf-fund", R("bcf_fund", get=("200 200 200 200 302", "404 404 404 200 302"), post=("200 404 404 200 302", "404 404 404 200 302"))),
    ("commissioning:bcf-condition-set", R("bcf_fund", get="405 405 405 405 302", post=("302 404 404 302 302", "404 404 404 302 302"))),
    ("commissioning:bcf-index", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("commissioning:bcf-metric-set", R("bcf_fund", get="405 405 405 405 302", post=("302 404 404 302 302", "404 404 404 302 302"))),
    ("commissioning:bcf-return", R("bcf_fund", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("commissioning:contract-create", R("fund", get=("200 404 404 200 302", "404 404 404 200 302"), post=("200 404 404 200 302", "404 404 404 200 302"))),
    ("commissioning:contract-detail", R("contract", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("commissioning:contract-edit", R("contract", get=("200 404 404 200 302", "404 404 404 200 302"), post=("200 404 404 200 302", "404 404 404 200 302"))),
    ("commissioning:contract-list", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("commissioning:contract-status", R("contract", get="405 405 405 405 302", post=("302 404 404 302 302", "404 404 404 302 302"))),
    ("commissioning:decision-create", R("contract", get=("200 404 404 200 302", "404 404 404 200 302"), post=("200 404 404 200 302", "404 404 404 200 302"))),
    ("commissioning:decision-register", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("commissioning:decision-register-csv", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("commissioning:pipeline", R(get="200 200 200 200 302", post="405 405 405 405 302")),
    ("commissioning:provider-list", R(get="200 200 200 200 302", post="200 403 403 200 302")),
    ("commissioning:service-list", R(get="200 200 200 200 302", post="200 403 403 200 302")),
    ("bcf-condition-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    ("bcf-metric-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    ("bcf-scheme-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    ("commissioned-service-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    ("contract-decision-detail", R("contract_decision", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contract-decision-list", R(get="200 200 200 200 403")),
    ("contract-decisions", R("contract", post=("400 403 403 400 403", "404 404 404 400 403"))),
    ("contract-detail", R("contract", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("contract-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    ("contract-profile", R("contract", post=("400 403 403 400 403", "404 404 404 400 403"))),
    ("contract-pipeline", R(get="200 200 200 200 403")),
    ("contract-status", R("contract", post=("400 403 403 400 403", "404 404 404 400 403"))),
    ("provider-list", R(get="200 200 200 200 403", post="400 403 403 400 403")),
    # Ledger: imports, mappings and postings. Finance officers write for their own organisation;
    # colleagues of other roles in the organisation may read; writes by them are refused first.
    ("budgets:ledger-import-detail", R("ledger_import", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:ledger-import-errors", R("ledger_import", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:ledger-import-progress", R("ledger_import", get=("200 200 200 200 302", "404 404 404 200 302"), post="405 405 405 405 302")),
    ("budgets:ledger-imports", R(get="200 200 200 200 302", post="404 200 404 200 302")),
    # Preview, then post: the organisation's finance officers (a posted import is not a preview:
    # the page says so). Mapping a pair needs the pair and year in the query: without them, 404.
    ("budgets:ledger-import-post", R("ledger_import", get=NOT_ALLOWED, post=("404 302 404 302 302", "404 404 404 302 302"))),
    ("budgets:ledger-import-check-again", R("ledger_import", get=NOT_ALLOWED, post=("404 302 404 302 302", "404 404 404 302 302"))),
    ("budgets:ledger-import-map", R("ledger_import", get="404 404 404 404 302", post="404 404 404 404 302")),
    # Import profiles: shipped ones and the organisation's own. Pages are the organisation's: an
    # administrator changes another organisation's profile through the API.
    ("budgets:ledger-profiles", R(get="200 200 200 200 302", post="404 200 404 200 302")),
    ("budgets:ledger-profile-new", R(get="404 200 404 200 302", post="404 200 404 200 302")),
    ("budgets:ledger-profile-detail", R("profile", get=("200 200 200 200 302", OWN_404), post=NOT_ALLOWED)),
    ("budgets:ledger-profile-edit", R("profile", get=("404 200 404 404 302", "404 404 404 404 302"), post=("404 200 404 404 302", "404 404 404 404 302"))),
    ("budgets:ledger-profile-export", R("profile", get=("200 200 200 200 302", OWN_404), post=NOT_ALLOWED)),
    ("budgets:ledger-profile-copy", R("profile", get=NOT_ALLOWED, post=("404 302 404 302 302", "404 404 404 302 302"))),
    ("budgets:ledger-profile-delete", R("profile", get=NOT_ALLOWED, post=("404 302 404 302 302", "404 404 404 302 302"))),
    ("budgets:ledger-mapping-delete", R("mapping", get="405 405 405 405 302", post=("404 302 404 302 302", "404 404 404 302 302"))),
    ("budgets:ledger-mappings", R(get="200 200 200 200 302", post="404 200 404 200 302")),
    ("ledger-import-detail", R("ledger_import", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("ledger-import-errors", R("ledger_import", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("ledger-import-list", R(get="200 200 200 200 403", post="403 415 403 415 403")),
    ("ledger-mapping-detail", R("mapping", delete=("403 204 403 204 403", "404 404 404 204 403"), get=("200 200 200 200 403", "404 404 404 200 403"), patch=("403 400 403 400 403", "404 404 404 400 403"))),
    ("ledger-mapping-list", R(get="200 200 200 200 403", post="403 400 403 400 403")),
    ("ledger-mapping-which", R(get=ALL_200_ANON_403)),
    ("ledger-import-post-previewed", R("ledger_import", post=("403 409 403 409 403", "404 404 404 409 403"))),
    ("ledger-import-check-again", R("ledger_import", post=("403 409 403 409 403", "404 404 404 409 403"))),
    ("import-profile-list", R(get=ALL_200_ANON_403, post="403 400 403 400 403")),
    ("import-profile-detail", R("profile", delete=("403 204 403 204 403", "404 404 404 204 403"), get=("200 200 200 200 403", API_OWN_404), patch=("403 400 403 400 403", "404 404 404 400 403"), put=("403 400 403 400 403", "404 404 404 400 403"))),
    ("import-profile-export", R("profile", get=("200 200 200 200 403", API_OWN_404))),
    ("import-profile-copy", R("profile", post=("403 409 403 201 403", "404 404 404 201 403"))),
    ("import-profile-import-json", R(post="403 400 403 400 403")),
    ("spend-posting-detail", R("posting", get=("200 200 200 200 403", "404 404 404 200 403"))),
    ("spend-posting-list", R(get="200 200 200 200 403", post="403 400 403 400 403")),
    ("spend-posting-reverse", R("posting", post=("403 400 403 400 403", "404 404 404 400 403"))),
]
# fmt: on


def build_table(rows: list[tuple[str, Row]]) -> dict[str, Row]:
    table: dict[str, Row] = {}
    duplicates = [name for i, (name, _) in enumerate(rows) if name in dict(rows[:i])]
    assert not duplicates, f"duplicate rows in the permission matrix: {duplicates}"
    for name, row in rows:
        table[name] = row
    return table


# ---- walking the URLs -------------------------------------------------------------------------


@dataclass
class UrlUnderTest:
    name: str
    route: str
    args: list[str]
    methods: list[str]


def _methods_of(pattern: URLPattern) -> list[str]:
    view = pattern.callback
    actions = getattr(view, "actions", None)
    if actions:  # DRF viewset route
        return sorted(m.upper() for m in actions if m not in {"head", "options"})
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is not None:
        names = [m for m in cls.http_method_names if m not in {"head", "options", "trace"}]
        return sorted(m.upper() for m in names if hasattr(cls, m))
    return ["GET", "POST"]  # function views: both are tried, the table says which answer 405


def urls_under_test() -> list[UrlUnderTest]:
    found: dict[str, UrlUnderTest] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                ns = ":".join(p for p in (namespace, entry.namespace or "") if p)
                walk(entry, prefix + str(entry.pattern), ns)
                continue
            groups = list(entry.pattern.regex.groupindex)
            if "format" in groups:  # DRF format-suffix twin of the route above it
                continue
            name = f"{namespace}:{entry.name}" if namespace else (entry.name or "")
            if not entry.name:
                name = f"<unnamed {prefix}{entry.pattern}>"
            if name in found:  # e.g. each app's router adds an api-root; the first one answers
                continue
            found[name] = UrlUnderTest(
                name, prefix + str(entry.pattern), groups, _methods_of(entry)
            )

    walk(get_resolver(), "", "")
    return sorted(found.values(), key=lambda u: u.name)


# ---- the world: one organisation's people and objects, and another organisation's ------------


@dataclass
class World:
    users: dict[str, Any]
    objects: dict[str, tuple[Any, Any]]


def _build_world() -> World:
    from boards.models import Board, Decision, GiftHospitality, Membership
    from budgets.models import (
        BudgetAdjustment,
        ExportJob,
        Forecast,
        Period,
        RiskShareAgreement,
        Virement,
    )
    from localities.models import Organisation
    from tests.boards.factories import (
        ActionItemFactory,
        AgendaItemFactory,
        BoardFactory,
        InterestFactory,
        MeetingFactory,
    )
    from tests.budgets.factories import (
        BudgetLineFactory,
        ContributionFactory,
        FundBudgetFactory,
        PooledFundFactory,
        ServiceAreaFactory,
        make_year,
        profile_spec,
    )
    from tests.factories import LocalityFactory, OrganisationFactory, UserFactory

    year = make_year("2016/17")
    make_year("2015/16")
    period = Period.objects.get(year=year, number=6)
    own_org = OrganisationFactory(code="MXOWN", name="Own Council", kind=Organisation.Kind.COUNCIL)
    foreign_org = OrganisationFactory(
        code="MXFOREIGN", name="Foreign Council", kind=Organisation.Kind.COUNCIL
    )
    admin_org = OrganisationFactory(
        code="MXGMCA", name="Combined Authority", kind=Organisation.Kind.COMBINED_AUTHORITY
    )
    users = {
        "commissioner": UserFactory(
            username="mx-comm", roles=[roles.COMMISSIONER], organisation=own_org
        ),
        "finance_officer": UserFactory(
            username="mx-fin", roles=[roles.FINANCE_OFFICER], organisation=own_org
        ),
        "board_member": UserFactory(
            username="mx-board", roles=[roles.BOARD_MEMBER], organisation=own_org
        ),
        "administrator": UserFactory(
            username="mx-admin",
            roles=[roles.ADMINISTRATOR],
            organisation=admin_org,
            is_staff=True,
            is_superuser=True,
        ),
    }
    foreign_person = UserFactory(
        username="mx-foreign", roles=[roles.BOARD_MEMBER], organisation=foreign_org
    )
    area = ServiceAreaFactory(code="MX.AREA", name="Matrix area")
    objects: dict[str, list[Any]] = {}

    def add(kind: str, obj: Any) -> None:
        objects.setdefault(kind, []).append(obj)

    for side, org, person in (
        ("own", own_org, users["board_member"]),
        ("foreign", foreign_org, foreign_person),
    ):
        locality = LocalityFactory(gss_code=f"E0899{'0001' if side == 'own' else '0002'}")
        add("locality", locality)
        add("organisation", org)
        fund = PooledFundFactory(code=f"MX-{side.upper()}", host=org, locality=locality)
        add("fund", fund)
        ContributionFactory(fund=fund, year=year, partner=org, amount=Decimal("1000000.00"))
        add("contribution", fund.contributions.get())
        FundBudgetFactory(fund=fund, year=year)
        line_a = BudgetLineFactory(
            fund=fund,
            year=year,
            code=f"{side}-A",
            service_area=area,
            lead_commissioner=org,
            original_budget=Decimal("120000.00"),
        )
        line_b = BudgetLineFactory(
            fund=fund,
            year=year,
            code=f"{side}-B",
            service_area=area,
            lead_commissioner=org,
            original_budget=Decimal("60000.00"),
        )
        add("line", line_a)
        add("risk_share", RiskShareAgreement.objects.create(fund=fund, year=year, rule="pro_rata"))
        add(
            "virement",
            Virement.objects.create(
                fund=fund,
                from_line=line_a,
                to_line=line_b,
                period=period,
                amount=Decimal("1000.00"),
                reason="matrix",
                requested_by=users["commissioner"] if side == "own" else foreign_person,
            ),
        )
        add(
            "adjustment",
            BudgetAdjustment.objects.create(
                line=line_a,
                period=period,
                amount=Decimal("10.00"),
                reason="matrix",
                created_by=users["finance_officer"] if side == "own" else foreign_person,
            ),
        )
        add(
            "forecast",
            Forecast.objects.create(line=line_a, period=period, amount=Decimal("120000.00")),
        )
        add(
            "export",
            ExportJob.objects.create(
                kind=ExportJob.Kind.VARIANCE,
                format="csv",
                source=ExportJob.Source.PERIOD_CLOSE,
                fund=fund,
                period=period,
            ),
        )
        board = BoardFactory(code=f"MX-{side.upper()}", locality=locality)
        board.funds.add(fund)
        Membership.objects.create(
            board=board, person=person, organisation=org, role="member", voting=True
        )
        add("board", board)
        meeting = MeetingFactory(board=board)
        add("meeting", meeting)
        item = AgendaItemFactory(meeting=meeting)
        add("agenda_item", item)
        add("action", ActionItemFactory(meeting=meeting, owner=person))
        add(
            "decision",
            Decision.objects.create(
                reference=f"MX/{side}/1",
                board=board,
                year=2016,
                sequence=1,
                meeting=meeting,
                item=item,
                text="Agreed",
                outcome="noted",
                recorded_by=person,
            ),
        )
        add("interest", InterestFactory(person=person, related_organisation=foreign_org))
        add(
            "gift",
            GiftHospitality.objects.create(
                person=person,
                kind="gift",
                description="Pen",
                offered_by="Supplier Ltd",
                value=Decimal("5.00"),
                offered_on=dt.date(2016, 6, 1),
                outcome="accept",
                recorded_by=person,
            ),
        )
        from boards.models import BoardPack
        from budgets.models import ImportProfile, LedgerImport, LedgerMapping
        from tests.budgets.factories import make_posting

        add(
            "posting",
            make_posting(organisation=org, line=line_a, document=f"MX-{side}", amount="10.00"),
        )
        add(
            "ledger_import",
            LedgerImport.objects.create(
                organisation=org,
                uploaded_by=users["finance_officer"] if side == "own" else foreign_person,
                original_name="ledger.csv",
                status="posted",
            ),
        )
        add(
            "profile",
            ImportProfile.objects.create(
                organisation=org,
                name=f"mx-{side}",
                spec=profile_spec(f"mx-{side}"),
            ),
        )
        add(
            "mapping",
            LedgerMapping.objects.create(
                organisation=org,
                year=year,
                cost_centre=f"CC-{side}",
                expense_code="E1",
                budget_line=line_a,
            ),
        )
        from budgets.models import Contribution, ContributionReceipt, SavingsScheme

        add(
            "receipt",
            ContributionReceipt.objects.create(
                contribution=Contribution.objects.get(fund=fund, year=year),
                received_on=dt.date(2016, 4, 1),
                amount=Decimal("1000.00"),
                reference=f"MX-{side}",
                recorded_by=users["finance_officer"] if side == "own" else foreign_person,
            ),
        )
        add(
            "savings_scheme",
            SavingsScheme.objects.create(
                fund=fund,
                year=year,
                code=f"MX-S-{side}",
                name="Matrix saving",
                lead_commissioner=org,
                created_by=users["commissioner"] if side == "own" else foreign_person,
            ),
        )
        pack = BoardPack.objects.create(
            meeting=meeting,
            version=1,
            requested_by=person,
            status="ready",
            finished_at=timezone.now(),
            pages=1,
            public_pages=1,
        )
        pdf = b"%PDF-1.4\n% matrix pack\n%%EOF\n"
        pack.file.save(f"matrix-{side}.pdf", ContentFile(pdf), save=False)
        pack.public_file.save(f"matrix-{side}-public.pdf", ContentFile(pdf), save=True)
        add("pack", pack)
        _commissioning_objects(add, side, org, fund, year, line_a, locality, users, person)
    del Board  # imported for its side effects on the app registry only
    return World(users=users, objects={k: (v[0], v[1]) for k, v in objects.items()})


def _commissioning_objects(
    add: Callable[[str, Any], None],
    side: str,
    org: Any,
    fund: Any,
    year: Any,
    line: Any,
    locality: Any,
    users: dict[str, Any],
    person: Any,
) -> None:
    """A contract (with a decision) on the fund's line, and a BCF pool, for each side."""
    from commissioning.models import Contract, ContractDecision, Provider, Service
    from tests.budgets.factories import ContributionFactory, FundBudgetFactory, PooledFundFactory

    provider = Provider.objects.create(name=f"MX provider {side}", kind="independent")
    service = Service.objects.create(
        name=f"MX service {side}",
        service_area=line.service_area,
        locality=locality,
        care_setting="community",
        commissioner=org,
    )
    contract = Contract.objects.create(
        reference=f"MX-C-{side}",
        title="Matrix contract",
        fund=fund,
        year=year,
        service=service,
        provider=provider,
        commissioner=org,
        value=Decimal("12000.00"),
        start_date=dt.date(2016, 4, 1),
        end_date=dt.date(2017, 3, 31),
    )
    add("contract", contract)
    decision = ContractDecision.objects.create(
        contract=contract,
        fund=fund,
        kind="award",
        value=Decimal("12000.00"),
        summary="Matrix award",
        participants="Matrix person",
        route="officer",
        status="approved",
        recorded_by=users["commissioner"] if side == "own" else person,
    )
    add("contract_decision", decision)
    bcf = PooledFundFactory(code=f"MXBCF-{side.upper()}", host=org, locality=locality, is_bcf=True)
    ContributionFactory(fund=bcf, year=year, partner=org, amount=Decimal("500000.00"))
    FundBudgetFactory(fund=bcf, year=year)
    add("bcf_fund", bcf)


def _kwargs(url: UrlUnderTest, row: Row, world: World, side: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(row.kwargs)
    if row.obj is None:
        return kwargs
    if row.obj == "missing":
        obj = None
    else:
        own, foreign = world.objects[row.obj]
        obj = own if side == "own" else foreign
    for arg in url.args:
        if arg in kwargs:
            continue
        if arg == "code":
            kwargs[arg] = obj.code if obj is not None else "NO-SUCH-CODE"
        else:
            kwargs[arg] = obj.pk if obj is not None else MISSING_PK
    return kwargs


def _path(url: UrlUnderTest, kwargs: dict[str, Any]) -> str:
    return reverse(url.name, kwargs=kwargs or None)


def _send(client: Client, method: str, path: str, is_api: bool) -> int:
    call: Callable[..., Any] = getattr(client, method.lower())
    # A request may sign the client out (logout) or in; the session row's deletion is rolled
    # back with the savepoint, so putting the cookie back restores the signed-in user.
    saved = {k: v.value for k, v in client.cookies.items()}
    with transaction.atomic():
        if method == "GET":
            response = call(path)
        elif is_api or method in {"PUT", "PATCH", "DELETE"}:
            response = call(path, data="{}", content_type="application/json")
        else:
            response = call(path, data={})
        transaction.set_rollback(True)
    for key in list(client.cookies):
        if key not in saved:
            del client.cookies[key]
    for key, value in saved.items():
        client.cookies[key] = value
    return response.status_code


def _expected(spec: str | tuple[str, str], side: str) -> list[int]:
    text = spec if isinstance(spec, str) else (spec[0] if side == "own" else spec[1])
    values = [int(v) for v in text.split()]
    assert len(values) == len(ROLE_ORDER), f"{spec!r} needs {len(ROLE_ORDER)} statuses"
    return values


def _check_invariants(
    url: UrlUnderTest, method: str, side: str, role: str, status: int
) -> str | None:
    where = f"{method} {url.name} ({side}) as {role}: {status}"
    if status >= 500:
        return f"server error: {where}"
    if role == "anonymous" and url.name not in PUBLIC and 200 <= status < 300:
        return f"anonymous access: {where}"
    if side == "foreign" and role not in {"administrator", "anonymous"} and 200 <= status < 300:
        return f"another organisation's object answered: {where}"
    return None


# ---- the tests --------------------------------------------------------------------------------


TABLE = build_table(ROWS)


def test_table_has_no_duplicates():
    names = [name for name, _ in ROWS]
    assert len(names) == len(set(names))


def test_every_url_is_in_the_table():
    names = {u.name for u in urls_under_test()}
    missing = sorted(names - set(TABLE))
    stale = sorted(set(TABLE) - names)
    assert not missing, (
        "URLs missing from the permission matrix (add a row each):\n  " + "\n  ".join(missing)
    )
    assert not stale, "rows for URLs that no longer exist:\n  " + "\n  ".join(stale)


def test_every_row_lists_exactly_the_methods_the_view_accepts():
    problems = []
    for url in urls_under_test():
        row = TABLE.get(url.name)
        if row is None:
            continue
        if set(row.methods) != set(url.methods):
            problems.append(
                f"{url.name}: view accepts {url.methods}, table has {sorted(row.methods)}"
            )
        if url.args and row.obj is None and not set(url.args) <= set(row.kwargs):
            problems.append(f"{url.name}: takes {url.args} but the row names no object")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_permission_matrix():
    world = _build_world()
    from gmhsc.tasks import heartbeat

    heartbeat()  # /health/ answers 200 only while a worker is alive (with a real broker)
    clients: dict[str, Client] = {}
    for role in ROLE_ORDER:
        client = Client(raise_request_exception=False)  # a 500 is recorded, not raised
        if role != "anonymous":
            client.force_login(world.users[role])
        clients[role] = client

    observe = bool(os.environ.get("MATRIX_OBSERVE"))
    mismatches: list[str] = []
    violations: list[str] = []
    observed_rows: list[str] = []
    requests = 0
    for url in urls_under_test():
        row = TABLE.get(url.name)
        if row is None and not observe:
            continue
        row = row or Row(obj=_guess_obj(url), methods={})
        is_api = url.route.startswith("api/")
        two_sided = row.obj not in {None, "missing", *REFERENCE_KINDS}
        sides = ("own", "foreign") if two_sided else ("own",)
        observed: dict[str, dict[str, list[int]]] = {}
        for method in url.methods:
            for side in sides:
                path = _path(url, _kwargs(url, row, world, side))
                statuses = []
                for role in ROLE_ORDER:
                    status = _send(clients[role], method, path, is_api)
                    requests += 1
                    statuses.append(status)
                    problem = _check_invariants(url, method, side, role, status)
                    if problem:
                        violations.append(problem)
                observed.setdefault(method, {})[side] = statuses
                if method in row.methods:
                    expected = _expected(row.methods[method], side)
                    if statuses != expected:
                        mismatches.append(
                            f"{method} {url.name} [{side}] {path}: expected "
                            f"{' '.join(map(str, expected))}, got {' '.join(map(str, statuses))}"
                        )
        observed_rows.append(_format_row(url, row, observed))

    if observe:
        with open("/tmp/gmhsc-matrix-observed.py", "w") as out:
            out.write("\n".join(observed_rows) + "\n")
    print(f"permission matrix: {len(TABLE)} URL names, {requests} requests")
    assert not violations, "permission invariants broken:\n  " + "\n  ".join(violations)
    assert not mismatches, (
        f"{len(mismatches)} answers differ from the table (roles: {' '.join(ROLE_ORDER)}):\n  "
        + "\n  ".join(mismatches)
    )


# Observe mode only: which object kind a new URL's arguments probably refer to (first match wins).
GUESSES = [
    ("savings-scheme", "savings_scheme"),
    ("contribution-receipt", "receipt"),
    ("export", "export"),
    ("variance", "fund"),
    ("spend-posting", "posting"),
    ("posting-reverse", "posting"),
    ("ledger-import", "ledger_import"),
    ("ledger-profile", "profile"),
    ("import-profile", "profile"),
    ("ledger-mapping", "mapping"),
    ("mapping", "mapping"),
    ("board-decision", "decision"),
    ("board-gift", "gift"),
    ("board-interest", "interest"),
    ("board-meeting", "meeting"),
    ("meeting-create", "board"),
    ("action-add", "meeting"),
    ("action-update", "action"),
    ("item-paper", "agenda_item"),
    ("pack-build", "meeting"),
    ("pack", "pack"),
    ("meeting", "meeting"),
    ("decision-add", "meeting"),
    ("declaration-add", "meeting"),
    ("item-add", "meeting"),
    ("board", "board"),
    ("chart", "board"),
    ("dashboard", "board"),
    ("register", "board"),
    ("adjustment", "adjustment"),
    ("line-table", "fund"),
    ("line", "line"),
    ("virement-request", "fund"),
    ("fund-virements", "fund"),
    ("virement", "virement"),
    ("contribution", "contribution"),
    ("forecast", "forecast"),
    ("risk-share", "risk_share"),
    ("budget-", "fund"),
    ("fund", "fund"),
    ("month-close", "fund"),
    ("locality", "locality"),
    ("organisation", "organisation"),
]


def _guess_obj(url: UrlUnderTest) -> str | None:
    if not url.args:
        return None
    short = url.name.split(":")[-1]
    return next((kind for needle, kind in GUESSES if needle in short), "missing")


def _format_row(url: UrlUnderTest, row: Row, observed: dict[str, dict[str, list[int]]]) -> str:
    parts = [repr(row.obj)] if row.obj else []
    if row.kwargs:
        parts.append(f"kwargs={row.kwargs!r}")
    for method, by_side in observed.items():
        own = " ".join(map(str, by_side["own"]))
        if "foreign" in by_side:
            foreign = " ".join(map(str, by_side["foreign"]))
            value = repr(own) if own == foreign else f"({own!r}, {foreign!r})"
        else:
            value = repr(own)
        parts.append(f"{method.lower()}={value}")
    return f"    ({url.name!r}, R({', '.join(parts)})),"


# ---- admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_urls_are_for_administrators_only(make_user):
    """Every admin URL without arguments: administrators get the page, everyone else is sent to
    the admin sign-in; URLs with arguments are refused before any object is looked up."""
    from django.contrib import admin

    users = {
        "commissioner": make_user(roles.COMMISSIONER),
        "finance_officer": make_user(roles.FINANCE_OFFICER),
        "board_member": make_user(roles.BOARD_MEMBER, is_staff=True),
        "administrator": make_user(roles.ADMINISTRATOR, is_staff=True, is_superuser=True),
        "anonymous": None,
    }
    patterns: list[tuple[str, list[str]]] = []

    def walk(resolver: URLResolver, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, ":".join(p for p in (namespace, entry.namespace or "") if p))
            elif entry.name:
                patterns.append((f"{namespace}:{entry.name}", list(entry.pattern.regex.groupindex)))

    walk(URLResolver(r"^admin/", admin.site.urls[0]), "admin")
    assert len(patterns) > 40
    problems = []
    for name, args in patterns:
        if name in {"admin:login", "admin:logout", "admin:jsi18n", "admin:view_on_site"}:
            continue
        kwargs = dict.fromkeys(args, "1")
        if "app_label" in kwargs:
            kwargs["app_label"] = "localities"
        try:
            path = reverse(name, kwargs=kwargs or None)
        except Exception:  # noqa: S112 - an admin route whose arguments are not numeric
            continue
        for role, user in users.items():
            client = Client()
            if user is not None:
                client.force_login(user)
            response = client.get(path)
            status = response.status_code
            to_login = status == 302 and response["Location"].startswith("/admin/login/")
            # Pages the admin refuses by design (axes' read-only logs, autocomplete without
            # its parameters) answer 403; no page sends an administrator to sign in.
            ok = (status < 500 and not to_login) if role == "administrator" else to_login
            if not ok:
                problems.append(f"{name} ({path}) as {role}: {status}")
    assert not problems, "\n".join(problems)
