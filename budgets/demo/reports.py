"""The demo's month-end reports, made after the server starts.

The demo closes months in bulk (budgets.demo.cycle). Freezing each closed month's variance report
(about 216 snapshots) and writing the latest month's CSV, XLSX and PDF are what can wait: `make run`
serves its first page first, then `python manage.py seed_demo --fill-in` enqueues this work by task
name (gmhsc.background.enqueue_on_commit) for whatever runs background tasks, and the pages say
"being prepared" until each report is ready. Idempotent: a month already frozen is skipped, and
the task freezes one snapshot per close and makes each file once.
"""

from __future__ import annotations

from collections.abc import Iterator

from budgets.models import FundPeriod
from budgets.reports.snapshots import months_waiting
from gmhsc.background import enqueue_on_commit


def waiting() -> list[FundPeriod]:
    """Closed months whose variance report is not frozen yet, in closing order."""
    return list(
        months_waiting()
        .select_related("fund", "period__year")
        .order_by("period__year__start_date", "period__number", "fund__code")
    )


def seed() -> Iterator[str]:
    count = len(waiting())
    yield (
        f"month-end reports: {count} closed months' reports to freeze after the server starts "
        "(seed_demo --fill-in)"
    )


def fill_in() -> Iterator[str]:
    """Enqueue each closed month's freeze; the latest closed month of each fund also gets its
    files. Runs the work where background tasks run (in this process when there is no broker)."""
    months = waiting()
    latest: dict[int, int] = {}
    for status in months:
        latest[status.fund_id] = status.period_id
    for status in months:
        files = latest[status.fund_id] == status.period_id
        if files:
            enqueue_on_commit(
                "budgets.tasks.period_close_reports", status.fund_id, status.period_id
            )
        else:
            enqueue_on_commit(
                "budgets.tasks.period_close_reports", status.fund_id, status.period_id, files=False
            )
    yield f"month-end reports: {len(months)} months' reports queued"
