"""Ledger reads, and the one home of who may see which imports, postings, mappings and import
profiles. Pages, the API and the services all ask these; each visibility rule is written once, on
top of budgets.selectors (funds) and budgets.rules (roles), and a yes/no question about one object
asks the same queryset as the lists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Q, QuerySet

from budgets import selectors
from budgets.ledger.posting_rules import partner_funds
from budgets.models import BudgetLine, ImportProfile, LedgerImport, LedgerMapping, SpendPosting
from gmhsc.errors import ApplicationError
from localities import roles

RowT = TypeVar("RowT", LedgerImport, LedgerMapping)


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _own_organisation(user: Any, qs: QuerySet[RowT]) -> QuerySet[RowT]:
    """Administrators see every row; everyone else their own organisation's; nobody signed out."""
    if not _signed_in(user):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(organisation_id=user.organisation_id)


def imports_visible_to(user: Any) -> QuerySet[LedgerImport]:
    """Administrators see every import; everyone else their own organisation's."""
    return _own_organisation(
        user, LedgerImport.objects.select_related("organisation", "uploaded_by", "profile")
    )


def postings_visible_to(user: Any) -> QuerySet[SpendPosting]:
    """Postings of the user's own organisation, and postings in funds the user may see."""
    qs = SpendPosting.objects.select_related(
        "organisation", "fund", "period__year", "budget_line"
    ).prefetch_related("reversals")
    if not _signed_in(user):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(
        Q(fund_id__in=selectors.funds_visible_to(user).values("pk"))
        | Q(organisation_id=user.organisation_id)
    )


def posting_visible(user: Any, posting: SpendPosting) -> bool:
    return postings_visible_to(user).filter(pk=posting.pk).exists()


def mappings_visible_to(user: Any) -> QuerySet[LedgerMapping]:
    """Administrators see every mapping; everyone else their own organisation's."""
    return _own_organisation(
        user,
        LedgerMapping.objects.select_related(
            "organisation", "year", "budget_line", "budget_line__fund"
        ),
    )


def profiles_visible_to(user: Any) -> QuerySet[ImportProfile]:
    """The profiles that ship with gmhsc, and the user's own organisation's (administrators:
    every organisation's)."""
    qs = ImportProfile.objects.select_related("organisation")
    if not _signed_in(user):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(Q(organisation__isnull=True) | Q(organisation_id=user.organisation_id))


def mapping_lines(user: Any, organisation: Any, year: Any, search: str = "") -> QuerySet[Any]:
    """Budget lines a mapping of `organisation` may point at in `year`: lines of the funds it
    hosts or contributes to that the user may see, optionally those whose code, name or fund
    code contains `search` (the line chooser)."""
    qs = (
        selectors.lines_visible_to(user)
        .filter(year=year, fund_id__in=partner_funds(organisation).values("pk"))
        .order_by("fund__code", "code")
    )
    words = search.split()
    for word in words:
        qs = qs.filter(
            Q(code__icontains=word) | Q(name__icontains=word) | Q(fund__code__icontains=word)
        )
    return qs


def line_for_mapping(user: Any, organisation: Any, year: Any, pk: Any) -> BudgetLine | None:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return None
    return mapping_lines(user, organisation, year).filter(pk=number).first()


def profile_for(user: Any, organisation: Any, key: Any) -> ImportProfile:
    """The import profile `key` (id or name) that `user` may read a file of `organisation` with:
    the organisation's own, or one shipped with gmhsc (the organisation's own wins a name)."""
    text = str(key).strip()
    qs = profiles_visible_to(user).filter(
        Q(organisation__isnull=True) | Q(organisation_id=getattr(organisation, "pk", None))
    )
    if text.isdigit():
        found = qs.filter(pk=int(text)).first()
    else:
        found = qs.filter(name=text, organisation__isnull=False).first()
        found = found or qs.filter(name=text).first()
    if found is None:
        raise ApplicationError(f"There is no import profile {text}.", extra={"field": "profile"})
    return found
