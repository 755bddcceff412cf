"""The GM board structure: partnership board, joint commissioning board, Manchester's executive, locality boards."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from boards.models import Board
from localities.models import Locality

DATA = Path(__file__).resolve().parent / "data"


@transaction.atomic
def seed_boards() -> int:
    with (DATA / "boards.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    localities = {loc.gss_code: loc for loc in Locality.objects.all()}
    boards: dict[str, Board] = {}
    for row in rows:  # parents come first in the file
        boards[row["code"]], _ = Board.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "locality": localities.get(row["locality_gss"]),
                "reports_to": boards.get(row["reports_to"]) if row["reports_to"] else None,
                "delegated_limit": Decimal(row["delegated_limit"])
                if row["delegated_limit"]
                else None,
                "legal_basis": row["legal_basis"],
                "quorum_rule": row["quorum_rule"],
            },
        )
    return Board.objects.count()
