"""Contract decisions route by value: officer within the fund's limit, else the overseeing board."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from boards import services as board_services
from boards.models import Decision, Membership
from boards.selectors import decisions_sought
from budgets.models import LineCommitment
from commissioning import selectors, services
from commissioning.models import Contract, ContractDecision
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.boards.factories import BoardFactory, MeetingFactory, MembershipFactory
from tests.commissioning.helpers import commissioning_world, contract_kwargs

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world():
    w = commissioning_world()
    w.planned = services.contract_create(actor=w.comm_host, **contract_kwargs(w, status="planned"))
    return w


def _decide(world, contract=None, **overrides):
    kwargs = {
        "actor": world.comm_host,
        "contract": contract or world.planned,
        "kind": "award",
        "value": D("36000.00"),
        "summary": "Award after open tender",
        "participants": "Head of commissioning\nFinance business partner",
        "conflicts_declared": "Clinical lead: spouse works for a bidder",
        "conflicts_handling": "Clinical lead left the room and took no part",
        "procurement_route": "open",
    }
    kwargs.update(overrides)
    return services.contract_decision_record(**kwargs)


def test_award_within_the_officer_limit_takes_effect_now(world, django_capture_on_commit_callbacks):
    # LP-TEST's officer limit is £50,000.
    with django_capture_on_commit_callbacks(execute=True):
        decision = _decide(world)
    assert (decision.route, decision.status) == ("officer", "approved")
    assert decision.decided_by == world.comm_host
    assert Contract.objects.get(pk=world.planned.pk).status == "active"
    assert LineCommitment.objects.filter(source_ref=f"contract:{world.planned.pk}").count() == 12
    assert selectors.awaiting_board([world.fund.pk]) == []


def test_award_above_the_limit_awaits_the_board_and_the_board_approves_it(
    world, django_capture_on_commit_callbacks
):
    decision = _decide(world, value=D("50000.01"))
    assert (decision.route, decision.status) == ("board", "awaiting_board")
    assert Contract.objects.get(pk=world.planned.pk).status == "planned"
    assert selectors.awaiting_board([world.fund.pk]) == [decision]

    board = BoardFactory(code="LB-TST", name="Test Locality Board")
    board.funds.add(world.fund)
    chair = MembershipFactory(board=board, role=Membership.Role.CHAIR).person
    meeting = MeetingFactory(board=board)
    assert [c["obj"] for c in decisions_sought(meeting)["contracts"]] == [decision]
    assert decisions_sought(meeting)["contracts"][0]["value"] == D("50000.01")

    with django_capture_on_commit_callbacks(execute=True):
        recorded = board_services.decision_record(
            actor=chair,
            meeting=meeting,
            text="Award the home care framework",
            outcome="approved",
            contract_decision=decision,
        )
    decision.refresh_from_db()
    assert decision.status == "approved"
    assert decision.board_decision_reference == recorded.reference == "LB-TST/2016/001"
    assert (recorded.subject_type, recorded.subject_id, recorded.amount) == (
        "commissioning.contractdecision",
        decision.pk,
        D("50000.01"),
    )
    assert Contract.objects.get(pk=world.planned.pk).status == "active"
    assert LineCommitment.objects.filter(source_ref=f"contract:{world.planned.pk}").count() == 12
    assert selectors.awaiting_board([world.fund.pk]) == []
    # Approving twice is refused, and nothing else is recorded.
    with pytest.raises(ApplicationError, match="not awaiting"):
        board_services.decision_record(
            actor=chair,
            meeting=meeting,
            text="Again",
            outcome="approved",
            contract_decision=decision,
        )
    assert Decision.objects.count() == 1


def _board_approves(board, decision):
    chair = MembershipFactory(board=board, role=Membership.Role.CHAIR).person
    return board_services.decision_record(
        actor=chair,
        meeting=MeetingFactory(board=board),
        text="Award the home care framework",
        outcome="approved",
        contract_decision=decision,
    )


def test_the_board_decides_only_awards_within_its_limit_on_funds_it_oversees(world):
    decision = _decide(world, value=D("50000.01"))
    spb = BoardFactory(
        code="SPB-TST", name="Strategic Partnership Board", kind="strategic_partnership"
    )
    board = BoardFactory(
        code="LB-TST",
        name="Test Locality Board",
        delegated_limit=D("50000.00"),
        reports_to=spb,
    )
    board.funds.add(world.fund)
    with pytest.raises(NotAllowed, match="the Strategic Partnership Board must take this decision"):
        _board_approves(board, decision)
    # A contract decision on a fund the board does not oversee is not this board's to take.
    with pytest.raises(NotFound):
        _board_approves(BoardFactory(code="LB-OTH", name="Other Locality Board"), decision)
    assert not Decision.objects.exists()
    decision.refresh_from_db()
    assert decision.status == "awaiting_board"


def test_extension_moves_the_end_date(world):
    services.contract_status_set(actor=world.comm_host, contract=world.planned, status="active")
    decision = _decide(
        world,
        kind="extension",
        value=D("12000.00"),
        new_end_date=dt.date(2018, 9, 30),
        conflicts_declared="",
        conflicts_handling="",
    )
    assert decision.status == "approved"
    assert Contract.objects.get(pk=world.planned.pk).end_date == dt.date(2018, 9, 30)


def test_termination_ends_the_contract_and_clears_its_commitments(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.contract_status_set(actor=world.comm_host, contract=world.planned, status="active")
        _decide(world, kind="termination", value=D("0.00"), new_end_date=dt.date(2016, 12, 31))
    contract = Contract.objects.get(pk=world.planned.pk)
    assert (contract.status, contract.end_date) == ("ended", dt.date(2016, 12, 31))
    assert not LineCommitment.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": D("-5.00")}, "value"),
        ({"kind": "renewal"}, "kind"),
        ({"participants": "  "}, "participants"),
        ({"conflicts_handling": ""}, "conflicts_handling"),
        ({"kind": "extension", "new_end_date": None}, "new_end_date"),
        ({"kind": "extension", "new_end_date": dt.date(2017, 1, 1)}, "new_end_date"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_saved(world, overrides, field):
    with pytest.raises(ApplicationError) as exc:
        _decide(world, **overrides)
    assert exc.value.extra["field"] == field
    assert not ContractDecision.objects.exists()


def test_decisions_from_both_sides(world):
    with pytest.raises(NotAllowed):
        _decide(world, actor=world.comm_ccg)
    with pytest.raises(NotFound):
        _decide(world, actor=world.comm_outsider)
    assert not ContractDecision.objects.exists()
    _decide(world)
    assert selectors.decisions_visible_to(world.comm_outsider).count() == 0
    assert selectors.decisions_visible_to(world.fin_ccg).count() == 1


def test_register_rows_say_who_took_part_and_how_conflicts_were_handled(world):
    _decide(world, value=D("60000.00"))
    [row] = selectors.register_rows(selectors.decisions_visible_to(world.comm_host))
    assert row["participants"] == "Head of commissioning; Finance business partner"
    assert row["conflicts_declared"] == "Clinical lead: spouse works for a bidder"
    assert row["conflicts_handling"] == "Clinical lead left the room and took no part"
    assert row["decision_body"] == "Board (awaiting)"
    assert (row["contract_reference"], row["provider"], row["value"]) == (
        "C-001",
        "Acme Care Ltd",
        D("60000.00"),
    )


def test_board_rejection_leaves_the_contract_unchanged(world):
    decision = _decide(world, value=D("75000.00"))
    services.contract_decision_reject_by_board(
        actor=world.admin, decision=decision, decision_reference="LB-TST/2016/002"
    )
    assert (decision.status, decision.board_decision_reference) == ("rejected", "LB-TST/2016/002")
    assert Contract.objects.get(pk=world.planned.pk).status == "planned"
    [row] = selectors.register_rows([decision])
    assert (row["decision_body"], row["status"]) == (
        "Board decision LB-TST/2016/002",
        "Rejected by the board",
    )
    with pytest.raises(ApplicationError):
        services.contract_decision_approve_by_board(
            actor=world.admin, decision=decision, decision_reference="LB-TST/2016/003"
        )
