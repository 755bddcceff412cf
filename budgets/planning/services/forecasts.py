"""Forecast outturn per line per month, with commentary required when the line is amber or red."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import transaction

from budgets import rules
from budgets.models import BudgetLine, Forecast, Period, PooledFund
from budgets.outbox import mark_stale
from budgets.planning.services.adjustments import require_open
from budgets.planning.services.funds import audit, require_view
from gmhsc.errors import ApplicationError, NotAllowed
from gmhsc.money import MoneyError, to_money

GREEN, AMBER, RED = "green", "amber", "red"


def rag_for(fund: PooledFund, variance: Decimal, budget: Decimal) -> str:
    """The fund's RAG for a forecast variance: the one rule the recompute engine applies too."""
    from budgets.figures.recompute import Thresholds
    from budgets.figures.recompute import rag_for as rule

    return rule(variance, budget, Thresholds.of(fund))


def snapshot_rag(line: BudgetLine, period_number: int) -> str | None:
    """The recompute engine's RAG for the line in that month, when the engine has written one."""
    try:
        model = apps.get_model("budgets", "LineVariance")
    except LookupError:
        return None
    rag: str | None = (
        model.objects.filter(line=line, period_number=period_number)
        .values_list("rag", flat=True)
        .first()
    )
    return rag


def forecast_set(
    *, actor: Any, line: BudgetLine, period: Period, amount: Decimal | str, commentary: str = ""
) -> Forecast:
    """The line's lead commissioner (or the host's finance officer) sets the forecast outturn."""
    fund = line.fund
    require_view(actor, fund)
    if not (rules.can_edit_line(actor, line) or rules.is_host_finance_officer(actor, fund)):
        raise NotAllowed(
            f"Only a commissioner of {line.lead_commissioner} can forecast line {line.code}."
        )
    try:
        value = to_money(amount)
    except MoneyError as exc:
        raise ApplicationError(f"Forecast {exc}.", extra={"field": "amount"}) from None
    if period.year_id != line.year_id or period.number > 12:
        raise ApplicationError(f"Period {period.code} is not a month of {line.year.code}.")
    commentary = commentary.strip()
    with transaction.atomic():
        require_open(fund.pk, period)
        budget = BudgetLine.objects.only("current_budget").get(pk=line.pk).current_budget
        rag = rag_for(fund, value - budget, budget)
        if rag == GREEN and snapshot_rag(line, period.number) in (AMBER, RED):
            rag = AMBER
        if rag in (AMBER, RED) and not commentary:
            raise ApplicationError(
                f"A forecast of {value} against a budget of {budget} is {rag.upper()}: "
                "add commentary explaining it.",
                extra={"field": "commentary", "rag": rag},
            )
        forecast = Forecast.objects.select_for_update().filter(line=line, period=period).first()
        if forecast is None:
            forecast = Forecast(line=line, period=period)
        forecast.amount = value
        forecast.commentary = commentary
        forecast.updated_by = actor
        audit(forecast, actor=actor, reason=commentary or "Forecast set")
        forecast.save()
        mark_stale(
            fund_id=fund.pk,
            year_id=line.year_id,
            line_ids=[line.pk],
            period_numbers=[period.number],
            reason="forecast",
        )
    return forecast
