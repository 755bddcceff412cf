"""A small fund for commissioning tests, built on budgets' test world."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgets.models import BudgetLine, FundBudget
from commissioning.models import Provider, Service
from tests.budgets.factories import BudgetLineFactory, BudgetWorld, budget_world

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
    second = BudgetLineFactory(
        fund=w.fund,
        year=w.year,
        code="HC02",
        name="Home care north",
        service_area=w.area,
        lead_commissioner=w.host,
        original_budget=D("60000.00"),
    )
    provider = Provider.objects.create(name="Acme Care Ltd", kind=Provider.Kind.INDEPENDENT)
    service = Service.objects.create(
        name="Home care",
        service_area=w.area,
        care_setting=Service.CareSetting.HOME,
        commissioner=w.host,
    )
    return World(w=w, second_line=second, provider=provider, service=service)


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
