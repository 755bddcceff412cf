"""python manage.py roll_forward --fund CODE --year 2017/18 [--uplift 2.1] [--efficiency 1.5]
[--area AC.NEL=3.0:1.0 ...] [--contribution-uplift 1.0] [--partner 00T=0.5 ...] [--replace-draft]
[--from 2016/17] [--user USERNAME]: budget setting from the year before (see the README)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.management.lookups import fund_named, refusal_as_command_error, year_named
from budgets.planning.services.roll_forward import fund_roll_forward
from localities.actors import command_actor


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise CommandError(f"{what} '{value}' is not CODE=VALUE.")
        out[key.strip()] = rest.strip()
    return out


class Command(BaseCommand):
    help = "Set a fund's draft budget for a year from the year before (budget setting)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True, help="fund code")
        parser.add_argument("--year", required=True, help="the year to set, e.g. 2017/18")
        parser.add_argument(
            "--from", dest="from_year", help="the year to start from (default: the one before)"
        )
        parser.add_argument("--uplift", default="", help="fund-wide inflation uplift %%")
        parser.add_argument("--efficiency", default="", help="fund-wide efficiency %%")
        parser.add_argument(
            "--area",
            action="append",
            default=[],
            help="AREA=UPLIFT:EFFICIENCY, e.g. AC.NEL=3.0:1.0",
        )
        parser.add_argument(
            "--contribution-uplift", default="", help="partners' contributions uplift %%"
        )
        parser.add_argument(
            "--partner", action="append", default=[], help="CODE=PCT, a partner's own uplift"
        )
        parser.add_argument(
            "--replace-draft", action="store_true", help="set the draft's lines again"
        )
        parser.add_argument("--reason", default="")
        parser.add_argument("--user", help="who sets it (default: the first administrator)")

    def handle(self, *args: Any, **options: Any) -> None:
        areas = {}
        for code, rates in _pairs(options["area"], "--area").items():
            uplift, sep, efficiency = rates.partition(":")
            if not sep:
                raise CommandError(f"--area {code}={rates}: give UPLIFT:EFFICIENCY.")
            areas[code] = {"uplift_pct": uplift, "efficiency_pct": efficiency}
        with refusal_as_command_error():
            result = fund_roll_forward(
                actor=command_actor(options.get("user")),
                fund=fund_named(options["fund"]),
                year=year_named(options["year"]),
                from_year=year_named(options["from_year"]) if options["from_year"] else None,
                uplift_pct=options["uplift"],
                efficiency_pct=options["efficiency"],
                service_areas=areas,
                contribution_uplift_pct=options["contribution_uplift"],
                partner_uplifts=_pairs(options["partner"], "--partner"),
                replace_draft=options["replace_draft"],
                reason=options["reason"],
            )
        for item in result.dropped:
            self.stdout.write(f"dropped {item['code']} {item['amount']}: {item['why']}")
        for note in result.notes:
            self.stdout.write(note)
        s = result.setting
        self.stdout.write(
            self.style.SUCCESS(
                f"{s.fund.code} {s.year.code} set from {s.from_year.code}: {s.lines_carried} lines, "
                f"prior recurrent {result.prior_total} -> {result.new_total}."
            )
        )
