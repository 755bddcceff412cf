"""python manage.py import_fund_archive DIR: restore a fund archive into this database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from budgets.archive.restore import import_archive
from budgets.management.lookups import refusal_as_command_error
from gmhsc.money import format_money


class Command(BaseCommand):
    help = "Verify an archive's checksums and totals, then restore the fund (it must not exist)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory", help="folder written by export_fund_archive")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusal_as_command_error():
            manifest = import_archive(in_dir=Path(options["directory"]))
        self.stdout.write(
            f"Restored {manifest['fund']} {manifest['year']}: "
            f"{manifest['totals']['budget_lines']} budget lines, "
            f"{manifest['totals']['spend_postings']} postings totalling "
            f"{format_money(manifest['totals']['spend_amount'], pence=True)}. Figures are being recalculated."
        )
