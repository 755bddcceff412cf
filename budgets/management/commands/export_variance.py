"""python manage.py export_variance --fund CODE --period 2016/17-M06 --format csv|xlsx|pdf --output PATH"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets import selectors
from budgets.models import PooledFund
from budgets.reports import exports
from budgets.reports.variance import GROUPINGS, compute_variance_report
from gmhsc.errors import NotFound


class Command(BaseCommand):
    help = "Write a fund's monthly variance report as CSV, XLSX or PDF (closed months: the frozen figures)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True, help="fund code, e.g. GM-BCF")
        parser.add_argument("--period", required=True, help="period code, e.g. 2016/17-M06")
        parser.add_argument("--format", required=True, choices=sorted(exports.CONTENT_TYPES))
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument("--grouping", default="service_area", choices=list(GROUPINGS))

    def handle(self, *args: Any, **options: Any) -> None:
        fund = PooledFund.objects.select_related("host").filter(code=options["fund"]).first()
        if fund is None:
            raise CommandError(f"There is no fund {options['fund']}.")
        try:
            period = selectors.get_period(options["period"])
        except NotFound as exc:
            raise CommandError(exc.message) from None
        report = compute_variance_report(fund=fund, period=period, grouping=options["grouping"])
        data = exports.render(report, options["format"])
        output = Path(options["output"])
        output.write_bytes(data)
        assert report.totals is not None
        self.stdout.write(
            f"{output}: {len(report.rows)} lines, {report.fund_code} {report.period_code} "
            f"({'frozen at close' if report.source == 'snapshot' else report.as_at_text}); "
            f"forecast variance {report.totals.forecast_variance}"
        )
