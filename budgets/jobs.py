"""The budgets jobs that carry a heartbeat (gmhsc/jobs.py): ledger imports and exports, including
the month-close files. Registered by BudgetsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from budgets.models import ExportJob, LedgerImport
from gmhsc.jobs import JobKind, Resend, register


def _resend_export(job: ExportJob) -> Resend:
    if job.source == ExportJob.Source.PERIOD_CLOSE:
        # The month-close task makes the month's three files; it picks up the unfinished ones.
        return "budgets.tasks.period_close_reports", (job.fund_id, job.period_id)
    if job.kind == ExportJob.Kind.TRANSPARENCY:
        return "budgets.tasks.export_transparency", (job.pk,)
    return "budgets.tasks.export_variance", (job.pk,)


def register_kinds() -> None:
    register(
        JobKind(
            label="ledger import",
            model=LedgerImport,
            unfinished=(
                LedgerImport.Status.PENDING,
                LedgerImport.Status.CHECKING,
                LedgerImport.Status.POSTING,
            ),
            failed=LedgerImport.Status.FAILED,
            message_field="message",
            created_field="created_at",
            resend=lambda imp: ("budgets.tasks.import_ledger", (imp.pk,)),
        )
    )
    register(
        JobKind(
            label="export",
            model=ExportJob,
            unfinished=(ExportJob.Status.PENDING, ExportJob.Status.RUNNING),
            failed=ExportJob.Status.FAILED,
            message_field="message",
            created_field="created_at",
            resend=_resend_export,
        )
    )


# ---- the month-close files: three export jobs per close -----------------------------------------

MONTH_CLOSE_FORMATS = (ExportJob.Format.CSV, ExportJob.Format.XLSX, ExportJob.Format.PDF)
_UNFINISHED = (ExportJob.Status.PENDING, ExportJob.Status.RUNNING)


def _month_close(fund: Any, period: Any) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(
        fund=fund, period=period, source=ExportJob.Source.PERIOD_CLOSE
    ).select_related("fund", "period__year", "snapshot")


def owe_month_close_files(fund_id: int, period_id: int) -> None:
    """Record, inside the close's transaction, that the month's CSV, XLSX and PDF are owed.

    Pending jobs without a snapshot yet (the task freezes it, then attaches it): if the task's
    message is lost or its worker dies, the sweep sees them and sends the task again.
    """
    waiting = set(
        _month_close(fund_id, period_id)
        .filter(snapshot__isnull=True, status__in=_UNFINISHED)
        .values_list("format", flat=True)
    )
    ExportJob.objects.bulk_create(
        [
            ExportJob(
                kind=ExportJob.Kind.VARIANCE,
                format=fmt,
                source=ExportJob.Source.PERIOD_CLOSE,
                fund_id=fund_id,
                period_id=period_id,
                parameters={"grouping": "service_area"},
            )
            for fmt in MONTH_CLOSE_FORMATS
            if fmt not in waiting
        ]
    )


def month_close_jobs_owed(fund: Any, period: Any) -> list[ExportJob]:
    """The month's unfinished file jobs (of the current close or still without a snapshot)."""
    return list(_month_close(fund, period).filter(status__in=_UNFINISHED).order_by("pk"))


def month_close_job(*, fund: Any, period: Any, snapshot: Any, fmt: str) -> ExportJob:
    """The job for this close's file in this format: the one owed (given the snapshot now it is
    frozen), the one already made, or a new one (a close recorded before files were owed)."""
    close = _month_close(fund, period).filter(format=fmt)
    job = close.filter(snapshot=snapshot).first()
    if job is not None:
        return job
    job = close.filter(snapshot__isnull=True, status__in=_UNFINISHED).order_by("pk").first()
    if job is not None:
        job.snapshot = snapshot
        job.save(update_fields=["snapshot"])
        return job
    return ExportJob.objects.create(
        kind=ExportJob.Kind.VARIANCE,
        format=fmt,
        source=ExportJob.Source.PERIOD_CLOSE,
        fund=fund,
        period=period,
        snapshot=snapshot,
        parameters={"grouping": "service_area"},
    )
