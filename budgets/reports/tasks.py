"""Celery tasks for reporting: thin, idempotent wrappers around budgets.reports services.

Names live under budgets.tasks.* so the exports queue route (budgets.tasks.export_*,
budgets.tasks.period_close_*) applies.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from budgets.reports.exports import transparency_export_run, variance_export_run
from budgets.reports.month_close import FiguresPending, close_month_reports


@shared_task(name="budgets.tasks.export_variance", acks_late=True, max_retries=3)
def export_variance(job_id: int) -> str:
    return variance_export_run(job_id=job_id)


@shared_task(name="budgets.tasks.export_transparency", acks_late=True, max_retries=3)
def export_transparency(job_id: int) -> str:
    return transparency_export_run(job_id=job_id)


@shared_task(name="budgets.tasks.period_close_reports", bind=True, acks_late=True, max_retries=60)
def period_close_reports(self: Any, fund_id: int, period_id: int, files: bool = True) -> str:
    """Freeze the closed month's variance report and (files) make its CSV, XLSX and PDF; while
    another worker is still recomputing the fund, try again shortly."""
    try:
        return close_month_reports(
            fund_id=fund_id,
            period_id=period_id,
            files=files,
            wait_for_figures=not self.request.is_eager,
        )
    except FiguresPending as exc:
        raise self.retry(countdown=2) from exc
