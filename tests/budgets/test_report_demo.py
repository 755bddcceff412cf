"""The demo's month-end reports fill in after the server starts: every closed month without a frozen
report is queued by task name, the latest closed month of each fund with its files; idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from budgets.demo import reports as demo_reports
from budgets.models import ExportJob, FundBudget, ReportSnapshot
from tests.budgets.factories import budget_world, close_months_at

pytestmark = pytest.mark.django_db


def test_closed_months_are_frozen_after_the_server_starts(
    django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    w = budget_world(status=FundBudget.Status.APPROVED)
    close_months_at(w, 5, lambda n: datetime(2016, n + 4, 7, 10, tzinfo=UTC))
    assert list(demo_reports.seed()) == [
        (
            "month-end reports: 5 closed months' reports to freeze after the server starts "
            "(seed_demo --fill-in)"
        )
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert list(demo_reports.fill_in()) == ["month-end reports: 5 months' reports queued"]
    assert sorted(ReportSnapshot.objects.values_list("period__number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    done = ExportJob.objects.filter(status="done")
    assert sorted((j.period.number, j.format) for j in done) == [
        (5, "csv"),
        (5, "pdf"),
        (5, "xlsx"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert list(demo_reports.fill_in()) == ["month-end reports: 0 months' reports queued"]
    assert ReportSnapshot.objects.count() == 5
