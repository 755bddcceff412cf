"""python manage.py export_memorandum_account --fund CODE --year 2016/17 [--quarter N]
--format pdf|xlsx --output PATH: the year's memorandum account (frozen at close) or a quarter's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.management.lookups import fund_named, year_named
from budgets.reports.memorandum import frozen_year_account, quarter_account
from budgets.reports.memorandum_renderer import account_pdf, account_xlsx


class Command(BaseCommand):
    help = "Write a fund's memorandum account (PDF or XLSX) for a closed year or any quarter."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True)
        parser.add_argument("--quarter", type=int, choices=[1, 2, 3, 4])
        parser.add_argument("--format", required=True, choices=["pdf", "xlsx"])
        parser.add_argument("--output", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        fund = fund_named(options["fund"])
        year = year_named(options["year"])
        if options["quarter"]:
            account = quarter_account(fund, year, options["quarter"])
        else:
            frozen = frozen_year_account(fund, year)
            if frozen is None:
                raise CommandError(
                    f"{fund.code}'s {year.code} year is not closed: give --quarter for the account so far."
                )
            account = frozen
        data = account_pdf(account) if options["format"] == "pdf" else account_xlsx(account)
        Path(options["output"]).write_bytes(data)
        self.stdout.write(
            f"{options['output']}: {account.title}, variance {account.variance} ({account.status_text})"
        )
