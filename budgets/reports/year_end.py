"""Year end (domain.md 1.6): close a fund's financial year and settle with each partner; reopen it.

After M12 closes, M13 takes year-end adjustments (accruals, audit adjustments) from the host only.
Closing the year, by the host's finance officer, needs every month M1..M12 closed and the year's
risk-share agreement. It freezes the final outturn (actuals to M13), shares the variance under the
agreement, writes each partner's settlement, closes M13, freezes the memorandum account, and, when
the agreement carries an underspend forward, credits each partner's share to next year's
contribution. Reopening is for administrators, with a reason; the close it undoes is kept, marked
reopened, and next year's carried-forward credits are taken back.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from budgets.figures.settlement import compute_settlement
from budgets.models import (
    FinancialYear,
    FundPeriod,
    Period,
    PooledFund,
    ReportSnapshot,
    Settlement,
    YearEnd,
)
from budgets.models.reference import YEAR_END_PERIOD
from budgets.planning.services.funds import (
    carried_forward_by_partner,
    contributions_carry_forward,
    require_host_finance_officer,
    require_view,
)
from budgets.planning.services.periods import period_status_set
from budgets.reports.memorandum import year_end_account
from budgets.selectors import closed_period_numbers
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, Conflict, NotAllowed, save_or_conflict
from gmhsc.text import clean_field
from localities import roles
from localities.actors import Actor


class YearNotReady(ApplicationError):
    code = "year_not_ready"


def current_close(fund: PooledFund, year: FinancialYear) -> YearEnd | None:
    return YearEnd.objects.filter(fund=fund, year=year, status=YearEnd.Status.CLOSED).first()


def _m13(year: FinancialYear) -> Period:
    return Period.objects.select_related("year").get(year=year, number=YEAR_END_PERIOD)


def _months_open(fund: PooledFund, year: FinancialYear) -> list[str]:
    closed = closed_period_numbers(fund, year)
    return [f"{year.code}-M{n:02d}" for n in range(1, 13) if n not in closed]


def financial_year_close(
    *, actor: Actor, fund: PooledFund, year: FinancialYear, reason: str = ""
) -> YearEnd:
    """Close the fund's year: freeze the outturn, settle with each partner, close M13."""
    require_host_finance_officer(actor, fund, to="close the year")
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    return close_and_settle(actor=actor, fund=fund, year=year, reason=reason)


def close_and_settle(
    *, actor: Actor, fund: PooledFund, year: FinancialYear, reason: str = ""
) -> YearEnd:
    """The close itself, for a caller that has already decided who acts: the service above, and
    the demo loader acting for hosts that have no demo finance officer."""
    with transaction.atomic():
        # One close at a time per fund: the status rows of the year's periods are the lock.
        list(FundPeriod.objects.select_for_update().filter(fund=fund, period__year=year))
        if current_close(fund, year) is not None:
            raise Conflict(f"{fund.code}'s {year.code} year is already closed.")
        still_open = _months_open(fund, year)
        if still_open:
            listed = ", ".join(still_open)
            raise YearNotReady(
                f"{fund.code}'s {year.code} year cannot close while months are open: close "
                f"{listed} first.",
                extra={"open_months": still_open},
            )
        result = compute_settlement(fund, year)
        now = timezone.now()
        previous = YearEnd.objects.filter(fund=fund, year=year).aggregate(run=Max("run"))["run"]
        close = YearEnd(
            fund=fund,
            year=year,
            run=(previous or 0) + 1,
            budget=result.budget,
            outturn=result.outturn,
            variance=result.variance,
            rule=result.agreement.rule,
            underspend=result.agreement.underspend,
            inputs=result.inputs,
            closed_by=actor,
            closed_at=now,
            reason=reason.strip(),
        )
        audit(close, actor=actor, reason=reason.strip() or "Year closed and settled")
        save_or_conflict(close, f"{fund.code}'s {year.code} year was closed at the same time.")
        Settlement.objects.bulk_create(
            Settlement(
                year_end=close,
                partner_id=p.partner_id,
                is_host=p.is_host,
                contribution=p.contribution,
                carried_forward_in=p.carried_forward_in,
                receipts=p.receipts,
                variance_share=p.variance_share,
                underspend_returned=p.underspend_returned,
                underspend_retained=p.underspend_retained,
                underspend_carried_forward=p.underspend_carried_forward,
                net_due=p.net_due,
            )
            for p in result.partners
        )
        m13 = _m13(year)
        row = FundPeriod.objects.filter(fund=fund, period=m13).first() or FundPeriod(
            fund=fund, period=m13
        )
        period_status_set(
            row, FundPeriod.Status.CLOSED, actor=actor, reason="Year closed and settled", when=now
        )
        ReportSnapshot.objects.create(
            fund=fund,
            period=m13,
            kind=ReportSnapshot.Kind.MEMORANDUM,
            run=close.run,
            closed_at=now,
            data=year_end_account(result).to_data(),
        )
        _carry_forward(actor, fund, year, close)
    return close


def _carry_forward(actor: Actor, fund: PooledFund, year: FinancialYear, close: YearEnd) -> None:
    """Credit each partner's carried underspend to next year's contribution (a partner that
    ended passes its share to its successor)."""
    following = FinancialYear.objects.filter(code=year.next_code).first()
    if following is None:
        return
    amounts = carried_forward_by_partner(fund, following)
    if amounts:
        contributions_carry_forward(
            actor=actor,
            fund=fund,
            year=following,
            amounts=amounts,
            reason=f"Underspend carried forward from {year.code}",
        )


def financial_year_reopen(
    *, actor: Actor, fund: PooledFund, year: FinancialYear, reason: str
) -> YearEnd:
    """An administrator reopens a closed year, saying why: M13 opens again, the close is kept
    and marked reopened, and next year's carried-forward credits from it are taken back."""
    if not roles.is_administrator(actor):
        require_view(actor, fund)
        raise NotAllowed("Only an administrator can reopen a closed year.")
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    if not reason:
        raise ApplicationError("Say why the year is reopened.", extra={"field": "reason"})
    with transaction.atomic():
        list(FundPeriod.objects.select_for_update().filter(fund=fund, period__year=year))
        close = current_close(fund, year)
        if close is None:
            raise ApplicationError(f"{fund.code}'s {year.code} year is not closed.")
        following = FinancialYear.objects.filter(code=year.next_code).first()
        if following is not None and current_close(fund, following) is not None:
            raise Conflict(
                f"{fund.code}'s {following.code} year is closed too, and its settlement counts "
                f"what {year.code} carried forward: reopen {following.code} first."
            )
        now = timezone.now()
        close.status = YearEnd.Status.REOPENED
        close.reopened_by = actor
        close.reopened_at = now
        close.reopen_reason = reason.strip()
        audit(close, actor=actor, reason=f"Reopened: {reason.strip()}")
        close.save()
        period_status_set(
            FundPeriod.objects.get(fund=fund, period=_m13(year)),
            FundPeriod.Status.OPEN,
            actor=actor,
            reason=reason.strip(),
            why=f"Year reopened: {reason.strip()}",
            when=now,
        )
        if (
            following is not None
            and close.settlements.filter(underspend_carried_forward__gt=0).exists()
        ):
            contributions_carry_forward(
                actor=actor,
                fund=fund,
                year=following,
                amounts={},
                reason=f"{year.code} reopened: its carried-forward underspend is taken back",
            )
    return close
