"""The demo's month-end: M1..M5 closed through period_close, five snapshots, M5's files, idempotent."""

from __future__ import annotations

import pytest

from budgets.demo import reports as demo_reports
from budgets.models import ExportJob, FundBudget, FundPeriod, ReportSnapshot
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db


def test_demo_closes_m1_to_m5_once(django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = budget_world(status=FundBudget.Status.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        lines = list(demo_reports.seed())
    # (in a test the close's on_commit work runs when the capture block ends, after the summary)
    assert lines[0].startswith("month-end close: 5 months closed (M1..M5)")
    assert ReportSnapshot.objects.count() == 5
    closed = FundPeriod.objects.filter(fund=w.fund, status="closed").values_list(
        "period__number", flat=True
    )
    assert sorted(closed) == [1, 2, 3, 4, 5]
    with django_capture_on_commit_callbacks(execute=True):
        again = list(demo_reports.seed())
    assert again == [
        "month-end close: 0 months closed (M1..M5), 5 frozen snapshots, 3 report files"
    ]
    assert ReportSnapshot.objects.count() == 5
    done = ExportJob.objects.filter(status="done")
    assert sorted((j.period.number, j.format) for j in done) == [
        (5, "csv"),
        (5, "pdf"),
        (5, "xlsx"),
    ]
