"""A small fund for commissioning tests, built on budgets' test world."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgets.models import BudgetLine, FundBudget
from commissioning.models import Provider, Service
from tests.budgets.factories import BudgetWorld, budget_world, fund_line

D = Decimal


@dataclass
class World:
    w: BudgetWorld
    second_line: BudgetLine
    provider: Provider
    service: Service

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)


def commissioning_world(*, status: str = FundBudget.Status.APPROVED) -> World:
    """LP-TEST (officer limit £50,000) with HC01 £120,000 and HC02 £60,000 led by Test Council,
    CH01 £60,000 led by Test CCG; all flat phased. A provider and a council service."""
    w = budget_world(status=status)
    second = fund_line(w, "HC02", "60000.00", name="Home care north")
    provider, service = provider_and_service(w)
    return World(w=w, second_line=second, provider=provider, service=service)


def provider_and_service(w: BudgetWorld) -> tuple[Provider, Service]:
    """Acme Care Ltd (independent) and the host's home care service in w's service area."""
    provider = Provider.objects.create(name="Acme Care Ltd", kind=Provider.Kind.INDEPENDENT)
    service = Service.objects.create(
        name="Home care",
        service_area=w.area,
        care_setting=Service.CareSetting.HOME,
        commissioner=w.host,
    )
    return provider, service


def contract_kwargs(world: World, **overrides: Any) -> dict[str, Any]:
    """£36,000 from October to next September: Oct..Mar of 2016/17 are periods 7..12.
    HC01 £24,000 (£4,000 a month) and HC02 £12,000 (£2,000 a month)."""
    kwargs: dict[str, Any] = {
        "fund": world.fund,
        "year": world.year,
        "reference": "C-001",
        "title": "Home care framework",
        "service": world.service,
        "provider": world.provider,
        "value": D("36000.00"),
        "start_date": dt.date(2016, 10, 1),
        "end_date": dt.date(2017, 9, 30),
        "status": "active",
        "profile": {
            world.host_line.pk: {n: D("4000.00") for n in range(7, 13)},
            world.second_line.pk: {n: D("2000.00") for n in range(7, 13)},
        },
    }
    kwargs.update(overrides)
    return kwargs


def bcf_scheme(
    w: Any, code: str, planned: str, actuals: dict[int, str], actor: Any = None, **overrides: Any
) -> Any:
    """A BCF scheme of w's fund saved by the host's commissioner (unless `actor`): a discharge
    scheme, jointly led, run by the local authority, social care, from the CCG minimum."""
    from commissioning import services

    kwargs = {
        "actor": actor or w.comm_host,
        "fund": w.fund,
        "year": w.year,
        "code": code,
        "name": f"Scheme {code}",
        "scheme_type": "discharge",
        "lead_commissioner": "joint",
        "provider_type": "local_authority",
        "area_of_spend": "social_care",
        "funding_source": "ccg_minimum",
        "planned_spend": D(planned),
        "actuals": {q: D(a) for q, a in actuals.items()},
    }
    kwargs.update(overrides)
    return services.bcf_scheme_save(**kwargs)


def bcf_metric(w: Any, code: str, quarter: int, plan: str, **fields: Any) -> Any:
    """A BCF metric's plan (and `actual`, `local_definition`) for a quarter of w's fund's year,
    set by the host's commissioner."""
    from commissioning import services

    return services.bcf_metric_set(
        actor=w.comm_host, fund=w.fund, year=w.year, code=code, quarter=quarter, plan=plan, **fields
    )


def award_decision(actor: Any, contract: Any, value: str, **fields: Any) -> Any:
    """An award of `contract` at `value` recorded by `actor`: "Award after open tender", decided
    by the head of commissioning (`fields` add to or replace these)."""
    from commissioning import services

    kwargs = {
        "kind": "award",
        "summary": "Award after open tender",
        "participants": "Head of commissioning",
        **fields,
    }
    return services.contract_decision_record(
        actor=actor, contract=contract, value=D(value), **kwargs
    )
