"""Risk-share rules (domain.md 1.4): who bears a fund's over- or underspend.

Pure functions of Decimals. Every split goes through `split_largest_remainder`, so partners' amounts
sum exactly to the variance; partners are ordered host first, so tied remainder pennies go to the host.
Variance follows the app-wide sign: positive = overspend (adverse), negative = underspend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gmhsc.money import PENNY, ZERO, split_largest_remainder


class RiskShareError(ValueError):
    """An agreement whose parameters cannot be applied."""


@dataclass(frozen=True)
class Partner:
    id: int
    code: str
    contribution: Decimal
    is_host: bool = False


def order_partners(partners: Sequence[Partner]) -> list[Partner]:
    """Host first, then by code: the stable order that breaks remainder ties."""
    return sorted(partners, key=lambda p: (not p.is_host, p.code))


def _host(partners: Sequence[Partner]) -> Partner:
    for p in partners:
        if p.is_host:
            return p
    raise RiskShareError("the fund's host is not among the partners")


def _capped_split(
    total: Decimal,
    partners: list[Partner],
    weights: list[Decimal],
    caps: list[Decimal] | None,
) -> list[Decimal]:
    """Split pro rata to weights; a partner's |share| never exceeds its cap.

    What a capped partner cannot bear is shared again among the uncapped ones pro rata;
    if every partner is capped, the host bears the rest (the host holds the pool).
    """
    result = [ZERO] * len(partners)
    if caps is None:
        return split_largest_remainder(total, weights)
    active = [i for i, w in enumerate(weights) if w > 0] or list(range(len(partners)))
    remaining = total
    while remaining != 0 and active:
        parts = split_largest_remainder(remaining, [weights[i] for i in active])
        over = [
            i for i, part in zip(active, parts, strict=True) if abs(part) > caps[i] - abs(result[i])
        ]
        if not over:
            for i, part in zip(active, parts, strict=True):
                result[i] += part
            remaining = ZERO
            break
        for i in over:
            room = caps[i] - abs(result[i])
            bear = room if remaining > 0 else -room
            result[i] += bear
            remaining -= bear
        active = [i for i in active if i not in over]
    if remaining != 0:
        host_index = next(i for i, p in enumerate(partners) if p.is_host)
        result[host_index] += remaining
    return result


def allocate(
    *,
    rule: str,
    parameters: Mapping[str, Any],
    variance: Decimal,
    partners: Sequence[Partner],
    lead_variances: Mapping[int, Decimal] | None = None,
) -> tuple[dict[int, Decimal], dict[str, Any]]:
    """Share `variance` between partners under `rule`. Returns ({partner id: amount}, inputs)."""
    ordered = order_partners(partners)
    ids = [p.id for p in ordered]
    contributions = [p.contribution for p in ordered]
    cap_flag = bool(parameters.get("cap_at_contribution", False))
    inputs: dict[str, Any] = {
        "variance": str(variance),
        "contributions": {p.code: str(p.contribution) for p in ordered},
        "parameters": dict(parameters),
    }
    if rule == "own_risk":
        leads = dict(lead_variances or {})
        amounts = {pid: leads.pop(pid, ZERO) for pid in ids}
        # A lead commissioner that is not a contributor still bears its own lines.
        amounts.update(leads)
        inputs["lead_variances"] = {
            str(k): str(v) for k, v in sorted((lead_variances or {}).items())
        }
        if sum(amounts.values(), ZERO) != variance:
            raise RiskShareError("lines' variances do not add up to the fund's variance")
        return amounts, inputs
    if rule == "pro_rata":
        caps = contributions if cap_flag else None
        parts = _capped_split(variance, ordered, contributions, caps)
        return dict(zip(ids, parts, strict=True)), inputs
    if rule == "fixed":
        pcts = parameters.get("percentages") or {}
        try:
            weights = [Decimal(str(pcts.get(p.code, "0"))) for p in ordered]
        except ArithmeticError as exc:
            raise RiskShareError("percentages must be numbers") from exc
        unknown = set(pcts) - {p.code for p in ordered}
        if unknown or sum(weights) != 100:
            raise RiskShareError("fixed percentages must name partners and sum to 100")
        parts = split_largest_remainder(variance, weights)
        return dict(zip(ids, parts, strict=True)), inputs
    if rule == "threshold":
        host = _host(ordered)
        pool = sum(contributions, ZERO)
        host_first_pct = Decimal(str(parameters.get("host_first_pct", "0")))
        limit = (pool * host_first_pct / 100).quantize(PENNY)
        host_part = min(abs(variance), limit)
        host_part = host_part if variance >= 0 else -host_part
        rest = variance - host_part
        then = parameters.get("then", "pro_rata")
        weights = contributions if then == "pro_rata" else [Decimal(1)] * len(ordered)
        caps = None
        if cap_flag:
            caps = [
                max(p.contribution - (abs(host_part) if p.is_host else ZERO), ZERO) for p in ordered
            ]
        parts = _capped_split(rest, ordered, weights, caps)
        amounts = dict(zip(ids, parts, strict=True))
        amounts[host.id] += host_part
        inputs.update(host_first=str(host_part), shared=str(rest), then=then)
        return amounts, inputs
    raise RiskShareError(f"unknown risk-share rule {rule!r}")
