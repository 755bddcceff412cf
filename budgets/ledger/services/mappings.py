"""Ledger mappings and mapping rules: (organisation, year, cost centre, expense code) -> budget line.

Finance officers keep their own organisation's mappings, so ledger extracts import exactly as they
come out of the partners' systems; administrators may keep anyone's. Each code is exact, a prefix
(`C027*`), a range (`5140-5199`) or any (`*`); the rules themselves (matching, precedence,
ambiguity) are budgets.ledger.mapping_rules. Audited (simple-history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from budgets import rules
from budgets.ledger import mapping_rules
from budgets.ledger.mapping_rules import CodePattern, PatternError, Rule, RuleBook
from budgets.ledger.posting_rules import partner_fund_ids
from budgets.models import BudgetLine, FinancialYear, LedgerMapping
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, save_or_conflict
from localities.actors import Actor
from localities.models import Organisation


def require_mapping_keeper(actor: Actor, organisation: Organisation) -> None:
    if rules.may_post_for(actor, organisation):
        return
    if getattr(actor, "organisation_id", None) != organisation.pk:
        raise NotFound("Organisation not found.")
    raise NotAllowed(
        f"Only a finance officer of {organisation.name} can change its ledger mappings."
    )


def _pattern(value: str, kind: str | None, name: str, label: str) -> CodePattern:
    try:
        return mapping_rules.parse_pattern(value, kind or None, label=label)
    except PatternError as exc:
        raise ApplicationError(exc.text, extra={"field": name}) from None


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


def _codes(mapping: LedgerMapping) -> tuple[str, str, str, str]:
    """What makes a mapping the same rule as another: both codes and how each matches."""
    return (
        mapping.cost_centre_match,
        mapping.cost_centre,
        mapping.expense_code_match,
        mapping.expense_code,
    )


def _refuse_overlap(candidate: LedgerMapping, others: list[LedgerMapping]) -> None:
    """A rule that could match a pair another rule of the same precedence matches is refused."""
    new = mapping_rules.rule_of(candidate)
    clash = mapping_rules.overlapping(new, (mapping_rules.rule_of(m) for m in others))
    if clash is None:
        return
    raise ApplicationError(
        f"This rule ({new.describe()}) overlaps the rule {clash.describe()} (to "
        f"{clash.mapping.budget_line.code}): both are as specific, so a pair matching both would "
        "be ambiguous. Narrow one of them so they do not overlap, or map the codes they share "
        "with a more specific rule.",
        extra={"field": "cost_centre"},
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
    cost_centre_match: str | None = None,
    expense_code_match: str | None = None,
) -> LedgerMapping:
    """Create the mapping (or rule), or point an existing one at another line.

    `cost_centre_match` / `expense_code_match`: exact, prefix, range or any; None reads it from
    the text (`*` any, `C027*` a prefix, `5140-5199` a range, else exact)."""
    require_mapping_keeper(actor, organisation)
    cc = _pattern(cost_centre, cost_centre_match, "cost_centre", "cost centre")
    ec = _pattern(expense_code, expense_code_match, "expense_code", "expense code")
    _check_line(organisation, year, budget_line)
    with transaction.atomic():
        existing = list(
            LedgerMapping.objects.select_for_update()
            .filter(organisation=organisation, year=year)
            .select_related("budget_line")
        )
        wanted = (cc.kind, cc.text, ec.kind, ec.text)
        mapping = next((m for m in existing if _codes(m) == wanted), None)
        if mapping is None:
            mapping = LedgerMapping(
                organisation=organisation,
                year=year,
                cost_centre=cc.text,
                cost_centre_match=cc.kind,
                expense_code=ec.text,
                expense_code_match=ec.kind,
            )
            mapping.budget_line = budget_line
            _refuse_overlap(mapping, existing)
            why = reason or ("Mapping rule created" if mapping.is_rule else "Mapping created")
        elif mapping.budget_line_id == budget_line.pk:
            return mapping
        else:
            why = reason or f"Mapped to {budget_line.code} instead"
        mapping.budget_line = budget_line
        audit(mapping, actor=actor, reason=why)
        save_or_conflict(
            mapping, "That cost centre and expense code were mapped at the same time; try again."
        )
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
        cost_centre_match=mapping.cost_centre_match,
        expense_code_match=mapping.expense_code_match,
        budget_line=budget_line,
        reason=reason,
    )


def mapping_delete(*, actor: Actor, mapping: LedgerMapping, reason: str = "") -> None:
    """Remove a mapping (postings already made keep their line)."""
    require_mapping_keeper(actor, mapping.organisation)
    with transaction.atomic():
        audit(mapping, actor=actor, reason=reason or "Mapping removed")
        mapping.delete()


@dataclass(frozen=True)
class Which:
    """Where a (cost centre, expense code) pair would go, and by which mapping or rule."""

    cost_centre: str
    expense_code: str
    mapping: LedgerMapping | None
    rule: str  # the mapping or rule in words; "" when nothing maps the pair

    @property
    def line(self) -> BudgetLine | None:
        return self.mapping.budget_line if self.mapping is not None else None


def which_line(
    *, organisation: Organisation, year: FinancialYear, cost_centre: str, expense_code: str
) -> Which:
    """Which line this pair would go to in `year`, and by which rule (the same RuleBook both
    import engines ask)."""
    cc, ec = cost_centre.strip(), expense_code.strip()
    book = RuleBook(
        LedgerMapping.objects.filter(organisation=organisation, year=year).select_related(
            "budget_line__fund"
        )
    )
    found = book.which(cc, ec)
    if found is None:
        return Which(cc, ec, None, "")
    if isinstance(found, Rule):
        return Which(cc, ec, found.mapping, f"the rule {found.describe()}")
    return Which(cc, ec, found, f"the exact mapping {found.cost_centre} / {found.expense_code}")


@dataclass
class CopyResult:
    """What copying one year's mappings and rules to another did."""

    copied: list[LedgerMapping] = field(default_factory=list)
    unchanged: list[LedgerMapping] = field(default_factory=list)  # already there, same line
    skipped: list[tuple[LedgerMapping, str]] = field(default_factory=list)  # (source, why)


def mappings_copy_to_year(
    *,
    actor: Actor,
    organisation: Organisation,
    from_year: FinancialYear,
    to_year: FinancialYear,
    reason: str = "",
) -> CopyResult:
    """Copy an organisation's mappings and mapping rules from one year to another (the roll-forward
    of a financial year). Each goes to the line of the same fund and code in `to_year`; one is
    skipped, with the reason, when that year has no such line, when it already maps the same codes
    to another line, or when a rule there would overlap it. All in one transaction, audited."""
    require_mapping_keeper(actor, organisation)
    if from_year.pk == to_year.pk:
        raise ApplicationError("Choose two different years.", extra={"field": "to_year"})
    result = CopyResult()
    why = reason or f"Copied from {from_year.code}"
    with transaction.atomic():
        target = list(
            LedgerMapping.objects.select_for_update()
            .filter(organisation=organisation, year=to_year)
            .select_related("budget_line")
        )
        lines = {
            (line.fund_id, line.code): line
            for line in BudgetLine.objects.filter(
                year=to_year, fund_id__in=partner_fund_ids(organisation)
            ).select_related("fund")
        }
        source = (
            LedgerMapping.objects.filter(organisation=organisation, year=from_year)
            .select_related("budget_line__fund")
            .order_by("cost_centre_match", "cost_centre", "expense_code_match", "expense_code")
        )
        for old in source:
            line = lines.get((old.budget_line.fund_id, old.budget_line.code))
            if line is None:
                result.skipped.append(
                    (
                        old,
                        (
                            f"{to_year.code} has no line {old.budget_line.code} in fund "
                            f"{old.budget_line.fund.code}"
                        ),
                    )
                )
                continue
            same = next((m for m in target if _codes(m) == _codes(old)), None)
            if same is not None:
                if same.budget_line_id == line.pk:
                    result.unchanged.append(same)
                else:
                    result.skipped.append(
                        (old, f"{to_year.code} already maps these codes to {same.budget_line.code}")
                    )
                continue
            new = LedgerMapping(
                organisation=organisation,
                year=to_year,
                cost_centre=old.cost_centre,
                cost_centre_match=old.cost_centre_match,
                expense_code=old.expense_code,
                expense_code_match=old.expense_code_match,
                budget_line=line,
            )
            if new.is_rule:
                clash = mapping_rules.overlapping(
                    mapping_rules.rule_of(new), (mapping_rules.rule_of(m) for m in target)
                )
                if clash is not None:
                    result.skipped.append(
                        (old, f"it would overlap the rule {clash.describe()} in {to_year.code}")
                    )
                    continue
            audit(new, actor=actor, reason=why)
            new.save()
            target.append(new)
            result.copied.append(new)
    return result


def bulk_mappings_create(
    *, organisation: Organisation, year: FinancialYear, rows: list[tuple[str, str, BudgetLine]]
) -> int:
    """Demo and benchmark loader: create missing exact mappings without history (not a user
    change)."""
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
