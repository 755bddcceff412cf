"""Frozen month-end report snapshots and export jobs (files produced in the background)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models

from budgets.models.funds import PooledFund
from budgets.models.reference import Period
from gmhsc.jobs import JobFields
from localities.models import Organisation


def canonical_json(data: Any) -> str:
    """The one serialisation a checksum is taken over: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


class FrozenSnapshot(Exception):
    """A report snapshot never changes once written."""


class ReportSnapshot(models.Model):
    """The variance report of one fund for one closed month, frozen at close; or the memorandum
    account of a closed year (kind "memorandum", period M13), frozen when the year closes.

    Board papers quote these figures, so a snapshot is written once and never updated or deleted
    (save() and delete() refuse; on PostgreSQL a trigger refuses UPDATE and DELETE too). Reopening
    and closing the month again writes a new `run`; reports read the latest run.
    """

    class Kind(models.TextChoices):
        VARIANCE = "variance", "Monthly variance report"
        MEMORANDUM = "memorandum", "Memorandum account for the year (frozen at year end)"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="report_snapshots")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="report_snapshots")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.VARIANCE)
    run = models.PositiveSmallIntegerField(default=1)
    # The FundPeriod.changed_at of the close this snapshot belongs to: one snapshot per close.
    closed_at = models.DateTimeField()
    data = models.JSONField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fund__code", "period__year__start_date", "period__number", "run"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "period", "kind", "run"], name="uniq_report_snapshot_run"
            ),
            models.UniqueConstraint(
                fields=["fund", "period", "kind", "closed_at"], name="uniq_report_snapshot_close"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.period.code} {self.kind} run {self.run}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise FrozenSnapshot("A report snapshot is frozen: it cannot be changed.")
        self.checksum = checksum_of(self.data)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise FrozenSnapshot("A report snapshot is frozen: it cannot be deleted.")

    def verify(self) -> bool:
        """True when the stored figures still match the checksum taken when they were frozen."""
        return checksum_of(self.data) == self.checksum


class ExportJob(JobFields):
    """One export file: asked for by a user ("my exports") or made by the month-end close."""

    class Kind(models.TextChoices):
        VARIANCE = "variance", "Variance report"
        TRANSPARENCY = "transparency", "Transparency spend file"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Ready to download"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        USER = "user", "Asked for by a user"
        PERIOD_CLOSE = "period_close", "Month-end close"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.VARIANCE)
    format = models.CharField(max_length=4, choices=Format.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.USER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="export_jobs",
        null=True,
        blank=True,
    )
    fund = models.ForeignKey(
        PooledFund, on_delete=models.PROTECT, related_name="export_jobs", null=True, blank=True
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="export_jobs", null=True, blank=True
    )
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="export_jobs")
    snapshot = models.ForeignKey(
        ReportSnapshot,
        on_delete=models.PROTECT,
        related_name="export_jobs",
        null=True,
        blank=True,
    )
    # variance: {"grouping": "service_area"}; transparency: {"template": "lgtc500"|"hmt25k",
    # "scope": "month"|"quarter"}
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "created_at"], name="exportjob_owner_created"),
            models.Index(fields=["fund", "source", "period"], name="exportjob_fund_source"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="exportjob_progress_max_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} {self.kind} {self.format} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
