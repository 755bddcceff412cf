"""Reading the recompute's inputs and working out its rows: every line's twelve variance rows, the
fund's positions, the partners' risk shares and the localities' fair-share inputs.

Nothing here writes. The same functions serve the recompute (actuals summed in SQL) and reconcile
(every posting read and added up in Python), so the two can only differ in how actuals are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q

from budgets.figures import fair_share, risk_share
from budgets.models import (
    BudgetLine,
    Contribution,
    FinancialYear,
    Forecast,
    LineCommitment,
    Period,
    PooledFund,
    RiskShareAgreement,
    SpendPosting,
)
from budgets.models.fields import MoneySum
from budgets.models.figures import MONEY_COLUMNS
from budgets.rag import Rag, Thresholds, rag_for
from gmhsc.money import ZERO, percentage
from localities.models import Locality

LINE_FIELDS = ("original_budget", "changes", "current_budget")
MONTHS = [f"m{n:02d}" for n in range(1, 13)]


class VarianceRow(NamedTuple):
    """One line's figures at one period: LineVariance's columns, in its table's order."""

    period_number: int
    original_budget: Decimal
    changes: Decimal
    current_budget: Decimal
    ytd_budget: Decimal
    ytd_actual: Decimal
    ytd_variance: Decimal
    ytd_variance_pct: Decimal | None
    commitments: Decimal
    forecast_outturn: Decimal
    forecast_variance: Decimal
    forecast_variance_pct: Decimal | None
    movement: Decimal
    rag: Rag
    adverse_favourable: str


def line_rows(
    line: dict[str, Any],
    actuals: dict[int, Decimal],
    forecasts: dict[int, Decimal],
    commitments: dict[int, Decimal],
    t: Thresholds,
) -> list[VarianceRow]:
    """The 12 period rows of one line."""
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
        rows.append(
            VarianceRow(
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
                percentage(fv, current),
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
    fund_id: int, line_ids: list[int] | None, periods: dict[int, int]
) -> dict[int, dict[int, Decimal]]:
    """SUM(amount) GROUP BY line, period in the database, for only the affected lines."""
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    if connection.vendor == "postgresql":
        # 120,000 groups: a plain cursor (NUMERIC sums arrive as exact Decimals) instead of the
        # ORM's per-row converters, which cost a noticeable share of a full recompute.
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


def _actuals_python(fund_id: int, periods: dict[int, int]) -> dict[int, dict[int, Decimal]]:
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


def _forecasts(
    line_ids: list[int] | None, fund_id: int, year_id: int, periods: dict[int, int]
) -> dict[int, dict[int, Decimal]]:
    qs = Forecast.objects.filter(period__year_id=year_id, line__fund_id=fund_id)
    if line_ids is not None:
        qs = qs.filter(line_id__in=line_ids)
    out: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for line_id, period_id, amount in qs.values_list("line_id", "period_id", "amount"):
        out[line_id][periods[period_id]] = amount
    return out


def _commitments(
    line_ids: list[int] | None, fund_id: int, year_id: int
) -> dict[int, dict[int, Decimal]]:
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
    return _actuals_sql(fund.pk, None, _period_numbers(year_id))


def iter_variance_rows(
    fund: PooledFund, year_id: int, line_ids: list[int] | None, *, in_python: bool = False
) -> Iterator[tuple[int, list[VarianceRow]]]:
    """(line id, its 12 rows) for the given lines (None: every line of the fund's year).

    Reads every input now, then computes lazily, so the writer can stream each line's rows to the
    database (one COPY, no other query on the connection) while the next lines are computed.
    """
    periods = _period_numbers(year_id)
    lines = _lines(fund.pk, year_id, line_ids)
    ids = None if line_ids is None else [ln["id"] for ln in lines]
    if in_python:
        actuals = _actuals_python(fund.pk, periods)
    else:
        actuals = _actuals_sql(fund.pk, ids, periods)
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
) -> dict[int, list[VarianceRow]]:
    """{line id: 12 rows} for the given lines (None: every line of the fund's year)."""
    return dict(iter_variance_rows(fund, year_id, line_ids, in_python=in_python))


# ---- the fund's position and the partners' risk shares ------------------------------------------


def finish_position(row: dict[str, Any]) -> dict[str, Any]:
    """A position's money sums made whole, and its percentages worked out from them."""
    for c in MONEY_COLUMNS:
        row[c] = row[c] if row[c] is not None else ZERO
    row["ytd_variance_pct"] = percentage(row["ytd_variance"], row["ytd_budget"])
    row["forecast_variance_pct"] = percentage(row["forecast_variance"], row["current_budget"])
    return row


def position_rows_from_python(
    rows: dict[int, list[VarianceRow]],
) -> dict[int, dict[str, Any]]:
    """The fund's position per period, summed in Python from computed rows (reconcile's path)."""
    out: dict[int, dict[str, Any]] = {}
    for line_rows_ in rows.values():
        for row in line_rows_:
            pos = out.setdefault(
                row.period_number,
                {
                    **dict.fromkeys(MONEY_COLUMNS, ZERO),
                    "red_count": 0,
                    "amber_count": 0,
                    "green_count": 0,
                },
            )
            values = row._asdict()
            for c in MONEY_COLUMNS:
                pos[c] += values[c]
            pos[f"{row.rag}_count"] += 1
    return {n: finish_position(p) for n, p in out.items()}


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


# ---- the localities' fair shares ----------------------------------------------------------------


def fair_share_inputs(
    fund: PooledFund, year_id: int
) -> tuple[Decimal, list[fair_share.LocalityInput]]:
    """The pot (this year's current budget of lines with a locality) and each locality's inputs.

    Baseline = last year's recurrent current budget per locality for this fund, or this year's
    recurrent original budget when the fund has no earlier year.
    """
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
