"""Record stale figures in the writer's transaction and enqueue the recompute after commit.

Every service that changes money calls `mark_stale(...)` inside its transaction. If the broker
is unreachable the write still stands: the StaleMark rows stay and the periodic sweep takes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from budgets.models import StaleMark
from gmhsc.background import enqueue_on_commit

logger = logging.getLogger(__name__)


def mark_stale(
    *,
    fund_id: int,
    year_id: int,
    line_ids: Iterable[int] | None = None,
    period_numbers: Iterable[int] | None = None,
    reason: str,
) -> None:
    """Mark figures stale and enqueue `recompute_fund(fund_id)` on commit.

    line_ids None -> the whole fund; period_numbers None -> every period from the first affected.
    """
    lines: list[int | None] = [None]
    if line_ids is not None:
        lines = [*sorted(set(line_ids))]
    # A change in period n makes n and every later YTD figure stale: keep the earliest.
    periods = sorted(set(period_numbers)) if period_numbers is not None else []
    earliest = periods[0] if periods else None
    StaleMark.objects.bulk_create(
        [
            StaleMark(
                fund_id=fund_id,
                year_id=year_id,
                line_id=line,
                period_number=earliest,
                reason=reason[:60],
            )
            for line in lines
        ]
    )
    enqueue_on_commit("budgets.tasks.recompute_fund", fund_id)


def mark_stale_from_sql(source: str, params: Sequence[Any] = (), *, reason: str) -> None:
    """mark_stale for a large write, set-based. `source` is SQL yielding (fund_id, year_id,
    line_id, period_number) for each change; the marks are those `mark_stale` would write for
    each (fund, year): one per line, from the earliest period of that fund and year."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH changed AS (
              SELECT fund_id, year_id, line_id, min(period_number) AS first_period
              FROM ({source}) s
              GROUP BY fund_id, year_id, line_id
            ),
            marks AS (
              INSERT INTO budgets_stalemark
                (fund_id, year_id, line_id, period_number, reason, created_at)
              SELECT fund_id, year_id, line_id,
                     min(first_period) OVER (PARTITION BY fund_id, year_id), %s, %s
              FROM changed
              RETURNING fund_id
            )
            SELECT DISTINCT fund_id FROM marks ORDER BY fund_id
            """,  # noqa: S608 (source is the caller's SQL, values are parameters)
            [*params, reason[:60], timezone.now()],
        )
        funds = [int(row[0]) for row in cursor.fetchall()]
    for fund_id in funds:
        enqueue_on_commit("budgets.tasks.recompute_fund", fund_id)
