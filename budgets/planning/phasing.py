"""Phasing: spreading an annual budget over M1 (April) .. M12 (March), always to the exact penny.

Every method goes through `gmhsc.money.split_largest_remainder`, so the 12 parts are whole pennies,
each within a penny of its exact share, and they add up exactly to the amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from gmhsc.errors import ApplicationError
from gmhsc.money import ZERO, MoneyError, format_money, split_largest_remainder, to_money

MONTHS = 12
FLAT = "flat"
CUSTOM = "custom"
SEASONAL = "seasonal"
LAST_YEAR = "last_year"
METHODS = (FLAT, CUSTOM, SEASONAL, LAST_YEAR)

# Winter-weighted profile for acute and emergency care, April .. March (sums to 12, so a weight of
# 1 is an average month): lighter summer, heavier December to February.
SEASONAL_TEMPLATE: tuple[Decimal, ...] = tuple(
    Decimal(w)
    for w in (
        "0.92",  # Apr
        "0.92",  # May
        "0.90",  # Jun
        "0.90",  # Jul
        "0.88",  # Aug
        "0.94",  # Sep
        "1.02",  # Oct
        "1.08",  # Nov
        "1.16",  # Dec
        "1.18",  # Jan
        "1.12",  # Feb
        "0.98",  # Mar
    )
)


class PhasingError(ApplicationError):
    code = "invalid_phasing"


@dataclass(frozen=True)
class Phased:
    """The 12 monthly parts, the method actually used and a note when it differs from the one asked."""

    parts: list[Decimal]
    method: str
    note: str = ""


def parse_months(values: Sequence[object] | None) -> list[Decimal]:
    """Twelve monthly values, each valid money (they need not add up to anything yet)."""
    if values is None or len(values) != MONTHS:
        raise PhasingError(
            f"Custom phasing needs 12 monthly values; got {0 if values is None else len(values)}."
        )
    parts: list[Decimal] = []
    for number, value in enumerate(values, start=1):
        try:
            parts.append(to_money(value))
        except MoneyError as exc:
            raise PhasingError(f"Month M{number:02d}: {exc}.") from None
    return parts


def months_difference_text(total: Decimal, amount: Decimal) -> str:
    """'£4,667.00 more than the annual budget of £200,000.00' (or 'less'), or '' when equal."""
    if total == amount:
        return ""
    side = "more" if total > amount else "less"
    return (
        f"{format_money(abs(total - amount), pence=True)} {side} than the annual budget of "
        f"{format_money(amount, pence=True)}"
    )


def parse_custom(values: Sequence[object], amount: Decimal) -> list[Decimal]:
    """Twelve monthly values, each valid money, that sum exactly to `amount`.

    Months that do not add up are refused, never silently turned into a new annual budget: a
    caller that means to change the budget says so (line_rephase's `set_annual_budget`)."""
    parts = parse_months(values)
    total = sum(parts, ZERO)
    if total != amount:
        raise PhasingError(
            f"The months add up to {format_money(total, pence=True)}, "
            f"{months_difference_text(total, amount)}. Change the months so they add up to it, "
            "or set the annual budget to the months' total.",
            extra={
                "field": "custom",
                "sum": str(total),
                "annual_budget": str(amount),
                "difference": str(total - amount),
            },
        )
    return parts


def _positive_weights(values: Sequence[Decimal]) -> list[Decimal] | None:
    """Last year's actuals as weights: credits count as nothing; None when nothing is left."""
    weights = [max(Decimal(v), ZERO) for v in values]
    return weights if sum(weights) > 0 else None


def phase_explained(
    amount: Decimal,
    method: str,
    *,
    custom: Sequence[object] | None = None,
    last_year: Sequence[Decimal] | None = None,
) -> Phased:
    if method not in METHODS:
        raise PhasingError(f"Unknown phasing method '{method}'; use one of {', '.join(METHODS)}.")
    if method == FLAT:
        return Phased(split_largest_remainder(amount, [1] * MONTHS), FLAT)
    if method == SEASONAL:
        return Phased(split_largest_remainder(amount, list(SEASONAL_TEMPLATE)), SEASONAL)
    if method == CUSTOM:
        if custom is None:
            raise PhasingError("Custom phasing needs 12 monthly values.")
        return Phased(parse_custom(custom, amount), CUSTOM)
    weights = None
    if last_year is not None:
        if len(last_year) != MONTHS:
            raise PhasingError("Last year's pattern needs 12 monthly values.")
        weights = _positive_weights(last_year)
    if weights is None:
        return Phased(
            split_largest_remainder(amount, [1] * MONTHS),
            FLAT,
            "No spend last year for this line, so it was phased flat instead.",
        )
    return Phased(split_largest_remainder(amount, weights), LAST_YEAR)


def phase(
    amount: Decimal,
    method: str,
    *,
    custom: list[Decimal] | None = None,
    last_year: list[Decimal] | None = None,
) -> list[Decimal]:
    """12 parts summing exactly to `amount` (see module docstring). Last year's pattern with no
    spend falls back to flat; `phase_explained` says so."""
    return phase_explained(amount, method, custom=custom, last_year=last_year).parts


def respread_change(
    current: Sequence[Decimal],
    change: Decimal,
    *,
    months: Sequence[int],
    method: str,
    last_year: Sequence[Decimal] | None = None,
) -> list[Decimal]:
    """Add `change` to the phasing, spread over the given month numbers (1..12) by the line's method.

    Flat, seasonal and last year's pattern use their weights restricted to those months; a custom
    profile spreads in proportion to what those months already hold. Anything with no usable
    weights falls back to flat over those months.
    """
    if not months:
        raise PhasingError("There is no open month left to spread the change over.")
    indices = [m - 1 for m in months]
    weights: list[Decimal] | None
    if method == SEASONAL:
        weights = [SEASONAL_TEMPLATE[i] for i in indices]
    elif method == LAST_YEAR and last_year is not None:
        weights = _positive_weights([Decimal(last_year[i]) for i in indices])
    elif method == CUSTOM:
        weights = _positive_weights([Decimal(current[i]) for i in indices])
    else:
        weights = None
    if weights is None:
        weights = [Decimal(1)] * len(indices)
    parts = split_largest_remainder(change, weights)
    result = [Decimal(v) for v in current]
    for i, part in zip(indices, parts, strict=True):
        result[i] += part
    return result
