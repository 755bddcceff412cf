"""Round trip: the transparency file gmhsc exports for an organisation, imported through the
matching shipped profile into a database with the same funds and mappings but none of the
postings, gives the same postings and totals. For a council (LGTC spend over £500) and an NHS
body (HM Treasury spend over £25,000); then as a property over generated ledgers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgets.ledger.imports import service as import_service
from budgets.ledger.services import profiles as profile_service
from budgets.ledger.services.postings import spend_post
from budgets.models import ImportProfile, LedgerMapping, SpendPosting
from budgets.reports.transparency import render_transparency_csv, transparency_rows
from localities.models import Organisation
from tests.budgets.factories import (
    BudgetLineFactory,
    ContributionFactory,
    PooledFundFactory,
    ServiceAreaFactory,
    make_year,
    posted_rows,
)
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

# Service areas (parent, child): the export names them, and the mappings read them back.
AREAS = [
    ("RT.ASC", "Adult social care", "RT.ASC.HOME", "Home care"),
    ("RT.ASC", "Adult social care", "RT.ASC.RES", "Residential care"),
    ("RT.CH", "Community health", "RT.CH.DN", "District nursing"),
    ("RT.MH", "Mental health", "RT.MH.CRISIS", "Crisis teams"),
]


@dataclass
class World:
    year: Any
    council: Any
    ccg: Any
    lines: list[Any]
    users: dict[str, Any]


def _world() -> World:
    from localities import roles

    year = make_year("2016/17")
    council = OrganisationFactory(
        code="RTCOUNCIL", name="Round Trip Council", kind=Organisation.Kind.COUNCIL
    )
    ccg = OrganisationFactory(code="RTCCG", name="NHS Round Trip CCG", kind=Organisation.Kind.CCG)
    fund = PooledFundFactory(code="RT-POOL", host=council)
    ContributionFactory(fund=fund, year=year, partner=council, amount=Decimal("1000000.00"))
    ContributionFactory(fund=fund, year=year, partner=ccg, amount=Decimal("1000000.00"))
    lines = []
    for i, (pcode, pname, code, name) in enumerate(AREAS):
        parent = ServiceAreaFactory(code=pcode, name=pname)
        area = ServiceAreaFactory(code=code, name=name, parent=parent)
        line = BudgetLineFactory(
            fund=fund, year=year, code=f"RT{i:02d}", name=name, service_area=area
        )
        lines.append(line)
        for org in (council, ccg):
            # The export writes the service area's parent and name; they are the codes the
            # receiving ledger's mappings know.
            LedgerMapping.objects.create(
                organisation=org, year=year, cost_centre=pname, expense_code=name, budget_line=line
            )
    users = {
        org.code: UserFactory(
            username=f"rt-{org.code.lower()}", roles=[roles.FINANCE_OFFICER], organisation=org
        )
        for org in (council, ccg)
    }
    profile_service.seed_import_profiles()
    return World(year=year, council=council, ccg=ccg, lines=lines, users=users)


def _posted(organisation: Any, **filters: Any) -> list[tuple[Any, ...]]:
    """Its postings without the accrual flag (a transparency file does not publish it)."""
    return [p[:8] for p in posted_rows(organisation=organisation, **filters)]


def round_trip(w: World, organisation: Any, rows: list[dict[str, Any]], template: str) -> None:
    """Post `rows`, export the transparency file, take the postings away (roll back), import the
    file through the shipped profile, and compare."""
    actor = w.users[organisation.code]
    numbers = list(range(1, 13))
    with transaction.atomic():
        spend_post(actor=actor, organisation=organisation, rows=rows)
        published = transparency_rows(
            organisation=organisation, year=w.year, numbers=numbers, template=template
        )
        data = render_transparency_csv(published, template)
        expected = [
            p
            for p in _posted(organisation)
            # The file publishes whole invoices over the threshold.
            if p[0] in {row[8 if template == "lgtc500" else 6] for row in published}
        ]
        transaction.set_rollback(True)
    assert SpendPosting.objects.filter(organisation=organisation).count() == 0
    if not published:  # no invoice over the threshold: a file of the header alone
        assert data.decode("utf-8-sig").count("\r\n") == 1
        return
    name = "lgtc-spend-over-500" if template == "lgtc500" else "nhs-spend-over-25k"
    imp = import_service.start_import(
        actor=actor,
        organisation=organisation,
        upload=SimpleUploadedFile("transparency.csv", data, content_type="text/csv"),
        profile=ImportProfile.objects.get(organisation=None, name=name),
        outside_pools="refuse",
        run_now=True,
    )
    assert imp.status == "posted", (imp.message, imp.errors)
    assert imp.rows_outside == 0
    got = _posted(organisation, ledger_import=imp)
    assert got == expected
    assert sum(p[5] for p in got) == sum(p[5] for p in expected)


def _row(w: World, doc: str, n: int, day: date, amount: str, line: int, **extra: Any):
    return {
        "document_number": doc,
        "line_number": n,
        "posting_date": day,
        "amount": amount,
        "budget_line": w.lines[line].pk,
        "supplier": extra.get("supplier", "Making Space"),
        "description": extra.get("description", "Care services"),
    }


def test_council_transparency_file_round_trips_through_lgtc_spend_over_500():
    w = _world()
    rows = [
        _row(w, "AP-1001", 1, date(2016, 4, 15), "1234.56", 0, supplier="Café Rouge, Ltd"),
        _row(w, "AP-1001", 2, date(2016, 4, 15), "250.00", 2, description='He said "yes"'),
        _row(w, "AP-1001", 3, date(2016, 4, 15), "-10.01", 3),
        _row(w, "AP-1002", 1, date(2016, 9, 30), "99999.99", 1),
        _row(w, "CR-2001", 1, date(2016, 10, 3), "-750.00", 0, description="Credit note"),
        _row(w, "AP-1003", 1, date(2017, 3, 31), "400.00", 0),  # under £500: not published
    ]
    round_trip(w, w.council, rows, "lgtc500")


def test_nhs_transparency_file_round_trips_through_nhs_spend_over_25k():
    w = _world()
    rows = [
        _row(w, "NHS-1", 1, date(2016, 5, 2), "20000.00", 2),
        _row(w, "NHS-1", 2, date(2016, 5, 2), "9000.00", 3),  # lines under £25k, invoice over
        _row(w, "NHS-2", 1, date(2016, 11, 30), "125000.50", 0, supplier="Bolton NHS FT"),
        _row(w, "NHS-3", 1, date(2016, 12, 1), "24999.99", 1),  # not published
    ]
    round_trip(w, w.ccg, rows, "hmt25k")


# ---- the property ---------------------------------------------------------------------------------

TEXT = (
    st.text(
        alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789,.'\"£é&()/")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(lambda t: t and t[0] not in "=+-@")
)


@st.composite
def ledgers(draw: Any) -> list[dict[str, Any]]:
    """Invoices of one to four lines on one day, some credit notes, amounts in pence."""
    invoices = draw(st.integers(min_value=1, max_value=8))
    start = date(2016, 4, 1)
    rows = []
    for number in range(invoices):
        day = start + timedelta(days=draw(st.integers(min_value=0, max_value=364)))
        sign = -1 if draw(st.booleans()) and number % 3 == 2 else 1
        lines = draw(st.integers(min_value=1, max_value=4))
        for n in range(1, lines + 1):
            pennies = draw(st.integers(min_value=1, max_value=5_000_000))
            rows.append(
                {
                    "document_number": f"INV-{number:04d}",
                    "line_number": n,
                    "posting_date": day,
                    "amount": str(Decimal(sign * pennies) / 100),
                    "line": draw(st.integers(min_value=0, max_value=len(AREAS) - 1)),
                    "supplier": draw(TEXT),
                    "description": draw(TEXT),
                }
            )
    return rows


@pytest.mark.parametrize("template", ["lgtc500", "hmt25k"])
def test_any_ledger_round_trips(template):
    w = _world()
    organisation = w.council if template == "lgtc500" else w.ccg

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(ledgers())
    def check(generated: list[dict[str, Any]]) -> None:
        rows = [{**r, "budget_line": w.lines[r.pop("line")].pk} for r in map(dict, generated)]
        with transaction.atomic():
            round_trip(w, organisation, rows, template)
            transaction.set_rollback(True)

    check()
