"""python manage.py export_fund_archive --fund CODE --year 2016/17 --output DIR"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from budgets.archive.export import export_archive
from budgets.management.lookups import refusal_as_command_error
from budgets.models import FinancialYear, PooledFund
from gmhsc.money import format_money


class Command(BaseCommand):
    help = "Write one fund's year as CSV files and a manifest.json with SHA-256 checksums."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fund", required=True, help="fund code, e.g. GM-POOL")
        parser.add_argument("--year", required=True, help="financial year, e.g. 2016/17")
        parser.add_argument("--output", required=True, help="an empty (or new) folder")

    def handle(self, *args: Any, **options: Any) -> None:
        fund = PooledFund.objects.filter(code=options["fund"]).first()
        if fund is None:
            raise CommandError(f"No fund with code {options['fund']}.")
        year = FinancialYear.objects.filter(code=options["year"]).first()
        if year is None:
            raise CommandError(f"No financial year {options['year']}.")
        with refusal_as_command_error():
            manifest = export_archive(fund=fund, year=year, out_dir=Path(options["output"]))
        rows = sum(meta["rows"] for meta in manifest["files"].values())
        self.stdout.write(
            f"Archived {fund.code} {year.code}: {len(manifest['files'])} files, {rows:,} rows, "
            f"{manifest['totals']['spend_postings']} postings totalling "
            f"{format_money(manifest['totals']['spend_amount'], pence=True)} -> {options['output']}"
        )
