"""Writing a fund archive: every table as CSV from one consistent read, then the manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from budgets.archive.codec import FORMAT, MANIFEST, VERSION, ArchiveError, cell, sha256
from budgets.archive.scope import control_totals
from budgets.archive.tables import TABLES
from budgets.models import FinancialYear, PooledFund


def export_archive(*, fund: PooledFund, year: FinancialYear, out_dir: Path) -> dict[str, Any]:
    """Write the archive into `out_dir` (created; must be empty). Returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ArchiveError(f"{out_dir} is not empty; write the archive into an empty folder.")
    files: dict[str, dict[str, Any]] = {}
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic():  # one consistent read (REPEATABLE READ on PostgreSQL)
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for table in TABLES:
            path = out_dir / f"{table.name}.csv"
            count = 0
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(table.columns)
                for row in table.rows(fund, year):
                    writer.writerow([cell(v) for v in row])
                    count += 1
            files[path.name] = {
                "sha256": sha256(path),
                "rows": count,
                "bytes": path.stat().st_size,
            }
        totals = control_totals(fund, year)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "fund": fund.code,
        "year": year.code,
        "created_at": timezone.now().isoformat(),
        "files": files,
        "totals": totals,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
