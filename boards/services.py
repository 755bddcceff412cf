"""Board services: meetings, agendas, decisions within delegated limits, interests, gifts, actions, packs.

Keyword-only, take `actor`, own their transaction, check permission (NotFound for what the actor may
not see, NotAllowed otherwise), validate, write and audit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from boards import rules
from boards.models import (
    ActionItem,
    AgendaItem,
    Board,
    BoardPack,
    Decision,
    Declaration,
    GiftHospitality,
    Interest,
    Meeting,
    Membership,
)
from budgets.models import PooledFund, Virement
from budgets.planning.services.virements import (
    virement_approve_by_board,
    virement_reject_by_board,
)
from commissioning.models import ContractDecision
from commissioning.services import (
    contract_decision_approve_by_board,
    contract_decision_reject_by_board,
)
from gmhsc.audit import audit
from gmhsc.background import enqueue_on_commit
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from gmhsc.money import MoneyError, format_money, to_money
from localities import roles
from localities.actors import Actor
from localities.models import Organisation

PDF_MAGIC = b"%PDF-"


def require_view(actor: Actor, board: Board) -> None:
    if not rules.can_view_board(actor, board):
        raise NotFound("Board not found.")


def require_manage(actor: Actor, board: Board) -> None:
    require_view(actor, board)
    if not rules.can_manage_board(actor, board):
        raise NotAllowed("Only the chair, vice-chair or an officer of the board can do this.")


# ---- meetings and agendas ------------------------------------------------------------------------


def meeting_create(
    *, actor: Actor, board: Board, title: str, starts_at: dt.datetime, location: str = ""
) -> Meeting:
    require_manage(actor, board)
    if not title.strip():
        raise ApplicationError("Enter a title for the meeting.", extra={"field": "title"})
    with transaction.atomic():
        meeting = Meeting(
            board=board,
            title=title.strip(),
            starts_at=starts_at,
            location=location.strip(),
            created_by=actor,
        )
        audit(meeting, actor=actor, reason="Meeting planned")
        meeting.save()
    return meeting


def meeting_transition(*, actor: Actor, meeting: Meeting, to: str) -> Meeting:
    """Move a meeting along planned -> papers published -> held -> minutes approved."""
    require_manage(actor, meeting.board)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().select_related("board").get(pk=meeting.pk)
        current = Meeting.Status(locked.status)
        if to not in Meeting.TRANSITIONS[current]:
            raise ApplicationError(
                f"This meeting is {current.label.lower()}; it cannot become "
                f"{Meeting.Status(to).label.lower()}."
            )
        if to == Meeting.Status.MINUTES_APPROVED and not locked.minutes.strip():
            raise ApplicationError("Record the minutes before approving them.")
        now = timezone.now()
        if to == Meeting.Status.PAPERS_PUBLISHED:
            locked.papers_published_at = now
        if to == Meeting.Status.MINUTES_APPROVED:
            locked.minutes_approved_at = now
        locked.status = to
        audit(locked, actor=actor, reason=f"Status to {Meeting.Status(to).label}")
        locked.save()
    return locked


def meeting_minutes_set(*, actor: Actor, meeting: Meeting, minutes: str) -> Meeting:
    require_manage(actor, meeting.board)
    if meeting.status == Meeting.Status.MINUTES_APPROVED:
        raise ApplicationError("The minutes are approved; they cannot change.")
    meeting.minutes = minutes
    audit(meeting, actor=actor, reason="Minutes recorded")
    meeting.save(update_fields=["minutes"])
    return meeting


def validate_paper(paper: UploadedFile) -> None:
    """PDF only: size limit from settings and the %PDF- magic bytes (never trust the name)."""
    limit = settings.GMHSC_MAX_PAPER_BYTES
    if paper.size is not None and paper.size > limit:
        raise ApplicationError(
            f"The paper must be smaller than {limit // (1024 * 1024)} MB.", extra={"field": "paper"}
        )
    paper.seek(0)
    head = paper.read(len(PDF_MAGIC))
    paper.seek(0)
    if head != PDF_MAGIC:
        raise ApplicationError("The paper must be a PDF file.", extra={"field": "paper"})


def _page_count(paper: Any) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        paper.seek(0)
        count = len(PdfReader(paper).pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ApplicationError(
            "The paper could not be read as a PDF.", extra={"field": "paper"}
        ) from exc
    finally:
        paper.seek(0)
    return count


def agenda_item_add(
    *,
    actor: Actor,
    meeting: Meeting,
    title: str,
    purpose: str,
    presenter: str = "",
    is_private: bool = False,
    paper: UploadedFile | None = None,
    organisations: Iterable[Organisation] = (),
    order: int | None = None,
) -> AgendaItem:
    require_manage(actor, meeting.board)
    if meeting.status in (Meeting.Status.HELD, Meeting.Status.MINUTES_APPROVED):
        raise ApplicationError("The meeting has been held; its agenda cannot change.")
    if not title.strip():
        raise ApplicationError("Enter the item's title.", extra={"field": "title"})
    if purpose not in AgendaItem.Purpose.values:
        raise ApplicationError("Choose the item's purpose.", extra={"field": "purpose"})
    pages = 0
    if paper is not None:
        validate_paper(paper)
        pages = _page_count(paper)
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).first()
        if order is None:
            top = meeting.items.aggregate(m=Max("order"))["m"] or 0
            order = top + 1
        elif meeting.items.filter(order=order).exists():
            raise ApplicationError(f"Item {order} already exists.", extra={"field": "order"})
        item = AgendaItem(
            meeting=meeting,
            order=order,
            title=title.strip(),
            purpose=purpose,
            presenter=presenter.strip(),
            is_private=is_private,
            paper_pages=pages,
        )
        if paper is not None:
            item.paper_name = (paper.name or "paper.pdf")[:200]
            item.paper.save(item.paper_name, paper, save=False)
        audit(item, actor=actor, reason="Agenda item added")
        item.save()
        item.organisations.set(list(organisations))
    return item


def agenda_item_attach_paper(*, actor: Actor, item: AgendaItem, paper: UploadedFile) -> AgendaItem:
    require_manage(actor, item.meeting.board)
    validate_paper(paper)
    pages = _page_count(paper)
    with transaction.atomic():
        item.paper_name = (paper.name or "paper.pdf")[:200]
        item.paper.save(item.paper_name, paper, save=False)
        item.paper_pages = pages
        audit(item, actor=actor, reason="Paper attached")
        item.save()
    return item


# ---- decisions -----------------------------------------------------------------------------------


def financial_year_start(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def body_for(board: Board, amount: Decimal) -> Board | None:
    """The nearest body up the reports-to chain whose delegated limit covers `amount`."""
    seen: set[int] = set()
    current: Board | None = board
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        if current.may_decide(amount):
            return current
        current = current.reports_to
    return None


def check_delegated_limit(board: Board, amount: Decimal) -> None:
    """Refuse a decision above the board's limit, naming the body above that must take it."""
    if board.may_decide(amount):
        return
    assert board.delegated_limit is not None
    above = body_for(board.reports_to, amount) if board.reports_to else None
    head = (
        f"{format_money(amount)} is above the {board.name}'s delegated limit of "
        f"{format_money(board.delegated_limit)}"
    )
    if above is None:
        raise NotAllowed(
            f"{head}; no body above it may take this decision, so it must go to the partner "
            "organisations' own governing bodies.",
            extra={"field": "amount", "limit": str(board.delegated_limit)},
        )
    raise NotAllowed(
        f"{head}; the {above.name} must take this decision.",
        extra={"field": "amount", "limit": str(board.delegated_limit), "body": above.code},
    )


def decision_record(
    *,
    actor: Actor,
    meeting: Meeting,
    text: str,
    outcome: str,
    item: AgendaItem | None = None,
    amount: Decimal | str | None = None,
    funds: Sequence[PooledFund] = (),
    delegated_authority: str = "",
    conflicts_declared: str = "",
    conflicts_handling: str = "",
    virement: Virement | None = None,
    contract_decision: ContractDecision | None = None,
) -> Decision:
    """Record a decision with the next reference (e.g. JCB/2016/017).

    Approving a virement awaiting the board, or a contract award awaiting the board, calls the
    lower app's service in the same transaction and links the decision to what it approved.
    """
    board = meeting.board
    require_manage(actor, board)
    if outcome not in Decision.Outcome.values:
        raise ApplicationError("Choose the outcome.", extra={"field": "outcome"})
    if not text.strip():
        raise ApplicationError("Enter the decision text.", extra={"field": "text"})
    if item is not None and item.meeting_id != meeting.pk:
        raise NotFound("Agenda item not found.")
    if virement is not None and contract_decision is not None:
        raise ApplicationError("A decision approves one virement or one contract award.")
    value: Decimal | None = None
    if amount not in (None, ""):
        try:
            value = to_money(amount)
        except MoneyError as exc:
            raise ApplicationError(f"Amount {exc}.", extra={"field": "amount"}) from None
    fund_list = list(funds)
    subject_type, subject_id = "", None
    if virement is not None:
        if virement.fund_id not in set(board.funds.values_list("id", flat=True)):
            raise NotFound("Virement not found.")
        if virement.status != Virement.Status.AWAITING_BOARD:
            raise ApplicationError("This virement is not awaiting a board decision.")
        value = virement.amount
        if virement.fund not in fund_list:
            fund_list.append(virement.fund)
        subject_type, subject_id = Decision.Subject.VIREMENT, virement.pk
    if contract_decision is not None:
        board_funds = set(board.funds.values_list("id", flat=True))
        if contract_decision.fund_id not in board_funds:
            raise NotFound("Contract decision not found.")
        value = contract_decision.value
        subject_type = contract_decision._meta.label_lower
        subject_id = contract_decision.pk
    if value is not None and value < 0:
        raise ApplicationError("The amount cannot be negative.", extra={"field": "amount"})
    if outcome == Decision.Outcome.APPROVED and value is not None:
        check_delegated_limit(board, value)
    year = financial_year_start(meeting.date)
    with transaction.atomic():
        Board.objects.select_for_update().get(pk=board.pk)
        top = Decision.objects.filter(board=board, year=year).aggregate(m=Max("sequence"))["m"]
        sequence = (top or 0) + 1
        reference = f"{board.code}/{year}/{sequence:03d}"
        decision = Decision(
            reference=reference,
            board=board,
            year=year,
            sequence=sequence,
            meeting=meeting,
            item=item,
            text=text.strip(),
            outcome=outcome,
            amount=value,
            delegated_authority=delegated_authority.strip()
            or _authority_text(board, value, outcome),
            conflicts_declared=conflicts_declared.strip(),
            conflicts_handling=conflicts_handling.strip(),
            subject_type=subject_type,
            subject_id=subject_id,
            recorded_by=actor,
        )
        audit(decision, actor=actor, reason="Decision recorded")
        decision.save()
        decision.funds.set(fund_list)
        if outcome == Decision.Outcome.APPROVED:
            if virement is not None:
                virement_approve_by_board(
                    actor=actor, virement=virement, decision_reference=reference
                )
            if contract_decision is not None:
                contract_decision_approve_by_board(
                    actor=actor, decision=contract_decision, decision_reference=reference
                )
        elif outcome == Decision.Outcome.REJECTED and virement is not None:
            virement_reject_by_board(
                actor=actor, virement=virement, decision_reference=reference, note=text.strip()
            )
        elif outcome == Decision.Outcome.REJECTED and contract_decision is not None:
            contract_decision_reject_by_board(
                actor=actor, decision=contract_decision, decision_reference=reference
            )
    return decision


def _authority_text(board: Board, value: Decimal | None, outcome: str) -> str:
    if outcome != Decision.Outcome.APPROVED or value is None:
        return ""
    if board.delegated_limit is None:
        return f"{board.name}: no delegated limit"
    return f"{board.name} delegated limit {format_money(board.delegated_limit)}"


# ---- interests, declarations, gifts and hospitality ----------------------------------------------


def interest_declare(
    *,
    actor: Actor,
    person: Any,
    kind: str,
    description: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    related_organisation: Organisation | None = None,
    related_organisation_name: str = "",
    relationship: str = "",
    position: str = "",
    mitigation: str = "",
    consent_to_publish: bool = True,
    no_consent_reason: str = "",
) -> Interest:
    """A person declares their own interest; an administrator may record one for them."""
    if person.pk != actor.pk and not roles.is_administrator(actor):
        raise NotAllowed("You can only declare your own interests.")
    if kind not in Interest.Kind.values:
        raise ApplicationError("Choose the type of interest.", extra={"field": "kind"})
    if not description.strip():
        raise ApplicationError("Describe the interest.", extra={"field": "description"})
    if related_organisation is None and not related_organisation_name.strip():
        raise ApplicationError(
            "Name the organisation the interest relates to.",
            extra={"field": "related_organisation"},
        )
    if kind == Interest.Kind.INDIRECT and not relationship.strip():
        raise ApplicationError(
            "For an indirect interest, say who holds it (e.g. spouse).",
            extra={"field": "relationship"},
        )
    if valid_to is not None and valid_to < valid_from:
        raise ApplicationError(
            "The end date is before the start date.", extra={"field": "valid_to"}
        )
    if not consent_to_publish and not no_consent_reason.strip():
        raise ApplicationError(
            "Give a reason for not consenting to publication.",
            extra={"field": "no_consent_reason"},
        )
    with transaction.atomic():
        interest = Interest(
            person=person,
            position=position,
            kind=kind,
            description=description.strip(),
            relationship=relationship.strip(),
            related_organisation=related_organisation,
            related_organisation_name=related_organisation_name.strip(),
            valid_from=valid_from,
            valid_to=valid_to,
            mitigation=mitigation.strip(),
            consent_to_publish=consent_to_publish,
            no_consent_reason=no_consent_reason.strip(),
            declared_on=timezone.localdate(),
            recorded_by=actor,
        )
        audit(interest, actor=actor, reason="Interest declared")
        interest.save()
    return interest


def declaration_record(
    *,
    actor: Actor,
    meeting: Meeting,
    person: Any,
    description: str,
    action_taken: str,
    item: AgendaItem | None = None,
    interest: Interest | None = None,
) -> Declaration:
    require_manage(actor, meeting.board)
    if item is not None and item.meeting_id != meeting.pk:
        raise NotFound("Agenda item not found.")
    if action_taken not in Declaration.Action.values:
        raise ApplicationError("Choose the action taken.", extra={"field": "action_taken"})
    if not description.strip():
        raise ApplicationError("Describe the interest declared.", extra={"field": "description"})
    with transaction.atomic():
        declaration = Declaration(
            meeting=meeting,
            item=item,
            person=person,
            interest=interest,
            description=description.strip(),
            action_taken=action_taken,
        )
        audit(declaration, actor=actor, reason="Declaration at meeting")
        declaration.save()
    return declaration


@dataclass(frozen=True)
class OfferClassification:
    outcome: str
    must_declare: bool
    message: str


GIFT_SUPPLIER_LIMIT = Decimal("6.00")
GIFT_DECLARE_FROM = Decimal("50.00")
HOSPITALITY_DECLARE_FROM = Decimal("25.00")
HOSPITALITY_APPROVAL_ABOVE = Decimal("75.00")


def classify_offer(*, kind: str, value: Decimal, from_supplier: bool) -> OfferClassification:
    """NHS England 2017 thresholds for gifts and hospitality.

    Gifts from suppliers or contractors: only low-value items up to £6. Gifts from others: under
    £50 may be accepted without declaring; £50 or more only on behalf of the organisation.
    Hospitality: under £25 need not be declared; £25 to £75 accepted but declared; over £75
    refused unless a senior manager approves.
    """
    o = GiftHospitality.Outcome
    if kind == GiftHospitality.Kind.GIFT:
        if from_supplier:
            if value <= GIFT_SUPPLIER_LIMIT:
                return OfferClassification(
                    o.ACCEPT, False, "A low-value gift (up to £6) from a supplier may be accepted."
                )
            return OfferClassification(
                o.REFUSE, True, "Gifts from suppliers or contractors above £6 must be refused."
            )
        if value < GIFT_DECLARE_FROM:
            return OfferClassification(
                o.ACCEPT, False, "A gift under £50 may be accepted without declaring it."
            )
        return OfferClassification(
            o.ON_BEHALF,
            True,
            "A gift of £50 or more may be accepted only on behalf of the organisation, and is declared.",
        )
    if kind == GiftHospitality.Kind.HOSPITALITY:
        if value < HOSPITALITY_DECLARE_FROM:
            return OfferClassification(
                o.ACCEPT, False, "Hospitality under £25 need not be declared."
            )
        if value <= HOSPITALITY_APPROVAL_ABOVE:
            return OfferClassification(
                o.ACCEPT_DECLARE,
                True,
                "Hospitality of £25 to £75 may be accepted but must be declared.",
            )
        return OfferClassification(
            o.REFUSE_UNLESS_APPROVED,
            True,
            "Hospitality over £75 should be refused unless a senior manager approves it.",
        )
    raise ApplicationError("Choose gift or hospitality.", extra={"field": "kind"})


def gift_record(
    *,
    actor: Actor,
    person: Any,
    kind: str,
    description: str,
    offered_by: str,
    value: Decimal | str,
    offered_on: dt.date,
    from_supplier: bool,
    accepted: bool,
    offered_by_organisation: Organisation | None = None,
    senior_approver: Any = None,
    notes: str = "",
) -> GiftHospitality:
    if person.pk != actor.pk and not roles.is_administrator(actor):
        raise NotAllowed("You can only record offers made to you.")
    try:
        amount = to_money(value)
    except MoneyError as exc:
        raise ApplicationError(f"Value {exc}.", extra={"field": "value"}) from None
    if amount < 0:
        raise ApplicationError("The value cannot be negative.", extra={"field": "value"})
    if not offered_by.strip():
        raise ApplicationError("Say who made the offer.", extra={"field": "offered_by"})
    result = classify_offer(kind=kind, value=amount, from_supplier=from_supplier)
    o = GiftHospitality.Outcome
    if accepted and result.outcome == o.REFUSE:
        raise ApplicationError(result.message, extra={"field": "accepted"})
    if accepted and result.outcome == o.REFUSE_UNLESS_APPROVED and senior_approver is None:
        raise ApplicationError(
            "Hospitality over £75 can only be accepted with a senior manager's approval.",
            extra={"field": "senior_approver"},
        )
    if senior_approver is not None and senior_approver.pk == person.pk:
        raise ApplicationError("Someone else must approve.", extra={"field": "senior_approver"})
    with transaction.atomic():
        gift = GiftHospitality(
            person=person,
            kind=kind,
            description=description.strip(),
            offered_by=offered_by.strip(),
            offered_by_organisation=offered_by_organisation,
            from_supplier=from_supplier,
            value=amount,
            offered_on=offered_on,
            outcome=result.outcome,
            must_declare=result.must_declare,
            accepted=accepted,
            senior_approver=senior_approver,
            notes=notes.strip(),
            recorded_by=actor,
        )
        audit(gift, actor=actor, reason="Gift or hospitality recorded")
        gift.save()
    return gift


# ---- actions -------------------------------------------------------------------------------------


def action_create(
    *,
    actor: Actor,
    meeting: Meeting,
    description: str,
    owner: Any,
    due_date: dt.date,
    item: AgendaItem | None = None,
) -> ActionItem:
    board = meeting.board
    require_manage(actor, board)
    if not description.strip():
        raise ApplicationError("Describe the action.", extra={"field": "description"})
    if not Membership.objects.filter(board=board, person=owner).exists():
        raise ApplicationError(
            "The owner must be a member or officer of the board.", extra={"field": "owner"}
        )
    with transaction.atomic():
        Board.objects.select_for_update().get(pk=board.pk)
        year = financial_year_start(meeting.date)
        count = ActionItem.objects.filter(
            meeting__board=board, reference__startswith=f"{board.code}/A/{year}/"
        ).count()
        action = ActionItem(
            meeting=meeting,
            item=item,
            reference=f"{board.code}/A/{year}/{count + 1:03d}",
            description=description.strip(),
            owner=owner,
            due_date=due_date,
        )
        audit(action, actor=actor, reason="Action raised")
        action.save()
    return action


def action_update(
    *, actor: Actor, action: ActionItem, status: str, update_note: str = ""
) -> ActionItem:
    board = action.meeting.board
    require_view(actor, board)
    if not (rules.can_manage_board(actor, board) or action.owner_id == actor.pk):
        raise NotAllowed("Only the action's owner or the board's chair or officers can update it.")
    if status not in ActionItem.Status.values:
        raise ApplicationError("Choose a status.", extra={"field": "status"})
    if status == ActionItem.Status.CLOSED and not rules.can_manage_board(actor, board):
        raise NotAllowed("Only the board closes an action.")
    with transaction.atomic():
        action.status = status
        action.update_note = update_note.strip() or action.update_note
        action.completed_at = timezone.now() if status != ActionItem.Status.OPEN else None
        audit(action, actor=actor, reason=f"Action {status}")
        action.save()
    return action


# ---- board packs ---------------------------------------------------------------------------------


def pack_request(*, actor: Actor, meeting: Meeting, change_note: str = "") -> BoardPack:
    """Queue a new pack version (the first, or a supplement with a change note)."""
    require_manage(actor, meeting.board)
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).first()
        top = meeting.packs.aggregate(m=Max("version"))["m"] or 0
        if top and not change_note.strip():
            raise ApplicationError(
                "A supplement needs a change note saying what changed.",
                extra={"field": "change_note"},
            )
        pack = BoardPack.objects.create(
            meeting=meeting,
            version=top + 1,
            change_note=change_note.strip(),
            requested_by=actor,
            stage="Waiting for a worker",
        )
        enqueue_on_commit("boards.tasks.build_pack", pack.pk)
    return pack


def pack_publish(*, actor: Actor, pack: BoardPack) -> BoardPack:
    """Publish a ready pack and email the board's members a link to it."""
    meeting = pack.meeting
    require_manage(actor, meeting.board)
    if pack.status != BoardPack.Status.READY:
        raise ApplicationError("Only a finished pack can be published.")
    with transaction.atomic():
        pack.published_at = timezone.now()
        pack.save(update_fields=["published_at"])
        url = reverse("boards:meeting-detail", args=[meeting.pk])
        recipients = [
            m.person.email
            for m in Membership.objects.filter(board=meeting.board).select_related("person")
            if m.person.email
        ]
        what = "supplement" if pack.version > 1 else "papers"
        subject = (
            f"{meeting.board.code}: {what} for {meeting.title} published (version {pack.version})"
        )
        body = (
            f"The {what} for {meeting.board.name}, {meeting.title} on "
            f"{meeting.date:%-d %B %Y}, are published.\n"
            + (f"What changed: {pack.change_note}\n" if pack.change_note else "")
            + f"Open the meeting: {url}\n"
        )
        messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [to]) for to in recipients]
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False))
    return pack
