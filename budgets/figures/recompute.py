"""The recompute engine: stale marks in, snapshot rows out (architecture.md, steps 4-6).

`recompute_fund_now(fund)` takes the fund's stale marks, aggregates postings for only the affected
lines in SQL, rewrites their LineVariance rows, then the fund's positions, risk-share allocations
and fair-share runs, and deletes the marks it took, all in one transaction. It is a pure function of
database state: running it twice writes the same figures. On PostgreSQL a per-fund advisory lock
keeps two workers from interleaving; the loser raises FundBusy and is retried.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from budgets.figures import fair_share, risk_share
from budgets.models import (
    AllocationResult,
    AllocationRun,
    BudgetLine,
    Contribution,
    FinancialYear,
    Forecast,
    FundPosition,
    LineCommitment,
    LineVariance,
    Period,
    PooledFund,
    RiskShareAgreement,
    RiskShareAllocation,
    SpendPosting,
    StaleMark,
)
from budgets.models.fields import MoneySum
from budgets.models.figures import MONEY_COLUMNS
from budgets.rag import Rag, Thresholds, rag_for
from gmhsc.money import ZERO, percentage

ADVISORY_CLASS = 4242
LINE_FIELDS = ("original_budget", "changes", "current_budget")
MONTHS = [f"m{n:02d}" for n in range(1, 13)]
VARIANCE_COLUMNS = (
    "fund_id",
    "year_id",
    "line_id",
    "period_number",
    "original_budget",
    "changes",
    "current_budget",
    "ytd_budget",
    "ytd_actual",
    "ytd_variance",
    "ytd_variance_pct",
    "commitments",
    "forecast_outturn",
    "forecast_variance",
    "forecast_variance_pct",
    "movement",
    "rag",
    "adverse_favourable",
    "computed_at",
)


class FundBusy(Exception):
    """Another worker holds this fund's recompute lock; retry later."""


def line_rows(
    line: dict[str, Any],
    actuals: dict[int, Decimal],
    forecasts: dict[int, Decimal],
    commitments: dict[int, Decimal],
    t: Thresholds,
) -> list[tuple[Any, ...]]:
    """The 12 period rows of one line, as tuples in VARIANCE_COLUMNS order minus ids and time."""
    phasing = [line[m] for m in MONTHS]
    current = line["current_budget"]
    rows = []
    ytd_budget = ZERO
    ytd_actual = ZERO
    forecast: Decimal | None = None
    previous_fv = None
    remaining_commit = sum(commitments.values(), ZERO)
    # still_phased[p]: the phased budget after month p (months p+1..12).
    still_phased = [ZERO] * 13
    for p in range(11, -1, -1):
        still_phased[p] = still_phased[p + 1] + phasing[p]
    for p in range(1, 13):
        ytd_budget += phasing[p - 1]
        ytd_actual += actuals.get(p, ZERO)
        remaining_commit -= commitments.get(p, ZERO)
        if p in forecasts:
            forecast = forecasts[p]
        outturn = forecast if forecast is not None else ytd_actual + still_phased[p]
        ytd_var = ytd_actual - ytd_budget
        fv = outturn - current
        fv_pct = percentage(fv, current)
        rows.append(
            (
                p,
                line["original_budget"],
                line["changes"],
                current,
                ytd_budget,
                ytd_actual,
                ytd_var,
                percentage(ytd_var, ytd_budget),
                remaining_commit,
                outturn,
                fv,
                fv_pct,
                ZERO if previous_fv is None else fv - previous_fv,
                rag_for(fv, current, t),
                "adverse" if fv > 0 else "favourable" if fv < 0 else "",
            )
        )
        previous_fv = fv
    return rows


# ---- reading inputs ---------------------------------------------------------------------------


def _period_numbers(year_id: int) -> dict[int, int]:
    # M13 (year-end adjustments) counts in the M12 position.
    return {
        pk: min(n, 12)
        for pk, n in Period.objects.filter(year_id=year_id).values_list("pk", "number")
    }


def _lines(fund_id: int, year_id: int, line_ids: list[int] | None) -> list[dict[str, Any]]:
    qs = BudgetLine.objects.filter(fund_id=fund_id, year_id=year_id)
    if line_ids is not None:
        qs = qs.filter(pk__in=line_ids)
    return list(qs.values("id", "lead_commissioner_id", *LINE_FIELDS, *MONTHS))


def _actuals_sql(
    fund_id: int, year_id: int, line_ids: list[int] | None, periods: dict[int, int]
) -> dict[int, dict[int, Decimal]]:
    """SUM(amount) GROUP BY line, period in the database, for only the affected lines."""
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    if connection.vendor == "postgresql":
        # 120,000 groups: a plain cursor (NUMERIC sums arrive as exact Decimals) instead of the
        # ORM's per-row converters saves about 0.4 s of a full recompute.
        sql = (
            f"SELECT budget_line_id, period_id, SUM(amount) FROM {SpendPosting._meta.db_table} "  # noqa: S608  (table name from the model; values are parameters)
            "WHERE fund_id = %s AND period_id = ANY(%s)"
        )
        params: list[Any] = [fund_id, list(periods)]
        if line_ids is not None:
            sql += " AND budget_line_id = ANY(%s)"
            params.append(line_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql + " GROUP BY budget_line_id, period_id", params)
            rows: Iterable[tuple[int, int, Decimal]] = cursor.fetchall()
    else:
        qs = SpendPosting.objects.filter(fund_id=fund_id, period_id__in=list(periods))
        if line_ids is not None:
            qs = qs.filter(budget_line_id__in=line_ids)
        rows = (
            qs.order_by()
            .values_list("budget_line_id", "period_id")
            .annotate(total=MoneySum("amount"))
        )
    for line_id, period_id, total in rows:
        n = periods[period_id]
        cell = out[line_id]
        cell[n] = cell.get(n, ZERO) + total
    return out


def _actuals_python(
    fund_id: int, year_id: int, periods: dict[int, int]
) -> dict[int, dict[int, Decimal]]:
    """Reconcile's independent path: every posting read and added up in Python."""
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    rows = (
        SpendPosting.objects.filter(fund_id=fund_id, period_id__in=list(periods))
        .order_by()
        .values_list("budget_line_id", "period_id", "amount")
    )
    for line_id, period_id, amount in rows.iterator(chunk_size=20000):
        n = periods[period_id]
        cell = out[line_id]
        cell[n] = cell.get(n, ZERO) + amount
    return out


def _forecasts(line_ids: list[int] | None, fund_id: int, year_id: int, periods: dict[int, int]):
    qs = Forecast.objects.filter(period__year_id=year_id, line__fund_id=fund_id)
    if line_ids is not None:
        qs = qs.filter(line_id__in=line_ids)
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for line_id, period_id, amount in qs.values_list("line_id", "period_id", "amount"):
        out[line_id][periods[period_id]] = amount
    return out


def _commitments(line_ids: list[int] | None, fund_id: int, year_id: int):
    qs = LineCommitment.objects.filter(line__fund_id=fund_id, line__year_id=year_id)
    if line_ids is not None:
        qs = qs.filter(line_id__in=line_ids)
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for line_id, n, total in (
        qs.order_by().values_list("line_id", "period_number").annotate(total=MoneySum("amount"))
    ):
        out[line_id][n] = out[line_id].get(n, ZERO) + total
    return out


def line_actuals(fund: PooledFund, year_id: int) -> dict[int, dict[int, Decimal]]:
    """{line id: {period 1..12: posted spend}} for the fund's year, M13 counted in M12 (the same
    aggregation the recompute writes snapshots from)."""
    return _actuals_sql(fund.pk, year_id, None, _period_numbers(year_id))


def iter_variance_rows(
    fund: PooledFund, year_id: int, line_ids: list[int] | None, *, in_python: bool = False
) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(line id, its 12 row tuples) for the given lines (None: every line of the fund's year).

    Reads every input now, then computes lazily, so the writer can stream each line's rows to the
    database (one COPY, no other query on the connection) while the next lines are computed.
    """
    periods = _period_numbers(year_id)
    lines = _lines(fund.pk, year_id, line_ids)
    ids = None if line_ids is None else [ln["id"] for ln in lines]
    if in_python:
        actuals = _actuals_python(fund.pk, year_id, periods)
    else:
        actuals = _actuals_sql(fund.pk, year_id, ids, periods)
    forecasts = _forecasts(ids, fund.pk, year_id, periods)
    commitments = _commitments(ids, fund.pk, year_id)
    t = Thresholds.of(fund)
    empty: dict[int, Decimal] = {}
    return (
        (
            ln["id"],
            line_rows(
                ln,
                actuals.get(ln["id"], empty),
                forecasts.get(ln["id"], empty),
                commitments.get(ln["id"], empty),
                t,
            ),
        )
        for ln in lines
    )


def compute_variance_rows(
    fund: PooledFund, year_id: int, line_ids: list[int] | None, *, in_python: bool = False
) -> dict[int, list[tuple[Any, ...]]]:
    """{line id: 12 row tuples} for the given lines (None: every line of the fund's year)."""
    return dict(iter_variance_rows(fund, year_id, line_ids, in_python=in_python))


# ---- writing snapshots ------------------------------------------------------------------------

COPY_FLUSH_LINES = 1000  # send every 12,000 rows, so PostgreSQL indexes while Python computes


def _write_variances(
    fund_id: int,
    year_id: int,
    line_ids: list[int] | None,
    rows: Iterable[tuple[int, list[tuple[Any, ...]]]],
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
                for line_id, line_tuples in rows:
                    prefix = f"{fund_id}\t{year_id}\t{line_id}\t"
                    for r in line_tuples:
                        # str() is 2.5x faster than f-string formatting of Decimals. Only the
                        # two percentages can be NULL (a zero budget).
                        if r[7] is None or r[11] is None:
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
        for line_id, line_tuples in rows:
            written += 1
            chunk_rows.extend((fund_id, year_id, line_id, *row, adapted) for row in line_tuples)
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
        {n: _finish_position(pos) for n, pos in positions.items()},
        leads_forecast,
        leads_actual,
    )


def _finish_position(row: dict[str, Any]) -> dict[str, Any]:
    for c in MONEY_COLUMNS:
        row[c] = row[c] if row[c] is not None else ZERO
    row["ytd_variance_pct"] = percentage(row["ytd_variance"], row["ytd_budget"])
    row["forecast_variance_pct"] = percentage(row["forecast_variance"], row["current_budget"])
    return row


def position_rows_from_python(rows: dict[int, list[tuple[Any, ...]]]) -> dict[int, dict[str, Any]]:
    names = VARIANCE_COLUMNS[4:-1]
    out: dict[int, dict[str, Any]] = {}
    for line_tuples in rows.values():
        for row in line_tuples:
            r = dict(zip(names, row[1:], strict=True))
            pos = out.setdefault(
                row[0],
                {
                    **dict.fromkeys(MONEY_COLUMNS, ZERO),
                    "red_count": 0,
                    "amber_count": 0,
                    "green_count": 0,
                },
            )
            for c in MONEY_COLUMNS:
                pos[c] += r[c]
            pos[f"{r['rag']}_count"] += 1
    return {n: _finish_position(p) for n, p in out.items()}


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


def partners_for(fund: PooledFund, year_id: int) -> list[risk_share.Partner]:
    """The year's contributing partners for the risk-share rules, the host always among them."""
    partners = [
        risk_share.Partner(
            id=c.partner_id,
            code=c.partner.code,
            contribution=c.amount,
            is_host=c.partner_id == fund.host_id,
        )
        for c in Contribution.objects.filter(fund=fund, year_id=year_id).select_related("partner")
    ]
    if not any(p.is_host for p in partners):
        partners.append(
            risk_share.Partner(
                id=fund.host_id, code=fund.host.code, contribution=ZERO, is_host=True
            )
        )
    return partners


def risk_share_rows(
    fund: PooledFund,
    year_id: int,
    positions: dict[int, dict[str, Any]],
    leads_forecast: dict[int, dict[int, Decimal]],
    leads_actual: dict[int, dict[int, Decimal]],
) -> list[dict[str, Any]]:
    """Forecast-variance shares every period, actual-variance shares at year end (M12)."""
    agreement = RiskShareAgreement.objects.filter(fund=fund, year_id=year_id).first()
    if agreement is None:
        return []
    partners = partners_for(fund, year_id)
    out = []
    for n, pos in sorted(positions.items()):
        bases = [("forecast", pos["forecast_variance"], leads_forecast.get(n, {}))]
        if n == 12:
            bases.append(("actual", pos["ytd_variance"], leads_actual.get(n, {})))
        for basis, variance, leads in bases:
            amounts, inputs = risk_share.allocate(
                rule=agreement.rule,
                parameters=agreement.parameters or {},
                variance=variance,
                partners=partners,
                lead_variances=leads,
            )
            for partner_id, amount in sorted(amounts.items()):
                out.append(
                    {
                        "period_number": n,
                        "partner_id": partner_id,
                        "basis": basis,
                        "amount": amount,
                        "rule": agreement.rule,
                        "inputs": inputs,
                    }
                )
    return out


def _write_risk_share(
    fund_id: int, year_id: int, rows: list[dict[str, Any]], now: datetime
) -> None:
    RiskShareAllocation.objects.filter(fund_id=fund_id, year_id=year_id).delete()
    RiskShareAllocation.objects.bulk_create(
        [RiskShareAllocation(fund_id=fund_id, year_id=year_id, computed_at=now, **r) for r in rows]
    )


def fair_share_inputs(
    fund: PooledFund, year_id: int
) -> tuple[Decimal, list[fair_share.LocalityInput]]:
    """The pot (this year's current budget of lines with a locality) and each locality's inputs.

    Baseline = last year's recurrent current budget per locality for this fund, or this year's
    recurrent original budget when the fund has no earlier year.
    """
    from localities.models import Locality

    this_year = (
        BudgetLine.objects.filter(fund=fund, year_id=year_id, locality__isnull=False)
        .order_by()
        .values("locality_id")
        .annotate(
            current=MoneySum("current_budget"),
            original=MoneySum("original_budget", filter=Q(recurrent=True)),
        )
    )
    rows = {r["locality_id"]: r for r in this_year}
    if len(rows) < 2:
        return ZERO, []
    year = FinancialYear.objects.get(pk=year_id)
    last = (
        FinancialYear.objects.filter(start_date__lt=year.start_date).order_by("-start_date").first()
    )
    baselines: dict[int, Decimal] = {}
    if last is not None:
        baselines = dict(
            BudgetLine.objects.filter(fund=fund, year=last, locality__isnull=False, recurrent=True)
            .order_by()
            .values_list("locality_id")
            .annotate(total=MoneySum("current_budget"))
        )
    pot = sum((r["current"] for r in rows.values()), ZERO)
    inputs = [
        fair_share.LocalityInput(
            locality_id=loc.pk,
            population=loc.population_mid2015,
            need_index=loc.need_index,
            cost_index=loc.cost_index,
            baseline=baselines.get(loc.pk, rows[loc.pk]["original"] or ZERO),
        )
        for loc in Locality.objects.filter(pk__in=list(rows)).order_by("gss_code")
    ]
    return pot, inputs


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


def _test_delay() -> None:
    """Only the kill -9 system test sets GMHSC_RECOMPUTE_TEST_DELAY, to catch a recompute mid-way."""
    delay = os.environ.get("GMHSC_RECOMPUTE_TEST_DELAY")
    if delay:
        time.sleep(float(delay))


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
        _test_delay()
        now = timezone.now()
        lines = 0
        for year_id, ids in sorted(targets.items()):
            lines += recompute_year(fund_obj, year_id, None if ids is None else sorted(ids), now)
        StaleMark.objects.filter(pk__in=[m[0] for m in marks]).delete()
    return {"marks": len(marks), "lines": lines}


def recompute_all() -> Iterator[str]:
    for fund in PooledFund.objects.order_by("code"):
        result = recompute_fund_now(fund, full=True)
        yield f"{fund.code}: {result['lines']} lines recomputed"


# ---- reconcile --------------------------------------------------------------------------------


def _years(fund: PooledFund) -> list[int]:
    return sorted(set(BudgetLine.objects.filter(fund=fund).values_list("year_id", flat=True)))


def reconcile_fund(fund: PooledFund) -> list[str]:
    """Every difference between the stored snapshots and a recompute from postings in memory."""
    differences: list[str] = []
    # Postings carry no row-by-row FK check (models/ledger.py): any without its line shows here.
    for doc, number, line_id in (
        SpendPosting.objects.filter(fund=fund)
        .exclude(budget_line_id__in=BudgetLine.objects.values("pk"))
        .order_by("document_number", "line_number")
        .values_list("document_number", "line_number", "budget_line_id")
    ):
        differences.append(f"{fund.code} posting {doc}/{number}: budget line {line_id} is missing")
    names = VARIANCE_COLUMNS[4:-1]
    for year_id in _years(fund):
        expected = compute_variance_rows(fund, year_id, None, in_python=True)
        stored: dict[tuple[int, int], dict[str, Any]] = {
            (r["line_id"], r["period_number"]): r
            for r in LineVariance.objects.filter(fund=fund, year_id=year_id).values(
                "line_id", "period_number", *names
            )
        }
        codes = dict(
            BudgetLine.objects.filter(fund=fund, year_id=year_id).values_list("id", "code")
        )
        for line_id, line_tuples in expected.items():
            for row in line_tuples:
                key = (line_id, row[0])
                got = stored.pop(key, None)
                where = f"{fund.code} line {codes.get(line_id, line_id)} M{row[0]:02d}"
                if got is None:
                    differences.append(f"{where}: snapshot missing")
                    continue
                for name, want in zip(names, row[1:], strict=True):
                    if got[name] != want:
                        differences.append(
                            f"{where} {name}: snapshot {got[name]} != recomputed {want}"
                        )
        for line_id, n in sorted(stored):
            differences.append(f"{fund.code} line {line_id} M{n:02d}: snapshot has no line")
        positions = position_rows_from_python(expected)
        stored_pos = {
            p["period_number"]: p
            for p in FundPosition.objects.filter(fund=fund, year_id=year_id).values()
        }
        for n, pos in sorted(positions.items()):
            got_pos = stored_pos.get(n)
            if got_pos is None:
                differences.append(f"{fund.code} position M{n:02d}: missing")
                continue
            stored_row: dict[str, Any] = dict(got_pos)
            for name, want in pos.items():
                if stored_row[name] != want:
                    differences.append(
                        f"{fund.code} position M{n:02d} {name}: snapshot {stored_row[name]} != recomputed {want}"
                    )
        leads = dict(
            BudgetLine.objects.filter(fund=fund, year_id=year_id).values_list(
                "id", "lead_commissioner_id"
            )
        )
        by_lead_f: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        by_lead_a: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for line_id, line_tuples in expected.items():
            for row in line_tuples:
                by_lead_f[row[0]][leads[line_id]] += row[10]
                by_lead_a[row[0]][leads[line_id]] += row[6]
        want_rs = {
            (r["period_number"], r["basis"], r["partner_id"]): r["amount"]
            for r in risk_share_rows(fund, year_id, positions, by_lead_f, by_lead_a)
        }
        got_rs = {
            (n, b, p): a
            for n, b, p, a in RiskShareAllocation.objects.filter(
                fund=fund, year_id=year_id
            ).values_list("period_number", "basis", "partner_id", "amount")
        }
        for rs_key in sorted(set(want_rs) | set(got_rs)):
            if want_rs.get(rs_key) != got_rs.get(rs_key):
                differences.append(
                    f"{fund.code} risk share M{rs_key[0]:02d} {rs_key[1]} partner {rs_key[2]}: "
                    f"snapshot {got_rs.get(rs_key)} != recomputed {want_rs.get(rs_key)}"
                )
    return differences


def reconcile(funds: Iterable[PooledFund]) -> list[str]:
    differences: list[str] = []
    for fund in funds:
        differences.extend(reconcile_fund(fund))
    return differences
