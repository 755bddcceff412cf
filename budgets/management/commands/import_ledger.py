"""python manage.py import_ledger FILE --organisation CODE [--user USERNAME] [--background]
[--profile NAME] [--dry-run] [--outside-pools leave|refuse]"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.ledger import selectors
from budgets.ledger.imports import import_ledger_file
from budgets.models import LedgerImport
from gmhsc.errors import ApplicationError
from gmhsc.money import format_money
from localities.actors import command_actor
from localities.models import Organisation


def _money(text: str) -> str:
    return format_money(Decimal(text), pence=True)


class Command(BaseCommand):
    help = (
        "Import a ledger file for one organisation: every row checked first; all or nothing; "
        "rows already posted are skipped. --profile reads a partner's own export; --dry-run "
        "shows what would be posted and posts nothing."
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
        parser.add_argument(
            "--profile",
            help="import profile name (e.g. lgtc-spend-over-500); default: the gmhsc ledger CSV",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and show what would be posted; post nothing",
        )
        parser.add_argument(
            "--outside-pools",
            choices=["leave", "refuse"],
            help="rows no mapping covers: leave them out, or refuse the file (default: the "
            "profile's choice, else refuse)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with code {options['organisation']}.")
        actor = command_actor(options.get("user"))
        try:
            profile = (
                selectors.profile_for(actor, organisation, options["profile"])
                if options.get("profile")
                else None
            )
            imp = import_ledger_file(
                actor=actor,
                organisation=organisation,
                path=options["file"],
                run_now=not options["background"],
                profile=profile,
                outside_pools=options.get("outside_pools"),
                dry_run=options["dry_run"],
            )
        except (ApplicationError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        if options["background"]:
            self.stdout.write(f"Import {imp.pk} queued ({imp.rows_total:,} rows).")
            return
        for error in imp.errors or []:
            self.stderr.write(f"row {error['row']}, {error['field']}: {error['message']}")
        if imp.error_count > len(imp.errors or []):
            self.stderr.write(
                f"... {imp.error_count:,} problems in all: "
                f"/budgets/ledger/imports/{imp.pk}/errors.csv"
            )
        self._preview(imp)
        if imp.status in ("rejected", "failed") or imp.error_count:
            raise CommandError(imp.message)
        for entry in imp.summary or []:
            self.stdout.write(
                f"{entry['fund']} {entry['period']}: {entry['rows']:,} rows, "
                f"{_money(entry['amount'])}"
            )
        self.stdout.write(self.style.SUCCESS(imp.message))

    def _preview(self, imp: LedgerImport) -> None:
        preview = imp.preview or {}
        if not preview:
            return
        if imp.dry_run:
            for entry in preview.get("by_line", []):
                self.stdout.write(
                    f"{entry['fund']} {entry['line']} {entry['period']}: {entry['rows']:,} rows "
                    f"({entry['new']:,} new), {_money(entry['amount'])}"
                )
            more = preview.get("by_line_count", 0) - len(preview.get("by_line", []))
            if more > 0:
                self.stdout.write(f"... and {more:,} more lines and periods")
        outside = preview.get("outside") or {}
        if outside.get("rows"):
            self.stdout.write(
                f"Outside the pooled funds (left out): {outside['rows']:,} rows, "
                f"{_money(outside['amount'])}"
            )
            for entry in outside.get("top_cost_centres", []):
                self.stdout.write(
                    f"  cost centre {entry['cost_centre']}: {entry['rows']:,} rows, "
                    f"{_money(entry['amount'])}"
                )
        for pair in preview.get("unmapped", []):
            self.stderr.write(
                f"Unmapped in {pair['year']}: cost centre {pair['cost_centre']}, expense code "
                f"{pair['expense_code']}: {pair['rows']:,} rows, {_money(pair['amount'])}"
            )
