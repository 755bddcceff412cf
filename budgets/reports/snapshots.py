"""Freezing a closed month's variance report: one ReportSnapshot per close, never changed."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from budgets.models import FundPeriod, Period, PooledFund, ReportSnapshot
from budgets.reports.variance import compute_live_report, latest_snapshot


def freeze_variance_snapshot(*, fund: PooledFund, period: Period) -> ReportSnapshot | None:
    """Freeze the month's figures for the current close; None when the month is not closed.

    Idempotent: a second call for the same close returns the snapshot already frozen. A month
    reopened and closed again gets a new run; the earlier runs stay as they were.
    """

    status = FundPeriod.objects.filter(fund=fund, period=period).first()
    if status is None or status.status != FundPeriod.Status.CLOSED or status.changed_at is None:
        return None
    existing = ReportSnapshot.objects.filter(
        fund=fund, period=period, kind=ReportSnapshot.Kind.VARIANCE, closed_at=status.changed_at
    ).first()
    if existing is not None:
        return existing
    report = compute_live_report(fund=fund, period=period, closed=True)
    previous = latest_snapshot(fund, period)
    try:
        with transaction.atomic():
            return ReportSnapshot.objects.create(
                fund=fund,
                period=period,
                kind=ReportSnapshot.Kind.VARIANCE,
                run=(previous.run + 1) if previous else 1,
                closed_at=status.changed_at,
                data=report.to_data(),
            )
    except IntegrityError:
        # Another worker froze the same close at the same moment: theirs stands.
        return ReportSnapshot.objects.get(
            fund=fund,
            period=period,
            kind=ReportSnapshot.Kind.VARIANCE,
            closed_at=status.changed_at,
        )


def months_waiting() -> QuerySet[FundPeriod]:
    """Closed months (M1..M12) whose variance report is not frozen yet (its task has not run):
    after a bulk load, or while a worker catches up."""
    frozen = ReportSnapshot.objects.filter(
        fund_id=OuterRef("fund_id"),
        period_id=OuterRef("period_id"),
        kind=ReportSnapshot.Kind.VARIANCE,
    )
    return (
        FundPeriod.objects.filter(status=FundPeriod.Status.CLOSED, period__number__lte=12)
        .annotate(frozen=Exists(frozen))
        .filter(frozen=False)
    )
