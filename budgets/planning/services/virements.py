"""Virements: zero-sum moves of budget between two lines of one fund, approved by tier, applied atomically.

Within the fund's officer virement limit the host's finance officer approves; above it the
virement waits for a board decision, recorded through `virement_approve_by_board` (boards call it
and check their own delegated limit; budgets stores only the decision reference).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from budgets import rules
from budgets.models import BudgetLine, Virement
from budgets.outbox import mark_stale
from budgets.planning.services.adjustments import apply_change, crosses_zero
from budgets.planning.services.funds import (
    first_open_period,
    require_approved,
    require_host_finance_officer,
    require_view,
)
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from gmhsc.money import MoneyError, format_money, to_money
from localities.actors import Actor, refuse_own_request

Status = Virement.Status


def _transition(virement: Virement, to: str) -> None:
    if to not in Virement.TRANSITIONS[Status(virement.status)]:
        raise ApplicationError(
            f"This virement is {virement.get_status_display().lower()}; it cannot become "
            f"{Status(to).label.lower()}."
        )
    virement.status = to


def virement_request(
    *,
    actor: Actor,
    from_line: BudgetLine,
    to_line: BudgetLine,
    amount: Decimal | str,
    recurrent: bool,
    reason: str,
) -> Virement:
    """Ask to move `amount` from one line to another line of the same fund and year."""
    fund = from_line.fund
    require_view(actor, fund)
    if to_line.fund_id != from_line.fund_id or not rules.can_view_line(actor, to_line):
        raise NotFound("Budget line not found.")
    if not (
        rules.can_edit_line(actor, from_line)
        or rules.can_edit_line(actor, to_line)
        or rules.is_partner_finance_officer(actor, fund)
    ):
        raise NotAllowed(
            "Only a commissioner leading one of the two lines, or a partner's finance officer, "
            "can request a virement."
        )
    if to_line.year_id != from_line.year_id:
        raise ApplicationError("A virement moves budget within one year.")
    if from_line.pk == to_line.pk:
        raise ApplicationError("Choose two different lines.", extra={"field": "to_line"})
    try:
        value = to_money(amount)
    except MoneyError as exc:
        raise ApplicationError(f"Amount {exc}.", extra={"field": "amount"}) from None
    if value <= 0:
        raise ApplicationError("The amount must be more than £0.", extra={"field": "amount"})
    if not reason.strip():
        raise ApplicationError("Say why the budget should move.", extra={"field": "reason"})
    with transaction.atomic():
        require_approved(fund, from_line.year)
        current = BudgetLine.objects.only("current_budget").get(pk=from_line.pk).current_budget
        if crosses_zero(current, current - value):
            raise ApplicationError(
                f"Line {from_line.code} has {format_money(current, pence=True)}; it cannot give "
                f"{format_money(value, pence=True)}.",
                extra={"field": "amount"},
            )
        within = value <= fund.officer_virement_limit
        virement = Virement(
            fund=fund,
            from_line=from_line,
            to_line=to_line,
            period=first_open_period(fund, from_line.year),
            amount=value,
            recurrent=recurrent,
            reason=reason.strip(),
            status=Status.REQUESTED if within else Status.AWAITING_BOARD,
            requested_by=actor,
        )
        audit(
            virement,
            actor=actor,
            reason="Requested"
            if within
            else "Requested: above the officer limit, awaiting board decision",
        )
        virement.save()
    return virement


def _lock(virement: Virement) -> Virement:
    return (
        Virement.objects.select_for_update()
        .select_related("fund", "from_line", "to_line", "period", "period__year")
        .get(pk=virement.pk)
    )


def _apply(*, actor: Actor, virement: Virement) -> None:
    """Move the money: both lines change, re-phase and get a history record naming the virement."""
    # The money moves from the month being reported when it is applied, not when it was asked.
    virement.period = first_open_period(virement.fund, virement.from_line.year)
    why = f"Virement #{virement.pk} ({virement.amount}): {virement.reason}"
    # Lock in primary-key order so two virements between the same lines cannot deadlock.
    moves = sorted(
        [(virement.from_line, -virement.amount), (virement.to_line, virement.amount)],
        key=lambda m: m[0].pk,
    )
    for line, change in moves:
        apply_change(actor=actor, line=line, amount=change, period=virement.period, reason=why)
    virement.applied_at = timezone.now()
    mark_stale(
        fund_id=virement.fund_id,
        year_id=virement.from_line.year_id,
        line_ids=[virement.from_line_id, virement.to_line_id],
        period_numbers=[virement.period.number],
        reason="virement applied",
    )


def _decide_and_apply(
    *, actor: Actor, virement: Virement, note: str, reference: str, reason: str
) -> Virement:
    _transition(virement, Status.APPROVED)
    _transition(virement, Status.APPLIED)
    virement.decided_by = actor
    virement.decided_at = timezone.now()
    virement.decision_note = note
    virement.approval_reference = reference
    _apply(actor=actor, virement=virement)
    audit(virement, actor=actor, reason=reason)
    virement.save()
    return virement


def virement_approve(*, actor: Actor, virement: Virement, note: str = "") -> Virement:
    """The host's finance officer approves a virement within the officer limit; it applies at once."""
    fund = virement.fund
    require_host_finance_officer(actor, fund, to="approve a virement")
    with transaction.atomic():
        locked = _lock(virement)
        refuse_own_request(
            actor, locked.requested_by_id, request="asked for this virement", approval="approve it"
        )
        if (
            locked.status == Status.AWAITING_BOARD
            or locked.amount > locked.fund.officer_virement_limit
        ):
            raise NotAllowed(
                f"{format_money(locked.amount)} is above the officer limit of "
                f"{format_money(locked.fund.officer_virement_limit)}: it needs a board decision."
            )
        return _decide_and_apply(
            actor=actor,
            virement=locked,
            note=note,
            reference="",
            reason=note or "Approved and applied",
        )


def virement_approve_by_board(
    *, actor: Actor, virement: Virement, decision_reference: str
) -> Virement:
    """Record a board's approval (boards check their own delegated limit) and apply the virement."""
    if not decision_reference.strip():
        raise ApplicationError("A board approval needs the decision reference.")
    with transaction.atomic():
        locked = _lock(virement)
        if locked.status != Status.AWAITING_BOARD:
            raise ApplicationError(
                f"This virement is {locked.get_status_display().lower()}, not awaiting a board decision."
            )
        refuse_own_request(
            actor,
            locked.requested_by_id,
            request="asked for this virement",
            approval="record the board's approval of it",
        )
        return _decide_and_apply(
            actor=actor,
            virement=locked,
            note="",
            reference=decision_reference.strip(),
            reason=f"Approved by board decision {decision_reference.strip()} and applied",
        )


def virement_reject(*, actor: Actor, virement: Virement, note: str) -> Virement:
    """The host's finance officer (or an administrator) rejects a pending virement, saying why."""
    fund = virement.fund
    require_view(actor, fund)
    if not rules.acts_for_host_finance(actor, fund):
        raise NotAllowed("Only the host's finance officer can reject a virement.")
    return _reject(actor=actor, virement=virement, note=note, reference="")


def virement_reject_by_board(
    *, actor: Actor, virement: Virement, decision_reference: str, note: str = ""
) -> Virement:
    if not decision_reference.strip():
        raise ApplicationError("A board decision needs its reference.")
    return _reject(actor=actor, virement=virement, note=note, reference=decision_reference.strip())


def _reject(*, actor: Actor, virement: Virement, note: str, reference: str) -> Virement:
    if not (note.strip() or reference):
        raise ApplicationError("Say why the virement is rejected.", extra={"field": "note"})
    with transaction.atomic():
        locked = _lock(virement)
        _transition(locked, Status.REJECTED)
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.approval_reference = reference
        audit(locked, actor=actor, reason=f"Rejected: {note or reference}")
        locked.save()
    return locked


def virement_withdraw(*, actor: Actor, virement: Virement, reason: str = "") -> Virement:
    """The person who asked withdraws a pending virement."""
    require_view(actor, virement.fund)
    if virement.requested_by_id != actor.pk:
        raise NotAllowed("Only the person who requested a virement can withdraw it.")
    with transaction.atomic():
        locked = _lock(virement)
        _transition(locked, Status.WITHDRAWN)
        audit(locked, actor=actor, reason=reason or "Withdrawn")
        locked.save()
    return locked
