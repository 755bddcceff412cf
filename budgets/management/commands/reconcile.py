"""Recompute every fund from postings in memory and print every difference from the snapshots."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from budgets.figures.recompute import reconcile
from budgets.models import PooledFund


class Command(BaseCommand):
    help = "Compare the variance, position and risk-share snapshots with a recompute from postings."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fund", help="only this fund code")

    def handle(self, *args: Any, **options: Any) -> None:
        funds = PooledFund.objects.order_by("code")
        if options["fund"]:
            funds = funds.filter(code=options["fund"])
            if not funds.exists():
                raise CommandError(f"no fund {options['fund']}")
        differences = reconcile(funds)
        for line in differences:
            self.stdout.write(line)
        if differences:
            self.stdout.write(f"{len(differences)} differences")
            sys.exit(1)
        self.stdout.write("no differences")
