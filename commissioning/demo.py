"""Demo commissioning data for 2016/17, called by gmhsc.demo after budgets' spend is posted.

Providers (every NHS trust of the reference data plus a few independent and voluntary ones),
services and contracts on lines of LP-MANCHESTER, LP-BOLTON, BCF-MAN and GM-POOL (active ones
feed the commitments column through the real services), contract decisions (officer ones and some
awaiting a board), and Manchester's BCF schemes, national conditions and metrics.

Deterministic and idempotent: a second run finds the DEMO- contracts and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction

from budgets.models import BudgetLine, FinancialYear, PooledFund
from commissioning import services
from commissioning.models import (
    BCF_CONDITIONS,
    BCF_METRICS,
    BcfCondition,
    Contract,
    ContractDecision,
    Provider,
    Service,
)
from localities import roles
from localities.actors import Actor
from localities.models import User

SEED = 20160402
YEAR = "2016/17"
FUNDS = ("LP-MANCHESTER", "LP-BOLTON", "BCF-MAN", "GM-POOL")
CONTRACTS_PER_FUND = 6
OTHER_PROVIDERS = [
    ("Acme Home Care Ltd", Provider.Kind.INDEPENDENT),
    ("Northern Care Homes Group", Provider.Kind.INDEPENDENT),
    ("Age UK Manchester", Provider.Kind.VOLUNTARY),
    ("Carers Trust Bolton", Provider.Kind.VOLUNTARY),
    ("Bolton GP Federation", Provider.Kind.GP_PRACTICE),
]
END_DATES = [
    dt.date(2016, 12, 31),
    dt.date(2017, 3, 31),
    dt.date(2017, 6, 30),
    dt.date(2017, 9, 30),
    dt.date(2018, 3, 31),
    dt.date(2019, 3, 31),
]


def _actor() -> User | None:
    return (
        User.objects.filter(groups__name=roles.ADMINISTRATOR).order_by("pk").first()
        or User.objects.filter(is_superuser=True).order_by("pk").first()
    )


def _round(value: Decimal) -> Decimal:
    return (value / 100).to_integral_value() * 100 + Decimal("0.00")


def _providers(actor: Actor) -> list[Provider]:
    services.providers_sync_trusts()
    for name, kind in OTHER_PROVIDERS:
        if not Provider.objects.filter(name=name).exists():
            services.provider_create(actor=actor, name=name, kind=kind)
    return list(Provider.objects.order_by("name"))


def _service_for(line: BudgetLine) -> Service:
    service, _ = Service.objects.get_or_create(
        commissioner=line.lead_commissioner,
        name=line.service_area.name,
        defaults={
            "service_area": line.service_area,
            "locality": line.locality,
            "care_setting": Service.CareSetting.COMMUNITY,
        },
    )
    return service


def _contracts(
    rng: random.Random,
    fund: PooledFund,
    year: FinancialYear,
    providers: list[Provider],
    actor: Actor,
) -> list[Contract]:
    lines = list(
        BudgetLine.objects.filter(fund=fund, year=year)
        .select_related("service_area", "locality", "lead_commissioner")
        .order_by("code")
    )
    if len(lines) < 2:
        return []
    picked = rng.sample(lines, min(CONTRACTS_PER_FUND, len(lines) // 2))
    made = []
    for i, line in enumerate(picked):
        partner = next(
            (
                ln
                for ln in lines
                if ln.pk != line.pk
                and ln.service_area_id == line.service_area_id
                and ln.lead_commissioner_id == line.lead_commissioner_id
            ),
            None,
        )
        start = dt.date(2015, 4, 1) if i % 2 else dt.date(2016, 4, 1)
        end = END_DATES[i % len(END_DATES)]
        share = Decimal(rng.randrange(30, 60)) / 100
        amounts = {line.pk: _round(line.current_budget * share)}
        if partner is not None and partner.pk not in amounts:
            amounts[partner.pk] = _round(partner.current_budget * share / 2)
        value = sum(amounts.values(), Decimal("0.00"))
        profile = services.profile_flat(year=year, start=start, end=end, line_amounts=amounts)
        contract = services.contract_create(
            actor=actor,
            fund=fund,
            year=year,
            reference=f"DEMO-{fund.code}-{i + 1:02d}",
            title=f"{line.service_area.name} ({line.name})",
            service=_service_for(line),
            provider=providers[rng.randrange(len(providers))],
            value=value,
            start_date=start,
            end_date=end,
            extension_options="1 x 12 months" if i % 3 == 0 else "",
            status=Contract.Status.ACTIVE
            if i < CONTRACTS_PER_FUND - 1
            else Contract.Status.PLANNED,
            profile=profile,
        )
        # The lead commissioner of the line owns the contract, so its commissioners can edit it.
        Contract.objects.filter(pk=contract.pk).update(commissioner=line.lead_commissioner)
        contract.commissioner = line.lead_commissioner
        made.append(contract)
    return made


def _decisions(contracts: list[Contract], actor: Actor) -> int:
    count = 0
    for i, contract in enumerate(contracts):
        limit = contract.fund.officer_virement_limit
        if contract.status == Contract.Status.PLANNED:
            services.contract_decision_record(
                actor=actor,
                contract=contract,
                kind=ContractDecision.Kind.AWARD,
                value=max(contract.value, limit + Decimal("1.00")),
                summary=f"Award {contract.reference} to {contract.provider.name} after open tender.",
                participants="Head of commissioning (chair)\nFinance business partner\nClinical lead",
                conflicts_declared="Clinical lead: spouse employed by a bidder" if i % 2 else "",
                conflicts_handling="Clinical lead left the evaluation and took no part in the decision"
                if i % 2
                else "",
                procurement_route=ContractDecision.ProcurementRoute.OPEN,
            )
            count += 1
        elif contract.extension_options and contract.end_date < dt.date(2018, 3, 31):
            services.contract_decision_record(
                actor=actor,
                contract=contract,
                kind=ContractDecision.Kind.EXTENSION,
                value=min(contract.value, limit),
                summary=f"Take up the 12-month extension option on {contract.reference}.",
                participants="Commissioning manager\nFinance business partner",
                procurement_route=ContractDecision.ProcurementRoute.NOT_APPLICABLE,
                new_end_date=contract.end_date.replace(year=contract.end_date.year + 1),
            )
            count += 1
    return count


BCF_SCHEMES = [
    (
        "S01",
        "Integrated neighbourhood teams",
        "care_coordination",
        "joint",
        "nhs_community",
        "community_health",
        "ccg_minimum",
    ),
    (
        "S02",
        "Discharge to assess",
        "discharge",
        "joint",
        "local_authority",
        "social_care",
        "ccg_minimum",
    ),
    ("S03", "Reablement", "discharge", "la", "local_authority", "social_care", "ccg_minimum"),
    ("S04", "Disabled Facilities Grant", "dfg", "la", "local_authority", "social_care", "dfg"),
    ("S05", "Carers' breaks", "carers", "la", "charity", "social_care", "ccg_minimum"),
    (
        "S06",
        "Community nursing protection",
        "community_based",
        "ccg",
        "nhs_community",
        "community_health",
        "additional_ccg",
    ),
    (
        "S07",
        "Dementia support",
        "prevention",
        "ccg",
        "nhs_mental_health",
        "mental_health",
        "additional_ccg",
    ),
    (
        "S08",
        "Protection of adult social care",
        "protect_social_care",
        "la",
        "local_authority",
        "social_care",
        "additional_la",
    ),
]
METRIC_PLANS = {
    "BCF1": Decimal("2450.00"),
    "BCF2": Decimal("180.00"),
    "BCF3": Decimal("85.00"),
    "BCF4": Decimal("230.00"),
    "BCF5": Decimal("67.00"),
    "BCF6": Decimal("520.00"),
}


def _bcf(rng: random.Random, fund: PooledFund, year: FinancialYear, actor: Actor) -> int:
    for code, name, stype, lead, ptype, area, source in BCF_SCHEMES:
        planned = Decimal(rng.randrange(8, 60)) * 100_000 + Decimal("0.00")
        per_quarter = planned / 4
        actuals = {q: _round(per_quarter * Decimal(rng.randrange(90, 110)) / 100) for q in (1, 2)}
        services.bcf_scheme_save(
            actor=actor,
            fund=fund,
            year=year,
            code=code,
            name=name,
            scheme_type=stype,
            lead_commissioner=lead,
            provider_type=ptype,
            area_of_spend=area,
            funding_source=source,
            planned_spend=planned,
            actuals=actuals,
        )
    for number in BCF_CONDITIONS:
        services.bcf_condition_set(
            actor=actor,
            fund=fund,
            year=year,
            number=number,
            status=BcfCondition.Status.PARTIALLY_MET if number == 8 else BcfCondition.Status.MET,
            commentary="Delayed transfers action plan agreed; trajectory not yet met."
            if number == 8
            else "",
        )
    for code in BCF_METRICS:
        plan = METRIC_PLANS[code]
        for quarter in range(1, 5):
            actual = plan * Decimal(rng.randrange(92, 108)) / 100 if quarter <= 2 else None
            services.bcf_metric_set(
                actor=actor,
                fund=fund,
                year=year,
                code=code,
                quarter=quarter,
                plan=plan,
                actual=actual.quantize(Decimal("0.01")) if actual is not None else None,
                local_definition="Falls admissions aged 65+ per 100,000" if code == "BCF6" else "",
            )
    return len(BCF_SCHEMES)


def seed() -> Iterator[str]:
    year = FinancialYear.objects.filter(code=YEAR).first()
    actor = _actor()
    if year is None or actor is None:
        yield "commissioning demo: no 2016/17 year or administrator yet; nothing loaded"
        return
    if Contract.objects.filter(reference__startswith="DEMO-").exists():
        yield "commissioning demo: already loaded"
        return
    rng = random.Random(SEED)
    with transaction.atomic():
        providers = _providers(actor)
        contracts: list[Contract] = []
        for code in FUNDS:
            fund = PooledFund.objects.filter(code=code).first()
            if fund is not None:
                contracts += _contracts(rng, fund, year, providers, actor)
        decisions = _decisions(contracts, actor)
        bcf_fund = PooledFund.objects.filter(code="BCF-MAN").first()
        schemes = _bcf(rng, bcf_fund, year, actor) if bcf_fund is not None else 0
    yield (
        f"commissioning demo: {len(providers)} providers, {len(contracts)} contracts, "
        f"{decisions} decisions, {schemes} BCF schemes"
    )
