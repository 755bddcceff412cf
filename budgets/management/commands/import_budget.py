"""python manage.py import_budget FILE --fund CODE --year 2016/17 [--user USERNAME]: upload draft
budget lines, recorded against USERNAME (default: the first administrator)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.models import FinancialYear, PooledFund
from budgets.planning.services.budget_upload import import_budget_file
from gmhsc.errors import ApplicationError, RowErrors
from localities.actors import command_actor


class Command(BaseCommand):
    help = "Import a budget CSV of draft lines for one fund and year (all rows checked; all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--fund", required=True, help="fund code, e.g. LP-MANCHESTER")
        parser.add_argument("--year", required=True, help="financial year, e.g. 2016/17")
        parser.add_argument(
            "--user", help="who the upload is recorded against (default: the first administrator)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fund = PooledFund.objects.filter(code=options["fund"]).select_related("host").first()
        if fund is None:
            raise CommandError(f"No fund with code {options['fund']}.")
        year = FinancialYear.objects.filter(code=options["year"]).first()
        if year is None:
            raise CommandError(f"No financial year {options['year']}.")
        try:
            result = import_budget_file(
                actor=command_actor(options.get("user")), fund=fund, year=year, path=options["file"]
            )
        except RowErrors as exc:
            for error in exc.errors:
                self.stderr.write(f"row {error['row']}, {error['field']}: {error['message']}")
            raise CommandError(exc.message) from None
        except (ApplicationError, OSError) as exc:
            raise CommandError(str(exc)) from None
        for note in result.notes:
            self.stdout.write(note)
        self.stdout.write(
            self.style.SUCCESS(
                f"{fund.code} {year.code}: {result.rows} lines ({result.created} new, "
                f"{result.updated} updated), total {result.total}."
            )
        )
