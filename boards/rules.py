"""Who may see and do what in boards. Views, API and services all ask these predicates.

Members see their boards' meetings; private (part B) items only voting members and officers;
chairs, vice-chairs and officers run meetings. Everyone else gets 404, never 403.
"""

from __future__ import annotations

from typing import Any

import rules

from boards.models import Board, Membership
from localities import roles

MANAGING_ROLES = {Membership.Role.CHAIR, Membership.Role.VICE_CHAIR, Membership.Role.OFFICER}


def _membership(user: Any, board: Board) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or board is None:
        return None
    cache: dict[int, Membership | None] = getattr(user, "_gmhsc_board_seats", None) or {}
    if board.pk not in cache:
        cache[board.pk] = Membership.objects.filter(board=board, person=user).first()
        user._gmhsc_board_seats = cache
    return cache[board.pk]


@rules.predicate
def can_view_board(user: Any, board: Board) -> bool:
    return roles.is_administrator(user) or _membership(user, board) is not None


@rules.predicate
def can_view_private(user: Any, board: Board) -> bool:
    """Voting members and officers see private items."""
    if roles.is_administrator(user):
        return True
    seat = _membership(user, board)
    return seat is not None and (seat.voting or seat.role == Membership.Role.OFFICER)


@rules.predicate
def can_manage_board(user: Any, board: Board) -> bool:
    """Chair, vice-chair and officers build agendas, record decisions and build packs."""
    if roles.is_administrator(user):
        return True
    seat = _membership(user, board)
    return seat is not None and seat.role in MANAGING_ROLES


@rules.predicate
def can_view_item(user: Any, item: Any) -> bool:
    board = item.meeting.board
    if not can_view_board(user, board):
        return False
    return not item.is_private or can_view_private(user, board)


rules.add_perm("boards.view_board", can_view_board)
rules.add_perm("boards.manage_board", can_manage_board)
