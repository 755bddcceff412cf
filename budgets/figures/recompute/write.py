"""Writing the recompute's rows: the fund's lock and stale marks, then LineVariance (COPY on
PostgreSQL), the fund's positions, risk-share allocations and fair-share runs, in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from budgets.figures import fair_share
from budgets.figures.recompute.compute import (
    VarianceRow,
    fair_share_inputs,
    finish_position,
    iter_variance_rows,
    risk_share_rows,
)
from budgets.models import (
    AllocationResult,
    AllocationRun,
    BudgetLine,
    FundPosition,
    LineVariance,
    PooledFund,
    RiskShareAllocation,
    StaleMark,
)
from budgets.models.fields import MoneySum
from budgets.models.figures import MONEY_COLUMNS
from budgets.rag import Rag

ADVISORY_CLASS = 4242
VARIANCE_COLUMNS = ("fund_id", "year_id", "line_id", *VarianceRow._fields, "computed_at")
COPY_FLUSH_LINES = 1000  # send every 12,000 rows, so PostgreSQL indexes while Python computes


class FundBusy(Exception):
    """Another worker holds this fund's recompute lock; retry later."""


def _write_variances(
    fund_id: int,
    year_id: int,
    line_ids: list[int] | None,
    rows: Iterable[tuple[int, list[VarianceRow]]],
    now: datetime,
) -> int:
    """Replace the LineVariance rows of `line_ids` (None: the whole fund-year); returns lines written."""
    existing = LineVariance.objects.filter(fund_id=fund_id, year_id=year_id)
    if line_ids is not None:
        existing = existing.filter(line_id__in=line_ids)
    existing._raw_delete(existing.db)  # type: ignore[attr-defined]  # no cascades, no signals
    written = 0
    if connection.vendor == "postgresql":
        stamp = now.isoformat()
        table = LineVariance._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY {table} ({', '.join(VARIANCE_COLUMNS)}) FROM STDIN") as copy:
                chunk: list[str] = []
                add = chunk.append
                for line_id, line_rows in rows:
                    prefix = f"{fund_id}\t{year_id}\t{line_id}\t"
                    for r in line_rows:
                        # str() is much faster than f-string formatting of Decimals. Only the two
                        # percentages can be NULL (a zero budget).
                        if r.ytd_variance_pct is None or r.forecast_variance_pct is None:
                            text = "\t".join("\\N" if v is None else str(v) for v in r)
                        else:
                            text = "\t".join(map(str, r))
                        add(f"{prefix}{text}\t{stamp}\n")
                    written += 1
                    if written % COPY_FLUSH_LINES == 0:
                        copy.write("".join(chunk))
                        chunk.clear()
                if chunk:
                    copy.write("".join(chunk))
        return written
    # Elsewhere (SQLite, `make run`): plain parameterised INSERTs, executemany in chunks. Model
    # instances and bulk_create took about eight times as long for the demo's 115,000 rows.
    table = LineVariance._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(VARIANCE_COLUMNS)}) "  # noqa: S608 (names from the model)
        f"VALUES ({', '.join(['%s'] * len(VARIANCE_COLUMNS))})"
    )
    adapted: Any = connection.ops.adapt_datetimefield_value(now)
    chunk_rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for line_id, line_rows in rows:
            written += 1
            chunk_rows.extend((fund_id, year_id, line_id, *r, adapted) for r in line_rows)
            if len(chunk_rows) >= 12 * COPY_FLUSH_LINES:
                cursor.executemany(sql, chunk_rows)
                chunk_rows.clear()
        if chunk_rows:
            cursor.executemany(sql, chunk_rows)
    return written


def positions_and_leads_from_sql(
    fund_id: int, year_id: int
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[int, Decimal]], dict[int, dict[int, Decimal]]]:
    """From the stored LineVariance rows in one GROUP BY period, lead commissioner:
    the fund's position per period, and each lead's forecast and YTD variance per period (the
    own-risk inputs of the risk-share rules)."""
    sums = {c: MoneySum(c) for c in MONEY_COLUMNS}
    counts = {
        f"{rag}_count": Count("id", filter=Q(rag=rag)) for rag in (Rag.RED, Rag.AMBER, Rag.GREEN)
    }
    positions: dict[int, dict[str, Any]] = {}
    leads_forecast: dict[int, dict[int, Decimal]] = defaultdict(dict)
    leads_actual: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for row in (
        LineVariance.objects.filter(fund_id=fund_id, year_id=year_id)
        .order_by()
        .values("period_number", "line__lead_commissioner_id")
        .annotate(**sums, **counts)
    ):
        n = row.pop("period_number")
        lead = row.pop("line__lead_commissioner_id")
        leads_forecast[n][lead] = row["forecast_variance"]
        leads_actual[n][lead] = row["ytd_variance"]
        pos = positions.get(n)
        if pos is None:
            positions[n] = row
        else:
            for key, value in row.items():
                pos[key] += value
    return (
        {n: finish_position(pos) for n, pos in positions.items()},
        leads_forecast,
        leads_actual,
    )


def _write_positions(
    fund_id: int, year_id: int, positions: dict[int, dict[str, Any]], now: datetime
) -> None:
    FundPosition.objects.filter(fund_id=fund_id, year_id=year_id).delete()
    FundPosition.objects.bulk_create(
        [
            FundPosition(
                fund_id=fund_id, year_id=year_id, period_number=n, computed_at=now, **values
            )
            for n, values in sorted(positions.items())
        ]
    )


def _write_risk_share(
    fund_id: int, year_id: int, rows: list[dict[str, Any]], now: datetime
) -> None:
    RiskShareAllocation.objects.filter(fund_id=fund_id, year_id=year_id).delete()
    RiskShareAllocation.objects.bulk_create(
        [RiskShareAllocation(fund_id=fund_id, year_id=year_id, computed_at=now, **r) for r in rows]
    )


def _write_fair_share(fund: PooledFund, year_id: int, now: datetime) -> None:
    pot, inputs = fair_share_inputs(fund, year_id)
    AllocationRun.objects.filter(
        fund=fund, year_id=year_id, status=AllocationRun.Status.PROPOSED
    ).delete()
    if not inputs:
        return
    kept = set(
        AllocationRun.objects.filter(fund=fund, year_id=year_id).values_list("method", flat=True)
    )
    policy = dict(fair_share.DEFAULT_POLICY)
    snapshot = [
        {
            "locality_id": i.locality_id,
            "population": i.population,
            "need_index": str(i.need_index),
            "cost_index": str(i.cost_index),
            "baseline": str(i.baseline),
        }
        for i in inputs
    ]
    for method in fair_share.METHODS:
        if method in kept:  # an approved run is the board's record: never rewritten
            continue
        run = AllocationRun.objects.create(
            fund=fund,
            year_id=year_id,
            method=method,
            total_pot=pot,
            policy=policy,
            inputs=snapshot,
            computed_at=now,
        )
        AllocationResult.objects.bulk_create(
            [
                AllocationResult(
                    run=run,
                    locality_id=r.locality_id,
                    weighted_population=r.weighted_population,
                    baseline=r.baseline,
                    target=r.target,
                    dft_before=r.dft_before,
                    allocation=r.allocation,
                    dft_after=r.dft_after,
                )
                for r in fair_share.allocate(
                    method=method, total_pot=pot, inputs=inputs, policy=policy
                )
            ]
        )


# ---- the recompute ----------------------------------------------------------------------------


def _try_lock(fund_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_CLASS, fund_id])
        return bool(cursor.fetchone()[0])


def recompute_year(
    fund: PooledFund, year_id: int, line_ids: list[int] | None, now: datetime
) -> int:
    """Rewrite one fund-year's snapshots for `line_ids` (None: all). Call inside a transaction."""
    written = _write_variances(
        fund.pk, year_id, line_ids, iter_variance_rows(fund, year_id, line_ids), now
    )
    positions, leads_forecast, leads_actual = positions_and_leads_from_sql(fund.pk, year_id)
    _write_positions(fund.pk, year_id, positions, now)
    _write_risk_share(
        fund.pk,
        year_id,
        risk_share_rows(fund, year_id, positions, leads_forecast, leads_actual),
        now,
    )
    _write_fair_share(fund, year_id, now)
    return written


def recompute_fund_now(fund: PooledFund | int, *, full: bool = False) -> dict[str, int]:
    """Take the fund's stale marks and rewrite what they cover. `full`: every line of every year.

    Returns {"marks": taken, "lines": rewritten}. Raises FundBusy if another worker holds the fund.
    """
    fund_id = fund if isinstance(fund, int) else fund.pk
    with transaction.atomic():
        if not _try_lock(fund_id):
            raise FundBusy(fund_id)
        fund_obj = PooledFund.objects.select_related("host").get(pk=fund_id)
        marks_qs = StaleMark.objects.filter(fund_id=fund_id)
        if connection.features.has_select_for_update_skip_locked:
            marks_qs = marks_qs.select_for_update(skip_locked=True)
        marks = list(marks_qs.values_list("id", "year_id", "line_id"))
        targets: dict[int, set[int] | None] = {}
        if full:
            for year_id in (
                BudgetLine.objects.filter(fund_id=fund_id)
                .values_list("year_id", flat=True)
                .distinct()
            ):
                targets[year_id] = None
        for _, year_id, line_id in marks:
            if year_id in targets and targets[year_id] is None:
                continue
            if line_id is None:
                targets[year_id] = None
            else:
                targets.setdefault(year_id, set()).add(line_id)  # type: ignore[union-attr]
        now = timezone.now()
        lines = 0
        for year_id, ids in sorted(targets.items()):
            lines += recompute_year(fund_obj, year_id, None if ids is None else sorted(ids), now)
        StaleMark.objects.filter(pk__in=[mark_id for mark_id, _, _ in marks]).delete()
    return {"marks": len(marks), "lines": lines}


def recompute_all() -> Iterator[str]:
    for fund in PooledFund.objects.order_by("code"):
        result = recompute_fund_now(fund, full=True)
        yield f"{fund.code}: {result['lines']} lines recomputed"
