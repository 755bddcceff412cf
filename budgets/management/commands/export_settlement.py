"""python manage.py export_settlement --fund CODE --year 2016/17 --output PATH [--partner CODE]:
a partner's settlement statement (PDF), or with no --partner every partner's into the folder PATH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.management.lookups import fund_named, year_named
from budgets.reports.memorandum import frozen_year_account, settlement_rows
from budgets.reports.memorandum_renderer import statement_filename, statement_pdf
from budgets.reports.year_end import current_close


class Command(BaseCommand):
    help = "Write settlement statements (PDF) for a closed year."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True)
        parser.add_argument("--partner", help="organisation code (default: every partner)")
        parser.add_argument(
            "--output", required=True, help="a PDF file, or a folder without --partner"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fund = fund_named(options["fund"])
        year = year_named(options["year"])
        close = current_close(fund, year)
        if close is None:
            raise CommandError(f"{fund.code}'s {year.code} year is not closed.")
        rows = settlement_rows(close)
        if options["partner"]:
            rows = [s for s in rows if s.partner.code == options["partner"]]
            if not rows:
                raise CommandError(f"{options['partner']} has no settlement in {fund.code}.")
        account = frozen_year_account(fund, year)
        output = Path(options["output"])
        if not options["partner"]:
            output.mkdir(parents=True, exist_ok=True)
        for s in rows:
            target = output / statement_filename(close, s) if not options["partner"] else output
            target.write_bytes(statement_pdf(close, s, account))
            self.stdout.write(f"{target}: {s.partner.code} net due {s.net_due}")
