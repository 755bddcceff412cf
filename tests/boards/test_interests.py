from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from boards import selectors, services
from boards.models import GiftHospitality, Interest
from gmhsc.errors import ApplicationError, NotAllowed
from tests.boards.factories import (
    AgendaItemFactory,
    BoardFactory,
    InterestFactory,
    MembershipFactory,
)
from tests.factories import OrganisationFactory, UserFactory

OUT = GiftHospitality.Outcome


@pytest.fixture
def agenda(jcb_setup):
    s = jcb_setup
    provider = OrganisationFactory(
        code="RW3", name="Central Manchester University Hospitals NHS FT"
    )
    other = OrganisationFactory(code="RBV", name="The Christie NHS FT")
    unrelated = OrganisationFactory(code="RM3", name="Salford Royal NHS FT")
    item1 = AgendaItemFactory(meeting=s["meeting"], order=1, title="Acute contract award")
    item1.organisations.set([provider])
    item2 = AgendaItemFactory(meeting=s["meeting"], order=2, title="Cancer services")
    item2.organisations.set([provider, other])
    return s, provider, other, unrelated, item1, item2


def test_possible_conflicts_hand_built_cases(agenda):
    s, provider, other, unrelated, _item1, _item2 = agenda
    member, chair = s["member"], s["chair"]
    # active on 12 Oct 2016: open-ended, and ending on the meeting day itself
    active = InterestFactory(
        person=member, related_organisation=provider, valid_from=dt.date(2015, 1, 1)
    )
    ends_today = InterestFactory(
        person=chair,
        related_organisation=other,
        kind=Interest.Kind.NON_FINANCIAL_PROFESSIONAL,
        valid_from=dt.date(2016, 1, 1),
        valid_to=dt.date(2016, 10, 12),
    )
    # indirect interest (spouse employed by the provider) counts
    indirect = InterestFactory(
        person=s["observer"],
        related_organisation=provider,
        kind=Interest.Kind.INDIRECT,
        relationship="Spouse",
    )
    # not matched: expired the day before, starts the day after, unrelated organisation,
    # free-text organisation only, and a member of another board only
    InterestFactory(
        person=member,
        related_organisation=other,
        valid_from=dt.date(2015, 1, 1),
        valid_to=dt.date(2016, 10, 11),
    )
    InterestFactory(person=chair, related_organisation=provider, valid_from=dt.date(2016, 10, 13))
    InterestFactory(person=member, related_organisation=unrelated)
    InterestFactory(
        person=member,
        related_organisation=None,
        related_organisation_name="Central Manchester University Hospitals",
    )
    elsewhere = MembershipFactory(board=BoardFactory(code="LB-X")).person
    InterestFactory(person=elsewhere, related_organisation=provider)
    InterestFactory(person=s["outsider"], related_organisation=provider)

    found = selectors.possible_conflicts(s["meeting"])
    got = [(c.item.order, c.person.pk, c.interest.pk) for c in found]
    assert sorted(got) == sorted(
        [
            (1, member.pk, active.pk),
            (1, s["observer"].pk, indirect.pk),
            (2, chair.pk, ends_today.pk),
            (2, member.pk, active.pk),
            (2, s["observer"].pk, indirect.pk),
        ]
    )


def test_possible_conflicts_exact_list(agenda):
    s, provider, other, _unrelated, _item1, _item2 = agenda
    a = InterestFactory(person=s["member"], related_organisation=provider)
    b = InterestFactory(
        person=s["chair"], related_organisation=other, valid_to=dt.date(2016, 10, 12)
    )
    found = {
        (c.item.order, c.person.pk, c.interest.pk)
        for c in selectors.possible_conflicts(s["meeting"])
    }
    assert found == {(1, s["member"].pk, a.pk), (2, s["member"].pk, a.pk), (2, s["chair"].pk, b.pk)}


def test_membership_ended_before_meeting_is_not_matched(agenda):
    s, provider, *_ = agenda
    gone = MembershipFactory(board=s["board"], end_date=dt.date(2016, 9, 30)).person
    InterestFactory(person=gone, related_organisation=provider)
    assert selectors.possible_conflicts(s["meeting"]) == []


def test_no_organisations_means_no_conflicts(jcb_setup):
    AgendaItemFactory(meeting=jcb_setup["meeting"], order=1)
    InterestFactory(person=jcb_setup["member"])
    assert selectors.possible_conflicts(jcb_setup["meeting"]) == []


def test_declare_interest_rules(jcb_setup):
    s = jcb_setup
    org = OrganisationFactory()
    i = services.interest_declare(
        actor=s["member"],
        person=s["member"],
        kind="indirect",
        description="Spouse is a director",
        relationship="Spouse",
        related_organisation=org,
        valid_from=dt.date(2016, 4, 1),
    )
    assert i.kind == "indirect"
    with pytest.raises(ApplicationError, match="say who holds it"):
        services.interest_declare(
            actor=s["member"],
            person=s["member"],
            kind="indirect",
            description="x",
            related_organisation=org,
            valid_from=dt.date(2016, 4, 1),
        )
    with pytest.raises(ApplicationError, match="reason for not consenting"):
        services.interest_declare(
            actor=s["member"],
            person=s["member"],
            kind="financial",
            description="x",
            related_organisation=org,
            valid_from=dt.date(2016, 4, 1),
            consent_to_publish=False,
        )
    with pytest.raises(NotAllowed):
        services.interest_declare(
            actor=s["member"],
            person=s["chair"],
            kind="financial",
            description="x",
            related_organisation=org,
            valid_from=dt.date(2016, 4, 1),
        )


@pytest.mark.parametrize(
    ("kind", "value", "supplier", "outcome", "declare"),
    [
        ("gift", "6.00", True, OUT.ACCEPT, False),
        ("gift", "6.01", True, OUT.REFUSE, True),
        ("gift", "49.99", False, OUT.ACCEPT, False),
        ("gift", "50.00", False, OUT.ON_BEHALF, True),
        ("gift", "120.00", False, OUT.ON_BEHALF, True),
        ("hospitality", "24.99", False, OUT.ACCEPT, False),
        ("hospitality", "25.00", True, OUT.ACCEPT_DECLARE, True),
        ("hospitality", "75.00", False, OUT.ACCEPT_DECLARE, True),
        ("hospitality", "75.01", False, OUT.REFUSE_UNLESS_APPROVED, True),
    ],
)
def test_classify_offer_thresholds(kind, value, supplier, outcome, declare):
    result = services.classify_offer(kind=kind, value=Decimal(value), from_supplier=supplier)
    assert (result.outcome, result.must_declare) == (outcome, declare)


def test_gift_record_refuses_and_needs_senior_approval(jcb_setup):
    s = jcb_setup
    kw = {
        "actor": s["member"],
        "person": s["member"],
        "description": "Dinner",
        "offered_by": "Acme Care Ltd",
        "offered_on": dt.date(2016, 9, 1),
    }
    with pytest.raises(ApplicationError, match="above £6 must be refused"):
        services.gift_record(**kw, kind="gift", value="10", from_supplier=True, accepted=True)
    with pytest.raises(ApplicationError, match="senior manager"):
        services.gift_record(
            **kw, kind="hospitality", value="90", from_supplier=False, accepted=True
        )
    g = services.gift_record(
        **kw,
        kind="hospitality",
        value="90",
        from_supplier=False,
        accepted=True,
        senior_approver=s["chair"],
    )
    assert (g.outcome, g.must_declare, g.value) == (
        OUT.REFUSE_UNLESS_APPROVED,
        True,
        Decimal("90.00"),
    )
    declined = services.gift_record(
        **kw, kind="gift", value="10", from_supplier=True, accepted=False
    )
    assert declined.outcome == OUT.REFUSE


def test_interest_register_hides_unconsented_from_members(jcb_setup):
    s = jcb_setup
    InterestFactory(person=s["chair"], consent_to_publish=False, no_consent_reason="Safety")
    shown = InterestFactory(person=s["chair"])
    InterestFactory(
        person=s["chair"], valid_to=dt.date(2015, 1, 1)
    )  # expired more than 6 months ago
    member_view = list(
        selectors.interest_register(s["member"], s["board"], day=dt.date(2016, 10, 1))
    )
    officer_view = list(
        selectors.interest_register(s["officer"], s["board"], day=dt.date(2016, 10, 1))
    )
    assert member_view == [shown]
    assert len(officer_view) == 2
    assert UserFactory  # imported for factories' side effects


def test_declared_late_after_28_days(jcb_setup):
    on_time = InterestFactory(
        person=jcb_setup["member"], valid_from=dt.date(2016, 4, 1), declared_on=dt.date(2016, 4, 29)
    )
    late = InterestFactory(
        person=jcb_setup["member"], valid_from=dt.date(2016, 4, 1), declared_on=dt.date(2016, 4, 30)
    )
    assert (on_time.declared_late, late.declared_late) == (False, True)
