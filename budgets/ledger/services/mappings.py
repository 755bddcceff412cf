"""Ledger mappings: (organisation, year, cost centre, expense code) -> budget line.

Finance officers keep their own organisation's mappings, so ledger extracts import exactly as they
come out of the partners' systems. Administrators may keep anyone's. Audited (simple-history).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from budgets import rules
from budgets.ledger.services.postings import LIMITS, partner_fund_ids
from budgets.models import BudgetLine, FinancialYear, LedgerMapping
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, Conflict, NotAllowed, NotFound
from localities import roles
from localities.actors import Actor
from localities.models import Organisation


def mappings_visible_to(user: Any) -> QuerySet[LedgerMapping]:
    """Administrators see every mapping; everyone else their own organisation's."""
    qs = LedgerMapping.objects.select_related(
        "organisation", "year", "budget_line", "budget_line__fund"
    )
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(organisation_id=user.organisation_id)


def require_mapping_keeper(actor: Actor, organisation: Organisation) -> None:
    if rules.may_post_for(actor, organisation):
        return
    if getattr(actor, "organisation_id", None) != organisation.pk:
        raise NotFound("Organisation not found.")
    raise NotAllowed(
        f"Only a finance officer of {organisation.name} can change its ledger mappings."
    )


def _code(value: str, name: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ApplicationError(f"Enter the {label}.", extra={"field": name})
    if len(text) > LIMITS[name]:
        raise ApplicationError(
            f"The {label} is longer than {LIMITS[name]} characters.", extra={"field": name}
        )
    return text


def _check_line(organisation: Organisation, year: FinancialYear, line: BudgetLine) -> None:
    if line.year_id != year.pk:
        raise ApplicationError(
            f"Budget line {line.code} is for {line.year.code}, not {year.code}.",
            extra={"field": "budget_line"},
        )
    if line.fund_id not in partner_fund_ids(organisation):
        raise ApplicationError(
            f"Budget line {line.code} is in fund {line.fund.code}, which {organisation.code} "
            "is not a partner of.",
            extra={"field": "budget_line"},
        )


def mapping_set(
    *,
    actor: Actor,
    organisation: Organisation,
    year: FinancialYear,
    cost_centre: str,
    expense_code: str,
    budget_line: BudgetLine,
    reason: str = "",
) -> LedgerMapping:
    """Create the mapping, or point an existing (cost centre, expense code) at another line."""
    require_mapping_keeper(actor, organisation)
    cost_centre = _code(cost_centre, "cost_centre", "cost centre")
    expense_code = _code(expense_code, "expense_code", "expense code")
    _check_line(organisation, year, budget_line)
    with transaction.atomic():
        mapping = (
            LedgerMapping.objects.select_for_update()
            .filter(
                organisation=organisation,
                year=year,
                cost_centre=cost_centre,
                expense_code=expense_code,
            )
            .first()
        )
        if mapping is None:
            mapping = LedgerMapping(
                organisation=organisation,
                year=year,
                cost_centre=cost_centre,
                expense_code=expense_code,
            )
            why = reason or "Mapping created"
        elif mapping.budget_line_id == budget_line.pk:
            return mapping
        else:
            why = reason or f"Mapped to {budget_line.code} instead"
        mapping.budget_line = budget_line
        audit(mapping, actor=actor, reason=why)
        try:
            with transaction.atomic():
                mapping.save()
        except IntegrityError:
            raise Conflict(
                "That cost centre and expense code were mapped at the same time; try again."
            ) from None
    return mapping


def mapping_update(
    *, actor: Actor, mapping: LedgerMapping, budget_line: BudgetLine, reason: str = ""
) -> LedgerMapping:
    return mapping_set(
        actor=actor,
        organisation=mapping.organisation,
        year=mapping.year,
        cost_centre=mapping.cost_centre,
        expense_code=mapping.expense_code,
        budget_line=budget_line,
        reason=reason,
    )


def mapping_delete(*, actor: Actor, mapping: LedgerMapping, reason: str = "") -> None:
    """Remove a mapping (postings already made keep their line)."""
    require_mapping_keeper(actor, mapping.organisation)
    with transaction.atomic():
        audit(mapping, actor=actor, reason=reason or "Mapping removed")
        mapping.delete()


def bulk_mappings_create(
    *, organisation: Organisation, year: FinancialYear, rows: list[tuple[str, str, BudgetLine]]
) -> int:
    """Demo and benchmark loader: create missing mappings without history (not a user change)."""
    existing = set(
        LedgerMapping.objects.filter(organisation=organisation, year=year).values_list(
            "cost_centre", "expense_code"
        )
    )
    new = [
        LedgerMapping(
            organisation=organisation,
            year=year,
            cost_centre=cc,
            expense_code=ec,
            budget_line=line,
        )
        for cc, ec, line in rows
        if (cc, ec) not in existing
    ]
    LedgerMapping.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return len(new)
