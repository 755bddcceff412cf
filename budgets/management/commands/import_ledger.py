"""python manage.py import_ledger FILE --organisation CODE [--user USERNAME] [--background]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.ledger.imports import import_ledger_file
from gmhsc.errors import ApplicationError
from gmhsc.money import format_money
from localities.actors import command_actor
from localities.models import Organisation


class Command(BaseCommand):
    help = (
        "Import a ledger CSV for one organisation: every row checked first; all or nothing; "
        "rows already posted are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--organisation", required=True, help="organisation code, e.g. E08000001"
        )
        parser.add_argument(
            "--user",
            help="who the import is recorded against (default: the first administrator)",
        )
        parser.add_argument(
            "--background", action="store_true", help="queue it as a Celery task and return"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with code {options['organisation']}.")
        actor = command_actor(options.get("user"))
        try:
            imp = import_ledger_file(
                actor=actor,
                organisation=organisation,
                path=options["file"],
                run_now=not options["background"],
            )
        except (ApplicationError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        if options["background"]:
            self.stdout.write(f"Import {imp.pk} queued ({imp.rows_total:,} rows).")
            return
        for error in imp.errors or []:
            self.stderr.write(f"row {error['row']}, {error['field']}: {error['message']}")
        if imp.status in ("rejected", "failed"):
            raise CommandError(imp.message)
        for entry in imp.summary or []:
            self.stdout.write(
                f"{entry['fund']} {entry['period']}: {entry['rows']:,} rows, "
                f"{format_money(_decimal(entry['amount']), pence=True)}"
            )
        self.stdout.write(self.style.SUCCESS(imp.message))


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)
