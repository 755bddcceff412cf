"""Reporting benchmark: the variance page at 20 concurrent users, XLSX of 10,000 lines, PDF of 500.

Usage (PostgreSQL; the database is created and seeded on first use, then reused):
    DATABASE_URL=postgres://postgres@127.0.0.1:55440/gmhsc_h5 .venv/bin/python bench/bench_reports.py

Targets (issue 6): variance page for a 10,000-line fund p95 <= 300 ms at 20 concurrent users on
loopback; XLSX of 10,000 lines <= 10 s; PDF of a 500-line report <= 10 s.

The data is 10,000 budget lines and six months of postings recomputed by
budgets.figures.recompute.recompute_fund_now, and the page reads LineVariance snapshots of the open
month M6.
gunicorn is started on a free loopback port and stopped by its pid. In the same run the signed-in
home page is loaded by the same users and the variance page's server time is reported beside it
(bench/pagetime.py; target: at most 2x).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
os.environ.setdefault("DEBUG", "False")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

BIG, SMALL = "BENCH-10K", "BENCH-500"
BIG_LINES, SMALL_LINES = 10_000, 500
USERS = int(os.environ.get("BENCH_USERS", "20"))
DURATION = float(os.environ.get("BENCH_SECONDS", "20"))
# The production shape (README, WEB_WORKERS): sync workers, gunicorn's rule of 2 x cores + 1.
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
PERIOD = "2016/17-M06"
RESULTS = ROOT / "bench" / "results" / "reports.json"
ACCESS_LOG = Path(os.environ.get("BENCH_ACCESS_LOG", "/tmp/bench_reports_access.log"))
TRIVIAL_ROUNDS = 20  # home page loads per user, after one warm-up each


def fund_code(base: str) -> str:
    """The bench fund's code (the "-L" of live figures, as in earlier runs' databases)."""
    return f"{base}-L"


def seed_fund(code: str, lines: int) -> None:
    """A fund with `lines` flat-phased lines and six months of spend, recomputed: M6 is open and
    the page reads the engine's LineVariance snapshots. Idempotent."""
    from budgets.models import BudgetLine, FundBudget, Period, PooledFund, ServiceArea
    from budgets.seed import seed_years
    from gmhsc.money import split_largest_remainder
    from localities.models import Locality, Organisation

    code = fund_code(code)
    if BudgetLine.objects.filter(fund__code=code).count() == lines:
        return
    seed_years(["2016/17"])
    rng = random.Random(20160930 + lines)
    host = Organisation.objects.get(code="E08000001")  # Bolton Council
    ccg = Organisation.objects.get(code="00T")
    fund, _ = PooledFund.objects.get_or_create(
        code=code,
        defaults={
            "name": f"Benchmark fund ({lines} lines)",
            "scope": PooledFund.Scope.GM,
            "host": host,
        },
    )
    year = Period.objects.get(year__code="2016/17", number=1).year
    FundBudget.objects.update_or_create(
        fund=fund, year=year, defaults={"status": FundBudget.Status.APPROVED}
    )
    areas = list(ServiceArea.objects.filter(parent__isnull=False))
    localities = [*Locality.objects.all(), None]
    periods = {p.number: p for p in Period.objects.filter(year=year)}
    objs = []
    for i in range(lines):
        budget = Decimal(rng.randrange(10_000_00, 2_000_000_00)) / 100
        parts = split_largest_remainder(budget, [1] * 12)
        objs.append(
            BudgetLine(
                fund=fund,
                year=year,
                code=f"B{i:05d}",
                name=f"Benchmark line {i}",
                service_area=areas[i % len(areas)],
                locality=localities[i % len(localities)],
                lead_commissioner=host if i % 2 else ccg,
                original_budget=budget,
                current_budget=budget,
                **{f"m{n:02d}": parts[n - 1] for n in range(1, 13)},
            )
        )
    BudgetLine.objects.bulk_create(objs, batch_size=2000)
    created = list(
        BudgetLine.objects.filter(fund=fund)
        .select_related("service_area__parent", "locality", "lead_commissioner")
        .order_by("code")
    )
    actuals = {
        line.pk: [
            (line.m01 * Decimal(rng.uniform(0.85, 1.15))).quantize(Decimal("0.01"))
            for _ in range(6)
        ]
        for line in created
    }
    from budgets.figures.recompute import recompute_fund_now
    from budgets.models import SpendPosting
    from budgets.outbox import mark_stale

    SpendPosting.objects.bulk_create(
        [
            SpendPosting(
                organisation=host,
                document_number=f"{code}-{line.code}-{n:02d}",
                line_number=1,
                posting_date=periods[n].end_date,
                period=periods[n],
                fund=fund,
                budget_line=line,
                amount=actuals[line.pk][n - 1],
                supplier="Benchmark supplier",
                description="Benchmark spend",
            )
            for line in created
            for n in range(1, 7)
        ],
        batch_size=5000,
    )
    # The rows were bulk-created past the services: mark the whole fund stale by hand.
    mark_stale(fund_id=fund.pk, year_id=year.pk, reason="benchmark seed")
    t0 = time.perf_counter()
    recompute_fund_now(fund)
    print(f"seeded {code}: {lines} lines, recompute {time.perf_counter() - t0:.1f}s")


def session_cookie() -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from localities import roles
    from localities.models import Organisation, User

    roles.ensure_role_groups()
    user, _ = User.objects.get_or_create(
        username="bench.finance",
        defaults={
            "organisation": Organisation.objects.get(code="E08000001"),
            "first_name": "Bench",
        },
    )
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=roles.FINANCE_OFFICER))
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def fetch(port: int, cookie: str, path: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Cookie": cookie})
    conn.getresponse().read()
    conn.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def load_test(port: int, cookie: str, pages: int, code: str) -> dict[str, float | int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + DURATION

    def worker(n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            page = rng.randint(1, pages)
            grouping = rng.choice(["service_area", "service_area", "locality", "lead_commissioner"])
            path = f"/budgets/reports/variance/?fund={code}&period={PERIOD}&grouping={grouping}&page={page}"
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200 and b"fund-total" in body
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = [v * 1000 for v in latencies]
    return {
        "requests": len(ms),
        "errors": errors,
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "throughput_rps": round(len(ms) / DURATION, 1),
    }


def main() -> None:
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), (
        "set DATABASE_URL to PostgreSQL"
    )
    call_command("migrate", verbosity=0)
    call_command("seed_reference", verbosity=0)
    seed_fund(BIG, BIG_LINES)
    seed_fund(SMALL, SMALL_LINES)
    # After a bulk load, as a DBA would: so autovacuum does not start under the measurements.
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("budgets_spendposting", "budgets_linevariance", "budgets_budgetline"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    # Seeding enqueues recomputes for the worker: let it finish before anything is timed.
    sys.path.insert(0, str(ROOT / "bench"))
    from pagetime import TRIVIAL_PATH, access_log_args, compare, server_ms, trivial_load
    from quiet import django_count, wait_quiet

    wait_quiet(django_count)

    from budgets.models import PooledFund
    from budgets.reports import exports
    from budgets.reports.variance import compute_variance_report
    from budgets.selectors import get_period

    period = get_period(PERIOD)
    big = PooledFund.objects.get(code=fund_code(BIG))
    small = PooledFund.objects.get(code=fund_code(SMALL))

    t0 = time.perf_counter()
    report = compute_variance_report(fund=big, period=period)
    compute_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    xlsx = exports.render(report, "xlsx")
    xlsx_render_s = time.perf_counter() - t1
    xlsx_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    small_report = compute_variance_report(fund=small, period=period)
    pdf = exports.render(small_report, "pdf")
    pdf_s = time.perf_counter() - t0

    cookie = session_cookie()
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="gmhsc.settings.local", DEBUG="False")
    ACCESS_LOG.unlink(missing_ok=True)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "gmhsc.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            *(["-k", "gthread", "--threads", str(THREADS)] if THREADS > 1 else []),
            "--log-level",
            "warning",
            *access_log_args(ACCESS_LOG),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(port)
        # Warm every worker's report cache for each grouping (concurrently, so all workers get some),
        # as a server that has been up for a while would be; the first load of a 10,000-line report
        # in a worker takes about a second.
        for grouping in ("service_area", "locality", "lead_commissioner"):
            warmers = [
                threading.Thread(
                    target=fetch,
                    args=(
                        port,
                        cookie,
                        f"/budgets/reports/variance/?fund={big.code}&period={PERIOD}&grouping={grouping}",
                    ),
                )
                for _ in range(WORKERS * 6)
            ]
            for t in warmers:
                t.start()
            for t in warmers:
                t.join()
        pages = (len(report.rows) + 99) // 100
        cpu0 = time.process_time()
        page_stats = load_test(port, cookie, pages, big.code)
        page_stats["load_generator_cpu_share"] = round((time.process_time() - cpu0) / DURATION, 2)
        trivial_errors = trivial_load(port, [cookie] * USERS, TRIVIAL_ROUNDS)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    page_server = server_ms(ACCESS_LOG, "/budgets/reports/variance/")[-page_stats["requests"] :]
    trivial_server = server_ms(ACCESS_LOG, TRIVIAL_PATH)[-TRIVIAL_ROUNDS * USERS :]
    page_stats["server_time_vs_trivial_page"] = {
        **compare(page_server, trivial_server),
        "errors": trivial_errors,
    }
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, loopback, PostgreSQL, gunicorn {WORKERS} workers x {THREADS} thread(s)",
        "figures_from": "LineVariance snapshots (recompute engine), open month",
        "variance_page": {
            "fund_lines": len(report.rows),
            "concurrent_users": USERS,
            "seconds": DURATION,
            **page_stats,
            "target_p95_ms": 300,
            "pass": page_stats["p95_ms"] <= 300 and page_stats["errors"] == 0,
        },
        "xlsx_10000_lines": {
            "lines": len(report.rows),
            "compute_s": round(compute_s, 2),
            "render_s": round(xlsx_render_s, 2),
            "total_s": round(xlsx_s, 2),
            "bytes": len(xlsx),
            "target_s": 10,
            "pass": xlsx_s <= 10,
        },
        "pdf_500_lines": {
            "lines": len(small_report.rows),
            "total_s": round(pdf_s, 2),
            "bytes": len(pdf),
            "target_s": 10,
            "pass": pdf_s <= 10,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
