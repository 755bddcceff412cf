"""The year-end settlement (domain.md 1.6): the final outturn variance shared under the year's
risk-share agreement, and what each partner and the host then owe each other.

For each partner:
    net due = contribution (agreed, with formal variations)
              - carried forward into this year from last year's underspend
              - receipts
              + its share of an overspend
              - its share of an underspend returned
Positive: the partner pays the host; negative: the host pays the partner. A share of an underspend
is returned (UNDERSPEND_RETURN_PRORATA), retained in the pool (UNDERSPEND_RETAIN) or carried into
next year's contribution (UNDERSPEND_CARRY_FORWARD), as the agreement says; retained and carried
shares do not change what is due now. Shares come from `risk_share.allocate`, so they add up to the
variance exactly and tied pennies go to the host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from budgets.figures import risk_share
from budgets.figures.recompute import line_actuals, partners_for
from budgets.models import (
    BudgetLine,
    Contribution,
    ContributionReceipt,
    FinancialYear,
    PooledFund,
    RiskShareAgreement,
)
from gmhsc.errors import ApplicationError
from gmhsc.money import ZERO
from localities.models import Organisation

RETURN = RiskShareAgreement.Underspend.RETURN_PRO_RATA
RETAIN = RiskShareAgreement.Underspend.RETAIN
CARRY = RiskShareAgreement.Underspend.CARRY_FORWARD


class NoAgreement(ApplicationError):
    code = "no_risk_share_agreement"


@dataclass(frozen=True)
class PartnerMoney:
    """What a partner put in for the year."""

    partner_id: int
    contribution: Decimal = ZERO
    carried_forward_in: Decimal = ZERO
    receipts: Decimal = ZERO


@dataclass(frozen=True)
class PartnerSettlement:
    partner_id: int
    is_host: bool
    contribution: Decimal
    carried_forward_in: Decimal
    receipts: Decimal
    variance_share: Decimal
    underspend_returned: Decimal
    underspend_retained: Decimal
    underspend_carried_forward: Decimal

    @property
    def net_due(self) -> Decimal:
        return (
            self.contribution
            - self.carried_forward_in
            - self.receipts
            + (self.variance_share if self.variance_share > 0 else ZERO)
            - self.underspend_returned
        )


def settle(
    *,
    variance: Decimal,
    rule: str,
    parameters: Mapping[str, Any],
    underspend: str,
    partners: Sequence[risk_share.Partner],
    money: Mapping[int, PartnerMoney],
    lead_variances: Mapping[int, Decimal] | None = None,
) -> tuple[list[PartnerSettlement], dict[str, Any]]:
    """Pure: share `variance` (outturn - budget) under the rule, then settle each partner."""
    shares, inputs = risk_share.allocate(
        rule=rule,
        parameters=parameters,
        variance=variance,
        partners=partners,
        lead_variances=lead_variances,
    )
    hosts = {p.id for p in partners if p.is_host}
    rows = []
    for partner_id in sorted(set(shares) | set(money), key=lambda i: (i not in hosts, i)):
        share = shares.get(partner_id, ZERO)
        m = money.get(partner_id, PartnerMoney(partner_id))
        under = -share if share < 0 else ZERO
        rows.append(
            PartnerSettlement(
                partner_id=partner_id,
                is_host=partner_id in hosts,
                contribution=m.contribution,
                carried_forward_in=m.carried_forward_in,
                receipts=m.receipts,
                variance_share=share,
                underspend_returned=under if underspend == RETURN else ZERO,
                underspend_retained=under if underspend == RETAIN else ZERO,
                underspend_carried_forward=under if underspend == CARRY else ZERO,
            )
        )
    inputs["underspend"] = underspend
    return rows, inputs


@dataclass
class SettlementResult:
    fund: PooledFund
    year: FinancialYear
    agreement: RiskShareAgreement
    budget: Decimal
    outturn: Decimal
    partners: list[PartnerSettlement]
    inputs: dict[str, Any]
    # {line id: (current budget, outturn)} for the memorandum account.
    lines: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    names: dict[int, Organisation] = field(default_factory=dict)

    @property
    def variance(self) -> Decimal:
        return self.outturn - self.budget


def compute_settlement(fund: PooledFund, year: FinancialYear) -> SettlementResult:
    """The settlement as it stands now, from the lines, the postings to M13, contributions and
    receipts. Refused without a risk-share agreement for the year."""
    agreement = RiskShareAgreement.objects.filter(fund=fund, year=year).first()
    if agreement is None:
        raise NoAgreement(
            f"{fund.code} has no risk-share agreement for {year.code}, so the outturn cannot be "
            "shared: set the agreement first."
        )
    actuals = line_actuals(fund, year.pk)
    lines: dict[int, tuple[Decimal, Decimal]] = {}
    leads: dict[int, Decimal] = defaultdict(lambda: ZERO)
    budget = outturn = ZERO
    for line_id, lead_id, current in BudgetLine.objects.filter(fund=fund, year=year).values_list(
        "id", "lead_commissioner_id", "current_budget"
    ):
        spent = sum(actuals.get(line_id, {}).values(), ZERO)
        lines[line_id] = (current, spent)
        leads[lead_id] += spent - current
        budget += current
        outturn += spent
    received = dict(
        ContributionReceipt.objects.filter(contribution__fund=fund, contribution__year=year)
        .order_by()
        .values_list("contribution__partner_id")
        .annotate(total=Sum("amount"))
    )
    money = {
        c.partner_id: PartnerMoney(
            partner_id=c.partner_id,
            contribution=c.amount,
            carried_forward_in=c.carried_forward,
            receipts=received.get(c.partner_id) or ZERO,
        )
        for c in Contribution.objects.filter(fund=fund, year=year)
    }
    partners = partners_for(fund, year.pk)
    try:
        rows, inputs = settle(
            variance=outturn - budget,
            rule=agreement.rule,
            parameters=agreement.parameters or {},
            underspend=agreement.underspend,
            partners=partners,
            money=money,
            lead_variances=dict(leads),
        )
    except risk_share.RiskShareError as exc:
        raise ApplicationError(
            f"{fund.code}'s {year.code} risk-share agreement cannot be applied: {exc}."
        ) from None
    inputs.update(budget=str(budget), outturn=str(outturn))
    ids = {r.partner_id for r in rows}
    return SettlementResult(
        fund=fund,
        year=year,
        agreement=agreement,
        budget=budget,
        outturn=outturn,
        partners=rows,
        inputs=inputs,
        lines=lines,
        names={o.pk: o for o in Organisation.objects.filter(pk__in=ids)},
    )
