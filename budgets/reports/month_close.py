"""A closed month's report: its figures brought up to date, frozen once, and its files made.

The period close service enqueues this (through the "budgets.tasks.period_close_reports" task)
after the close commits; the demo calls it directly for months it closed earlier.
"""

from __future__ import annotations

from budgets.figures.recompute import FundBusy, recompute_fund_now
from budgets.models import ExportJob, Period, PooledFund, StaleMark
from budgets.reports.exports import run_variance_export
from budgets.reports.snapshots import freeze_variance_snapshot

MONTH_CLOSE_FORMATS = (ExportJob.Format.CSV, ExportJob.Format.XLSX, ExportJob.Format.PDF)


class FiguresPending(Exception):
    """Another worker is still recomputing the fund: freeze the month once it has finished."""


def _bring_figures_up_to_date(fund: PooledFund, *, wait_for_figures: bool) -> None:
    if not StaleMark.objects.filter(fund=fund).exists():
        return
    try:
        recompute_fund_now(fund)
    except FundBusy as exc:
        if wait_for_figures:
            raise FiguresPending(fund.code) from exc
        return
    # Marks another worker holds (locked, so skipped) are still being recomputed there.
    if wait_for_figures and StaleMark.objects.filter(fund=fund).exists():
        raise FiguresPending(fund.code)


def close_month_reports(
    *, fund_id: int, period_id: int, files: bool = True, wait_for_figures: bool = True
) -> str:
    """Freeze the closed month's variance report and (files) make its CSV, XLSX and PDF.

    Figures must be current before they are frozen: the fund's pending recompute marks are worked
    off first. If another worker holds them, FiguresPending is raised so the caller can try again
    shortly; wait_for_figures=False (in-process work, nobody else to wait for) freezes what the
    snapshots hold instead. Idempotent: the close's snapshot is frozen once and each file made once.
    """
    fund = PooledFund.objects.select_related("host").filter(pk=fund_id).first()
    period = Period.objects.select_related("year").filter(pk=period_id).first()
    if fund is None or period is None:
        return "nothing to do"
    _bring_figures_up_to_date(fund, wait_for_figures=wait_for_figures)
    snapshot = freeze_variance_snapshot(fund=fund, period=period)
    if snapshot is None:
        return "period not closed"
    if not files:
        return f"snapshot run {snapshot.run}; files on request"
    made = 0
    for fmt in MONTH_CLOSE_FORMATS:
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
