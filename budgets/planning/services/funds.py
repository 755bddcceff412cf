"""Funds: contributions and fixed shares, risk-share agreements, and the yearly budget lifecycle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from budgets import rules
from budgets.models import (
    BudgetLine,
    Contribution,
    ContributionInstalment,
    FinancialYear,
    FundBudget,
    Period,
    PooledFund,
    RiskShareAgreement,
    Settlement,
    YearEnd,
)
from budgets.outbox import mark_stale
from budgets.planning import instalments
from budgets.planning.succession import successor_in
from budgets.selectors import open_months
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from gmhsc.money import PENNY, ZERO, MoneyError, split_largest_remainder, to_money
from gmhsc.text import clean_field
from localities import roles
from localities.actors import Actor, refuse_own_request
from localities.models import Organisation

SHARE_PLACES = Decimal("0.00000001")


class BudgetNotDraft(ApplicationError):
    """The year's budget is submitted or approved: figures change only through adjustments and virements."""

    status_code = 409
    code = "budget_not_draft"


# ---- helpers shared by the budget services -------------------------------------------------------


def require_view(actor: Actor, fund: PooledFund) -> None:
    """Another organisation's fund answers 'not found', never 'forbidden'."""
    if not rules.can_view_fund(actor, fund):
        raise NotFound("Fund not found.")


def fund_budget(fund: PooledFund, year: FinancialYear) -> FundBudget:
    budget, _ = FundBudget.objects.get_or_create(fund=fund, year=year)
    return budget


def budget_status(fund: PooledFund, year: FinancialYear) -> str:
    status = (
        FundBudget.objects.filter(fund=fund, year=year).values_list("status", flat=True).first()
    )
    return status or FundBudget.Status.DRAFT


def require_draft(fund: PooledFund, year: FinancialYear) -> None:
    status = budget_status(fund, year)
    if status != FundBudget.Status.DRAFT:
        label = FundBudget.Status(status).label.lower()
        raise BudgetNotDraft(
            f"The {fund.code} budget for {year.code} is {label}: change it through an adjustment "
            "or a virement."
        )


class YearClosed(ApplicationError):
    """The fund's year is closed: its outturn and settlement are frozen."""

    status_code = 409
    code = "year_closed"


def year_closed(fund: PooledFund, year: FinancialYear) -> bool:
    return YearEnd.objects.filter(fund=fund, year=year, status=YearEnd.Status.CLOSED).exists()


def require_year_open(fund: PooledFund, year: FinancialYear) -> None:
    if year_closed(fund, year):
        raise YearClosed(
            f"{fund.code}'s {year.code} year is closed: its outturn and settlement are frozen. "
            "An administrator can reopen the year, saying why."
        )


def carried_forward_for(fund: PooledFund, year: FinancialYear, partner: Organisation) -> Decimal:
    """The partner's share of last year's underspend carried into this year's contribution
    (UNDERSPEND_CARRY_FORWARD), from last year's current close, with the shares of partners it
    succeeded; 0.00 when there is none."""
    return carried_forward_by_partner(fund, year).get(partner.pk, ZERO)


def carried_forward_by_partner(fund: PooledFund, year: FinancialYear) -> dict[int, Decimal]:
    """{partner id: underspend carried into `year`} from last year's current close; an ended
    partner's share goes to its successor in `year`."""
    amounts: dict[int, Decimal] = {}
    for settlement in Settlement.objects.filter(
        year_end__fund=fund,
        year_end__year__code=year.previous_code,
        year_end__status=YearEnd.Status.CLOSED,
        underspend_carried_forward__gt=0,
    ).select_related("partner"):
        heir = successor_in(settlement.partner, year) or settlement.partner
        amounts[heir.pk] = amounts.get(heir.pk, ZERO) + settlement.underspend_carried_forward
    return amounts


def require_approved(fund: PooledFund, year: FinancialYear) -> None:
    if budget_status(fund, year) != FundBudget.Status.APPROVED:
        raise ApplicationError(
            f"The {fund.code} budget for {year.code} is not approved yet: edit the draft lines instead."
        )


def first_open_period(fund: PooledFund, year: FinancialYear) -> Period:
    """The earliest month of `year` still open for the fund: where a change to an approved budget
    (adjustment, virement) starts. Not the month reported: that is budgets.context's question."""
    months = open_months(fund, year)
    if not months:
        raise ApplicationError(f"Every month of {year.code} is closed for {fund.code}.")
    return Period.objects.select_related("year").get(year=year, number=months[0])


# ---- contributions and shares ----------------------------------------------------------------------


def require_host_finance_officer(actor: Actor, fund: PooledFund, *, to: str) -> None:
    """The host's finance officer only (administrators too are refused): a fund the actor may not
    see is not found; others who may see it are told who can ("...can <to>.")."""
    require_view(actor, fund)
    if not rules.is_host_finance_officer(actor, fund):
        raise NotAllowed(f"Only the host's finance officer can {to}.")


def require_fund_finance(actor: Actor, fund: PooledFund, what: str = "contributions") -> None:
    """The host's finance officer (or an administrator); others who may see the fund are refused,
    and a fund they may not see is not found."""
    require_view(actor, fund)
    if not rules.acts_for_host_finance(actor, fund):
        raise NotAllowed(f"Only the host's finance officer can change {fund.code}'s {what}.")


def quarter_dates(year: FinancialYear) -> list[date]:
    start = year.start_date.year
    return [date(start, 4, 1), date(start, 7, 1), date(start, 10, 1), date(start + 1, 1, 1)]


def write_instalments(contribution: Contribution) -> None:
    """4 equal quarterly instalments of what the partner pays in cash (its contribution less any
    carried-forward credit), each dated paid once receipts cover it."""
    contribution.instalments.all().delete()
    parts = split_largest_remainder(contribution.due_in_cash, [1, 1, 1, 1])
    rows = [
        ContributionInstalment(contribution=contribution, due_date=due, amount=part)
        for due, part in zip(quarter_dates(contribution.year), parts, strict=True)
    ]
    states = instalments.allocate(
        [(r.due_date, r.amount) for r in rows],
        contribution.receipts.values_list("received_on", "amount"),
    )
    for row, state in zip(rows, states, strict=True):
        row.paid_on = state.paid_on
    ContributionInstalment.objects.bulk_create(rows)


def contribution_set(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    partner: Organisation,
    amount: Decimal | str,
    variation_reason: str = "",
) -> Contribution:
    """Set a partner's contribution for a draft year, with 4 equal quarterly instalments.

    Once the year's shares are fixed, a contribution changes only as a formal variation with a
    reason, which re-fixes every share.
    """
    require_fund_finance(actor, fund)
    try:
        value = to_money(amount)
    except MoneyError as exc:
        raise ApplicationError(f"Contribution amount {exc}.") from None
    if value < 0:
        raise ApplicationError("A contribution cannot be negative.")
    with transaction.atomic():
        require_year_open(fund, year)
        fixed = _shares_fixed(
            fund, year, variation_reason=variation_reason, refusal="are fixed; a change needs"
        )
        if not fixed:
            require_draft(fund, year)
        contribution = Contribution.objects.filter(fund=fund, year=year, partner=partner).first()
        if contribution is None:
            contribution = Contribution(
                fund=fund,
                year=year,
                partner=partner,
                amount=value,
                carried_forward=carried_forward_for(fund, year, partner),
            )
            reason = f"Contribution set: {partner.code} {value}"
        else:
            reason = f"Contribution changed from {contribution.amount} to {value}"
            contribution.amount = value
        if variation_reason:
            reason = f"Variation: {variation_reason}"
        audit(contribution, actor=actor, reason=reason)
        if fixed:
            # Re-fixing the shares saves this row again; let that save write its one history record.
            contribution.skip_history_when_saving = True  # type: ignore[attr-defined]
        contribution.save()
        if fixed:
            del contribution.skip_history_when_saving  # type: ignore[attr-defined]
        write_instalments(contribution)
        if fixed:
            _fix_shares(actor=actor, fund=fund, year=year, reason=f"Variation: {variation_reason}")
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="contribution")
    return contribution


def _shares_fixed(
    fund: PooledFund, year: FinancialYear, *, variation_reason: str, refusal: str
) -> bool:
    """Whether the year's shares are fixed; once they are, a change is refused unless it is a
    formal variation with a reason ("Shares for F 2016/17 <refusal> a formal variation...")."""
    fixed = Contribution.objects.filter(
        fund=fund, year=year, shares_fixed_at__isnull=False
    ).exists()
    if fixed and not variation_reason.strip():
        raise ApplicationError(
            f"Shares for {fund.code} {year.code} {refusal} a formal variation with a reason."
        )
    return fixed


def _fix_shares(*, actor: Actor, fund: PooledFund, year: FinancialYear, reason: str) -> None:
    contributions = list(
        Contribution.objects.select_for_update()
        .filter(fund=fund, year=year)
        .order_by("partner__code")
    )
    if not contributions:
        raise ApplicationError(f"{fund.code} has no contributions for {year.code}.")
    total = sum((c.amount for c in contributions), ZERO)
    if total <= 0:
        raise ApplicationError(f"{fund.code}'s contributions for {year.code} add up to nothing.")
    # Shares to 8 places that sum exactly to 1: split 1e8 "units" by largest remainder.
    units = split_largest_remainder(Decimal("1000000.00"), [c.amount for c in contributions])
    now = timezone.now()
    for contribution, part in zip(contributions, units, strict=True):
        contribution.share = (part / PENNY * SHARE_PLACES).quantize(SHARE_PLACES)
        contribution.shares_fixed_at = now
        audit(contribution, actor=actor, reason=reason)
        contribution.save()


def contributions_fix_shares(
    *, actor: Actor, fund: PooledFund, year: FinancialYear, variation_reason: str = ""
) -> list[Contribution]:
    """Fix each partner's share = contribution / total for the year (refused once fixed, unless a
    formal variation gives a reason)."""
    require_fund_finance(actor, fund)
    with transaction.atomic():
        require_year_open(fund, year)
        already = _shares_fixed(
            fund,
            year,
            variation_reason=variation_reason,
            refusal="are already fixed; recomputing them needs",
        )
        reason = f"Variation: {variation_reason}" if already else "Shares fixed for the year"
        _fix_shares(actor=actor, fund=fund, year=year, reason=reason)
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="shares fixed")
    return list(
        Contribution.objects.filter(fund=fund, year=year)
        .select_related("partner")
        .order_by("partner__code")
    )


# ---- risk share -------------------------------------------------------------------------------------


def _pct(value: Any, label: str) -> Decimal:
    try:
        pct = to_money(value)
    except MoneyError as exc:
        raise ApplicationError(f"{label} {exc}.", extra={"field": "parameters"}) from None
    if not (0 <= pct <= 100):
        raise ApplicationError(
            f"{label} must be between 0 and 100; got {pct}.", extra={"field": "parameters"}
        )
    return pct


def validate_risk_share(
    fund: PooledFund, year: FinancialYear, rule: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """Check and normalise an agreement's parameters for its rule (see RiskShareAgreement)."""
    if rule not in RiskShareAgreement.Rule.values:
        raise ApplicationError(f"Unknown risk-share rule '{rule}'.", extra={"field": "rule"})
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise ApplicationError(
            "The parameters must be an object of names and values, like "
            '{"cap_at_contribution": false}.',
            extra={"field": "parameters"},
        )
    params = dict(parameters)
    unknown = sorted(set(params) - RISK_SHARE_PARAMETERS[rule])
    if unknown:
        expected = ", ".join(sorted(RISK_SHARE_PARAMETERS[rule])) or "none"
        raise ApplicationError(
            f"The {rule} rule takes no parameter {', '.join(map(repr, unknown))} "
            f"(it takes: {expected}).",
            extra={"field": "parameters"},
        )
    if rule == RiskShareAgreement.Rule.OWN_RISK:
        return {}
    if rule == RiskShareAgreement.Rule.PRO_RATA:
        return {"cap_at_contribution": _flag(params.get("cap_at_contribution", False))}
    if rule == RiskShareAgreement.Rule.FIXED:
        percentages = params.get("percentages")
        if not isinstance(percentages, dict) or not percentages:
            raise ApplicationError(
                "Fixed percentages need {'percentages': {partner code: pct}}.",
                extra={"field": "parameters"},
            )
        partners = set(
            Contribution.objects.filter(fund=fund, year=year).values_list(
                "partner__code", flat=True
            )
        )
        normalised: dict[str, str] = {}
        for code, value in percentages.items():
            if code not in partners:
                raise ApplicationError(
                    f"{code} does not contribute to {fund.code} in {year.code}, so it cannot "
                    "take a fixed share."
                )
            normalised[code] = str(_pct(value, f"The percentage for {code}"))
        total = sum((Decimal(v) for v in normalised.values()), ZERO)
        if total != Decimal("100"):
            raise ApplicationError(f"Fixed percentages must add up to 100; they add up to {total}.")
        return {"percentages": normalised}
    then = params.get("then", "pro_rata")
    if not isinstance(then, str) or then not in ("pro_rata", "equal"):
        raise ApplicationError(
            "Threshold 'then' must be 'pro_rata' or 'equal'.", extra={"field": "parameters"}
        )
    if "host_first_pct" not in params:
        raise ApplicationError(
            "A threshold agreement needs host_first_pct (0 to 100).", extra={"field": "parameters"}
        )
    return {
        "host_first_pct": str(_pct(params["host_first_pct"], "host_first_pct")),
        "then": then,
        "cap_at_contribution": _flag(params.get("cap_at_contribution", False)),
    }


# The parameters each rule takes (RiskShareAgreement's docstring says what they mean).
RISK_SHARE_PARAMETERS: dict[str, set[str]] = {
    RiskShareAgreement.Rule.OWN_RISK: set(),
    RiskShareAgreement.Rule.PRO_RATA: {"cap_at_contribution"},
    RiskShareAgreement.Rule.FIXED: {"percentages"},
    RiskShareAgreement.Rule.THRESHOLD: {"host_first_pct", "then", "cap_at_contribution"},
}


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ApplicationError(
            f"cap_at_contribution must be true or false, not {value!r}.",
            extra={"field": "parameters"},
        )
    return value


def risk_share_agreement_set(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    rule: str,
    parameters: dict[str, Any] | None = None,
    agreed_on: date | None = None,
    notes: str = "",
    reason: str = "",
    underspend: str | None = None,
) -> RiskShareAgreement:
    """Set the year's agreement: its rule and parameters, and what happens to a final underspend
    (returned pro rata, retained in the pool or carried into next year's contributions)."""
    require_fund_finance(actor, fund)
    if underspend is not None and underspend not in RiskShareAgreement.Underspend.values:
        choices = ", ".join(RiskShareAgreement.Underspend.values)
        raise ApplicationError(
            f"Unknown underspend choice '{underspend}'; use one of {choices}.",
            extra={"field": "underspend"},
        )
    with transaction.atomic():
        require_year_open(fund, year)
        params = validate_risk_share(fund, year, rule, parameters or {})
        agreement = RiskShareAgreement.objects.filter(fund=fund, year=year).first()
        if agreement is None:
            agreement = RiskShareAgreement(fund=fund, year=year)
        agreement.rule = rule
        agreement.parameters = params
        if underspend is not None:
            agreement.underspend = underspend
        agreement.agreed_on = agreed_on
        agreement.notes = notes
        audit(agreement, actor=actor, reason=reason or f"Risk-share rule set: {rule}")
        agreement.save()
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="risk share agreement")
    return agreement


# ---- budget lifecycle -------------------------------------------------------------------------------


def _transition(budget: FundBudget, to: str) -> None:
    allowed = FundBudget.TRANSITIONS[FundBudget.Status(budget.status)]
    if to not in allowed:
        raise ApplicationError(
            f"The {budget.fund.code} budget for {budget.year.code} is "
            f"{budget.get_status_display().lower()}; it cannot become {FundBudget.Status(to).label.lower()}."
        )
    budget.status = to


def fund_budget_submit(*, actor: Actor, fund: PooledFund, year: FinancialYear) -> FundBudget:
    """A partner's finance officer or commissioner submits the draft budget for approval."""
    require_view(actor, fund)
    is_partner = rules.is_partner(actor, fund)
    if not (
        is_partner
        and (
            roles.has_role(actor, roles.FINANCE_OFFICER)
            or roles.has_role(actor, roles.COMMISSIONER)
        )
    ):
        raise NotAllowed("Only a partner's finance officer or commissioner can submit the budget.")
    with transaction.atomic():
        budget = fund_budget(fund, year)
        budget = (
            FundBudget.objects.select_for_update().select_related("fund", "year").get(pk=budget.pk)
        )
        if not BudgetLine.objects.filter(fund=fund, year=year).exists():
            raise ApplicationError(f"{fund.code} has no budget lines for {year.code} to submit.")
        _transition(budget, FundBudget.Status.SUBMITTED)
        budget.submitted_by = actor
        budget.submitted_at = timezone.now()
        audit(budget, actor=actor, reason="Submitted for approval")
        budget.save()
    return budget


def fund_budget_approve(*, actor: Actor, fund: PooledFund, year: FinancialYear) -> FundBudget:
    """The host's finance officer approves: original budgets are frozen from now on."""
    require_host_finance_officer(actor, fund, to="approve the budget")
    with transaction.atomic():
        budget = fund_budget(fund, year)
        budget = (
            FundBudget.objects.select_for_update().select_related("fund", "year").get(pk=budget.pk)
        )
        if budget.status == FundBudget.Status.SUBMITTED:
            refuse_own_request(
                actor,
                budget.submitted_by_id,
                request=f"submitted {fund.code}'s {year.code} budget",
                approval="approve it",
            )
        _transition(budget, FundBudget.Status.APPROVED)
        budget.approved_by = actor
        budget.approved_at = timezone.now()
        audit(budget, actor=actor, reason="Budget approved")
        budget.save()
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="budget approved")
    return budget


def fund_budget_return(
    *, actor: Actor, fund: PooledFund, year: FinancialYear, reason: str
) -> FundBudget:
    """The host's finance officer sends a submitted budget back to draft, saying why."""
    require_host_finance_officer(actor, fund, to="return the budget to draft")
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    if not reason:
        raise ApplicationError("Say why the budget goes back to draft.")
    with transaction.atomic():
        budget = fund_budget(fund, year)
        budget = (
            FundBudget.objects.select_for_update().select_related("fund", "year").get(pk=budget.pk)
        )
        _transition(budget, FundBudget.Status.DRAFT)
        audit(budget, actor=actor, reason=reason)
        budget.save()
    return budget


def contributions_carry_forward(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    amounts: dict[int, Decimal],
    reason: str,
) -> int:
    """Set each partner's carried-forward credit in `year` (last year's underspend share, or 0.00
    when last year's close is undone) and rewrite its instalments. Partners with no contribution
    in `year` yet pick theirs up when it is set (`carried_forward_for`). Returns the rows changed.
    Called by the year-end close and reopen, which check their own permissions."""
    changed = 0
    for contribution in Contribution.objects.select_for_update().filter(fund=fund, year=year):
        amount = amounts.get(contribution.partner_id, ZERO)
        if contribution.carried_forward == amount:
            continue
        contribution.carried_forward = amount
        audit(contribution, actor=actor, reason=reason)
        contribution.save()
        write_instalments(contribution)
        changed += 1
    return changed
