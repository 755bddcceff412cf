"""Contribution receipts: the host's finance officer records each payment a partner makes towards
its contribution (date, amount, reference; part payments allowed). Receipts pay the earliest
instalment first; an instalment past its due date and not fully paid is overdue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from budgets.models import Contribution, ContributionReceipt
from budgets.planning.services.funds import (
    require_fund_finance,
    require_year_open,
    write_instalments,
)
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError
from gmhsc.money import ZERO, MoneyError, format_money, to_money
from gmhsc.text import clean_field
from localities.actors import Actor

REFERENCE_LENGTH = 60


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ApplicationError(
            f"'{value}' is not a date: use YYYY-MM-DD.", extra={"field": "received_on"}
        ) from None


def receipt_record(
    *,
    actor: Actor,
    contribution: Contribution,
    amount: Decimal | str,
    received_on: date | str,
    reference: str,
) -> ContributionReceipt:
    """Record money received from the partner. Refused above what is still due, and once the
    fund's year is closed (its settlement is frozen)."""
    fund, year = contribution.fund, contribution.year
    require_fund_finance(actor, fund, "contribution receipts")
    try:
        value = to_money(amount)
    except MoneyError as exc:
        raise ApplicationError(f"The amount {exc}.", extra={"field": "amount"}) from None
    if value <= 0:
        raise ApplicationError(
            "A receipt is an amount of money received: more than £0.00.", extra={"field": "amount"}
        )
    day = _date(received_on)
    text = clean_field(reference, field="reference", label="The reference")
    if not text:
        raise ApplicationError(
            "Give the payment's reference (a remittance or bank reference).",
            extra={"field": "reference"},
        )
    if len(text) > REFERENCE_LENGTH:
        raise ApplicationError(
            f"The reference is longer than {REFERENCE_LENGTH} characters.",
            extra={"field": "reference"},
        )
    with transaction.atomic():
        locked = Contribution.objects.select_for_update().get(pk=contribution.pk)
        require_year_open(fund, year)
        received = locked.receipts.aggregate(total=Sum("amount"))["total"] or ZERO
        left = locked.due_in_cash - received
        if value > left:
            raise ApplicationError(
                f"{format_money(value, pence=True)} is more than the "
                f"{format_money(left, pence=True)} {locked.partner.name} still owes on its "
                f"{year.code} contribution ({format_money(locked.due_in_cash, pence=True)} due, "
                f"{format_money(received, pence=True)} received).",
                extra={"field": "amount"},
            )
        receipt = ContributionReceipt(
            contribution=locked,
            received_on=day,
            amount=value,
            reference=text,
            recorded_by=actor,
        )
        audit(receipt, actor=actor, reason=f"Receipt {text} recorded")
        receipt.save()
        write_instalments(locked)
    return receipt
