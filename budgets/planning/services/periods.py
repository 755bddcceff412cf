"""Period close and reopen, per fund. Close in order by the host's finance officer; reopen by an
administrator with a reason. Both audited through FundPeriod's history."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from budgets.jobs import owe_month_close_files
from budgets.models import FundPeriod, Period, PooledFund
from budgets.models.reference import YEAR_END_PERIOD
from budgets.outbox import mark_stale
from budgets.planning.services.funds import require_host_finance_officer, require_view
from gmhsc.audit import audit
from gmhsc.background import enqueue_on_commit
from gmhsc.errors import ApplicationError, NotAllowed
from gmhsc.text import clean_field
from localities import roles
from localities.actors import Actor, refuse_own_request

logger = logging.getLogger(__name__)


def _status_row(fund: PooledFund, period: Period) -> FundPeriod:
    """The locked status row; an unsaved open one when the period has never been closed (the one
    save that follows writes the single history record)."""
    row = FundPeriod.objects.select_for_update().filter(fund=fund, period=period).first()
    return row or FundPeriod(fund=fund, period=period, status=FundPeriod.Status.OPEN)


def _is_closed(fund: PooledFund, period: Period, number: int) -> bool:
    return FundPeriod.objects.filter(
        fund=fund,
        period__year_id=period.year_id,
        period__number=number,
        status=FundPeriod.Status.CLOSED,
    ).exists()


def period_status_set(
    row: FundPeriod,
    status: FundPeriod.Status,
    *,
    actor: Actor,
    reason: str,
    why: str | None = None,
    when: datetime | None = None,
) -> FundPeriod:
    """Record who changed a fund's period to `status`, when and why (the row's history says
    `why`, else the reason). Inside the caller's transaction and checks."""
    row.status = status
    row.changed_by = actor
    row.changed_at = when or timezone.now()
    row.reason = reason
    audit(row, actor=actor, reason=why or reason)
    row.save()
    return row


def enqueue_period_close_reports(fund_id: int, period_id: int, files: bool = True) -> None:
    """Once the close commits, freeze the month's report (and write its files unless told not to).

    The files are owed as pending export jobs in the close's own transaction, so a lost message
    or a killed worker is caught by the job sweep (gmhsc/jobs.py)."""
    if files:
        owe_month_close_files(fund_id, period_id)
        enqueue_on_commit("budgets.tasks.period_close_reports", fund_id, period_id)
    else:
        enqueue_on_commit("budgets.tasks.period_close_reports", fund_id, period_id, files=False)


def period_close(
    *,
    actor: Actor,
    fund: PooledFund,
    period: Period,
    today: date | None = None,
    reason: str = "",
    files: bool = True,
) -> FundPeriod:
    """Close a month for the fund: only once it has ended, and only after the month before.

    After commit the month's variance report is frozen and (files=True) its CSV, XLSX and PDF
    are made. files=False is for closing past months in bulk (loading history, the demo): the
    snapshot is frozen all the same and any export of it can be asked for later.
    """
    require_host_finance_officer(actor, fund, to="close a period")
    if period.number == YEAR_END_PERIOD:
        raise ApplicationError(
            f"{period.code} (year-end adjustments) closes with the year: close the year on the "
            "year-end page, which also settles with the partners."
        )
    today = today or timezone.localdate()
    if period.end_date >= today:
        raise ApplicationError(
            f"Period {period.code} has not ended yet; it can be closed from "
            f"{_day_after(period.end_date):%-d %B %Y}."
        )
    with transaction.atomic():
        row = _status_row(fund, period)
        if row.status == FundPeriod.Status.CLOSED:
            raise ApplicationError(f"Period {period.code} is already closed for {fund.code}.")
        if period.number > 1 and not _is_closed(fund, period, period.number - 1):
            previous = f"{period.year.code}-M{period.number - 1:02d}"
            raise ApplicationError(f"Close {previous} first: periods close in order.")
        period_status_set(
            row, FundPeriod.Status.CLOSED, actor=actor, reason=reason or "Month-end close"
        )
        mark_stale(
            fund_id=fund.pk,
            year_id=period.year_id,
            period_numbers=[period.number],
            reason="period closed",
        )
        fund_id, period_id = fund.pk, period.pk
        enqueue_period_close_reports(fund_id, period_id, files)
    return row


def _day_after(day: date) -> date:
    return day + timedelta(days=1)


def period_reopen(*, actor: Actor, fund: PooledFund, period: Period, reason: str) -> FundPeriod:
    """An administrator reopens a closed month, latest first, saying why."""
    if not roles.is_administrator(actor):
        require_view(actor, fund)
        raise NotAllowed("Only an administrator can reopen a period.")
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    if not reason:
        raise ApplicationError("Say why the period is reopened.", extra={"field": "reason"})
    if period.number == YEAR_END_PERIOD:
        raise ApplicationError(
            f"{period.code} reopens with the year: reopen the year on the year-end page."
        )
    with transaction.atomic():
        row = _status_row(fund, period)
        if row.status != FundPeriod.Status.CLOSED:
            raise ApplicationError(f"Period {period.code} is not closed for {fund.code}.")
        refuse_own_request(
            actor,
            row.changed_by_id,
            request=f"closed {period.code} for {fund.code}",
            approval="reopen it",
        )
        if period.number == 12 and _is_closed(fund, period, YEAR_END_PERIOD):
            raise ApplicationError(
                f"{fund.code}'s {period.year.code} year is closed: reopen the year first."
            )
        if _is_closed(fund, period, period.number + 1):
            following = f"{period.year.code}-M{period.number + 1:02d}"
            raise ApplicationError(f"Reopen {following} first: periods reopen latest first.")
        period_status_set(
            row,
            FundPeriod.Status.OPEN,
            actor=actor,
            reason=reason.strip(),
            why=f"Reopened: {reason.strip()}",
        )
        mark_stale(
            fund_id=fund.pk,
            year_id=period.year_id,
            period_numbers=[period.number],
            reason="period reopened",
        )
    return row
