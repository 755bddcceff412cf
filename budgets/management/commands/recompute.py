"""Rebuild every snapshot of one fund (or all funds) from postings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from budgets.figures.recompute import recompute_fund_now
from budgets.models import PooledFund


class Command(BaseCommand):
    help = "Full rebuild of the variance, position, risk-share and fair-share snapshots."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fund", help="only this fund code")

    def handle(self, *args: Any, **options: Any) -> None:
        funds = PooledFund.objects.order_by("code")
        if options["fund"]:
            funds = funds.filter(code=options["fund"])
            if not funds.exists():
                raise CommandError(f"no fund {options['fund']}")
        for fund in funds:
            result = recompute_fund_now(fund, full=True)
            self.stdout.write(f"{fund.code}: {result['lines']} lines recomputed")
