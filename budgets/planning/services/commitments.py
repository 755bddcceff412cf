"""Commitments (orders raised, not yet invoiced) that feed the variance report's committed column."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction

from budgets.models import BudgetLine, LineCommitment
from budgets.outbox import mark_stale
from gmhsc.errors import ApplicationError
from gmhsc.money import to_money
from localities.actors import Actor


def commitments_replace(
    *, actor: Actor, source_ref: str, rows: dict[int, dict[int, Decimal]]
) -> int:
    """Replace every commitment from `source_ref` with `rows` ({line id: {period: amount}}).

    Lines the source no longer commits against are cleared too. Marks every touched line stale.
    Returns the number of rows written.
    """
    if not source_ref:
        raise ApplicationError("a commitment needs a source reference")
    for periods in rows.values():
        for n in periods:
            if not 1 <= int(n) <= 12:
                raise ApplicationError(f"period {n} is not 1 to 12")
    with transaction.atomic():
        old_lines = set(
            LineCommitment.objects.filter(source_ref=source_ref).values_list("line_id", flat=True)
        )
        LineCommitment.objects.filter(source_ref=source_ref).delete()
        new = [
            LineCommitment(
                line_id=line_id,
                period_number=int(n),
                amount=to_money(amount),
                source_ref=source_ref,
            )
            for line_id, periods in rows.items()
            for n, amount in periods.items()
            if to_money(amount) != 0
        ]
        LineCommitment.objects.bulk_create(new)
        touched = old_lines | {int(k) for k in rows}
        by_fund: dict[tuple[int, int], list[int]] = defaultdict(list)
        for line_id, fund_id, year_id in BudgetLine.objects.filter(pk__in=touched).values_list(
            "pk", "fund_id", "year_id"
        ):
            by_fund[(fund_id, year_id)].append(line_id)
        for (fund_id, year_id), line_ids in by_fund.items():
            mark_stale(
                fund_id=fund_id,
                year_id=year_id,
                line_ids=line_ids,
                reason=f"commitments {source_ref}",
            )
    return len(new)
