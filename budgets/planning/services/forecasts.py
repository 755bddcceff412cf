"""Forecast outturn per line per month, with commentary required when the line is amber or red."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from budgets import rules
from budgets.models import BudgetLine, Forecast, LineVariance, Period
from budgets.outbox import mark_stale
from budgets.planning.services.adjustments import require_open
from budgets.planning.services.funds import require_view
from budgets.rag import NEEDS_COMMENTARY, Rag, fund_rag
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed
from gmhsc.money import MoneyError, to_money
from localities.actors import Actor


def snapshot_rag(line: BudgetLine, period_number: int) -> str | None:
    """The recompute engine's RAG for the line in that month (None before it has computed one)."""
    rag: str | None = (
        LineVariance.objects.filter(line=line, period_number=period_number)
        .values_list("rag", flat=True)
        .first()
    )
    return rag


def forecast_set(
    *, actor: Actor, line: BudgetLine, period: Period, amount: Decimal | str, commentary: str = ""
) -> Forecast:
    """The line's lead commissioner (or the host's finance officer) sets the forecast outturn."""
    fund = line.fund
    require_view(actor, fund)
    if not rules.may_forecast_line(actor, line):
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
        rag = fund_rag(fund, value - budget, budget)
        if rag == Rag.GREEN and snapshot_rag(line, period.number) in NEEDS_COMMENTARY:
            rag = Rag.AMBER
        if rag in NEEDS_COMMENTARY and not commentary:
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
