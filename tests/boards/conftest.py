from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from boards.models import Board, Membership
from localities import roles
from tests.boards.factories import BoardFactory, MeetingFactory, MembershipFactory
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_dashboard_cache():
    """The dashboard is cached per board id; ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def chain(db):
    """SPB (no limit) <- JCB (£50m) <- MJCE (£10m), the GM reporting chain."""
    spb = BoardFactory(
        code="SPB",
        name="Greater Manchester Strategic Partnership Board",
        kind=Board.Kind.STRATEGIC_PARTNERSHIP,
        delegated_limit=None,
    )
    jcb = BoardFactory(
        code="JCB",
        name="Greater Manchester Joint Commissioning Board",
        kind=Board.Kind.JOINT_COMMISSIONING,
        delegated_limit=Decimal("50000000.00"),
        reports_to=spb,
    )
    mjce = BoardFactory(
        code="MJCE",
        name="Manchester Joint Commissioning Executive",
        kind=Board.Kind.JOINT_COMMISSIONING_EXECUTIVE,
        delegated_limit=Decimal("10000000.00"),
        reports_to=jcb,
    )
    return spb, jcb, mjce


@pytest.fixture
def jcb_setup(chain):
    """JCB with a chair, a voting member, a non-voting member and an officer, and one meeting."""
    _, jcb, _ = chain
    chair = MembershipFactory(board=jcb, role=Membership.Role.CHAIR).person
    member = MembershipFactory(board=jcb).person
    observer = MembershipFactory(board=jcb, voting=False).person
    officer = MembershipFactory(
        board=jcb,
        role=Membership.Role.OFFICER,
        voting=False,
        person=UserFactory(roles=[roles.FINANCE_OFFICER]),
    ).person
    outsider = UserFactory(roles=[roles.BOARD_MEMBER])
    meeting = MeetingFactory(
        board=jcb,
        title="October meeting",
        starts_at=timezone.make_aware(dt.datetime(2016, 10, 12, 14, 0)),
    )
    return {
        "board": jcb,
        "chair": chair,
        "member": member,
        "observer": observer,
        "officer": officer,
        "outsider": outsider,
        "meeting": meeting,
    }
