"""python manage.py reopen_financial_year --fund CODE --year 2016/17 --reason "..." [--user]:
reopen a closed year (administrators)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from budgets.management.lookups import fund_year_call
from budgets.reports.year_end import financial_year_reopen


class Command(BaseCommand):
    help = "Reopen a fund's closed financial year, saying why (administrators)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--user", help="an administrator (default: the first administrator)")

    def handle(self, *args: Any, **options: Any) -> None:
        fund, close = fund_year_call(options, financial_year_reopen)
        self.stdout.write(self.style.SUCCESS(f"{fund.code} {close.year.code} reopened."))
