"""Export jobs: who may see them, asking for one, and running one (called by the Celery tasks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from budgets import rules
from budgets.models import ExportJob, Period, PooledFund
from budgets.reports import transparency
from budgets.reports.csv_renderer import render_csv
from budgets.reports.pdf_renderer import render_pdf
from budgets.reports.variance import (
    GROUPINGS,
    VarianceReport,
    compute_variance_report,
    report_from_data,
)
from budgets.reports.xlsx_renderer import render_xlsx
from budgets.selectors import funds_visible_to
from gmhsc import jobs
from gmhsc.background import enqueue_on_commit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from gmhsc.memory import fewer_collections
from localities import roles
from localities.actors import Actor
from localities.models import Organisation

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# Reports up to this many lines may be downloaded straight away; larger ones run as a job.
SYNC_LINES = {"csv": 5000, "xlsx": 2000, "pdf": 300}


def sync_line_limit(fmt: str) -> int:
    limits = getattr(settings, "GMHSC_EXPORT_SYNC_LINES", SYNC_LINES)
    return int(limits.get(fmt, 0))


def render(
    report: VarianceReport, fmt: str, progress: Callable[[float], None] | None = None
) -> bytes:
    with fewer_collections():
        return _render(report, fmt, progress)


def _render(
    report: VarianceReport, fmt: str, progress: Callable[[float], None] | None = None
) -> bytes:
    if fmt == "csv":
        return render_csv(report, progress)
    if fmt == "xlsx":
        return render_xlsx(report, progress)
    if fmt == "pdf":
        return render_pdf(report, progress)
    raise ApplicationError(f"Unknown export format '{fmt}'.")


def variance_filename(report: VarianceReport, fmt: str) -> str:
    period = report.period_code.replace("/", "-")
    suffix = f"-run{report.snapshot_run}" if report.snapshot_run and report.snapshot_run > 1 else ""
    return f"variance-{report.fund_code}-{period}{suffix}.{fmt}"


# ---- visibility --------------------------------------------------------------------------------


def exports_visible_to(user: Any) -> QuerySet[ExportJob]:
    """Jobs a user may see: their own (while they may still see the fund or organisation) and the
    month-close reports of funds they may see. Everything else answers 404."""
    qs = ExportJob.objects.select_related("fund", "period__year", "organisation", "owner")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    visible_funds = funds_visible_to(user).values("pk")
    own_variance = Q(owner=user, kind=ExportJob.Kind.VARIANCE, fund_id__in=visible_funds)
    own_transparency = Q(
        owner=user, kind=ExportJob.Kind.TRANSPARENCY, organisation_id=user.organisation_id
    )
    month_close = Q(source=ExportJob.Source.PERIOD_CLOSE, fund_id__in=visible_funds)
    return qs.filter(own_variance | own_transparency | month_close)


def my_exports(user: Any) -> QuerySet[ExportJob]:
    return exports_visible_to(user).filter(owner=user)


def get_visible_export(user: Any, pk: int) -> ExportJob:
    job = exports_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise NotFound("Export not found.")
    return job


def month_close_exports(fund: PooledFund) -> QuerySet[ExportJob]:
    return (
        ExportJob.objects.filter(fund=fund, source=ExportJob.Source.PERIOD_CLOSE)
        .select_related("period__year", "snapshot")
        .order_by("-period__year__start_date", "-period__number", "-snapshot__run", "format")
    )


# ---- asking for an export ----------------------------------------------------------------------


def variance_export_request(
    *, actor: Actor, fund: PooledFund, period: Period, fmt: str, grouping: str = "service_area"
) -> ExportJob:
    """Queue a variance export for the actor; the file appears under "my exports"."""
    if not rules.can_view_fund(actor, fund):
        raise NotFound("Fund not found.")
    if fmt not in CONTENT_TYPES:
        raise ApplicationError(f"Unknown export format '{fmt}'.", extra={"field": "format"})
    if grouping not in GROUPINGS:
        raise ApplicationError(f"Unknown grouping '{grouping}'.", extra={"field": "grouping"})
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=ExportJob.Kind.VARIANCE,
            format=fmt,
            owner=actor,
            fund=fund,
            period=period,
            parameters={"grouping": grouping},
        )
        enqueue_on_commit("budgets.tasks.export_variance", job.pk)
    return job


def transparency_export_request(
    *,
    actor: Actor,
    organisation: Organisation,
    period: Period,
    scope: str,
    number: int,
    template: str | None = None,
) -> ExportJob:
    """Queue an organisation's transparency file for a month or a quarter."""
    if not rules.may_post_for(actor, organisation):
        if actor.organisation_id == organisation.pk:
            raise NotAllowed("Only a finance officer can export the spend file.")
        raise NotFound("Organisation not found.")
    template = template or transparency.default_template_for(organisation)
    if template not in transparency.TEMPLATES:
        raise ApplicationError(f"Unknown template '{template}'.", extra={"field": "template"})
    try:
        transparency.period_numbers(scope, number)
    except ValueError as exc:
        raise ApplicationError(str(exc), extra={"field": "number"}) from None
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=ExportJob.Kind.TRANSPARENCY,
            format=ExportJob.Format.CSV,
            owner=actor,
            organisation=organisation,
            period=period,
            parameters={"template": template, "scope": scope, "number": number},
        )
        enqueue_on_commit("budgets.tasks.export_transparency", job.pk)
    return job


# ---- running an export (inside the Celery task) ------------------------------------------------


class _Progress:
    """Saves progress at most every 5 percentage points, so large files do not hammer the DB."""

    def __init__(self, job: ExportJob, start: int, end: int) -> None:
        self.job, self.start, self.end, self.last = job, start, end, start

    def __call__(self, fraction: float) -> None:
        value = self.start + int((self.end - self.start) * min(max(fraction, 0.0), 1.0))
        if value >= self.last + 5:
            self.last = value
            ExportJob.objects.filter(pk=self.job.pk).update(progress=value)


def _start(job: ExportJob) -> None:
    job.status = ExportJob.Status.RUNNING
    job.progress = 5
    job.message = ""
    ExportJob.objects.filter(pk=job.pk).update(status=job.status, progress=5, message="")


def _finish(job: ExportJob, data: bytes, filename: str, rows: int) -> None:
    job.file.save(filename, ContentFile(data), save=False)
    job.filename = filename
    job.rows = rows
    job.status = ExportJob.Status.DONE
    job.progress = 100
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "filename", "rows", "status", "progress", "finished_at"])


def _fail(job: ExportJob, message: str) -> None:
    job.status = ExportJob.Status.FAILED
    job.message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])


def variance_export_run(*, job_id: int) -> str:
    """Run a queued variance export (the task's whole work); a finished or missing job is left."""
    job = (
        ExportJob.objects.select_related("fund__host", "period__year", "snapshot")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.status == ExportJob.Status.DONE:
        return "nothing to do"
    # Taken by one worker at a time, with a heartbeat while it runs (gmhsc/jobs.py).
    status = jobs.run_claimed(job, lambda: run_variance_export(job).status)
    return str(status or "finished or held by another worker")


def transparency_export_run(*, job_id: int) -> str:
    """Run a queued transparency export (the task's whole work); a finished or missing job is left."""
    job = ExportJob.objects.select_related("organisation", "period__year").filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return "nothing to do"
    status = jobs.run_claimed(job, lambda: run_transparency_export(job).status)
    return str(status or "finished or held by another worker")


def run_variance_export(job: ExportJob) -> ExportJob:
    if job.status == ExportJob.Status.DONE:
        return job
    _start(job)
    try:
        grouping = job.parameters.get("grouping", "service_area")
        if job.snapshot_id is not None:
            assert job.snapshot is not None
            report = report_from_data(
                job.snapshot.data,
                grouping=grouping,
                closed=True,
                source="snapshot",
                snapshot_run=job.snapshot.run,
                snapshot_checksum=job.snapshot.checksum,
            )
        else:
            assert job.fund is not None
            report = compute_variance_report(fund=job.fund, period=job.period, grouping=grouping)
        ExportJob.objects.filter(pk=job.pk).update(progress=15)
        data = render(report, job.format, _Progress(job, 15, 95))
        _finish(job, data, variance_filename(report, job.format), len(report.rows))
    except Exception as exc:
        logger.exception("variance export %s failed", job.pk)
        _fail(job, f"The export failed: {exc}")
    return job


def run_transparency_export(job: ExportJob) -> ExportJob:
    if job.status == ExportJob.Status.DONE:
        return job
    _start(job)
    try:
        assert job.organisation is not None  # a transparency job always names its organisation
        params = job.parameters
        numbers = transparency.period_numbers(params["scope"], int(params["number"]))
        rows = transparency.transparency_rows(
            organisation=job.organisation,
            year=job.period.year,
            numbers=numbers,
            template=params["template"],
        )
        ExportJob.objects.filter(pk=job.pk).update(progress=50)
        data = transparency.render_transparency_csv(
            rows, params["template"], _Progress(job, 50, 95)
        )
        label = (
            f"Q{params['number']}" if params["scope"] == "quarter" else f"M{params['number']:02d}"
        )
        year = job.period.year.code.replace("/", "-")
        filename = f"spend-{params['template']}-{job.organisation.code}-{year}-{label}.csv"
        _finish(job, data, filename, len(rows))
    except Exception as exc:
        logger.exception("transparency export %s failed", job.pk)
        _fail(job, f"The export failed: {exc}")
    return job
