"""Greater Manchester reference data from localities/data/*.csv. Idempotent: re-running updates in place."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from django.db import transaction

from localities.models import Locality, Organisation

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


SHORT_NAMES = {
    "nhs_england": lambda name: "NHS England",
    "ccg": lambda name: name.removeprefix("NHS ").replace(" CCG", " CCG"),
    "council": lambda name: name.replace(" Metropolitan Borough Council", " Council"),
}


@transaction.atomic
def seed_localities() -> int:
    for row in _rows("localities.csv"):
        Locality.objects.update_or_create(
            gss_code=row["gss_code"],
            defaults={
                "name": row["name"],
                "old_la_code": row["old_la_code"],
                "population_mid2011": int(row["population_mid2011"]),
                "population_mid2015": int(row["population_mid2015"]),
                "population_mid2015_verified": row["population_mid2015_verified"] == "yes",
            },
        )
    return Locality.objects.count()


@transaction.atomic
def seed_organisations() -> int:
    localities = {loc.gss_code: loc for loc in Locality.objects.all()}
    for row in _rows("organisations.csv"):
        short = SHORT_NAMES.get(row["kind"], lambda name: "")(row["name"])
        org, _ = Organisation.objects.update_or_create(
            code=row["code"],
            defaults={
                "code_system": row["code_system"],
                "name": row["name"],
                "short_name": short if short != row["name"] else "",
                "kind": row["kind"],
                "valid_from": _date(row["valid_from"]),
                "valid_to": _date(row["valid_to"]),
                "verified": row["verified"] == "yes",
                "notes": row["notes"],
            },
        )
        served = [localities[code] for code in row["localities_served"].split(";") if code]
        org.localities.set(served)
    return Organisation.objects.count()
