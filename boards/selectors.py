"""Read queries for boards, scoped to the user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from boards import rules
from boards.models import (
    ActionItem,
    AgendaItem,
    Board,
    Decision,
    GiftHospitality,
    Interest,
    Meeting,
    Membership,
)
from budgets.models import Virement
from commissioning.selectors import awaiting_board
from localities import roles


def boards_visible_to(user: Any) -> QuerySet[Board]:
    qs = Board.objects.select_related("reports_to", "locality")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(memberships__person=user).distinct()


def meetings_visible_to(user: Any, board: Board | None = None) -> QuerySet[Meeting]:
    qs = Meeting.objects.select_related("board")
    if board is not None:
        qs = qs.filter(board=board)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(board__memberships__person=user).distinct()


def items_visible_to(user: Any, meeting: Meeting) -> QuerySet[AgendaItem]:
    qs = meeting.items.prefetch_related("organisations").order_by("order")
    if not rules.can_view_private(user, meeting.board):
        qs = qs.filter(is_private=False)
    return qs


def get_board(user: Any, pk: int) -> Board:
    board = boards_visible_to(user).filter(pk=pk).first()
    if board is None:
        raise Http404("Board not found.")
    return board


def get_meeting(user: Any, pk: int) -> Meeting:
    meeting = Meeting.objects.select_related("board").filter(pk=pk).first()
    if meeting is None or not rules.can_view_board(user, meeting.board):
        raise Http404("Meeting not found.")
    return meeting


def get_item(user: Any, pk: int) -> AgendaItem:
    item = AgendaItem.objects.select_related("meeting__board").filter(pk=pk).first()
    if item is None or not rules.can_view_item(user, item):
        raise Http404("Agenda item not found.")
    return item


def decisions_visible_to(user: Any, board: Board | None = None) -> QuerySet[Decision]:
    qs = Decision.objects.select_related("board", "meeting", "item").prefetch_related("funds")
    if board is not None:
        qs = qs.filter(board=board)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    qs = qs.filter(board__memberships__person=user).distinct()
    # Decisions on private items follow the item: only voting members and officers.
    private_ok = Membership.objects.filter(person=user).filter(
        Q(voting=True) | Q(role=Membership.Role.OFFICER)
    )
    return qs.filter(
        Q(item__isnull=True) | Q(item__is_private=False) | Q(board__in=private_ok.values("board"))
    )


def previous_meeting(meeting: Meeting) -> Meeting | None:
    return (
        Meeting.objects.filter(board_id=meeting.board_id, starts_at__lt=meeting.starts_at)
        .order_by("-starts_at")
        .first()
    )


def previous_meeting_before(board: Board, when: dt.datetime) -> Meeting | None:
    return Meeting.objects.filter(board=board, starts_at__lt=when).order_by("-starts_at").first()


def next_meeting(board: Board, after: dt.datetime | None = None) -> Meeting | None:
    after = after or timezone.now()
    return Meeting.objects.filter(board=board, starts_at__gte=after).order_by("starts_at").first()


def actions_for_meeting(meeting: Meeting) -> list[ActionItem]:
    """Actions raised at this meeting plus open actions carried forward from earlier ones."""
    qs = ActionItem.objects.filter(meeting__board_id=meeting.board_id).select_related(
        "owner", "meeting", "item"
    )
    raised_here = Q(meeting=meeting)
    carried = Q(meeting__starts_at__lt=meeting.starts_at) & (
        Q(status=ActionItem.Status.OPEN) | Q(completed_at__gte=_previous_start(meeting))
    )
    return list(qs.filter(raised_here | carried).order_by("due_date", "id"))


def _previous_start(meeting: Meeting) -> dt.datetime:
    prev = previous_meeting(meeting)
    return prev.starts_at if prev else meeting.starts_at


def open_actions(board: Board) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(
        meeting__board=board, status=ActionItem.Status.OPEN
    ).select_related("owner", "meeting")


def active_members(board: Board, day: dt.date) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(board=board)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=day))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("person", "organisation")
    )


@dataclass(frozen=True)
class PossibleConflict:
    item: AgendaItem
    person: Any
    interest: Interest


def possible_conflicts(
    meeting: Meeting, items: QuerySet[AgendaItem] | None = None
) -> list[PossibleConflict]:
    """Members' interests active on the meeting date that name an organisation on an agenda item.

    Only this board's members are matched; interests are matched on the related organisation
    (including indirect interests); expired or not-yet-started interests are left out.
    """
    day = meeting.date
    items = items if items is not None else meeting.items.all()
    item_list = list(items.prefetch_related("organisations").order_by("order"))
    orgs_by_item = {item.pk: {o.pk for o in item.organisations.all()} for item in item_list}
    all_orgs = set().union(*orgs_by_item.values()) if orgs_by_item else set()
    if not all_orgs:
        return []
    member_ids = list(active_members(meeting.board, day).values_list("person_id", flat=True))
    interests = list(
        Interest.objects.filter(
            person_id__in=member_ids,
            related_organisation_id__in=all_orgs,
            valid_from__lte=day,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .select_related("person", "related_organisation")
        .order_by("person__last_name", "person__first_name", "id")
    )
    found: list[PossibleConflict] = []
    for item in item_list:
        for interest in interests:
            if interest.related_organisation_id in orgs_by_item[item.pk]:
                found.append(PossibleConflict(item=item, person=interest.person, interest=interest))
    return found


def interest_register(user: Any, board: Board, day: dt.date | None = None) -> QuerySet[Interest]:
    """The board's members' interests: current ones and those expired within 6 months (published
    register). Officers and administrators also see entries without consent to publish."""
    day = day or timezone.localdate()
    cutoff = day - dt.timedelta(days=183)
    qs = Interest.objects.filter(person__board_memberships__board=board).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=cutoff)
    )
    if not rules.can_manage_board(user, board):
        qs = qs.filter(Q(consent_to_publish=True) | Q(person=user))
    return (
        qs.select_related("person", "related_organisation")
        .distinct()
        .order_by("person__last_name", "person__first_name", "-valid_from")
    )


def gifts_register(user: Any, board: Board) -> QuerySet[GiftHospitality]:
    """Declarable gifts and hospitality of the board's members."""
    qs = GiftHospitality.objects.filter(person__board_memberships__board=board)
    if not rules.can_manage_board(user, board):
        qs = qs.filter(Q(must_declare=True) | Q(person=user))
    return qs.select_related("person", "senior_approver").distinct()


def board_context_choices(board: Board, choice: Any) -> dict[str, Any]:
    """The years and months a board's dashboard can be switched to: every year any of its funds
    has a budget for, and each year's twelve months."""
    from budgets.models import FinancialYear, Period

    years = list(
        FinancialYear.objects.filter(fund_budgets__fund__boards=board)
        .distinct()
        .order_by("start_date")
    )
    periods = Period.objects.filter(year__in=years, number__lte=12).select_related("year")
    months: dict[str, list[tuple[str, str]]] = {y.code: [] for y in years}
    for p in periods.order_by("year__start_date", "number"):
        months[p.year.code].append((p.code, f"M{p.number:02d} {p.start_date:%B %Y}"))
    return {
        "years": [y.code for y in years],
        "months": list(months.items()),
        "year": choice.year,
        "period": choice.period,
    }


def decisions_sought(meeting: Meeting) -> dict[str, list[Any]]:
    """Virements and contract awards awaiting a decision of this meeting's board."""
    fund_ids = list(meeting.board.funds.values_list("id", flat=True))
    virements = list(
        Virement.objects.filter(fund_id__in=fund_ids, status=Virement.Status.AWAITING_BOARD)
        .select_related("fund", "from_line", "to_line", "requested_by")
        .order_by("requested_at")
    )
    contracts = [{"obj": award, "value": award.value} for award in awaiting_board(fund_ids)]
    return {"virements": virements, "contracts": contracts}
