"""Money: Decimal pounds to the penny, and splits that always sum to the whole.

Every split in gmhsc (phasing, risk share, fair-share allocation) goes through
`split_largest_remainder`, so the parts are exact pennies and add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 18
DECIMAL_PLACES = 2


class MoneyError(ValueError):
    """A value that is not a valid amount of money."""


def typed_amount(text: str) -> str:
    """An amount as a person types it, without the pound sign and thousands commas, ready for
    `to_money` ('£1,234.50' -> '1234.50')."""
    return text.replace(",", "").replace("£", "").strip()


def to_money(value: object) -> Decimal:
    """Parse a value into pounds and pence. Refuses floats, blanks, junk and fractions of a penny."""
    if isinstance(value, float):
        raise MoneyError("money must not be a float")
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip()
        if not text:
            raise MoneyError("is empty")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"'{text}' is not a number") from None
    if not amount.is_finite():
        raise MoneyError(f"'{value}' is not a number")
    exponent = amount.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -DECIMAL_PLACES
        and amount != amount.quantize(PENNY)
    ):
        raise MoneyError(f"'{value}' has more than 2 decimal places")
    amount = amount.quantize(PENNY)
    if len(amount.as_tuple().digits) > MAX_DIGITS:
        raise MoneyError(f"'{value}' is too large")
    return amount


def round_money(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def split_largest_remainder(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split `total` into parts proportional to `weights`, to the penny, summing exactly to `total`.

    Each part is within one penny of its exact share. Pennies left over after rounding
    down go to the largest remainders; ties go to the earliest weight, so the result is
    deterministic. All-zero weights split the total evenly.
    """
    if not weights:
        if total != 0:
            raise ValueError("cannot split a non-zero total between no parts")
        return []
    weights = [Decimal(w) for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    if sum(weights) == 0:
        weights = [Decimal(1)] * len(weights)
    sign = -1 if total < 0 else 1
    pennies = int((abs(total) / PENNY).to_integral_value())
    if all(w == weights[0] for w in weights):
        # Equal weights (flat phasing, four instalments): every remainder is the same, so the
        # pennies left over go to the earliest parts, as the general rule below would give them.
        share, left = divmod(pennies, len(weights))
        return [sign * Decimal(share + (1 if i < left else 0)) * PENNY for i in range(len(weights))]
    weight_sum = sum(weights)
    exact = [Decimal(pennies) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    left = pennies - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * Decimal(p) * PENNY for p in floors]


def percentage(part: Decimal, whole: Decimal) -> Decimal | None:
    """`part` as a percentage of `whole`, to 2 places; None when the whole is zero."""
    if whole == 0:
        return None
    return (part * 100 / whole).quantize(PENNY, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str | None, *, pence: bool = False) -> str:
    """Money as every page, message and printed report shows it: whole pounds, £1,234,567, with
    negatives in brackets, (£1,234). `pence=True` (£1,234.56) only where the page is about pence:
    postings, ledger imports, a message about an amount that must match to the penny. Exports
    (CSV, XLSX) and the API keep plain numbers and are not formatted here."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        raise MoneyError("money must not be a float")
    amount = value if isinstance(value, Decimal) else Decimal(value)
    quant = PENNY if pence else Decimal(1)
    rounded = amount.quantize(quant, rounding=ROUND_HALF_UP)
    text = f"£{abs(rounded):,.2f}" if pence else f"£{abs(rounded):,.0f}"
    return f"({text})" if rounded < 0 else text


def format_pct(value: Decimal | None) -> str:
    """A percentage to one place, negatives in brackets: 2.5% / (2.5%); an en dash for none."""
    if value is None:
        return "–"
    return f"({abs(value):.1f}%)" if value < 0 else f"{value:.1f}%"
