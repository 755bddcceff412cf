"""Budget lines: create and edit draft lines, re-phase them; optimistic locking on every write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone

from budgets import rules
from budgets.models import (
    BudgetLine,
    Contribution,
    FinancialYear,
    PooledFund,
    ServiceArea,
    SpendPosting,
)
from budgets.models.fields import MoneySum
from budgets.models.lines import MONTH_FIELDS
from budgets.outbox import mark_stale
from budgets.planning import phasing
from budgets.planning.services.funds import budget_status, require_draft, require_view
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, StaleVersion
from gmhsc.money import ZERO, MoneyError, split_largest_remainder, to_money
from localities.actors import Actor
from localities.models import Locality, Organisation

DESCRIPTIVE_FIELDS = ("name", "locality", "recurrent")
EDITABLE_FIELDS = (
    "code",
    "name",
    "service_area",
    "locality",
    "lead_commissioner",
    "recurrent",
    "annual_budget",
    "phasing_method",
    "custom",
)


# ---- reading ----------------------------------------------------------------------------------------


def line_values(line: BudgetLine) -> dict[str, Any]:
    """The line as a user sees it: sent back with a conflict so nothing has to be re-read."""
    return {
        "id": line.pk,
        "code": line.code,
        "name": line.name,
        "service_area": line.service_area.code if line.service_area else None,
        "locality": line.locality.gss_code if line.locality else None,
        "lead_commissioner": line.lead_commissioner.code if line.lead_commissioner else None,
        "recurrent": line.recurrent,
        "original_budget": str(line.original_budget),
        "changes": str(line.changes),
        "current_budget": str(line.current_budget),
        "phasing_method": line.phasing_method,
        "phasing": [str(v) for v in line.phasing],
        "version": line.version,
    }


def changed_at_text(when: Any) -> str:
    local = timezone.localtime(when)
    return f"{local:%H:%M} on {local.day} {formats.date_format(local, 'F Y')}"


def stale_version(line: BudgetLine) -> StaleVersion:
    who = (
        line.updated_by.get_full_name() or line.updated_by.username
        if line.updated_by
        else "someone"
    )
    return StaleVersion(
        f"This line was changed by {who} at {changed_at_text(line.updated_at)}. "
        "Nothing was saved; the current values are shown.",
        extra={"current": line_values(line), "version": line.version},
    )


def last_year_pattern(
    line_or_fund: BudgetLine | PooledFund,
    year: FinancialYear | None = None,
    code: str | None = None,
) -> list[Decimal] | None:
    """Last year's posted spend per month (M1..M12) for the same line code in the same fund."""
    if isinstance(line_or_fund, BudgetLine):
        fund, year, code = line_or_fund.fund, line_or_fund.year, line_or_fund.code
    else:
        fund = line_or_fund
    if year is None or code is None:
        raise ValueError("last_year_pattern(fund, year, code) needs the year and the line code")
    previous = FinancialYear.objects.filter(code=year.previous_code).first()
    if previous is None:
        return None
    rows = (
        SpendPosting.objects.filter(
            fund=fund, budget_line__year=previous, budget_line__code=code, period__number__lte=12
        )
        .order_by()
        .values("period__number")
        .annotate(total=MoneySum("amount"))
    )
    months = [ZERO] * 12
    for row in rows:
        months[row["period__number"] - 1] = row["total"] or ZERO
    return months if any(months) else None


def year_patterns(
    fund: PooledFund, year: FinancialYear, *, method: str | None = None
) -> dict[int, list[Decimal]]:
    """Each line's posted spend per month (M1..M12) in `year`, for every line of the fund that had
    spend (only lines phased by `method`, if given): what `last_year_pattern` gives the next
    year's line with the same code, in one query."""
    postings = SpendPosting.objects.filter(fund=fund, period__year=year, period__number__lte=12)
    if method is not None:
        postings = postings.filter(budget_line__phasing_method=method)
    rows = (
        postings.order_by()
        .values_list("budget_line_id", "period__number")
        .annotate(total=MoneySum("amount"))
    )
    patterns: dict[int, list[Decimal]] = {}
    for line_id, number, total in rows:
        patterns.setdefault(line_id, [ZERO] * 12)[number - 1] = total or ZERO
    return {k: v for k, v in patterns.items() if any(v)}


def _phase(
    amount: Decimal,
    method: str,
    *,
    custom: list[Any] | None,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
) -> phasing.Phased:
    last_year = None
    if method == phasing.LAST_YEAR:
        last_year = last_year_pattern(fund, year, code)
    return phasing.phase_explained(amount, method, custom=custom, last_year=last_year)


def _apply_phasing(line: BudgetLine, parts: list[Decimal]) -> None:
    for field, value in zip(MONTH_FIELDS, parts, strict=True):
        setattr(line, field, value)


def _money(value: Any, label: str) -> Decimal:
    try:
        return to_money(value)
    except MoneyError as exc:
        raise ApplicationError(f"{label} {exc}.", extra={"field": "annual_budget"}) from None


def _require_editor(actor: Actor, line: BudgetLine) -> None:
    require_view(actor, line.fund)
    if not rules.can_edit_line(actor, line):
        raise NotAllowed(
            f"Only a commissioner of {line.lead_commissioner} can edit line {line.code}."
        )


# ---- writing ----------------------------------------------------------------------------------------


def _create(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
    name: str,
    service_area: ServiceArea,
    lead_commissioner: Organisation,
    locality: Locality | None,
    recurrent: bool,
    annual_budget: Any,
    phasing_method: str,
    custom: list[Any] | None,
    reason: str,
) -> tuple[BudgetLine, str]:
    amount = _money(annual_budget, "The annual budget")
    if not code.strip() or not name.strip():
        raise ApplicationError("A line needs a code and a name.")
    if BudgetLine.objects.filter(fund=fund, year=year, code=code).exists():
        raise ApplicationError(
            f"{fund.code} already has a line {code} for {year.code}.", extra={"field": "code"}
        )
    phased = _phase(amount, phasing_method, custom=custom, fund=fund, year=year, code=code)
    line = BudgetLine(
        fund=fund,
        year=year,
        code=code.strip(),
        name=name.strip(),
        service_area=service_area,
        lead_commissioner=lead_commissioner,
        locality=locality,
        recurrent=recurrent,
        original_budget=amount,
        changes=ZERO,
        current_budget=amount,
        phasing_method=phased.method,
        updated_by=actor,
    )
    _apply_phasing(line, phased.parts)
    why = "; ".join(p for p in (reason or "Line created", phased.note) if p)
    audit(line, actor=actor, reason=why)
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        if not BudgetLine.objects.filter(fund=fund, year=year, code=line.code).exists():
            raise
        # Someone created the same code a moment ago (the unique constraint caught it).
        raise ApplicationError(
            f"{fund.code} already has a line {code} for {year.code}.", extra={"field": "code"}
        ) from None
    return line, phased.note


def line_create(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
    name: str,
    service_area: ServiceArea,
    lead_commissioner: Organisation,
    locality: Locality | None = None,
    recurrent: bool = True,
    annual_budget: Decimal,
    phasing_method: str = "flat",
    custom: list[Decimal] | None = None,
    reason: str = "",
) -> BudgetLine:
    """A new line in a draft budget, created by a commissioner of the lead organisation."""
    probe = BudgetLine(fund=fund, year=year, lead_commissioner=lead_commissioner)
    _require_editor(actor, probe)
    with transaction.atomic():
        require_draft(fund, year)
        line, _ = _create(
            actor=actor,
            fund=fund,
            year=year,
            code=code,
            name=name,
            service_area=service_area,
            lead_commissioner=lead_commissioner,
            locality=locality,
            recurrent=recurrent,
            annual_budget=annual_budget,
            phasing_method=phasing_method,
            custom=custom,
            reason=reason,
        )
        mark_stale(fund_id=fund.pk, year_id=year.pk, line_ids=[line.pk], reason="line created")
    return line


def claim_version(line: BudgetLine, expected_version: int) -> BudgetLine:
    """Take the next version with a conditional UPDATE so two concurrent saves cannot both win.

    Returns the locked, fresh row; raises StaleVersion with the current values when someone else
    saved first.
    """
    claimed = BudgetLine.objects.filter(pk=line.pk, version=expected_version).update(
        version=F("version") + 1
    )
    fresh = BudgetLine.objects.select_related(
        "fund", "year", "service_area", "locality", "lead_commissioner", "updated_by"
    ).get(pk=line.pk)
    if not claimed:
        raise stale_version(fresh)
    return fresh


def _lookup_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    resolved = dict(changes)
    lookups = {
        "service_area": (ServiceArea, "code"),
        "locality": (Locality, "gss_code"),
        "lead_commissioner": (Organisation, "code"),
    }
    for field, (model, key) in lookups.items():
        value = resolved.get(field)
        if field in resolved and value in ("", None):
            if field != "locality":
                raise ApplicationError(
                    f"Choose a {field.replace('_', ' ')}.", extra={"field": field}
                )
            resolved[field] = None
            continue
        if isinstance(value, str):
            obj = model.objects.filter(**{key: value}).first()  # type: ignore[attr-defined]
            if obj is None:
                raise ApplicationError(
                    f"Unknown {field.replace('_', ' ')} '{value}'.", extra={"field": field}
                )
            resolved[field] = obj
    return resolved


def line_update(
    *, actor: Actor, line: BudgetLine, expected_version: int, reason: str, **changes: Any
) -> BudgetLine:
    """Edit a line. Draft year: any field, the annual budget and its phasing. Approved year: only
    the name, locality and recurrent flag (money moves by adjustment or virement)."""
    _require_editor(actor, line)
    changes = _lookup_changes(changes)
    with transaction.atomic():
        fresh = claim_version(line, expected_version)
        if budget_status(fresh.fund, fresh.year) != "draft":
            money_or_owner = set(changes) - set(DESCRIPTIVE_FIELDS)
            if money_or_owner:
                require_draft(fresh.fund, fresh.year)
        new_owner = changes.get("lead_commissioner")
        if new_owner is not None and not organisation_is_partner(new_owner, fresh.fund, fresh.year):
            raise ApplicationError(
                f"{new_owner} is not a partner in {fresh.fund.code}.",
                extra={"field": "lead_commissioner"},
            )
        new_code = changes.get("code")
        if (
            new_code
            and new_code != fresh.code
            and BudgetLine.objects.filter(fund=fresh.fund, year=fresh.year, code=new_code).exists()
        ):
            raise ApplicationError(
                f"{fresh.fund.code} already has a line {new_code}.", extra={"field": "code"}
            )
        for field in ("code", "name", "service_area", "locality", "lead_commissioner", "recurrent"):
            if field in changes:
                setattr(fresh, field, changes[field])
        note = ""
        money_touched = any(k in changes for k in ("annual_budget", "phasing_method", "custom"))
        if money_touched:
            amount = (
                _money(changes["annual_budget"], "The annual budget")
                if "annual_budget" in changes
                else fresh.current_budget
            )
            method = changes.get("phasing_method") or fresh.phasing_method
            custom = changes.get("custom")
            if method == phasing.CUSTOM and custom is None:
                # Keep the shape of the existing custom profile, scaled to the new amount.
                custom = split_largest_remainder(amount, [max(v, ZERO) for v in fresh.phasing])
            phased = _phase(
                amount, method, custom=custom, fund=fresh.fund, year=fresh.year, code=fresh.code
            )
            note = phased.note
            fresh.original_budget = amount
            fresh.changes = ZERO
            fresh.current_budget = amount
            fresh.phasing_method = phased.method
            _apply_phasing(fresh, phased.parts)
        fresh.updated_by = actor
        audit(fresh, actor=actor, reason="; ".join(p for p in (reason, note) if p) or "Line edited")
        fresh.save()
        if money_touched or "lead_commissioner" in changes or "service_area" in changes:
            mark_stale(
                fund_id=fresh.fund_id,
                year_id=fresh.year_id,
                line_ids=[fresh.pk],
                reason="line edited",
            )
    return fresh


def organisation_is_partner(org: Organisation, fund: PooledFund, year: FinancialYear) -> bool:
    return fund.host_id == org.pk or Contribution.objects.filter(fund=fund, partner=org).exists()


def line_rephase(
    *,
    actor: Actor,
    line: BudgetLine,
    expected_version: int,
    method: str,
    custom: list[Any] | None = None,
    reason: str = "",
    set_annual_budget: bool = False,
) -> BudgetLine:
    """Re-spread a draft line's budget by another method. The total does not change: custom
    months that do not add up to the annual budget are refused, unless `set_annual_budget` asks
    for the annual budget to become the months' total (only while the budget is draft)."""
    changes: dict[str, Any] = {"phasing_method": method}
    if custom is not None:
        changes["custom"] = custom
    if set_annual_budget:
        if method != phasing.CUSTOM or custom is None:
            raise ApplicationError(
                "Only twelve months typed by hand can set the annual budget.",
                extra={"field": "set_annual_budget"},
            )
        changes["annual_budget"] = sum(phasing.parse_months(custom), ZERO)
    return line_update(
        actor=actor,
        line=line,
        expected_version=expected_version,
        reason=reason or f"Re-phased: {method}",
        **changes,
    )


def get_line_for(actor: Actor, line_id: int) -> BudgetLine:
    """A line the actor may see, or NotFound."""
    line = (
        BudgetLine.objects.select_related(
            "fund", "year", "service_area", "locality", "lead_commissioner"
        )
        .filter(pk=line_id)
        .first()
    )
    if line is None or not rules.can_view_line(actor, line):
        raise NotFound("Budget line not found.")
    return line


def line_phasing_preview(
    *, line: BudgetLine, method: str, custom: list[Any] | None = None, amount: Any = None
) -> phasing.Phased:
    """What re-spreading would give, without saving (for the re-spread helpers on the line page)."""
    total = line.current_budget if amount in (None, "") else _money(amount, "The annual budget")
    return _phase(total, method, custom=custom, fund=line.fund, year=line.year, code=line.code)
