"""The recompute engine: stale marks in, snapshot rows out (architecture.md, steps 4-6).

`recompute_fund_now(fund)` takes the fund's stale marks, aggregates postings for only the affected
lines in SQL, rewrites their LineVariance rows, then the fund's positions, risk-share allocations
and fair-share runs, and deletes the marks it took, all in one transaction. It is a pure function of
database state: running it twice writes the same figures. On PostgreSQL a per-fund advisory lock
keeps two workers from interleaving; the loser raises FundBusy and is retried.

`compute` reads the inputs and works out the rows, `write` stores them (and holds the
transaction), `reconcile` recomputes from postings in memory and reports every difference. Tasks,
commands and other packages import from here.
"""

from __future__ import annotations

from budgets.figures.recompute.compute import (
    VarianceRow,
    compute_variance_rows,
    line_actuals,
    partners_for,
)
from budgets.figures.recompute.reconcile import reconcile, reconcile_fund
from budgets.figures.recompute.write import FundBusy, recompute_all, recompute_fund_now

__all__ = [
    "FundBusy",
    "VarianceRow",
    "compute_variance_rows",
    "line_actuals",
    "partners_for",
    "recompute_all",
    "recompute_fund_now",
    "reconcile",
    "reconcile_fund",
]
