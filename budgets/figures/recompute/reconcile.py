"""Reconcile: recompute every fund from postings read and added up in Python, and report every
difference from the stored snapshots. It must always report none (`manage.py reconcile`, nightly).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from budgets.figures.recompute.compute import (
    VarianceRow,
    compute_variance_rows,
    position_rows_from_python,
    risk_share_rows,
)
from budgets.models import (
    BudgetLine,
    FundPosition,
    LineVariance,
    PooledFund,
    RiskShareAllocation,
    SpendPosting,
)
from gmhsc.money import ZERO

COMPARED = VarianceRow._fields[1:]  # every column but the period, which is part of the key


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
    for year_id in _years(fund):
        expected = compute_variance_rows(fund, year_id, None, in_python=True)
        stored: dict[tuple[int, int], dict[str, Any]] = {
            (r["line_id"], r["period_number"]): r
            for r in LineVariance.objects.filter(fund=fund, year_id=year_id).values(
                "line_id", "period_number", *COMPARED
            )
        }
        codes = dict(
            BudgetLine.objects.filter(fund=fund, year_id=year_id).values_list("id", "code")
        )
        for line_id, line_rows in expected.items():
            for row in line_rows:
                got = stored.pop((line_id, row.period_number), None)
                where = f"{fund.code} line {codes.get(line_id, line_id)} M{row.period_number:02d}"
                if got is None:
                    differences.append(f"{where}: snapshot missing")
                    continue
                want_row = row._asdict()
                for name in COMPARED:
                    if got[name] != want_row[name]:
                        differences.append(
                            f"{where} {name}: snapshot {got[name]} != recomputed {want_row[name]}"
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
        for line_id, line_rows in expected.items():
            for row in line_rows:
                by_lead_f[row.period_number][leads[line_id]] += row.forecast_variance
                by_lead_a[row.period_number][leads[line_id]] += row.ytd_variance
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
