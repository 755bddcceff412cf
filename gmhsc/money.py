"""Money: Decimal pounds to the penny, the one parser for amounts, and splits that always sum
to the whole.

Every amount that comes in (API, browser forms, uploads, commands) is parsed by `to_money`, so
all of them refuse the same things with the same words.

Every split in gmhsc (phasing, risk share, fair-share allocation) goes through
`split_largest_remainder`, so the parts are exact pennies and add up exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 18
DECIMAL_PLACES = 2
# The largest amount a NUMERIC(18,2) column holds, and so the largest any entry point accepts.
MAX_MONEY = Decimal("9999999999999999.99")
# A plain decimal: optional sign, digits, optional point and digits. No exponent, no grouping
# commas, no currency sign, no underscores, no "NaN" or "Infinity". The ledger import's SQL engine
# tests the same pattern.
AMOUNT_PATTERN = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)"
EXPONENT_PATTERN = AMOUNT_PATTERN + r"[eE][+-]?[0-9]+"
MAX_AMOUNT_TEXT = 60
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_EXPONENT_RE = re.compile(EXPONENT_PATTERN)
_BLANKS = " \t\r\n"

# What is wrong with an amount, in words a person can act on. Callers put the field's name in
# front ("Adjustment amount '1e5' is written ..."); the ledger import's SQL engine builds the same
# texts from these templates.
MONEY_MESSAGES: dict[str, str] = {
    "empty": "is empty",
    "not_number": "'{value}' is not a number",
    "exponent": "'{value}' is written with an exponent; write the amount in full, like 100000.00",
    "places": "'{value}' has more than 2 decimal places",
    "large": "'{value}' is too large",
    "float": "'{value}' must be sent as text, like \"1234.56\", not as a floating-point number",
    "type": 'must be an amount written as text, like "1234.56"',
}


class MoneyError(ValueError):
    """A value that is not a valid amount of money. The text says why, without the field name."""


def _refuse(key: str, value: object = "") -> MoneyError:
    try:
        shown = str(value)
    except ValueError:  # an int too long to print (Python refuses beyond 4,300 digits)
        shown = "(a number of thousands of digits)"
    return MoneyError(MONEY_MESSAGES[key].format(value=shown))


def typed_amount(text: str) -> str:
    """An amount as a person types it, without the pound sign and thousands commas, ready for
    `to_money` ('£1,234.50' -> '1234.50')."""
    return text.replace(",", "").replace("£", "").strip()


def to_money(value: object) -> Decimal:
    """The one money parser: every entry point (API, forms, uploads, commands) ends here.

    Takes a plain decimal string ('1234.56', '-12', '.5'; blanks around it are ignored), an int or
    a Decimal, and returns pounds and pence as a Decimal with 2 places. Refuses, with MoneyError:
    blanks; anything that is not a plain decimal (junk, 'NaN', 'Infinity', '1,234', '£5', '1_000');
    exponent notation ('1e5'); fractions of a penny ('0.001'); anything beyond NUMERIC(18,2)
    (more than 9,999,999,999,999,999.99 either way); floats, booleans and other types. Never
    raises anything but MoneyError. Formats a person types (£, commas) go through
    `typed_amount` first; ledger formats ('(12.00)', '12.00-') are turned into a plain decimal by
    their import profile first.
    """
    if value is None:
        raise _refuse("empty")
    if isinstance(value, bool):
        raise _refuse("type")
    if isinstance(value, float):
        raise _refuse("float", value)
    if isinstance(value, int):
        amount = Decimal(value) if abs(value) <= MAX_MONEY else None
        if amount is None:
            raise _refuse("large", value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _refuse("not_number", value)
        amount = value
    elif isinstance(value, str):
        return _money_from_text(value)
    else:
        raise _refuse("type")
    return _to_pennies(amount, value)


def _money_from_text(value: str) -> Decimal:
    text = value.strip(_BLANKS)
    if not text:
        raise _refuse("empty")
    if len(text) > MAX_AMOUNT_TEXT:
        raise _refuse("not_number", text)
    if not _AMOUNT_RE.fullmatch(text):
        raise _refuse("exponent" if _EXPONENT_RE.fullmatch(text) else "not_number", text)
    return _to_pennies(Decimal(text), text)


def _to_pennies(amount: Decimal, shown: object) -> Decimal:
    if amount.is_zero():
        return ZERO  # also 0E+400 and -0
    # A huge exponent is too large before anything else: quantize would fail (InvalidOperation)
    # on it, and no amount text is that long.
    if amount.adjusted() >= MAX_AMOUNT_TEXT:
        raise _refuse("large", shown)
    with localcontext() as exact:
        exact.prec = 2 * MAX_AMOUNT_TEXT
        pennies = amount.quantize(PENNY, rounding=ROUND_HALF_UP)
    # Fractions of a penny first, then the size: the order the ledger import's SQL engine keeps.
    if pennies != amount:
        raise _refuse("places", shown)
    if abs(pennies) > MAX_MONEY:
        raise _refuse("large", shown)
    return pennies


def money_in_range(value: Decimal) -> bool:
    """Whether a result (a sum, a new budget) still fits NUMERIC(18,2)."""
    return value.is_finite() and abs(value) <= MAX_MONEY


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
