"""Ledger import benchmark: 1,000,000 ledger rows into PostgreSQL.

1. Generates a deterministic 1,000,000-row ledger CSV (random.Random(1_000_000)) for its own
   organisation BENCHLED, with 10,000 budget lines and 10,000 ledger mappings (created if absent),
   and the same rows in the shape of a council's transparency file (Local Government
   Transparency Code spend over £500: its columns, DD/MM/YYYY dates, amounts with thousands
   commas, no line numbers).
2. Times a raw COPY of the plain file into a bare table (text columns, no keys or indexes).
3. Times the real import (budgets.ledger.imports, the COPY + set-based SQL engine): the whole
   upload path (file checks, store, check every row, post) and the check-and-post part alone,
   with the time of each step.
4. Times a re-import of the same file (posts nothing), and one that checks every row again.
5. Times the floor under any import into the postings table: the rows just posted, already
   typed and resolved, inserted with one INSERT ... SELECT into a copy of the table without
   indexes, and into a copy with the table's indexes (primary key, natural key, line and
   period, fund and period). This shows how much of the import the indexes alone take, before a
   single row is read from the file or checked.
6. Takes the postings away and imports the LGTC-shaped file through the shipped profile
   lgtc-spend-over-500: the same postings, against the plain import of the same rows.
Targets: import <= 60 s and <= 2x its indexed-insert floor; re-import <= 15 s; the LGTC file
through its profile <= 1.25x the plain import.

Standalone: DATABASE_URL=postgres://... .venv/bin/python bench/bench_ledger_import.py [--rows N]
[--prior N] [--rounds N] (migrate the database first). --prior first gives BENCHLED N earlier
postings (other document numbers, the same lines), to measure the import against a long history.
--rounds N imports the plain and the LGTC file N times each, alternating, and compares the
medians. Writes bench/results/ledger_import.json. Earlier runs' BENCHLED postings are removed
first (the immutability trigger is disabled for that one statement only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The generated file (110 MB) stays out of the working tree.
DATA = Path(os.environ.get("GMHSC_BENCH_DATA", "/tmp/gmhsc-bench-data"))
ORG_CODE = "BENCHLED"
FUND_CODE = "BENCH-LED"
LINES = 10_000
ROWS = 1_000_000
SEED = 1_000_000
HEADER = (
    "organisation,document_number,line_number,posting_date,cost_centre,expense_code,amount,"
    "supplier,description\n"
)
LGTC_HEADER = (
    "Body name,Date incurred,Department,Beneficiary,Summary of purpose,Amount,"
    "Irrecoverable VAT,Merchant category,Transaction number\r\n"
)
LGTC_PROFILE = "lgtc-spend-over-500"
SUPPLIERS = [
    "Salford Royal NHS Foundation Trust",
    "Pennine Acute Hospitals NHS Trust",
    "Bolton NHS Foundation Trust",
    "Manchester University NHS FT",
    "Stockport NHS Foundation Trust",
    "Greater Manchester Mental Health NHS FT",
    "Anchor Hanover Care Homes",
    "Care UK Community Partnerships",
    "Allied Healthcare Ltd",
    "Making Space",
    "Bupa Care Homes",
    "Mears Care Ltd",
]


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
    os.environ.setdefault("MEDIA_ROOT", "/tmp/gmhsc-bench-ledger-media")
    # Without a broker the recompute would run inside the import (eager); queue it instead.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("CELERY_RESULT_BACKEND", "cache+memory://")
    import django

    django.setup()


def ensure_data() -> tuple[Any, Any]:
    """BENCHLED (a council), its fund, 10,000 lines and mappings, and a finance officer."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    from budgets.ledger.services.profiles import seed_import_profiles
    from budgets.models import (
        BudgetLine,
        FinancialYear,
        LedgerMapping,
        PooledFund,
        ServiceArea,
    )
    from budgets.seed import seed_years
    from gmhsc.money import split_largest_remainder
    from localities import roles
    from localities.models import Organisation, User

    seed_years(["2016/17"])
    seed_import_profiles()
    year = FinancialYear.objects.get(code="2016/17")
    org, _ = Organisation.objects.get_or_create(
        code=ORG_CODE,
        defaults={"name": "Bench Ledger Council", "kind": "council", "code_system": "LOCAL"},
    )
    area, _ = ServiceArea.objects.get_or_create(code="BENCH.LED", defaults={"name": "Bench ledger"})
    fund, _ = PooledFund.objects.get_or_create(
        code=FUND_CODE,
        defaults={"name": "Bench ledger pool", "scope": "gm", "host": org},
    )
    with transaction.atomic():
        have = set(BudgetLine.objects.filter(fund=fund, year=year).values_list("code", flat=True))
        new = []
        for i in range(LINES):
            code = f"BL{i:05d}"
            if code in have:
                continue
            budget = Decimal(120_000 + (i % 97) * 1_000)
            parts = split_largest_remainder(budget, [1] * 12)
            new.append(
                BudgetLine(
                    fund=fund,
                    year=year,
                    code=code,
                    name=f"Bench line {i}",
                    service_area=area,
                    lead_commissioner=org,
                    original_budget=budget,
                    current_budget=budget,
                    **{f"m{n:02d}": part for n, part in enumerate(parts, start=1)},
                )
            )
        BudgetLine.objects.bulk_create(new, batch_size=2000)
        lines = dict(BudgetLine.objects.filter(fund=fund, year=year).values_list("code", "pk"))
        mapped = set(
            LedgerMapping.objects.filter(organisation=org, year=year).values_list(
                "cost_centre", flat=True
            )
        )
        LedgerMapping.objects.bulk_create(
            [
                LedgerMapping(
                    organisation=org,
                    year=year,
                    cost_centre=f"CC{i:05d}",
                    expense_code=f"E{5000 + i % 50}",
                    budget_line_id=lines[f"BL{i:05d}"],
                )
                for i in range(LINES)
                if f"CC{i:05d}" not in mapped
            ],
            batch_size=2000,
        )
    user, _ = User.objects.get_or_create(
        username="bench.ledger", defaults={"organisation": org, "first_name": "Bench"}
    )
    group, _ = Group.objects.get_or_create(name=roles.FINANCE_OFFICER)
    user.groups.add(group)
    return org, user


def _rows(rows: int) -> Any:
    """(index, line, pennies, day, supplier) of each generated row, deterministic."""
    rng = random.Random(SEED)
    start = date(2016, 4, 1)
    for i in range(rows):
        line = rng.randrange(LINES)
        pennies = rng.randint(-50_000, 2_500_000)
        day = start + timedelta(days=rng.randrange(365))
        supplier = SUPPLIERS[rng.randrange(len(SUPPLIERS))]
        yield i, line, pennies, day, supplier


def generate(path: Path, rows: int) -> Decimal:
    """The deterministic ledger file; returns its control total."""
    total = Decimal("0.00")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        chunk: list[str] = []
        for i, line, pennies, day, supplier in _rows(rows):
            total += Decimal(pennies) / 100
            sign = "-" if pennies < 0 else ""
            pounds, pence = divmod(abs(pennies), 100)
            chunk.append(
                f"{ORG_CODE},AP{i // 4:07d},{i % 4 + 1},{day.isoformat()},CC{line:05d},"
                f"E{5000 + line % 50},{sign}{pounds}.{pence:02d},{supplier},"
                f"Invoice {i // 4} care services\n"
            )
            if len(chunk) >= 10_000:
                out.writelines(chunk)
                chunk = []
        out.writelines(chunk)
    return total


def generate_lgtc(path: Path, rows: int) -> None:
    """The same rows as a council's LGTC spend-over-£500 file: its own columns, the department
    as the cost centre and the merchant category as the expense code, DD/MM/YYYY dates, amounts
    with thousands commas (quoted), and no line numbers (each invoice's lines in file order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(LGTC_HEADER)
        chunk: list[str] = []
        for i, line, pennies, day, supplier in _rows(rows):
            amount = f"{Decimal(pennies) / 100:,.2f}"
            if "," in amount:
                amount = f'"{amount}"'
            chunk.append(
                f"Bench Ledger Council,{day:%d/%m/%Y},CC{line:05d},{supplier},"
                f"Invoice {i // 4} care services,{amount},,E{5000 + line % 50},AP{i // 4:07d}\r\n"
            )
            if len(chunk) >= 10_000:
                out.writelines(chunk)
                chunk = []
        out.writelines(chunk)


def _amount_check(path: Path) -> Decimal:
    total = Decimal("0.00")
    with path.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            total += Decimal(line.split(",")[6])
    return total


def clear_postings(org: Any) -> int:
    """Remove earlier runs' BENCHLED postings (bench only; the trigger is re-enabled at once)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE budgets_spendposting DISABLE TRIGGER budgets_spendposting_immutable"
        )
        cursor.execute("DELETE FROM budgets_spendposting WHERE organisation_id = %s", [org.pk])
        removed = cursor.rowcount
        cursor.execute(
            "ALTER TABLE budgets_spendposting ENABLE TRIGGER budgets_spendposting_immutable"
        )
        cursor.execute("DELETE FROM budgets_stalemark WHERE reason = 'spend posted'")
        # Their imports go too: a file imported in full is otherwise recognised and not re-checked.
        cursor.execute("DELETE FROM budgets_ledgerimport WHERE organisation_id = %s", [org.pk])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE budgets_spendposting")
    return removed


def add_prior_postings(org: Any, count: int) -> float:
    """Give the organisation `count` earlier postings: documents OLD000000000.., ten lines each,
    spread over the mapped lines and their periods, one pound each. Returns seconds taken."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH c AS MATERIALIZED (
              SELECT row_number() OVER (ORDER BY l.id, p.id) - 1 AS k,
                     l.id AS line_id, l.fund_id, p.id AS period_id, p.start_date
              FROM budgets_budgetline l
              JOIN budgets_period p ON p.year_id = l.year_id
              WHERE l.id IN (
                SELECT budget_line_id FROM budgets_ledgermapping WHERE organisation_id = %(org)s
              )
            )
            INSERT INTO budgets_spendposting
              (organisation_id, document_number, line_number, posting_date, period_id, fund_id,
               budget_line_id, amount, supplier, description, is_accrual, created_at)
            SELECT %(org)s, 'OLD' || lpad((g / 10)::text, 9, '0'), g %% 10 + 1, c.start_date,
                   c.period_id, c.fund_id, c.line_id, 1.00, 'Earlier supplier', 'Earlier year',
                   false, now()
            FROM generate_series(0, %(count)s - 1) g
            JOIN c ON c.k = (g::bigint * 7919) %% (SELECT count(*) FROM c)
            """,
            {"org": org.pk, "count": count},
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE budgets_spendposting")
    return time.perf_counter() - started


def raw_copy(path: Path) -> float:
    """COPY the file into a bare table: the floor for getting these bytes into PostgreSQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_ledger_raw")
        cursor.execute(
            "CREATE TABLE bench_ledger_raw (organisation text, document_number text, "
            "line_number text, posting_date text, cost_centre text, expense_code text, "
            "amount text, supplier text, description text)"
        )
        started = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.cursor.copy(
                "COPY bench_ledger_raw FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy,
        ):
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_ledger_raw")
    return elapsed


def insert_floor(imp: Any) -> dict[str, float]:
    """Seconds to insert the import's postings, already typed and resolved, into a copy of
    the postings table: bare, and with the table's own indexes."""
    from django.db import connection

    shapes = {
        "bare": "CREATE TABLE bench_floor (LIKE budgets_spendposting INCLUDING DEFAULTS)",
        "indexed": "CREATE TABLE bench_floor (LIKE budgets_spendposting INCLUDING ALL)",
    }
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor, bench_floor_rows")
        cursor.execute(
            "CREATE TABLE bench_floor_rows AS SELECT * FROM budgets_spendposting "
            "WHERE ledger_import_id = %s ORDER BY id",
            [imp.pk],
        )
        for name, create in shapes.items():
            cursor.execute(create)
            started = time.perf_counter()
            cursor.execute("INSERT INTO bench_floor SELECT * FROM bench_floor_rows")
            timings[name] = time.perf_counter() - started
            cursor.execute("DROP TABLE bench_floor")
        cursor.execute("DROP TABLE bench_floor_rows")
    return timings


def timed_import(
    org: Any, user: Any, path: Path, *, recheck: bool = False, profile: Any = None
) -> tuple[float, float, Any, dict[str, float]]:
    """(whole upload path, check-and-post only, the LedgerImport, seconds per step). The import
    runs in this process (as the command's does), its steps heard through run_import's on_step."""
    from budgets.ledger.imports import service

    steps: dict[str, float] = {}
    inner: list[float] = []
    real = service.run_import

    def measured(import_id: int, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(import_id, on_step=steps.__setitem__, **kwargs)
        finally:
            inner.append(time.perf_counter() - started)

    service.run_import = measured  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        imp = service.import_ledger_file(
            actor=user, organisation=org, path=path, recheck=recheck, profile=profile
        )
        whole = time.perf_counter() - started
    finally:
        service.run_import = real  # type: ignore[assignment]
    return whole, inner[0], imp, steps


def _posted(org: Any, imp: Any) -> tuple[int, Any]:
    from django.db.models import Sum

    from budgets.models import SpendPosting

    posted = SpendPosting.objects.filter(organisation=org, ledger_import=imp)
    return posted.count(), posted.aggregate(t=Sum("amount"))["t"]


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    from statistics import median

    from django.conf import settings
    from django.db import connection

    from budgets.models import ImportProfile

    context = context or {}
    rows = int(context.get("ledger_rows") or ROWS)
    rounds = max(int(context.get("rounds") or 1), 1)
    if connection.vendor != "postgresql":
        raise SystemExit("bench_ledger_import needs PostgreSQL (set DATABASE_URL)")
    settings.GMHSC_MAX_UPLOAD_BYTES = max(settings.GMHSC_MAX_UPLOAD_BYTES, 400 * 1024 * 1024)
    settings.GMHSC_MAX_UPLOAD_ROWS = max(settings.GMHSC_MAX_UPLOAD_ROWS, rows)
    org, user = ensure_data()
    path = DATA / f"ledger-{rows}.csv"
    lgtc_path = DATA / f"ledger-{rows}-lgtc.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(path, rows)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    if not lgtc_path.exists():
        started = time.perf_counter()
        generate_lgtc(lgtc_path, rows)
        print(f"generated {lgtc_path} in {time.perf_counter() - started:.1f} s")
    control = _amount_check(path)
    removed = clear_postings(org)
    if removed:
        print(f"removed {removed:,} postings of earlier runs")
    prior = int(context.get("prior_postings") or 0)
    if prior:
        print(f"added {prior:,} earlier postings in {add_prior_postings(org, prior):.1f} s")

    copy_s = raw_copy(path)
    print(f"raw COPY into a bare table: {copy_s:.2f} s")
    import_s, import_inner_s, imp, steps = timed_import(org, user, path)
    print(
        f"import: {import_s:.2f} s ({import_inner_s:.2f} s checking and posting) -> "
        f"{imp.status}, {imp.rows_posted:,} posted; {imp.message}; steps {steps}"
    )
    count, total = _posted(org, imp)
    reimport_s, reimport_inner_s, again, _steps = timed_import(org, user, path)
    print(f"re-import: {reimport_s:.2f} s ({reimport_inner_s:.2f} s checking) -> {again.status}")
    recheck_s, _recheck_inner_s, rechecked, recheck_steps = timed_import(
        org, user, path, recheck=True
    )
    print(
        f"re-import with every row checked again: {recheck_s:.2f} s -> {rechecked.status}; "
        f"steps {recheck_steps}"
    )

    floor = insert_floor(imp)
    print(
        f"insert of the posted rows into a copy of the postings table: bare {floor['bare']:.2f} s, "
        f"with its indexes {floor['indexed']:.2f} s"
    )

    # The same rows as a council's transparency file, through the shipped profile, into a
    # postings table without them (and the plain file again, alternating, for --rounds > 1).
    profile = ImportProfile.objects.get(organisation=None, name=LGTC_PROFILE)
    plain_times = [import_s]
    lgtc_times: list[float] = []
    lgtc_steps: dict[str, float] = {}
    lgtc_status: list[str] = []
    for round_number in range(rounds):
        clear_postings(org)
        lgtc_s, lgtc_inner_s, lgtc_imp, lgtc_steps = timed_import(
            org, user, lgtc_path, profile=profile
        )
        lgtc_count, lgtc_total = _posted(org, lgtc_imp)
        lgtc_times.append(lgtc_s)
        lgtc_status.append(
            f"{lgtc_imp.status}: {lgtc_count:,} posted, total {lgtc_total}, "
            f"{lgtc_imp.rows_outside:,} outside"
        )
        print(
            f"LGTC file through {LGTC_PROFILE}: {lgtc_s:.2f} s ({lgtc_inner_s:.2f} s checking "
            f"and posting) -> {lgtc_status[-1]}; steps {lgtc_steps}"
        )
        if lgtc_total != control or lgtc_count != rows:
            raise SystemExit(f"the LGTC import did not post the same rows: {lgtc_status[-1]}")
        if round_number < rounds - 1:
            clear_postings(org)
            plain_s, _inner, _imp, _steps = timed_import(org, user, path)
            plain_times.append(plain_s)
            print(f"plain import again: {plain_s:.2f} s")
    plain_s = median(plain_times)
    lgtc_s = median(lgtc_times)
    lgtc_ratio = lgtc_s / plain_s
    floor_ratio = import_inner_s / floor["indexed"]
    ratio = import_s / copy_s
    figures = [
        {"name": "raw COPY of the file into a bare table", "value": round(copy_s, 2), "unit": "s"},
        {
            "name": "ledger import (upload checks, store, check every row, post)",
            "value": round(import_s, 2),
            "unit": "s",
            "target": "<= 60 s",
            "met": import_s <= 60,
        },
        {
            "name": "ledger import, check and post only",
            "value": round(import_inner_s, 2),
            "unit": "s",
        },
        {
            "name": "import (check and post) / its indexed-insert floor",
            "value": round(floor_ratio, 2),
            "unit": "x",
            "target": "<= 2x",
            "met": floor_ratio <= 2,
        },
        {"name": "import / raw COPY", "value": round(ratio, 2), "unit": "x"},
        {"name": "import throughput", "value": round(rows / import_s), "unit": "rows/s"},
        {"name": "raw COPY throughput", "value": round(rows / copy_s), "unit": "rows/s"},
        {
            "name": "re-import of the same file",
            "value": round(reimport_s, 2),
            "unit": "s",
            "target": "<= 15 s",
            "met": reimport_s <= 15,
        },
        {"name": "re-import, check only", "value": round(reimport_inner_s, 2), "unit": "s"},
        {
            "name": "re-import with every row checked again (recheck=True)",
            "value": round(recheck_s, 2),
            "unit": "s",
            "target": "<= 15 s",
            "met": recheck_s <= 15,
        },
        {
            "name": "floor: insert of the posted rows into a bare copy of the postings table",
            "value": round(floor["bare"], 2),
            "unit": "s",
        },
        {
            "name": "floor: the same insert into a copy with the postings table's indexes",
            "value": round(floor["indexed"], 2),
            "unit": "s",
        },
        {
            # What no import of these rows can go below: the file's bytes into PostgreSQL and the
            # rows into a table with the postings table's indexes. Reading, resolving and
            # checking every row is the rest.
            "name": "floor: raw COPY of the file + the indexed insert",
            "value": round(copy_s + floor["indexed"], 2),
            "unit": "s",
        },
        {
            "name": "import (check and post) / (raw COPY + indexed insert)",
            "value": round(import_inner_s / (copy_s + floor["indexed"]), 2),
            "unit": "x",
        },
        {
            "name": "import steps beyond the COPY and the insert (read, resolve, check, summarise)",
            "value": round(
                sum(t for name, t in steps.items() if name not in ("copy", "insert")), 2
            ),
            "unit": "s",
        },
        {
            "name": f"the same rows as an LGTC file through {LGTC_PROFILE}",
            "value": round(lgtc_s, 2),
            "unit": "s",
        },
        {
            "name": "LGTC file through its profile / plain import of the same rows",
            "value": round(lgtc_ratio, 2),
            "unit": "x",
            "target": "<= 1.25x",
            "met": lgtc_ratio <= 1.25,
        },
    ]
    return {
        "rows": rows,
        "prior_postings": prior,
        "rounds": rounds,
        "file_bytes": path.stat().st_size,
        "lgtc_file_bytes": lgtc_path.stat().st_size,
        "status": imp.status,
        "posted": count,
        "control_total": str(control),
        "posted_total": str(total),
        "totals_match": total == control,
        "reimport_status": again.status,
        "reimport_posted": again.rows_posted,
        "reimport_message": again.message,
        "recheck_status": rechecked.status,
        "import_steps_s": steps,
        "recheck_steps_s": recheck_steps,
        "lgtc_steps_s": lgtc_steps,
        "lgtc_imports": lgtc_status,
        "plain_import_times_s": [round(t, 2) for t in plain_times],
        "lgtc_import_times_s": [round(t, 2) for t in lgtc_times],
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--prior", type=int, default=0, help="earlier postings of BENCHLED")
    parser.add_argument(
        "--rounds", type=int, default=1, help="plain and LGTC imports, alternating, N times each"
    )
    args = parser.parse_args()
    _setup()
    result = run({"ledger_rows": args.rows, "prior_postings": args.prior, "rounds": args.rounds})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ledger_import.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
