"""Budget adjustments: recorded changes to an approved line's budget, re-phased over open months."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from budgets import rules
from budgets.models import BudgetAdjustment, BudgetLine, FundPeriod, Period
from budgets.outbox import mark_stale
from budgets.planning import phasing
from budgets.planning.services.funds import (
    first_open_period,
    open_months,
    require_approved,
    require_view,
)
from budgets.planning.services.lines import _apply_phasing, last_year_pattern
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, PeriodClosed
from gmhsc.money import ZERO, MoneyError, to_money
from localities.actors import Actor


def crosses_zero(before: Decimal, after: Decimal) -> bool:
    """A change may not turn a spending budget negative, nor an income (negative) budget positive."""
    return (before >= 0 and after < 0) or (before < 0 and after > 0)


def apply_change(
    *, actor: Actor, line: BudgetLine, amount: Decimal, period: Period, reason: str
) -> BudgetLine:
    """Add `amount` to a line's changes and current budget, spread over its open months from `period`.

    Caller holds the transaction. Locks the row, bumps the version, writes one history record.
    """
    fresh = BudgetLine.objects.select_for_update().select_related("fund", "year").get(pk=line.pk)
    after = fresh.current_budget + amount
    if crosses_zero(fresh.current_budget, after):
        raise ApplicationError(
            f"Line {fresh.code} has {fresh.current_budget} left; taking {-amount} would make its "
            "budget cross zero."
        )
    months = open_months(fresh.fund, fresh.year, from_number=period.number)
    last_year = last_year_pattern(fresh) if fresh.phasing_method == phasing.LAST_YEAR else None
    parts = phasing.respread_change(
        fresh.phasing, amount, months=months, method=fresh.phasing_method, last_year=last_year
    )
    fresh.changes += amount
    fresh.current_budget = after
    _apply_phasing(fresh, parts)
    fresh.version += 1
    fresh.updated_by = actor
    audit(fresh, actor=actor, reason=reason)
    fresh.save()
    return fresh


def require_open(fund_id: int, period: Period) -> None:
    if FundPeriod.objects.filter(
        fund_id=fund_id, period=period, status=FundPeriod.Status.CLOSED
    ).exists():
        raise PeriodClosed(f"Period {period.code} is closed.")


def adjustment_create(
    *,
    actor: Actor,
    line: BudgetLine,
    amount: Decimal | str,
    reason: str,
    recurrent: bool = False,
    period: Period | None = None,
) -> BudgetAdjustment:
    """The host's finance officer records a change to an approved line's budget."""
    fund = line.fund
    require_view(actor, fund)
    if not rules.acts_for_host_finance(actor, fund):
        raise NotAllowed("Only the host's finance officer can adjust an approved budget.")
    try:
        value = to_money(amount)
    except MoneyError as exc:
        raise ApplicationError(f"Adjustment amount {exc}.", extra={"field": "amount"}) from None
    if value == ZERO:
        raise ApplicationError(
            "An adjustment of nothing changes nothing.", extra={"field": "amount"}
        )
    if not reason.strip():
        raise ApplicationError("Say why the budget is adjusted.", extra={"field": "reason"})
    with transaction.atomic():
        require_approved(fund, line.year)
        if period is None:
            period = first_open_period(fund, line.year)
        if period.year_id != line.year_id or period.number > 12:
            raise ApplicationError(
                f"Period {period.code} is not a month of {line.year.code}.",
                extra={"field": "period"},
            )
        require_open(fund.pk, period)
        apply_change(
            actor=actor, line=line, amount=value, period=period, reason=f"Adjustment: {reason}"
        )
        adjustment = BudgetAdjustment.objects.create(
            line=line,
            period=period,
            amount=value,
            recurrent=recurrent,
            reason=reason,
            created_by=actor,
        )
        mark_stale(
            fund_id=fund.pk,
            year_id=line.year_id,
            line_ids=[line.pk],
            period_numbers=[period.number],
            reason="budget adjustment",
        )
    return adjustment
