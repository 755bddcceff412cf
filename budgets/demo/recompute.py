"""Demo data: recompute every fund's snapshots from the seeded postings (idempotent)."""

from __future__ import annotations

from collections.abc import Iterator

from budgets.figures.recompute import recompute_all


def seed() -> Iterator[str]:
    yield from recompute_all()
