"""Demo board memberships for the seeded boards."""

from __future__ import annotations

from boards.models import Board, Membership
from budgets.models import PooledFund
from localities.models import User

MEMBERS = [
    # board code, username, role, voting
    ("JCB", "board.chair", Membership.Role.CHAIR, True),
    ("JCB", "board.manchester", Membership.Role.MEMBER, True),
    ("JCB", "board.bolton", Membership.Role.MEMBER, True),
    ("JCB", "finance.gm", Membership.Role.OFFICER, False),
    ("SPB", "board.chair", Membership.Role.MEMBER, True),
    ("MJCE", "board.manchester", Membership.Role.CHAIR, True),
    ("MJCE", "finance.manchester", Membership.Role.OFFICER, False),
    ("LB-BOL", "board.bolton", Membership.Role.CHAIR, True),
    ("LB-BOL", "finance.bolton", Membership.Role.OFFICER, False),
]


def seed_memberships() -> int:
    users = {u.username: u for u in User.objects.select_related("organisation")}
    boards = {b.code: b for b in Board.objects.all()}
    for board_code, username, role, voting in MEMBERS:
        user = users[username]
        Membership.objects.update_or_create(
            board=boards[board_code],
            person=user,
            defaults={"organisation": user.organisation, "role": role, "voting": voting},
        )
    return Membership.objects.count()


def link_funds() -> None:
    """Each board oversees the funds of its footprint: JCB the GM-wide funds, locality boards their own."""
    boards = {b.code: b for b in Board.objects.select_related("locality")}
    for fund in PooledFund.objects.select_related("locality"):
        if fund.scope == PooledFund.Scope.GM:
            boards["JCB"].funds.add(fund)
        else:
            for board in boards.values():
                if board.locality_id and board.locality_id == fund.locality_id:
                    board.funds.add(fund)
