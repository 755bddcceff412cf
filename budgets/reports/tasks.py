"""Celery tasks for reporting: thin, idempotent wrappers around budgets.reports.

Names live under budgets.tasks.* so the exports queue route (budgets.tasks.export_*,
budgets.tasks.period_close_*) applies.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="budgets.tasks.export_variance", acks_late=True, max_retries=3)
def export_variance(job_id: int) -> str:
    from budgets.models import ExportJob
    from budgets.reports.exports import run_variance_export

    job = (
        ExportJob.objects.select_related("fund__host", "period__year", "snapshot")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.status == ExportJob.Status.DONE:
        return "nothing to do"
    return run_variance_export(job).status


@shared_task(name="budgets.tasks.export_transparency", acks_late=True, max_retries=3)
def export_transparency(job_id: int) -> str:
    from budgets.models import ExportJob
    from budgets.reports.exports import run_transparency_export

    job = ExportJob.objects.select_related("organisation", "period__year").filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return "nothing to do"
    return run_transparency_export(job).status


@shared_task(name="budgets.tasks.period_close_reports", bind=True, acks_late=True, max_retries=60)
def period_close_reports(self: Any, fund_id: int, period_id: int, files: bool = True) -> str:
    """Freeze the closed month's variance report and (files) generate its CSV, XLSX and PDF.

    Figures must be current before they are frozen: pending recompute marks for the fund are
    worked off first; if another worker holds them, the task retries shortly.
    """
    from budgets.figures.recompute import recompute_fund_now
    from budgets.models import ExportJob, Period, PooledFund, StaleMark
    from budgets.reports.exports import run_variance_export
    from budgets.reports.snapshots import freeze_variance_snapshot

    fund = PooledFund.objects.select_related("host").filter(pk=fund_id).first()
    period = Period.objects.select_related("year").filter(pk=period_id).first()
    if fund is None or period is None:
        return "nothing to do"
    if StaleMark.objects.filter(fund=fund).exists():
        recompute_fund_now(fund)
        if StaleMark.objects.filter(fund=fund).exists() and not self.request.is_eager:
            raise self.retry(countdown=2)
    snapshot = freeze_variance_snapshot(fund=fund, period=period)
    if snapshot is None:
        return "period not closed"
    if not files:
        return f"snapshot run {snapshot.run}; files on request"
    made = 0
    for fmt in (ExportJob.Format.CSV, ExportJob.Format.XLSX, ExportJob.Format.PDF):
        job, _ = ExportJob.objects.get_or_create(
            snapshot=snapshot,
            format=fmt,
            source=ExportJob.Source.PERIOD_CLOSE,
            defaults={
                "kind": ExportJob.Kind.VARIANCE,
                "fund": fund,
                "period": period,
                "parameters": {"grouping": "service_area"},
            },
        )
        if job.status != ExportJob.Status.DONE:
            job.snapshot = snapshot
            run_variance_export(job)
            made += 1
    return f"snapshot run {snapshot.run}; {made} files"
