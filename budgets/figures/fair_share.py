"""Locality fair-share allocation (domain.md 7.2): weighted capitation, target, distance, pace of change.

Three methods a board can compare: "pure formula" (everyone at target), "pace of change" (growth floor
and a limit on distance under target, then the budget closed pro rata to weighted population among
the unconstrained localities) and "last year + uplift" (baselines scaled to the pot). Every result is
rounded by largest remainder, so allocations sum exactly to the pot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from gmhsc.money import ZERO, split_largest_remainder

PURE_FORMULA = "pure_formula"
PACE_OF_CHANGE = "pace_of_change"
UPLIFT = "uplift"
METHODS = (PURE_FORMULA, PACE_OF_CHANGE, UPLIFT)

DEFAULT_POLICY = {
    "min_growth": "0.01",
    "max_growth": None,
    "max_under_target": "0.05",
    "uplift": "0.01",
}


@dataclass(frozen=True)
class LocalityInput:
    locality_id: int
    population: int
    need_index: Decimal
    cost_index: Decimal
    baseline: Decimal
    fixed: Decimal = ZERO

    @property
    def weighted(self) -> Decimal:
        return Decimal(self.population) * self.need_index * self.cost_index


@dataclass(frozen=True)
class LocalityResult:
    locality_id: int
    weighted_population: Decimal
    baseline: Decimal
    target: Decimal
    dft_before: Decimal | None
    allocation: Decimal
    dft_after: Decimal | None


def _dft(value: Decimal, target: Decimal) -> Decimal | None:
    if target == 0:
        return None
    return ((value - target) / target).quantize(Decimal("0.000001"))


def _pace_of_change(
    pot: Decimal,
    inputs: Sequence[LocalityInput],
    targets: Sequence[Decimal],
    min_growth: Decimal,
    max_growth: Decimal | None,
    max_under_target: Decimal,
) -> list[Decimal]:
    """Exact (unrounded) allocations: floors held, the rest pro rata to weighted population."""
    floors = [
        max(i.baseline * (1 + min_growth), t * (1 - max_under_target))
        for i, t in zip(inputs, targets, strict=True)
    ]
    ceilings = [i.baseline * (1 + max_growth) if max_growth is not None else None for i in inputs]
    if max_growth is not None:
        floors = [min(f, c) for f, c in zip(floors, ceilings, strict=True) if c is not None]
    held: dict[int, Decimal] = {}
    for _ in range(len(inputs) + 1):
        free = [k for k in range(len(inputs)) if k not in held]
        if not free:
            break
        remainder = pot - sum(held.values(), ZERO)
        weight = sum((inputs[k].weighted for k in free), ZERO)
        changed = False
        for k in free:
            share = remainder * inputs[k].weighted / weight if weight else ZERO
            if share < floors[k]:
                held[k] = floors[k]
                changed = True
            elif ceilings[k] is not None and share > ceilings[k]:  # type: ignore[operator]
                held[k] = ceilings[k]  # type: ignore[assignment]
                changed = True
        if not changed:
            return [
                held[k] if k in held else remainder * inputs[k].weighted / weight
                for k in range(len(inputs))
            ]
    # Every locality is held at a floor or ceiling: scale the held amounts to close the budget.
    values = [held[k] for k in range(len(inputs))]
    total = sum(values, ZERO)
    return [v * pot / total if total else ZERO for v in values]


def allocate(
    *, method: str, total_pot: Decimal, inputs: Sequence[LocalityInput], policy: dict | None = None
) -> list[LocalityResult]:
    """Allocate `total_pot` between localities; the results sum exactly to the pot."""
    policy = {**DEFAULT_POLICY, **(policy or {})}
    fixed_total = sum((i.fixed for i in inputs), ZERO)
    pot = total_pot - fixed_total
    weighted = [i.weighted for i in inputs]
    targets = split_largest_remainder(pot, weighted) if inputs else []
    if method == PURE_FORMULA:
        exact: Sequence[Decimal] = targets
    elif method == UPLIFT:
        exact = [i.baseline * (1 + Decimal(str(policy["uplift"]))) for i in inputs]
    elif method == PACE_OF_CHANGE:
        max_growth = policy.get("max_growth")
        exact = _pace_of_change(
            pot,
            inputs,
            targets,
            Decimal(str(policy["min_growth"])),
            Decimal(str(max_growth)) if max_growth is not None else None,
            Decimal(str(policy["max_under_target"])),
        )
    else:
        raise ValueError(f"unknown allocation method {method!r}")
    # Normalise so the allocations sum exactly to the pot, to the penny.
    allocations = split_largest_remainder(pot, [max(e, ZERO) for e in exact]) if inputs else []
    return [
        LocalityResult(
            locality_id=i.locality_id,
            weighted_population=w,
            baseline=i.baseline,
            target=t + i.fixed,
            dft_before=_dft(i.baseline, t),
            allocation=a + i.fixed,
            dft_after=_dft(a, t),
        )
        for i, w, t, a in zip(inputs, weighted, targets, allocations, strict=True)
    ]
