"""python manage.py close_financial_year --fund CODE --year 2016/17 --user USERNAME [--reason ...]:
close the year and settle with each partner (the host's finance officer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from budgets.management.lookups import fund_year_call
from budgets.reports.memorandum import settlement_rows
from budgets.reports.year_end import financial_year_close


class Command(BaseCommand):
    help = "Close a fund's financial year: freeze the outturn and write each partner's settlement."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True, help="e.g. 2016/17")
        parser.add_argument("--reason", default="")
        parser.add_argument("--user", help="the host's finance officer who closes it")

    def handle(self, *args: Any, **options: Any) -> None:
        fund, close = fund_year_call(options, financial_year_close)
        for s in settlement_rows(close):
            self.stdout.write(f"{s.partner.code}: share {s.variance_share}, net due {s.net_due}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{fund.code} {close.year.code} closed (run {close.run}): budget {close.budget}, "
                f"outturn {close.outturn}, variance {close.variance}."
            )
        )
