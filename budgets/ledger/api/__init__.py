"""REST endpoints for spend: postings (single and batch, Idempotency-Key), reversals, ledger
mappings and rules, ledger imports (upload, preview, post, status, errors as CSV) and import
profiles. Thin: parse, find the object through the user's scope (budgets.ledger.selectors; others'
objects answer 404), call one service, serialise."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from budgets.ledger.api.imports import LedgerImportViewSet
from budgets.ledger.api.mappings import LedgerMappingViewSet
from budgets.ledger.api.postings import SpendPostingViewSet
from budgets.ledger.api.profiles import ImportProfileViewSet


def register(router: BaseRouter) -> None:
    router.register("spend-postings", SpendPostingViewSet, basename="spend-posting")
    router.register("ledger-mappings", LedgerMappingViewSet, basename="ledger-mapping")
    router.register("ledger-imports", LedgerImportViewSet, basename="ledger-import")
    router.register("import-profiles", ImportProfileViewSet, basename="import-profile")
