from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from boards import services
from boards.models import Decision, Meeting
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.boards.factories import MeetingFactory, MembershipFactory


def test_reference_sequence_per_board_and_financial_year(jcb_setup):
    s = jcb_setup
    d1 = services.decision_record(
        actor=s["chair"],
        meeting=s["meeting"],
        text="Approve plan",
        outcome="approved",
        amount="1000000",
    )
    d2 = services.decision_record(
        actor=s["officer"], meeting=s["meeting"], text="Note report", outcome="noted"
    )
    assert (d1.reference, d2.reference) == ("JCB/2016/001", "JCB/2016/002")
    # February 2017 is still financial year 2016/17
    feb = MeetingFactory(
        board=s["board"], starts_at=timezone.make_aware(dt.datetime(2017, 2, 8, 14))
    )
    d3 = services.decision_record(actor=s["chair"], meeting=feb, text="X", outcome="noted")
    assert d3.reference == "JCB/2016/003"
    may = MeetingFactory(
        board=s["board"], starts_at=timezone.make_aware(dt.datetime(2017, 5, 10, 14))
    )
    assert (
        services.decision_record(actor=s["chair"], meeting=may, text="Y", outcome="noted").reference
        == "JCB/2017/001"
    )
    assert d1.amount == Decimal("1000000.00")
    assert (
        d1.delegated_authority
        == "Greater Manchester Joint Commissioning Board delegated limit £50,000,000"
    )


def test_decision_above_limit_names_body_above(jcb_setup):
    s = jcb_setup
    with pytest.raises(NotAllowed) as exc:
        services.decision_record(
            actor=s["chair"],
            meeting=s["meeting"],
            text="Big",
            outcome="approved",
            amount=Decimal("60000000"),
        )
    assert exc.value.message == (
        "£60,000,000 is above the Greater Manchester Joint Commissioning Board's delegated limit of "
        "£50,000,000; the Greater Manchester Strategic Partnership Board must take this decision."
    )
    assert Decision.objects.count() == 0


def test_limit_exactly_at_limit_is_allowed(jcb_setup):
    s = jcb_setup
    d = services.decision_record(
        actor=s["chair"],
        meeting=s["meeting"],
        text="At limit",
        outcome="approved",
        amount="50000000.00",
    )
    assert d.reference == "JCB/2016/001"


def test_rejected_or_noted_above_limit_is_recorded(jcb_setup):
    s = jcb_setup
    d = services.decision_record(
        actor=s["chair"],
        meeting=s["meeting"],
        text="Refer up",
        outcome="deferred",
        amount="60000000",
    )
    assert d.outcome == "deferred"


def test_reports_to_chain_skips_a_parent_whose_limit_is_too_small(chain):
    spb, jcb, mjce = chain
    chair = MembershipFactory(board=mjce, role="chair").person
    meeting = MeetingFactory(board=mjce)
    # £20m: above MJCE's £10m, within JCB's £50m -> JCB
    with pytest.raises(NotAllowed) as exc:
        services.decision_record(
            actor=chair, meeting=meeting, text="x", outcome="approved", amount="20000000"
        )
    assert exc.value.message.endswith(
        "the Greater Manchester Joint Commissioning Board must take this decision."
    )
    assert exc.value.extra["body"] == "JCB"
    # £60m: above MJCE and JCB -> SPB (no limit)
    with pytest.raises(NotAllowed) as exc:
        services.decision_record(
            actor=chair, meeting=meeting, text="x", outcome="approved", amount="60000000"
        )
    assert exc.value.message == (
        "£60,000,000 is above the Manchester Joint Commissioning Executive's delegated limit of "
        "£10,000,000; the Greater Manchester Strategic Partnership Board must take this decision."
    )
    assert services.body_for(mjce, Decimal("9999999.99")) == mjce
    assert services.body_for(mjce, Decimal("10000000.01")) == jcb
    assert services.body_for(mjce, Decimal("50000000.01")) == spb


def test_no_body_above_can_decide(chain):
    spb, jcb, _ = chain
    spb.delegated_limit = Decimal("100000000.00")
    spb.save()
    jcb.refresh_from_db()
    chair = MembershipFactory(board=jcb, role="chair").person
    meeting = MeetingFactory(board=jcb)
    with pytest.raises(NotAllowed) as exc:
        services.decision_record(
            actor=chair, meeting=meeting, text="x", outcome="approved", amount="150000000"
        )
    assert "no body above it may take this decision" in exc.value.message


def test_only_chair_or_officer_records_and_outsiders_get_not_found(jcb_setup):
    s = jcb_setup
    with pytest.raises(NotAllowed):
        services.decision_record(actor=s["member"], meeting=s["meeting"], text="x", outcome="noted")
    with pytest.raises(NotFound):
        services.decision_record(
            actor=s["outsider"], meeting=s["meeting"], text="x", outcome="noted"
        )


def test_meeting_status_flow(jcb_setup):
    s = jcb_setup
    m = s["meeting"]
    with pytest.raises(ApplicationError):
        services.meeting_transition(actor=s["chair"], meeting=m, to=Meeting.Status.HELD)
    m = services.meeting_transition(actor=s["chair"], meeting=m, to=Meeting.Status.PAPERS_PUBLISHED)
    m = services.meeting_transition(actor=s["chair"], meeting=m, to=Meeting.Status.HELD)
    with pytest.raises(ApplicationError, match="Record the minutes"):
        services.meeting_transition(actor=s["chair"], meeting=m, to=Meeting.Status.MINUTES_APPROVED)
    services.meeting_minutes_set(actor=s["chair"], meeting=m, minutes="Agreed.")
    m = services.meeting_transition(actor=s["chair"], meeting=m, to=Meeting.Status.MINUTES_APPROVED)
    assert m.status == "minutes_approved"
    assert m.minutes_approved_at is not None


def test_papers_deadline_counts_working_days(jcb_setup):
    m = jcb_setup["meeting"]  # Wednesday 12 October 2016, 5 working days
    assert m.papers_deadline == dt.date(2016, 10, 5)
    m.starts_at = timezone.make_aware(dt.datetime(2016, 10, 17, 10))  # Monday
    assert m.papers_deadline == dt.date(2016, 10, 10)
