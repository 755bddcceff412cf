"""python manage.py open_financial_year 2018/19 [--user USERNAME]: open a financial year with its
periods M1..M13 (administrators; idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from budgets.management.lookups import refusal_as_command_error
from budgets.planning.services.years import financial_year_open
from localities.actors import command_actor


class Command(BaseCommand):
    help = "Open a financial year (written YYYY/YY, e.g. 2018/19) with M1..M12 and M13."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", help="e.g. 2018/19")
        parser.add_argument("--user", help="an administrator (default: the first administrator)")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusal_as_command_error():
            year, created = financial_year_open(
                actor=command_actor(options.get("user")), code=options["year"]
            )
        verb = "opened" if created else "was already open"
        self.stdout.write(
            self.style.SUCCESS(
                f"{year.code} {verb}: {year.start_date:%-d %B %Y} to {year.end_date:%-d %B %Y}, "
                f"{year.periods.count()} periods."
            )
        )
