"""Every page of a realistic world, walked as each kind of user: money is shown one way (whole
pounds, pence only on pages about pence), forms are wired for assistive technology, and no page
carries an inline style or script.

The world: an approved locality pool with lines whose phasing has pence, spend posted through a
ledger import (total £4,321.09), figures recomputed and M1 closed, a contract award of
£2,560,800 and a virement awaiting the overseeing board, which has a meeting with an agenda.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, TestCase

from tests.pages import bare_amounts, form_problems, inline_style_problems, walk

D = Decimal
# The tests read the module's one walk (the `walked` fixture); the mark makes the database exist.
pytestmark = pytest.mark.django_db


def build_world():
    from boards.models import Membership
    from budgets.ledger.imports import start_import
    from budgets.models import Period
    from budgets.planning.services.periods import period_close
    from budgets.planning.services.virements import virement_request
    from commissioning import services as commissioning
    from localities import roles
    from tests.boards.factories import (
        AgendaItemFactory,
        BoardFactory,
        MeetingFactory,
        MembershipFactory,
    )
    from tests.budgets.factories import fund_line, ledger_csv, mapping
    from tests.commissioning.helpers import award_decision, commissioning_world, contract_kwargs
    from tests.factories import UserFactory

    w = commissioning_world()
    # £200,000.04 a year phases as £16,666.67 and £16,666.66 a month.
    odd = fund_line(w, "NC01", "200000.04", name="Night care")
    mapping(w, "CC100", "E5100", odd)
    csv = ledger_csv(
        [
            "TCOUNCIL,INV-1,1,2016-04-30,CC100,E5100,4000.00,Acme Care Ltd,April care",
            "TCOUNCIL,INV-1,2,2016-04-30,CC100,E5100,321.09,Acme Care Ltd,April extras",
        ]
    )
    upload = io.BytesIO(csv)
    upload.name = "april.csv"
    start_import(
        actor=w.fin_host,
        organisation=w.host,
        upload=upload,
        original_name="april.csv",
        run_now=True,
    )
    april = Period.objects.get(year=w.year, number=1)
    period_close(
        actor=w.fin_host, fund=w.fund, period=april, today=dt.date(2016, 6, 1), files=False
    )
    planned = commissioning.contract_create(
        actor=w.comm_host,
        **contract_kwargs(
            w,
            status="planned",
            value=D("36000.00"),
        ),
    )
    award_decision(w.comm_host, planned, "2560800.00", procurement_route="open")
    virement_request(
        actor=w.comm_host,
        from_line=w.host_line,
        to_line=odd,
        amount=D("75000.50"),
        recurrent=False,
        reason="Night care pressures",
    )
    board = BoardFactory(code="LB-TST", name="Test Locality Board")
    board.funds.add(w.fund)
    chair = MembershipFactory(
        board=board,
        role=Membership.Role.CHAIR,
        person=UserFactory(username="chair", roles=[roles.BOARD_MEMBER], organisation=w.host),
    ).person
    meeting = MeetingFactory(board=board, title="October meeting")
    AgendaItemFactory(meeting=meeting, title="Finance report")
    return w, chair


STARTS = (
    "/",
    "/budgets/funds/{fund}/",
    "/budgets/funds/{fund}/lines/",
    "/budgets/funds/{code}/reports/",
    "/budgets/reports/variance/?fund={fund}&period=2016/17-M01",
    "/budgets/ledger/imports/",
    "/budgets/ledger/mappings/",
    "/commissioning/contracts/",
    "/boards/",
    "/boards/interests/",
    "/boards/gifts/",
)


@pytest.fixture(scope="module")
def walked(django_db_setup, django_db_blocker):
    """The pages each kind of user reaches in the world: built and walked once for the module
    (the tests only read the pages), in a transaction rolled back afterwards, so no other test
    sees the world."""
    with django_db_blocker.unblock(), transaction.atomic():
        cache.clear()
        with TestCase.captureOnCommitCallbacks(execute=True):
            w, chair = build_world()
        pages = {}
        for user in (w.comm_host, w.fin_host, w.admin, chair):
            client = Client()
            client.force_login(user)
            starts = [s.format(fund=w.fund.pk, code=w.fund.code) for s in STARTS]
            pages[user.username] = walk(client, starts)
        transaction.set_rollback(True)
    cache.clear()
    return pages


def _report(walked, check) -> list[str]:
    problems = []
    for user, pages in walked.items():
        for page in pages:
            problems += [f"{user} {page.url}: {p}" for p in check(page)]
    return sorted(set(problems))


def test_the_walk_reaches_the_pages_that_show_money(walked):
    paths = {page.path for pages in walked.values() for page in pages}
    for expected in (
        "/budgets/reports/variance/",
        "/budgets/ledger/imports/",
        "/boards/",
        "/commissioning/contracts/",
    ):
        assert expected in paths
    assert any(p.startswith("/budgets/lines/") for p in paths)
    assert any(p.startswith("/boards/meetings/") for p in paths)
    assert any(
        p.startswith("/budgets/ledger/imports/") and p != "/budgets/ledger/imports/" for p in paths
    )
    assert len(paths) >= 30


def test_money_forms_and_styles_on_every_page(walked):
    """One walk, every check: a bare amount, a form not wired for assistive technology, an inline
    style or script. Each kind of problem is listed by user and page."""
    found = {
        "bare or wrongly formatted amounts": _report(walked, bare_amounts),
        "form wiring": _report(walked, form_problems),
        "inline styles and scripts": _report(walked, inline_style_problems),
    }
    assert found == {
        "bare or wrongly formatted amounts": [],
        "form wiring": [],
        "inline styles and scripts": [],
    }


def test_the_figures_are_shown_whole_and_pence_only_where_the_page_is_about_pence(walked):
    texts = {page.url: page.text for pages in walked.values() for page in pages}
    meeting = next(t for u, t in texts.items() if u.startswith("/boards/meetings/"))
    assert "£2,560,800" in meeting
    assert "2560800.00" not in meeting
    variance = next(t for u, t in texts.items() if u.startswith("/budgets/reports/variance/?"))
    # HC01 £120,000 + HC02 £60,000 + CH01 £60,000 + NC01 £200,000.04, whole
    assert "£440,000" in variance
    assert "£440,000.04" not in variance
    imported = next(
        t for u, t in texts.items() if u.startswith("/budgets/ledger/imports/") and u[-2] != "s"
    )
    assert "£4,321.09" in imported
