"""Recompute benchmark (issue 4; reliability-and-performance.md goal 3).

On PostgreSQL with 10,000 budget lines and 1,200,000 postings (generated with COPY if absent):
  1. full recompute of 10,000 lines x 12 periods vs a bare SQL GROUP BY of the same rows
     (targets: <= 5 s and <= 3x the GROUP BY), medians of 3;
  2. commit-to-fresh-figures latency of a 1,000-posting batch with a real Celery worker, p50/p95
     over 20 batches (target p95 <= 2 s): t0 = the batch's commit, t1 = the fund's marks gone.
Standalone: DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_recompute.py
(starts and stops its own worker by pid). Writes bench/results/recompute.json.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUND_CODE = "BENCH-RC"
LINES = 10_000
POSTINGS_PER_LINE = 120  # 10 per period -> 1,200,000
BATCHES = 20
BATCH_SIZE = 1_000


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
    import django

    django.setup()


def ensure_data() -> Any:
    from django.db import connection, transaction

    from budgets.models import BudgetLine, Period, PooledFund, ServiceArea, SpendPosting
    from budgets.seed import seed_years
    from localities.models import Organisation

    seed_years(["2016/17"])
    from budgets.models import FinancialYear

    year = FinancialYear.objects.get(code="2016/17")
    org, _ = Organisation.objects.get_or_create(
        code="BENCHORG", defaults={"name": "Bench Council", "kind": "council", "code_system": "gss"}
    )
    area, _ = ServiceArea.objects.get_or_create(
        code="BENCH.RC", defaults={"name": "Bench recompute"}
    )
    fund, _ = PooledFund.objects.get_or_create(
        code=FUND_CODE, defaults={"name": "Recompute bench fund", "scope": "gm", "host": org}
    )
    if BudgetLine.objects.filter(fund=fund).count() < LINES:
        monthly = Decimal("10000.00")
        BudgetLine.objects.bulk_create(
            [
                BudgetLine(
                    fund=fund,
                    year=year,
                    code=f"B{i:05d}",
                    name=f"Bench line {i}",
                    service_area=area,
                    lead_commissioner=org,
                    original_budget=monthly * 12,
                    current_budget=monthly * 12,
                    **{f"m{n:02d}": monthly for n in range(1, 13)},
                )
                for i in range(LINES)
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
    want = LINES * POSTINGS_PER_LINE
    if SpendPosting.objects.filter(fund=fund).count() < want:
        periods = {p.number: p for p in Period.objects.filter(year=year, number__lte=12)}
        line_ids = list(
            BudgetLine.objects.filter(fund=fund).order_by("id").values_list("id", flat=True)
        )
        rng = random.Random(2016)
        table = SpendPosting._meta.db_table
        cols = (
            "organisation_id, document_number, line_number, posting_date, period_id, fund_id, "
            "budget_line_id, amount, supplier, description, is_accrual, created_at"
        )
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
        ):
            buf = io.StringIO()
            k = 0
            for line_id in line_ids:
                for j in range(POSTINGS_PER_LINE):
                    n = j % 12 + 1
                    p = periods[n]
                    pence = rng.randint(50_000, 1_500_000)
                    buf.write(
                        f"{org.pk}\tBENCH-{line_id}\t{j + 1}\t{p.end_date}\t{p.pk}\t{fund.pk}\t"
                        f"{line_id}\t{pence // 100}.{pence % 100:02d}\t\t\tf\t2016-10-03 13:02:00+00\n"
                    )
                    k += 1
                if k >= 100_000:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
                    k = 0
            copy.write(buf.getvalue())
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return fund


def time_full(fund: Any) -> dict[str, float]:
    from django.db import connection

    from budgets.figures.recompute import recompute_fund_now
    from budgets.models import SpendPosting

    full, bare = [], []
    for _ in range(3):
        t = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT budget_line_id, period_id, SUM(amount) FROM {SpendPosting._meta.db_table} "
                "WHERE fund_id = %s GROUP BY budget_line_id, period_id",
                [fund.pk],
            )
            cursor.fetchall()
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        recompute_fund_now(fund, full=True)
        full.append(time.perf_counter() - t)
    return {
        "full": statistics.median(full),
        "bare": statistics.median(bare),
        "full_runs": full,
        "bare_runs": bare,
    }


def start_worker() -> subprocess.Popen:
    env = dict(os.environ, CELERY_TASK_ALWAYS_EAGER="0")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gmhsc",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "-n",
            "benchrc@%h",
            "-Q",
            "recompute",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    from gmhsc.celery import app

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any("benchrc" in k for r in (app.control.ping(timeout=0.5) or []) for k in r):
            return proc
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("worker did not start")


def time_batches(fund: Any) -> list[float]:
    from django.db import transaction

    from budgets.models import BudgetLine, Period, SpendPosting, StaleMark
    from budgets.outbox import mark_stale
    from gmhsc.celery import app

    app.conf.task_always_eager = False
    period = Period.objects.get(year=fund.lines.first().year, number=6)
    line_ids = list(
        BudgetLine.objects.filter(fund=fund).order_by("id").values_list("id", flat=True)
    )
    rng = random.Random(7)
    stamp = int(time.time())
    latencies = []
    for b in range(BATCHES):
        chosen = rng.sample(line_ids, 100)
        with transaction.atomic():
            SpendPosting.objects.bulk_create(
                [
                    SpendPosting(
                        organisation_id=fund.host_id,
                        document_number=f"BATCH-{stamp}-{b}",
                        line_number=i + 1,
                        posting_date=period.end_date,
                        period=period,
                        fund=fund,
                        budget_line_id=chosen[i % 100],
                        amount=Decimal("12.34"),
                    )
                    for i in range(BATCH_SIZE)
                ]
            )
            mark_stale(
                fund_id=fund.pk,
                year_id=period.year_id,
                line_ids=chosen,
                period_numbers=[6],
                reason="bench",
            )
        t0 = time.perf_counter()
        while StaleMark.objects.filter(fund=fund).exists():
            time.sleep(0.01)
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("figures not fresh within 60 s")
        latencies.append(time.perf_counter() - t0)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(context: dict | None = None) -> dict:
    from budgets.figures.recompute import reconcile_fund

    t = time.perf_counter()
    fund = ensure_data()
    setup_s = time.perf_counter() - t
    full = time_full(fund)
    worker = None if context and context.get("worker_pid") else start_worker()
    try:
        lat = time_batches(fund)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    t = time.perf_counter()
    differences = reconcile_fund(fund)
    reconcile_s = time.perf_counter() - t
    p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
    ratio = full["full"] / full["bare"]
    result = {
        "figures": [
            {
                "name": "full recompute 10,000 lines x 12 periods from 1.2m postings",
                "value": round(full["full"], 3),
                "unit": "s",
                "target": 5.0,
                "met": full["full"] <= 5.0,
            },
            {
                "name": "bare SQL GROUP BY of the same rows",
                "value": round(full["bare"], 3),
                "unit": "s",
            },
            {
                "name": "full recompute / bare GROUP BY",
                "value": round(ratio, 2),
                "unit": "x",
                "target": 3.0,
                "met": ratio <= 3.0,
            },
            {
                "name": "1,000-posting batch commit to fresh figures p50",
                "value": round(p50, 3),
                "unit": "s",
            },
            {
                "name": "1,000-posting batch commit to fresh figures p95",
                "value": round(p95, 3),
                "unit": "s",
                "target": 2.0,
                "met": p95 <= 2.0,
            },
            {
                "name": "reconcile differences after the run",
                "value": len(differences),
                "unit": "rows",
                "target": 0,
                "met": not differences,
            },
        ],
        "runs": {"full": full["full_runs"], "bare": full["bare_runs"], "batch_latencies": lat},
        "setup_seconds": round(setup_s, 1),
        "reconcile_seconds": round(reconcile_s, 1),
    }
    out = ROOT / "bench" / "results" / "recompute.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
