"""Budget setting: next year's draft budget rolled forward from this year's (domain.md 1.3 and 1.6).

The rules:
- a recurrent line carries its recurrent budget: original budget plus recurrent adjustments and
  recurrent virements (in minus out). One-off changes, and non-recurrent lines, drop out and are
  listed;
- an inflation uplift % and an efficiency % apply fund-wide, or per service area where the host sets
  that area's own, each a percentage of the prior recurrent budget:
  new = prior x (1 + uplift% - efficiency%), to the penny (half a penny up). The uplift column is
  prior x uplift% to the penny and the efficiency column takes what is left, so
  prior + uplift - efficiency = new exactly;
- phasing keeps its method: flat and seasonal as they were, custom months scaled in proportion to
  this year's, last year's pattern from this year's actuals;
- each partner's contribution rolls forward with its own uplift (the fund's contribution uplift, or
  the partner's); shares are fixed again once next year's contributions are agreed;
- the year's risk-share agreement carries when next year has none; ledger mappings and mapping
  rules (prefix, range, any) are copied to the new year's lines;
- an organisation that ends before the new year (the 2017 merger of Manchester's three CCGs) passes
  its lines and contribution to the one organisation of its kind that serves its localities from the
  new year's start, and the roll forward says so.

Refused, with the reason and nothing written: into a year that is submitted or approved; into a year
with draft lines unless the user chooses to replace the draft (lines of the same code are rewritten
in place, keeping their ids, mappings and savings schemes; other draft lines are removed, refused if
anything refers to them); rates below -100% or above 1000%; rates that would make a line negative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    BudgetSetting,
    BudgetSettingRate,
    Contribution,
    FinancialYear,
    FundBudget,
    LedgerMapping,
    PooledFund,
    RiskShareAgreement,
    RolledLine,
    ServiceArea,
    Virement,
)
from budgets.models.bulk import columns_of, history_rows, insert_rows
from budgets.models.lines import MONTH_FIELDS
from budgets.outbox import mark_stale
from budgets.planning import phasing
from budgets.planning.services.funds import (
    carried_forward_for,
    require_fund_finance,
    validate_risk_share,
    write_instalments,
)
from budgets.planning.services.lines import year_patterns
from budgets.planning.succession import successor_in
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, Conflict
from gmhsc.money import PENNY, ZERO, MoneyError, round_money, split_largest_remainder, to_money
from gmhsc.text import clean_field
from localities.actors import Actor
from localities.models import Organisation

LOWEST_PCT = Decimal("-100")
HIGHEST_PCT = Decimal("1000")


class RollForwardRefused(Conflict):
    code = "roll_forward_refused"


@dataclass(frozen=True)
class Rates:
    uplift_pct: Decimal = ZERO
    efficiency_pct: Decimal = ZERO


@dataclass(frozen=True)
class Columns:
    """One line's budget-setting columns."""

    prior: Decimal
    uplift: Decimal
    efficiency: Decimal
    new: Decimal


def percent(value: Any, label: str, field_name: str) -> Decimal:
    """A rate in percent: a number with at most 2 decimal places, from -100 to 1000 (blank: 0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ZERO
    if isinstance(value, bool):
        raise ApplicationError(f"{label} is not a number.", extra={"field": field_name})
    try:
        pct = to_money(str(value).strip().removesuffix("%").strip())
    except MoneyError as exc:
        raise ApplicationError(f"{label}: {exc}.", extra={"field": field_name}) from None
    if pct < LOWEST_PCT:
        raise ApplicationError(
            f"{label} is {pct}%: it cannot be below -100%.", extra={"field": field_name}
        )
    if pct > HIGHEST_PCT:
        raise ApplicationError(
            f"{label} is {pct}%: it cannot be above 1000%.", extra={"field": field_name}
        )
    return pct


def columns(prior: Decimal, rates: Rates) -> Columns:
    """new = prior x (1 + uplift% - efficiency%) to the penny; uplift = prior x uplift%;
    efficiency = prior + uplift - new (so the columns always add up)."""
    factor = Decimal(100) + rates.uplift_pct - rates.efficiency_pct
    new = round_money(prior * factor / 100)
    uplift = round_money(prior * rates.uplift_pct / 100)
    return Columns(prior=prior, uplift=uplift, efficiency=prior + uplift - new, new=new)


@dataclass
class RollForwardResult:
    setting: BudgetSetting
    created: int = 0
    rewritten: int = 0
    removed: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prior_total: Decimal = ZERO
    new_total: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        s = self.setting
        return {
            "fund": s.fund_id,
            "year": s.year.code,
            "from_year": s.from_year.code,
            "uplift_pct": str(s.uplift_pct),
            "efficiency_pct": str(s.efficiency_pct),
            "contribution_uplift_pct": str(s.contribution_uplift_pct),
            "service_areas": {
                r.service_area.code: {
                    "uplift_pct": str(r.uplift_pct),
                    "efficiency_pct": str(r.efficiency_pct),
                }
                for r in s.rates.select_related("service_area")
            },
            "lines_carried": s.lines_carried,
            "lines_created": self.created,
            "lines_rewritten": self.rewritten,
            "draft_lines_removed": self.removed,
            "prior_recurrent_total": str(self.prior_total),
            "new_total": str(self.new_total),
            "dropped": self.dropped,
            "contributions": s.contributions,
            "notes": self.notes,
        }


def _recurrent_changes(fund: PooledFund, year: FinancialYear) -> dict[int, Decimal]:
    """Recurrent adjustments plus recurrent applied virements (in minus out), per line."""
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line_id, amount in BudgetAdjustment.objects.filter(
        line__fund=fund, line__year=year, recurrent=True
    ).values_list("line_id", "amount"):
        out[line_id] += amount
    for from_id, to_id, amount in Virement.objects.filter(
        fund=fund, from_line__year=year, status=Virement.Status.APPLIED, recurrent=True
    ).values_list("from_line_id", "to_line_id", "amount"):
        out[from_id] -= amount
        out[to_id] += amount
    return out


def _phasing_for(
    source: BudgetLine, amount: Decimal, actuals: Mapping[int, list[Decimal]]
) -> phasing.Phased:
    method = source.phasing_method
    if method == phasing.CUSTOM:
        weights = [max(m, ZERO) for m in source.phasing]
        if sum(weights) > 0:
            return phasing.Phased(split_largest_remainder(amount, weights), phasing.CUSTOM)
        return phasing.phase_explained(amount, phasing.FLAT)
    if method == phasing.LAST_YEAR:
        return phasing.phase_explained(amount, method, last_year=actuals.get(source.pk))
    return phasing.phase_explained(amount, method)


class _Successors:
    """Successor organisations for the new year, looked up once per organisation."""

    def __init__(self, year: FinancialYear) -> None:
        self.year = year
        self.cache: dict[int, Organisation | None] = {}
        self.orgs: dict[int, Organisation] = {}
        self.notes: dict[int, str] = {}

    def of_id(self, org_id: int) -> Organisation:
        org = self.orgs.get(org_id)
        if org is None:
            org = self.orgs[org_id] = Organisation.objects.get(pk=org_id)
        return self(org)

    def __call__(self, org: Organisation) -> Organisation:
        if org.pk not in self.cache:
            found = successor_in(org, self.year)
            self.cache[org.pk] = found
            ended = (
                f"{org.name} ({org.code}) ended on {org.valid_to:%-d %B %Y}" if org.valid_to else ""
            )
            if found is None:
                self.notes[org.pk] = (
                    f"{ended}: no single organisation replaced it, so it is kept as lead "
                    "commissioner and partner; change its lines and contribution."
                )
            elif found.pk != org.pk:
                self.notes[org.pk] = (
                    f"{ended}: its lines and contribution pass to {found.name} ({found.code})."
                )
        return self.cache[org.pk] or org


def fund_roll_forward(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    from_year: FinancialYear | None = None,
    uplift_pct: Any = None,
    efficiency_pct: Any = None,
    service_areas: Mapping[str, Mapping[str, Any]] | None = None,
    contribution_uplift_pct: Any = None,
    partner_uplifts: Mapping[str, Any] | None = None,
    replace_draft: bool = False,
    reason: str = "",
) -> RollForwardResult:
    """Create (or, with replace_draft, rewrite) `fund`'s draft budget for `year` from `from_year`
    (default: the year before). service_areas: {code: {"uplift_pct", "efficiency_pct"}};
    partner_uplifts: {organisation code: pct}."""
    require_fund_finance(actor, fund, "budget setting")
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    source_year = from_year or FinancialYear.objects.filter(code=year.previous_code).first()
    if source_year is None:
        raise ApplicationError(
            f"There is no {year.previous_code} to roll {fund.code} forward from.",
            extra={"field": "year"},
        )
    if source_year.start_date >= year.start_date:
        raise ApplicationError(
            f"{fund.code} rolls forward into a later year than {source_year.code}, not {year.code}.",
            extra={"field": "year"},
        )
    base = Rates(
        percent(uplift_pct, "The inflation uplift", "uplift_pct"),
        percent(efficiency_pct, "The efficiency", "efficiency_pct"),
    )
    area_rates = _area_rates(service_areas or {})
    contribution_pct = percent(
        contribution_uplift_pct, "The contributions' uplift", "contribution_uplift_pct"
    )
    partner_pcts = {
        str(code): percent(value, f"The contribution uplift for {code}", "partner_uplifts")
        for code, value in (partner_uplifts or {}).items()
    }
    _refuse_negative(base, area_rates)
    now = timezone.now()
    with transaction.atomic():
        if Contribution.objects.filter(
            fund=fund, year=year, shares_fixed_at__isnull=False
        ).exists():
            raise RollForwardRefused(
                f"{fund.code}'s shares for {year.code} are already fixed: its budget is no longer "
                "set by rolling forward, and contributions change only by formal variation."
            )
        budget = FundBudget.objects.select_for_update().filter(
            fund=fund, year=year
        ).first() or FundBudget.objects.create(fund=fund, year=year)
        if budget.status != FundBudget.Status.DRAFT:
            label = FundBudget.Status(budget.status).label.lower()
            raise RollForwardRefused(
                f"The {fund.code} budget for {year.code} is {label}: it cannot be rolled forward "
                "into. Only a draft budget can be set from last year's."
            )
        existing = {
            line.code: line
            for line in BudgetLine.objects.select_for_update().filter(fund=fund, year=year)
        }
        if existing and not replace_draft:
            raise RollForwardRefused(
                f"{fund.code} already has {len(existing):,} draft lines for {year.code}. Choose "
                "'replace the draft' to set them again from last year's budget.",
                extra={"field": "replace_draft"},
            )
        sources = list(BudgetLine.objects.filter(fund=fund, year=source_year).order_by("code"))
        if not sources:
            raise ApplicationError(
                f"{fund.code} has no budget lines in {source_year.code} to roll forward.",
                extra={"field": "year"},
            )
        area_codes = dict(
            ServiceArea.objects.filter(
                pk__in={line.service_area_id for line in sources}
            ).values_list("pk", "code")
        )
        unknown = set(area_rates) - set(area_codes.values())
        if unknown:
            raise ApplicationError(
                f"{fund.code} has no {source_year.code} lines in service area "
                f"{', '.join(sorted(unknown))}.",
                extra={"field": "service_areas"},
            )
        successors = _Successors(year)
        result = _write_lines(
            actor=actor,
            fund=fund,
            year=year,
            source_year=source_year,
            sources=sources,
            existing=existing,
            base=base,
            area_rates=area_rates,
            area_codes=area_codes,
            successors=successors,
            now=now,
        )
        setting = _write_setting(
            actor=actor,
            fund=fund,
            year=year,
            source_year=source_year,
            base=base,
            area_rates=area_rates,
            contribution_pct=contribution_pct,
            partner_pcts=partner_pcts,
            reason=reason,
            now=now,
        )
        RolledLine.objects.filter(line__fund=fund, line__year=year).delete()
        insert_rows(
            RolledLine,
            columns_of(RolledLine),
            ({"setting_id": setting.pk, **row} for row in result.pop("rolled")),
        )
        contributions = _roll_contributions(
            actor, fund, year, source_year, contribution_pct, partner_pcts, successors
        )
        notes = list(dict.fromkeys(successors.notes.values()))
        notes.extend(_carry_agreement(actor, fund, year, source_year, successors))
        copied = copy_ledger_mappings(actor, fund, source_year, year, result["line_map"])
        notes.append(f"{copied:,} ledger mappings and mapping rules copied to {year.code}.")
        setting.dropped = result["dropped"]
        setting.notes = notes
        setting.contributions = contributions
        setting.lines_carried = len(result["line_map"])
        audit(setting, actor=actor, reason=_audit_reason(reason, source_year))
        setting.save()
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="budget rolled forward")
    return RollForwardResult(
        setting=setting,
        created=result["created"],
        rewritten=result["rewritten"],
        removed=result["removed"],
        dropped=result["dropped"],
        notes=notes,
        prior_total=result["prior_total"],
        new_total=result["new_total"],
    )


def _audit_reason(reason: str, source_year: FinancialYear) -> str:
    return reason or f"Budget rolled forward from {source_year.code}"


def _area_rates(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Rates]:
    out: dict[str, Rates] = {}
    for code, rates in values.items():
        if not isinstance(rates, Mapping):
            raise ApplicationError(
                f"Service area {code}: give uplift_pct and efficiency_pct.",
                extra={"field": "service_areas"},
            )
        out[str(code)] = Rates(
            percent(rates.get("uplift_pct"), f"The inflation uplift for {code}", "service_areas"),
            percent(rates.get("efficiency_pct"), f"The efficiency for {code}", "service_areas"),
        )
    known = set(ServiceArea.objects.filter(code__in=list(out)).values_list("code", flat=True))
    unknown = sorted(set(out) - known)
    if unknown:
        raise ApplicationError(
            f"Unknown service area {', '.join(unknown)}.", extra={"field": "service_areas"}
        )
    return out


def _refuse_negative(base: Rates, area_rates: Mapping[str, Rates]) -> None:
    for label, rates in [("The fund-wide rates", base)] + [
        (f"The rates for {code}", r) for code, r in sorted(area_rates.items())
    ]:
        if rates.uplift_pct - rates.efficiency_pct < LOWEST_PCT:
            raise ApplicationError(
                f"{label} (uplift {rates.uplift_pct}%, efficiency {rates.efficiency_pct}%) would "
                "make budgets negative.",
                extra={"field": "efficiency_pct"},
            )


LINE_COLUMNS = columns_of(BudgetLine)


def _write_lines(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    source_year: FinancialYear,
    sources: list[BudgetLine],
    existing: dict[str, BudgetLine],
    base: Rates,
    area_rates: Mapping[str, Rates],
    area_codes: Mapping[int, str],
    successors: _Successors,
    now: Any,
) -> dict[str, Any]:
    """Next year's lines: new codes inserted in bulk with their history (budgets.models.bulk),
    codes the draft already has rewritten in place (replace the draft)."""
    recurrent = _recurrent_changes(fund, source_year)
    actuals = year_patterns(fund, source_year, method=phasing.LAST_YEAR)
    dropped: list[dict[str, Any]] = []
    rolled: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    rewritten: list[BudgetLine] = []
    prior_total = new_total = ZERO
    for source in sources:
        if not source.recurrent:
            dropped.append(
                _drop(source, "line", source.current_budget, "a non-recurrent line: it drops out")
            )
            continue
        prior = source.original_budget + recurrent.get(source.pk, ZERO)
        one_off = source.current_budget - prior
        if prior < 0:
            dropped.append(
                _drop(
                    source,
                    "line",
                    source.current_budget,
                    f"its recurrent budget is negative ({prior}): it drops out",
                )
            )
            continue
        if one_off != 0:
            dropped.append(_drop(source, "one_off", one_off, "one-off changes drop out"))
        rates = area_rates.get(area_codes[source.service_area_id], base)
        cols = columns(prior, rates)
        phased = _phasing_for(source, cols.new, actuals)
        values: dict[str, Any] = {
            "name": source.name,
            "service_area_id": source.service_area_id,
            "locality_id": source.locality_id,
            "lead_commissioner_id": successors.of_id(source.lead_commissioner_id).pk,
            "recurrent": True,
            "original_budget": cols.new,
            "changes": ZERO,
            "current_budget": cols.new,
            "phasing_method": phased.method,
            "updated_by_id": actor.pk,
            "updated_at": now,
            **dict(zip(MONTH_FIELDS, phased.parts, strict=True)),
        }
        line = existing.pop(source.code, None)
        if line is None:
            new_rows.append(
                {
                    "fund_id": fund.pk,
                    "year_id": year.pk,
                    "code": source.code,
                    "version": 1,
                    **values,
                }
            )
        else:
            for name, value in values.items():
                setattr(line, name, value)
            line.version += 1
            rewritten.append(line)
        rolled.append(
            {
                "code": source.code,
                "source_line_id": source.pk,
                "prior_recurrent": prior,
                "one_off_dropped": one_off,
                "uplift_pct": rates.uplift_pct,
                "efficiency_pct": rates.efficiency_pct,
                "uplift": cols.uplift,
                "efficiency": cols.efficiency,
                "new_budget": cols.new,
            }
        )
        prior_total += prior
        new_total += cols.new
    removed = _remove_draft_lines(actor, list(existing.values()))
    reason = f"Rolled forward from {source_year.code}"
    insert_rows(BudgetLine, LINE_COLUMNS, new_rows)
    ids = dict(BudgetLine.objects.filter(fund=fund, year=year).values_list("code", "id"))
    for row in new_rows:
        row["id"] = ids[row["code"]]
    history_rows(BudgetLine, new_rows, user_id=actor.pk, reason=reason, when=now)
    if rewritten:
        fields = [*values, "version"]  # the same columns every carried line was given
        BudgetLine.objects.bulk_update(rewritten, fields, batch_size=500)
        BudgetLine.history.bulk_history_create(  # type: ignore[attr-defined]
            rewritten,
            batch_size=2000,
            update=True,
            default_user=actor,
            default_change_reason=f"{reason} again (draft replaced)",
        )
    for row in rolled:
        row["line_id"] = ids[row.pop("code")]
    return {
        "rolled": rolled,
        "dropped": dropped,
        "line_map": {row["source_line_id"]: row["line_id"] for row in rolled},
        "created": len(new_rows),
        "rewritten": len(rewritten),
        "removed": removed,
        "prior_total": prior_total,
        "new_total": new_total,
    }


def _drop(source: BudgetLine, kind: str, amount: Decimal, why: str) -> dict[str, Any]:
    return {
        "code": source.code,
        "name": source.name,
        "kind": kind,
        "amount": str(amount),
        "why": why,
    }


def _remove_draft_lines(actor: Actor, lines: list[BudgetLine]) -> int:
    """Draft lines the roll forward does not write again: removed with their ledger mappings.
    Refused when spend, forecasts, adjustments, virements or commitments refer to one."""
    if not lines:
        return 0
    ids = [line.pk for line in lines]
    LedgerMapping.objects.filter(budget_line_id__in=ids).delete()
    try:
        with transaction.atomic():
            for line in lines:
                audit(line, actor=actor, reason="Removed when the draft was replaced")
                line.delete()
    except ProtectedError as exc:
        blocked = sorted({getattr(obj, "line", obj) for obj in exc.protected_objects}, key=str)
        names = ", ".join(str(b) for b in blocked[:5])
        raise RollForwardRefused(
            f"The draft cannot be replaced: other records refer to its line(s) {names}. "
            "Remove them first, or keep the draft."
        ) from None
    return len(lines)


def _write_setting(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    source_year: FinancialYear,
    base: Rates,
    area_rates: Mapping[str, Rates],
    contribution_pct: Decimal,
    partner_pcts: Mapping[str, Decimal],
    reason: str,
    now: Any,
) -> BudgetSetting:
    setting = BudgetSetting.objects.filter(fund=fund, year=year).first() or BudgetSetting(
        fund=fund, year=year
    )
    setting.from_year = source_year
    setting.uplift_pct = base.uplift_pct
    setting.efficiency_pct = base.efficiency_pct
    setting.contribution_uplift_pct = contribution_pct
    setting.contribution_rates = {code: str(pct) for code, pct in sorted(partner_pcts.items())}
    setting.rolled_by = actor
    setting.rolled_at = now
    setting.reason = reason
    audit(setting, actor=actor, reason=_audit_reason(reason, source_year))
    setting.save()
    setting.rates.all().delete()
    areas = dict(ServiceArea.objects.filter(code__in=list(area_rates)).values_list("code", "pk"))
    BudgetSettingRate.objects.bulk_create(
        BudgetSettingRate(
            setting=setting,
            service_area_id=areas[code],
            uplift_pct=rates.uplift_pct,
            efficiency_pct=rates.efficiency_pct,
        )
        for code, rates in sorted(area_rates.items())
    )
    return setting


def _roll_contributions(
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    source_year: FinancialYear,
    contribution_pct: Decimal,
    partner_pcts: Mapping[str, Decimal],
    successors: _Successors,
) -> list[dict[str, Any]]:
    """Next year's contribution per partner: this year's agreed contribution (with formal
    variations) x (1 + its uplift %); partners that ended pass theirs to their successor."""
    prior = list(
        Contribution.objects.filter(fund=fund, year=source_year)
        .select_related("partner")
        .order_by("partner__code")
    )
    unknown = sorted(set(partner_pcts) - {c.partner.code for c in prior})
    if unknown:
        raise ApplicationError(
            f"{', '.join(unknown)} did not contribute to {fund.code} in {source_year.code}.",
            extra={"field": "partner_uplifts"},
        )
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    partners: dict[int, Organisation] = {}
    rows = []
    for contribution in prior:
        pct = partner_pcts.get(contribution.partner.code, contribution_pct)
        new = round_money(contribution.amount * (Decimal(100) + pct) / 100)
        heir = successors(contribution.partner)
        totals[heir.pk] += new
        partners[heir.pk] = heir
        rows.append(
            {
                "partner": contribution.partner.code,
                "to": heir.code,
                "prior": str(contribution.amount),
                "uplift_pct": str(pct),
                "new": str(new),
            }
        )
    current = {c.partner_id: c for c in Contribution.objects.filter(fund=fund, year=year)}
    for partner_id, amount in sorted(totals.items()):
        if partner_id in current:
            contribution = current.pop(partner_id)
        else:
            contribution = Contribution(fund=fund, year=year, partner=partners[partner_id])
        contribution.amount = amount.quantize(PENNY)
        contribution.carried_forward = carried_forward_for(fund, year, partners[partner_id])
        audit(contribution, actor=actor, reason=f"Rolled forward from {source_year.code}: {amount}")
        contribution.save()
        write_instalments(contribution)
    for stale in current.values():
        if stale.receipts.exists():
            raise RollForwardRefused(
                f"{stale.partner.name} has receipts against its {year.code} contribution, so it "
                "cannot be removed by replacing the draft."
            )
        audit(stale, actor=actor, reason="Removed when the draft was replaced")
        stale.delete()
    return rows


def _carry_agreement(
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    source_year: FinancialYear,
    successors: _Successors,
) -> list[str]:
    """Next year keeps this year's risk-share agreement unless it has its own."""
    if RiskShareAgreement.objects.filter(fund=fund, year=year).exists():
        return [f"{year.code} already has its risk-share agreement; it is kept."]
    agreement = RiskShareAgreement.objects.filter(fund=fund, year=source_year).first()
    if agreement is None:
        return [
            f"{source_year.code} has no risk-share agreement to carry; set one for {year.code}."
        ]
    parameters = dict(agreement.parameters or {})
    if agreement.rule == RiskShareAgreement.Rule.FIXED:
        merged: dict[str, Decimal] = defaultdict(lambda: ZERO)
        orgs = {o.code: o for o in Organisation.objects.filter(code__in=parameters["percentages"])}
        for code, pct in parameters["percentages"].items():
            merged[successors(orgs[code]).code] += Decimal(pct)
        parameters = {"percentages": {code: str(pct) for code, pct in sorted(merged.items())}}
    try:
        parameters = validate_risk_share(fund, year, agreement.rule, parameters)
    except ApplicationError as exc:
        return [f"{source_year.code}'s risk-share agreement was not carried: {exc.message}"]
    carried = RiskShareAgreement(
        fund=fund,
        year=year,
        rule=agreement.rule,
        parameters=parameters,
        underspend=agreement.underspend,
        notes=agreement.notes,
    )
    audit(carried, actor=actor, reason=f"Carried from {source_year.code}")
    carried.save()
    return [
        f"Risk-share agreement carried from {source_year.code}: {agreement.get_rule_display()}."
    ]


# What makes a mapping or rule: who, and which codes it covers and how (exact, prefix, range, any).
CODES = (
    "organisation_id",
    "cost_centre",
    "cost_centre_match",
    "expense_code",
    "expense_code_match",
)


def copy_ledger_mappings(
    actor: Actor,
    fund: PooledFund,
    from_year: FinancialYear,
    to_year: FinancialYear,
    line_map: Mapping[int, int],
) -> int:
    """Each organisation's mappings and mapping rules (cost centre and expense code, each with how
    it matches) to a carried line, copied to the line's successor in the new year, with their
    history. A mapping the new year already has is
    left as it is; organisations that ended before the new year are not copied."""
    start = to_year.start_date
    sources = (
        LedgerMapping.objects.filter(year=from_year, budget_line__fund=fund)
        .filter(Q(organisation__valid_to__isnull=True) | Q(organisation__valid_to__gte=start))
        .order_by("pk")
        .values("budget_line_id", *CODES)
    )
    taken = set(LedgerMapping.objects.filter(year=to_year).values_list(*CODES))
    rows = [
        {
            **{key: m[key] for key in CODES},
            "year_id": to_year.pk,
            "budget_line_id": line_map[m["budget_line_id"]],
        }
        for m in sources
        if m["budget_line_id"] in line_map and tuple(m[key] for key in CODES) not in taken
    ]
    columns = columns_of(LedgerMapping)
    insert_rows(LedgerMapping, columns, rows)
    ids: dict[tuple[Any, ...], int] = {
        tuple(codes): pk
        for pk, *codes in LedgerMapping.objects.filter(
            year=to_year, budget_line__fund=fund
        ).values_list("pk", *CODES)
    }
    for row in rows:
        row["id"] = ids[tuple(row[key] for key in CODES)]
    history_rows(
        LedgerMapping,
        rows,
        user_id=actor.pk,
        reason=f"Copied from {from_year.code} when {fund.code} rolled forward",
        when=timezone.now(),
    )
    return len(rows)
