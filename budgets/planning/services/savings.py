"""Savings plans (QIPP / cost improvement): named schemes per fund and year, with the saving planned
in each month, and the saving delivered each month as the lead commissioner records it.

Who: a commissioner of a partner organisation for schemes their organisation leads; the host's
finance officer (or an administrator) for any scheme of the fund. Refused, with nothing written:
lines of another fund or year, a lead commissioner that is not a partner, planned or delivered
amounts below zero, a month outside M1..M12, and changes once the fund's year is closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction

from budgets import rules
from budgets.models import BudgetLine, FinancialYear, PooledFund, SavingsDelivery, SavingsScheme
from budgets.models.savings import PLANNED_FIELDS
from budgets.planning.services.funds import require_view, require_year_open
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, save_or_conflict
from gmhsc.money import MoneyError, to_money
from gmhsc.text import clean_field
from localities import roles
from localities.actors import Actor
from localities.models import Organisation


def may_keep_scheme(actor: Actor, fund: PooledFund, lead: Organisation) -> bool:
    """The lead organisation's commissioners, or the host's finance officer / an administrator."""
    if rules.acts_for_host_finance(actor, fund):
        return True
    return (
        roles.has_role(actor, roles.COMMISSIONER)
        and getattr(actor, "organisation_id", None) == lead.pk
        and rules.is_partner(actor, fund)
    )


def require_scheme_keeper(actor: Actor, scheme: SavingsScheme) -> None:
    """Refuse, before anything is read from the request, someone who may not change the scheme."""
    _require_keeper(actor, scheme.fund, scheme.lead_commissioner)


def _require_keeper(actor: Actor, fund: PooledFund, lead: Organisation) -> None:
    require_view(actor, fund)
    if not may_keep_scheme(actor, fund, lead):
        raise NotAllowed(
            f"Only {lead.name}'s commissioners or the host's finance officer can change this "
            "savings scheme."
        )


def _amount(value: Any, label: str, field_name: str) -> Decimal:
    try:
        amount = to_money(value)
    except MoneyError as exc:
        raise ApplicationError(f"{label}: {exc}.", extra={"field": field_name}) from None
    if amount < 0:
        raise ApplicationError(f"{label} cannot be below £0.00.", extra={"field": field_name})
    return amount


def _planned(values: Sequence[Any]) -> list[Decimal]:
    if values is None or len(values) != 12:
        raise ApplicationError(
            "Give the saving planned in each of the 12 months (0 where none).",
            extra={"field": "planned"},
        )
    return [
        _amount(v if v not in (None, "") else "0", f"The saving planned in M{n:02d}", "planned")
        for n, v in enumerate(values, start=1)
    ]


def _lines(fund: PooledFund, year: FinancialYear, lines: Iterable[BudgetLine]) -> list[BudgetLine]:
    chosen = list(lines)
    for line in chosen:
        if line.fund_id != fund.pk or line.year_id != year.pk:
            raise ApplicationError(
                f"Line {line.code} is in {line.fund.code} {line.year.code}, not {fund.code} "
                f"{year.code}: a scheme's savings are on its own fund's lines.",
                extra={"field": "lines"},
            )
    return chosen


def scheme_lines_named(fund: PooledFund, year: FinancialYear, codes: list[str]) -> list[BudgetLine]:
    """The fund's lines of the year with these codes (a scheme's lines, as typed), in the order
    given; a code the fund's year does not have is refused by name."""
    found = {
        line.code: line
        for line in BudgetLine.objects.filter(fund=fund, year=year, code__in=codes).select_related(
            "fund", "year"
        )
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise ApplicationError(
            f"{fund.code} has no {year.code} line {', '.join(missing)}: a scheme's savings are on "
            "its own fund's lines.",
            extra={"field": "lines"},
        )
    return [found[c] for c in codes]


def _partner(fund: PooledFund, year: FinancialYear, lead: Organisation) -> None:
    if lead.pk == fund.host_id or fund.contributions.filter(year=year, partner=lead).exists():
        return
    raise ApplicationError(
        f"{lead.name} is not a partner of {fund.code} in {year.code}.",
        extra={"field": "lead_commissioner"},
    )


def savings_scheme_create(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    code: str,
    name: str,
    lead_commissioner: Organisation,
    lines: Iterable[BudgetLine],
    planned: Sequence[Any],
    commentary: str = "",
) -> SavingsScheme:
    _require_keeper(actor, fund, lead_commissioner)
    code = clean_field(code, field="code", label="The code")
    name = clean_field(name, field="name", label="The name")
    commentary = clean_field(commentary, field="commentary", label="The commentary", multiline=True)
    if not code or len(code) > 30:
        raise ApplicationError(
            "Give the scheme a code of up to 30 characters.", extra={"field": "code"}
        )
    if not name or len(name) > 200:
        raise ApplicationError(
            "Give the scheme a name of up to 200 characters.", extra={"field": "name"}
        )
    _partner(fund, year, lead_commissioner)
    months = _planned(planned)
    chosen = _lines(fund, year, lines)
    with transaction.atomic():
        require_year_open(fund, year)
        scheme = SavingsScheme(
            fund=fund,
            year=year,
            code=code,
            name=name,
            lead_commissioner=lead_commissioner,
            commentary=commentary,
            created_by=actor,
        )
        for field_name, value in zip(PLANNED_FIELDS, months, strict=True):
            setattr(scheme, field_name, value)
        audit(scheme, actor=actor, reason="Savings scheme created")
        save_or_conflict(
            scheme,
            f"{fund.code} already has a savings scheme {code} in {year.code}.",
            extra={"field": "code"},
        )
        scheme.lines.set(chosen)
    return scheme


def savings_scheme_update(
    *,
    actor: Actor,
    scheme: SavingsScheme,
    reason: str = "",
    name: str | None = None,
    lines: Iterable[BudgetLine] | None = None,
    planned: Sequence[Any] | None = None,
    forecast_delivery: Any = None,
    clear_forecast: bool = False,
    commentary: str | None = None,
) -> SavingsScheme:
    """Change a scheme's name, lines, plan, forecast of the year's delivery or commentary."""
    fund, year = scheme.fund, scheme.year
    _require_keeper(actor, fund, scheme.lead_commissioner)
    if name is not None:
        name = clean_field(name, field="name", label="The name")
    if commentary is not None:
        commentary = clean_field(
            commentary, field="commentary", label="The commentary", multiline=True
        )
    months = _planned(planned) if planned is not None else None
    chosen = _lines(fund, year, lines) if lines is not None else None
    forecast = None
    if forecast_delivery not in (None, ""):
        forecast = _amount(forecast_delivery, "The forecast delivery", "forecast_delivery")
    with transaction.atomic():
        require_year_open(fund, year)
        locked = SavingsScheme.objects.select_for_update().get(pk=scheme.pk)
        if name is not None:
            if not name.strip():
                raise ApplicationError("Give the scheme a name.", extra={"field": "name"})
            locked.name = name.strip()[:200]
        if months is not None:
            for field_name, value in zip(PLANNED_FIELDS, months, strict=True):
                setattr(locked, field_name, value)
        if forecast is not None:
            locked.forecast_delivery = forecast
        elif clear_forecast:
            locked.forecast_delivery = None
        if commentary is not None:
            locked.commentary = commentary.strip()
        audit(locked, actor=actor, reason=reason or "Savings scheme changed")
        locked.save()
        if chosen is not None:
            locked.lines.set(chosen)
    return locked


def savings_delivery_record(
    *,
    actor: Actor,
    scheme: SavingsScheme,
    month: Any,
    amount: Any,
    commentary: str = "",
) -> SavingsDelivery:
    """The saving delivered in one month (M1..M12); recording a month again replaces its figure."""
    fund, year = scheme.fund, scheme.year
    _require_keeper(actor, fund, scheme.lead_commissioner)
    commentary = clean_field(commentary, field="commentary", label="The commentary", multiline=True)
    try:
        number = int(str(month).strip().upper().removeprefix("M"))
    except ValueError:
        number = 0
    if not 1 <= number <= 12:
        raise ApplicationError(
            f"'{month}' is not a month: choose M1 (April) to M12 (March).", extra={"field": "month"}
        )
    value = _amount(amount, "The saving delivered", "amount")
    with transaction.atomic():
        require_year_open(fund, year)
        row = (
            SavingsDelivery.objects.select_for_update().filter(scheme=scheme, month=number).first()
        )
        if row is None:
            row = SavingsDelivery(scheme=scheme, month=number)
            why = f"Delivered in M{number:02d}: {value}"
        else:
            why = f"M{number:02d} delivery changed from {row.amount} to {value}"
        row.amount = value
        row.commentary = commentary.strip()
        row.recorded_by = actor
        audit(row, actor=actor, reason=why)
        row.save()
    return row
