"""python manage.py record_receipt --fund CODE --year 2017/18 --partner CODE --amount 150000.00
--date 2017-04-03 --reference BACS-123 [--user USERNAME]: a contribution receipt."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.management.lookups import (
    fund_named,
    refusal_as_command_error,
    year_named,
)
from budgets.planning.selectors import partner_contribution
from budgets.planning.services.receipts import receipt_record
from localities.actors import command_actor


class Command(BaseCommand):
    help = "Record money received from a partner towards its contribution."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True)
        parser.add_argument("--year", required=True)
        parser.add_argument("--partner", required=True, help="organisation code")
        parser.add_argument("--amount", required=True)
        parser.add_argument("--date", required=True, help="YYYY-MM-DD")
        parser.add_argument("--reference", required=True)
        parser.add_argument("--user", help="the host's finance officer")

    def handle(self, *args: Any, **options: Any) -> None:
        fund = fund_named(options["fund"])
        year = year_named(options["year"])
        contribution = partner_contribution(fund, year, options["partner"])
        if contribution is None:
            raise CommandError(
                f"{options['partner']} has no contribution to {fund.code} in {year.code}."
            )
        with refusal_as_command_error():
            receipt = receipt_record(
                actor=command_actor(options.get("user")),
                contribution=contribution,
                amount=options["amount"],
                received_on=options["date"],
                reference=options["reference"],
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{receipt.reference}: {receipt.amount} from {contribution.partner.code} on {receipt.received_on}."
            )
        )
