"""A real Celery worker runs an export job and a month-close report task (PostgreSQL + Redis)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from budgets.models import ExportJob, FundPeriod, Period, ReportSnapshot
from budgets.reports.exports import variance_export_request
from tests.budgets.factories import budget_world, synthetic_variance_report
from tests.conftest import wait_for

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


def test_a_worker_runs_the_export_and_reports_progress_to_done(
    celery_worker_proc, settings, tmp_path
):
    w = budget_world()
    period = Period.objects.select_related("year").get(year=w.year, number=6)
    closed_at = timezone.now()
    FundPeriod.objects.create(fund=w.fund, period=period, status="closed", changed_at=closed_at)
    data = synthetic_variance_report(400).to_data()
    data.update(fund_id=w.fund.pk, fund_code=w.fund.code, fund_name=w.fund.name)
    ReportSnapshot.objects.create(fund=w.fund, period=period, closed_at=closed_at, data=data)
    job = variance_export_request(actor=w.fin_host, fund=w.fund, period=period, fmt="xlsx")
    done = wait_for(
        lambda: ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).first(),
        timeout=60,
    )
    assert done.progress == 100
    assert done.rows == 400
    assert done.file.size > 10_000
