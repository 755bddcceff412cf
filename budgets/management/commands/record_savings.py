"""python manage.py record_savings --fund CODE --year 2017/18 --scheme CODE --month 3 --amount 25000
[--commentary ...] [--user USERNAME]: the saving a scheme delivered in a month."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from budgets.management.lookups import (
    first_or_error,
    fund_named,
    refusal_as_command_error,
    year_named,
)
from budgets.models import SavingsScheme
from budgets.planning.services.savings import savings_delivery_record
from localities.actors import command_actor


class Command(BaseCommand):
    help = "Record the saving a savings scheme delivered in one month (M1..M12)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True)
        parser.add_argument("--scheme", required=True, help="scheme code")
        parser.add_argument("--month", required=True, help="1..12")
        parser.add_argument("--amount", required=True)
        parser.add_argument("--commentary", default="")
        parser.add_argument(
            "--user", help="a commissioner of the lead, or the host's finance officer"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fund = fund_named(options["fund"])
        year = year_named(options["year"])
        scheme = first_or_error(
            SavingsScheme.objects.filter(
                fund=fund, year=year, code=options["scheme"]
            ).select_related("fund", "year", "lead_commissioner"),
            f"{fund.code} has no savings scheme {options['scheme']} in {year.code}.",
        )
        with refusal_as_command_error():
            row = savings_delivery_record(
                actor=command_actor(options.get("user")),
                scheme=scheme,
                month=options["month"],
                amount=options["amount"],
                commentary=options["commentary"],
            )
        self.stdout.write(
            self.style.SUCCESS(f"{scheme.code} M{row.month:02d}: {row.amount} delivered.")
        )
