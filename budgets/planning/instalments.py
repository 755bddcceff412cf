"""Which instalments a partner's receipts have paid: receipts pay the earliest instalment first.

Pure function of dates and Decimals, used by the receipts service (to date each instalment's
payment) and by the overdue lists on the fund overview and the board dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gmhsc.money import ZERO


@dataclass(frozen=True)
class InstalmentState:
    due_date: date
    amount: Decimal
    paid: Decimal
    paid_on: date | None  # the receipt that completed it

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    def is_overdue(self, as_at: date) -> bool:
        """Past its due date and not fully paid on `as_at`."""
        return self.due_date < as_at and self.outstanding > 0

    @property
    def paid_late(self) -> bool:
        return self.paid_on is not None and self.paid_on > self.due_date


def allocate(
    instalments: Iterable[tuple[date, Decimal]], receipts: Iterable[tuple[date, Decimal]]
) -> list[InstalmentState]:
    """Apply receipts, in the order received, to instalments in due-date order."""
    dues = sorted(instalments, key=lambda i: i[0])
    paid = [ZERO] * len(dues)
    paid_on: list[date | None] = [None] * len(dues)
    index = 0
    for received_on, amount in sorted(receipts, key=lambda r: r[0]):
        left = amount
        while left > 0 and index < len(dues):
            room = dues[index][1] - paid[index]
            take = min(room, left)
            paid[index] += take
            left -= take
            if paid[index] >= dues[index][1]:
                paid_on[index] = received_on
                index += 1
    return [
        InstalmentState(due_date=d, amount=a, paid=p, paid_on=on)
        for (d, a), p, on in zip(dues, paid, paid_on, strict=True)
    ]
