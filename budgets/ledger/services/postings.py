"""Spend postings: post a batch (all or nothing), reverse a posting. Postings are never changed.

Every row is checked by the one statement of the posting rules (budgets.ledger.posting_rules), the
same rules and words the ledger file import applies, whichever engine runs it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from budgets import rules
from budgets.ledger import selectors
from budgets.ledger.posting_rules import Calendar, LinesById, message, partner_fund_ids
from budgets.ledger.row_checker import CheckedRow, RowChecker, summarise
from budgets.models import BudgetLine, LedgerImport, Period, SpendPosting
from budgets.models.reference import YEAR_END_PERIOD
from budgets.outbox import mark_stale
from gmhsc.errors import (
    ApplicationError,
    Conflict,
    NotAllowed,
    NotFound,
    PeriodClosed,
    RowErrors,
    save_or_conflict,
)
from gmhsc.text import clean_field
from localities.actors import Actor
from localities.models import Organisation


@dataclass
class PostResult:
    """What a batch did. `summary` has one entry per fund and period of the batch's rows."""

    rows: int = 0
    posted: int = 0
    already_posted: int = 0
    postings: list[SpendPosting] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.posted == 0 and self.already_posted:
            return f"Nothing new to post: all {self.already_posted:,} rows were posted before."
        text = f"{self.posted:,} postings made."
        if self.already_posted:
            text += f" {self.already_posted:,} rows were already posted and were skipped."
        return text


# ---- permission -----------------------------------------------------------------------------------


def require_poster(actor: Actor, organisation: Organisation) -> None:
    """Finance officers post their own organisation's ledger; administrators any organisation's."""
    if rules.may_post_for(actor, organisation):
        return
    raise NotAllowed(f"Only a finance officer of {organisation.name} can post its spend.")


# ---- posting --------------------------------------------------------------------------------------


def _lines_for(rows: Sequence[dict[str, Any]], funds: set[int]) -> dict[int, BudgetLine]:
    """The rows' budget lines by id, among the funds the organisation may post to. A line of any
    other fund is left out, so it is refused exactly as an id that does not exist ("unknown
    budget line"): the answer never tells which ids, codes and funds exist elsewhere."""
    ids: set[int] = set()
    for values in rows:
        raw = values.get("budget_line")
        if isinstance(raw, BudgetLine):
            ids.add(raw.pk)
        else:
            try:
                ids.add(int(raw))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
    return {
        line.pk: line
        for line in BudgetLine.objects.filter(pk__in=ids, fund_id__in=funds).select_related(
            "fund", "year"
        )
    }


def lock_organisation(organisation: Organisation) -> None:
    """Serialise postings per organisation so 'already posted' counts are exact under concurrency."""
    Organisation.objects.select_for_update().filter(pk=organisation.pk).values_list("pk").first()


def insert_checked(
    *,
    actor: Actor,
    organisation: Organisation,
    rows: Sequence[CheckedRow],
    ledger_import: LedgerImport | None,
    return_postings: bool = True,
) -> list[SpendPosting]:
    """Insert the new rows (inside the caller's transaction) and mark their figures stale."""
    created_by = actor if getattr(actor, "is_authenticated", False) else None
    new = [
        SpendPosting(
            organisation=organisation,
            document_number=r.document_number,
            line_number=r.line_number,
            posting_date=r.posting_date,
            period=r.period,
            fund_id=r.line.fund_id,
            budget_line=r.line,
            amount=r.amount,
            supplier=r.supplier,
            description=r.description,
            is_accrual=r.is_accrual,
            ledger_import=ledger_import,
            created_by=created_by,
        )
        for r in rows
        if not r.already_posted
    ]
    for start in range(0, len(new), 2000):
        SpendPosting.objects.bulk_create(new[start : start + 2000], ignore_conflicts=True)
    stale_after_posting(
        (r.line.fund_id, r.line.year_id, r.line.pk, r.period.number)
        for r in rows
        if not r.already_posted
    )
    if not return_postings or not new:
        return []
    keys = {(p.document_number, p.line_number) for p in new}
    docs = sorted({k[0] for k in keys})
    found: list[SpendPosting] = []
    for start in range(0, len(docs), 2000):
        found.extend(
            p
            for p in SpendPosting.objects.filter(
                organisation=organisation, document_number__in=docs[start : start + 2000]
            )
            if (p.document_number, p.line_number) in keys
        )
    return sorted(found, key=lambda p: p.pk)


def stale_after_posting(items: Iterable[tuple[int, int, int, int]]) -> None:
    """items: (fund_id, year_id, line_id, period_number) of new postings -> one mark per fund."""
    by_fund: dict[tuple[int, int], tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    for fund_id, year_id, line_id, number in items:
        lines, periods = by_fund[(fund_id, year_id)]
        lines.add(line_id)
        periods.add(number)
    for (fund_id, year_id), (lines, periods) in sorted(by_fund.items()):
        mark_stale(
            fund_id=fund_id,
            year_id=year_id,
            line_ids=lines,
            period_numbers=[min(periods)],
            reason="spend posted",
        )


def spend_post(
    *,
    actor: Actor,
    organisation: Organisation,
    rows: list[dict[str, Any]],
    ledger_import: LedgerImport | None = None,
) -> PostResult:
    """Post a batch of spend for one organisation: every row checked first, all or nothing.

    rows: document_number, line_number, posting_date, amount, budget_line (object or id), period
    (optional object, id or code; else the month of the posting date), supplier, description,
    is_accrual. Raises RowErrors listing every bad row (numbered from 1); rows already posted are
    skipped and counted in `already_posted`.
    """
    require_poster(actor, organisation)
    if not rows:
        raise ApplicationError("There are no postings in the request.")
    # Parse and check every row before taking the lock: under it only the batch checks that
    # depend on what is already in the ledger (already posted, closed periods) and the insert.
    # The organisation is the one posting; a row does not name it.
    lines = LinesById(_lines_for(rows, partner_fund_ids(organisation)))
    checker = RowChecker(organisation, lines=lines)
    for number, values in enumerate(rows, start=1):
        checker.check(number, {k: v for k, v in values.items() if k != "organisation"})
    with transaction.atomic():
        lock_organisation(organisation)
        checker.calendar.reload_closed()
        checker.finish()
        if checker.errors:
            raise_row_errors(checker.errors, closed_only=_only_closed(checker.errors))
        postings = insert_checked(
            actor=actor, organisation=organisation, rows=checker.rows, ledger_import=ledger_import
        )
    new = sum(1 for r in checker.rows if not r.already_posted)
    return PostResult(
        rows=len(checker.rows),
        posted=new,
        already_posted=len(checker.rows) - new,
        postings=postings,
        summary=summarise(checker.rows),
    )


def _only_closed(errors: list[dict[str, Any]]) -> bool:
    return all(e["message"].startswith("period ") and "is closed" in e["message"] for e in errors)


def raise_row_errors(errors: list[dict[str, Any]], *, closed_only: bool = False) -> None:
    rows = len({e["row"] for e in errors})
    text = (
        f"{rows:,} row{'s' if rows != 1 else ''} could not be posted "
        f"({len(errors):,} problem{'s' if len(errors) != 1 else ''}); nothing was posted."
    )
    if closed_only and len(errors) == 1:
        text = f"Row {errors[0]['row']}: {errors[0]['message']}; nothing was posted."
    raise RowErrors(text, errors)


# ---- reversal -------------------------------------------------------------------------------------


def reversal_document(document_number: str) -> str:
    return f"REV-{document_number}"[:40]


def _default_reversal_period(posting: SpendPosting, calendar: Calendar) -> Period:
    """The original's month if still open, else the first open month after it in that year."""
    original = calendar.periods_by_id.get(posting.period_id, posting.period)
    for number in range(original.number, YEAR_END_PERIOD + 1):
        candidate = calendar.periods.get((original.year_id, number))
        if candidate is None or (posting.fund_id, candidate.pk) in calendar.closed:
            continue
        if number == YEAR_END_PERIOD and calendar.year_end_problem(
            posting.fund, candidate, posting.organisation
        ):
            continue
        return candidate
    raise PeriodClosed(
        f"Every period from {original.code} is closed for fund {posting.fund.code}; "
        "ask an administrator to reopen one."
    )


def spend_reverse(
    *, actor: Actor, posting: SpendPosting, reason: str, period: Period | None = None
) -> SpendPosting:
    """Post the negative copy of `posting`, linked to it, into an open period. At most once."""
    if not selectors.posting_visible(actor, posting):
        raise NotFound("Posting not found.")
    require_poster(actor, posting.organisation)
    reason = clean_field(reason, field="reason", label="The reason", multiline=True)
    if not reason:
        raise ApplicationError("Say why the posting is reversed.", extra={"field": "reason"})
    with transaction.atomic():
        original = (
            SpendPosting.objects.select_for_update()
            .select_related("fund", "period__year", "budget_line")
            .get(pk=posting.pk)
        )
        if original.reverses_id is not None:
            raise ApplicationError("A reversal cannot itself be reversed; post a new entry.")
        already = SpendPosting.objects.filter(reverses=original).first()
        if already is not None:
            raise Conflict(
                f"Posting {original.document_number}/{original.line_number} was already reversed "
                f"by {already.document_number}.",
                extra={"reversal": already.pk},
            )
        calendar = Calendar()
        if period is None:
            target = _default_reversal_period(original, calendar)
        else:
            target = calendar.find_period(period.pk) or period
            if target.year_id != original.period.year_id:
                raise ApplicationError(
                    f"A reversal goes into {original.period.year.code}, not {target.code}.",
                    extra={"field": "period"},
                )
            if (original.fund_id, target.pk) in calendar.closed:
                text = message("period_closed", period=target.code, fund=original.fund.code)
                raise PeriodClosed(f"{text[0].upper()}{text[1:]}.", extra={"field": "period"})
            if target.number == YEAR_END_PERIOD:
                problem = calendar.year_end_problem(original.fund, target, original.organisation)
                if problem:
                    raise PeriodClosed(
                        f"{problem[0].upper()}{problem[1:]}.", extra={"field": "period"}
                    )
        day = original.posting_date
        if not (target.start_date <= day <= target.end_date):
            day = target.start_date
        reversal = SpendPosting(
            organisation_id=original.organisation_id,
            document_number=reversal_document(original.document_number),
            line_number=original.line_number,
            posting_date=day,
            period=target,
            fund_id=original.fund_id,
            budget_line_id=original.budget_line_id,
            amount=-original.amount,
            supplier=original.supplier,
            description=f"Reversal of {original.document_number}/{original.line_number}: "
            f"{reason.strip()}"[:500],
            is_accrual=original.is_accrual,
            reverses=original,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        save_or_conflict(
            reversal,
            f"Posting {original.document_number}/{original.line_number} was already reversed, "
            f"or document {reversal.document_number} line {original.line_number} exists.",
        )
        mark_stale(
            fund_id=original.fund_id,
            year_id=target.year_id,
            line_ids=[original.budget_line_id],
            period_numbers=[target.number],
            reason="spend reversed",
        )
    return reversal


def reversal_net(posting: SpendPosting) -> Decimal:
    """The original plus its reversal (0.00 once reversed)."""
    reversal = (
        SpendPosting.objects.filter(reverses=posting).values_list("amount", flat=True).first()
    )
    return posting.amount + (reversal or Decimal("0.00"))
