"""python manage.py export_transparency --organisation CODE --year 2016/17 (--month N | --quarter N)
[--template lgtc500|hmt25k] --output PATH"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.models import FinancialYear
from budgets.reports import transparency
from localities.models import Organisation


class Command(BaseCommand):
    help = "Write an organisation's transparency spend file (council £500 / NHS £25,000) for a month or quarter."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="ODS or GSS code")
        parser.add_argument("--year", required=True, help="e.g. 2016/17")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--month", type=int, help="1 (April) to 12 (March)")
        when.add_argument("--quarter", type=int, help="1 (April to June) to 4")
        parser.add_argument("--template", choices=sorted(transparency.TEMPLATES))
        parser.add_argument("--output", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organisation.objects.filter(code=options["organisation"]).first()
        if org is None:
            raise CommandError(f"There is no organisation {options['organisation']}.")
        year = FinancialYear.objects.filter(code=options["year"]).first()
        if year is None:
            raise CommandError(f"There is no financial year {options['year']}.")
        scope, number = (
            ("quarter", options["quarter"]) if options["quarter"] else ("month", options["month"])
        )
        try:
            numbers = transparency.period_numbers(scope, number)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        template = options["template"] or transparency.default_template_for(org)
        rows = transparency.transparency_rows(
            organisation=org, year=year, numbers=numbers, template=template
        )
        Path(options["output"]).write_bytes(transparency.render_transparency_csv(rows, template))
        self.stdout.write(
            f"{options['output']}: {len(rows)} rows ({transparency.TEMPLATES[template].title})"
        )
