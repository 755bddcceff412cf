"""A closed month's report: its figures brought up to date, frozen once, and its files made.

The period close service enqueues this (through the "budgets.tasks.period_close_reports" task)
after the close commits; the demo calls it directly for months it closed earlier.
"""

from __future__ import annotations

from budgets.figures.recompute import FundBusy, recompute_fund_now
from budgets.jobs import MONTH_CLOSE_FORMATS, month_close_job, month_close_jobs_owed
from budgets.models import ExportJob, Period, PooledFund, StaleMark
from budgets.reports.exports import run_variance_export
from budgets.reports.snapshots import freeze_variance_snapshot
from gmhsc import jobs


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
    # The files are export jobs owed since the close (budgets.jobs): take them, so they carry a
    # heartbeat while this runs and nobody else works on them; the sweep sends this task again if
    # the worker dies on them.
    owed = month_close_jobs_owed(fund, period) if files else []
    held = [job for job in owed if jobs.claim(job)]
    if owed and not held:
        return "files finished or held by another worker"
    with jobs.beating(*held):
        try:
            _bring_figures_up_to_date(fund, wait_for_figures=wait_for_figures)
        except FiguresPending:
            jobs.release(*held)  # the retry takes them again
            raise
        snapshot = freeze_variance_snapshot(fund=fund, period=period)
        if snapshot is None:
            return "period not closed"
        if not files:
            return f"snapshot run {snapshot.run}; files on request"
        held_ids = {job.pk for job in held}
        made = 0
        for fmt in MONTH_CLOSE_FORMATS:
            job = month_close_job(fund=fund, period=period, snapshot=snapshot, fmt=fmt)
            if job.status == ExportJob.Status.DONE:
                continue
            if job.pk not in held_ids and not jobs.claim(job):
                continue
            with jobs.beating(*([] if job.pk in held_ids else [job])):
                run_variance_export(job)
            made += 1
    return f"snapshot run {snapshot.run}; {made} files"
