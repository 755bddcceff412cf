"""The posting rules' cases (budgets.ledger.posting_rules.ROW_RULES): every rule has a case here,
with the exact words it refuses a row with. Each case runs through the Python engine everywhere
and, on PostgreSQL, through both engines, comparing accepted rows, messages and totals (the
parity the two engines are held to)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from budgets.ledger.imports import service as import_service
from budgets.ledger.posting_rules import RULES_BY_KEY
from budgets.ledger.services.postings import spend_post
from budgets.models import FundPeriod, ImportProfile, LedgerMapping, Period, SpendPosting
from gmhsc.errors import RowErrors
from tests.budgets.factories import (
    LEDGER_HEADER,
    BudgetLineFactory,
    ContributionFactory,
    PooledFundFactory,
    ledger_world,
    posted_rows,
    profile_spec,
)

pytestmark = pytest.mark.django_db

OK = "TCOUNCIL,OK-1,1,2016-04-15,CC100,E5100,10.00,Acme,fine"
# Good rows filling the first 8 KB a file is checked for binary content in: a NUL after them is
# a cell's problem, named by row (row 22 is the first after them).
PAD = [f"TCOUNCIL,P-{i},1,2016-04-15,CC100,E5100,1.00,A,{'x' * 450}" for i in range(20)]
PROFILE_HEADER = "Doc,Date,Amount,CC,EC,Supplier,Description"
DEBIT_CREDIT_HEADER = "Doc,Date,Debit,Credit,CC,EC"


def _profile(**overrides: Any) -> dict[str, Any]:
    return profile_spec("case-profile", text=True, **{"date_format": "DD.MM.YYYY", **overrides})


DEBIT_CREDIT = _profile(
    amounts="debit_credit",
    columns={
        "document_number": "Doc",
        "posting_date": "Date",
        "debit": "Debit",
        "credit": "Credit",
        "cost_centre": "CC",
        "expense_code": "EC",
    },
)


def _second_fund_with_ch01(w: Any) -> None:
    """A second fund the council hosts with a line coded CH01 too: the code is ambiguous."""
    other = PooledFundFactory(code="LP-TWO", host=w.host)
    ContributionFactory(fund=other, year=w.year, partner=w.host, amount=Decimal("1000.00"))
    BudgetLineFactory(fund=other, year=w.year, code="CH01", service_area=w.area)


def _mapping_to_a_stranger_fund(w: Any) -> None:
    """A mapping (written past the service's checks) to a line of a fund the council is not a
    partner of."""
    stranger = PooledFundFactory(code="LP-ELSE", host=w.outsider)
    line = BudgetLineFactory(fund=stranger, year=w.year, code="EL01", service_area=w.area)
    LedgerMapping.objects.create(
        organisation=w.host,
        year=w.year,
        cost_centre="CC900",
        expense_code="E5900",
        budget_line=line,
    )


def _close_m1(w: Any) -> None:
    FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=1), status="closed"
    )


def _rules(w: Any) -> None:
    """Mapping rules: prefix CC1* with any expense code to the CCG's line; range 5100-5199
    with any cost centre to the council's line; any / any nowhere (none)."""
    LedgerMapping.objects.create(
        organisation=w.host,
        year=w.year,
        cost_centre="CC1*",
        cost_centre_match="prefix",
        expense_code="*",
        expense_code_match="any",
        budget_line=w.ccg_line,
    )
    LedgerMapping.objects.create(
        organisation=w.host,
        year=w.year,
        cost_centre="*",
        cost_centre_match="any",
        expense_code="5100-5199",
        expense_code_match="range",
        budget_line=w.host_line,
    )


@dataclass
class Case:
    """Rows (after a header) and the problems they must give: (row, field, message)."""

    rule: str
    rows: list[str]
    errors: list[tuple[int, str, str]]
    header: str = LEDGER_HEADER
    profile: dict[str, Any] | None = None
    outside: str = "refuse"
    setup: Callable[[Any], None] | None = None
    total: str | None = None  # the posted total when the rows are accepted
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.rule


CASES: list[Case] = [
    Case("org_required", [",D-1,1,2016-04-15,CC100,E5100,1.00,A,x"], [(2, "organisation", "is required")]),
    Case("org_unknown", ["NOSUCH,D-1,1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "organisation", "unknown organisation 'NOSUCH'")]),
    Case("org_other", ["TCCG,D-1,1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "organisation", "is TCCG; this file is for TCOUNCIL")]),
    Case("doc_required", ["TCOUNCIL, ,1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "document_number", "is required")]),
    Case("document_number_too_long", [f"TCOUNCIL,{'D' * 41},1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "document_number", "is longer than 40 characters")]),
    # The text cleaner's rule (gmhsc.text): the first character it refuses is named.
    Case("document_number_nul", [*PAD, "TCOUNCIL,D\x00-1,1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(22, "document_number", "contains the NUL character (U+0000); remove it")]),
    Case("document_number_line_break", ['TCOUNCIL,"D\n-1",1,2016-04-15,CC100,E5100,1.00,A,x'],
         [(2, "document_number", "must be on one line; remove the line break or tab")]),
    Case("document_number_control", ["TCOUNCIL,D\x1b-1,1,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "document_number", "contains the control character U+001B; remove it")]),
    Case("supplier_nul", [*PAD, "TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A\x00B,x"],
         [(22, "supplier", "contains the NUL character (U+0000); remove it")]),
    Case("supplier_line_break", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A\tB,x"],
         [(2, "supplier", "must be on one line; remove the line break or tab")]),
    Case("supplier_control", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A\x85B,x"],
         [(2, "supplier", "contains the control character U+0085; remove it")]),
    Case("description_nul", [*PAD, "TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A,x\x00y"],
         [(22, "description", "contains the NUL character (U+0000); remove it")]),
    Case("description_control", ['TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A,"two\nlines\x7f"'],
         [(2, "description", "contains the control character U+007F; remove it")]),
    Case("a description may hold line breaks and tabs",
         ['TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.25,A,"two\nlines\tand a tab"'], [], total="1.25"),
    Case("amount_exponent", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1e5,A,x"],
         [(2, "amount", "'1e5' is written with an exponent; write the amount in full, like 100000.00")]),
    Case("line_number_required", ["TCOUNCIL,D-1,,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "line_number", "is required")]),
    Case("line_number", ["TCOUNCIL,D-1,0,2016-04-15,CC100,E5100,1.00,A,x",
                         "TCOUNCIL,D-2,1.5,2016-04-15,CC100,E5100,1.00,A,x"],
         [(2, "line_number", "'0' is not a whole number of 1 or more"),
          (3, "line_number", "'1.5' is not a whole number of 1 or more")]),
    Case("date_required", ["TCOUNCIL,D-1,1,,CC100,E5100,1.00,A,x"],
         [(2, "posting_date", "is required")]),
    Case("date", ["TCOUNCIL,D-1,1,2016-02-30,CC100,E5100,1.00,A,x",
                  "TCOUNCIL,D-2,1,15.04.2016,CC100,E5100,1.00,A,x"],
         [(2, "posting_date", "'2016-02-30' is not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
          (3, "posting_date", "'15.04.2016' is not a date (use YYYY-MM-DD or DD/MM/YYYY)")]),
    Case("date", ["D-1,15.04.2016,1.00,CC100,E5100,A,x", "D-2,2016-04-15,1.00,CC100,E5100,A,x"],
         [(3, "posting_date", "'2016-04-15' is not a date (use DD.MM.YYYY)")],
         header=PROFILE_HEADER, profile=_profile()),
    Case("amount_both", ["D-1,15.04.2016,10.00,5.00,CC100,E5100", "D-2,15.04.2016,1,,CC100,E5100"],
         [(2, "amount", "has a debit of '10.00' and a credit of '5.00'; a row has one or the other")],
         header=DEBIT_CREDIT_HEADER, profile=DEBIT_CREDIT),
    Case("amount_empty", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,,A,x"], [(2, "amount", "is empty")]),
    Case("amount_nan", ['TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,"1,2x",A,x',
                        "TCOUNCIL,D-2,1,2016-04-15,CC100,E5100,1e3,A,x",
                        "TCOUNCIL,D-3,1,2016-04-15,CC100,E5100,£5,A,x"],
         [(2, "amount", "'1,2x' is not a number"), (3, "amount", "'1e3' is written with an exponent; write the amount in full, like 100000.00"),
          (4, "amount", "'£5' is not a number")]),
    Case("amount_nan", ['D-1,15.04.2016,"1,2,3",CC100,E5100,A,x', "D-2,15.04.2016,(5,CC100,E5100,A,x",
                        "D-3,15.04.2016,-5-,CC100,E5100,A,x", "D-4,15.04.2016,5,CC100,E5100,A,x"],
         [(2, "amount", "'1,2,3' is not a number (write amounts like 1234.56, £1,234.56, (1,234.56) or 1,234.56-)"),
          (3, "amount", "'(5' is not a number (write amounts like 1234.56, £1,234.56, (1,234.56) or 1,234.56-)"),
          (4, "amount", "'-5-' is not a number (write amounts like 1234.56, £1,234.56, (1,234.56) or 1,234.56-)")],
         header=PROFILE_HEADER, profile=_profile()),
    Case("amount_places", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,10.123,A,x"],
         [(2, "amount", "'10.123' has more than 2 decimal places")]),
    Case("amount_places", ['D-1,15.04.2016,"£1,000.125",CC100,E5100,A,x', "D-2,15.04.2016,1,CC100,E5100,A,x"],
         [(2, "amount", "'1000.125' has more than 2 decimal places")],
         header=PROFILE_HEADER, profile=_profile()),
    Case("amount_large", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,10000000000000000.00,A,x"],
         [(2, "amount", "'10000000000000000.00' is too large")]),
    Case("supplier_too_long", [f"TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,{'S' * 201},x"],
         [(2, "supplier", "is longer than 200 characters")]),
    Case("description_too_long", [f"TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A,{'x' * 501}"],
         [(2, "description", "is longer than 500 characters")]),
    Case("accrual", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A,x,maybe"],
         [(2, "is_accrual", "'maybe' is not yes or no")], header=LEDGER_HEADER + ",is_accrual"),
    Case("period_unknown", ["TCOUNCIL,D-1,1,2016-04-15,CC100,E5100,1.00,A,x,2016/17-M14"],
         [(2, "period", "'2016/17-M14' is not a known period (like 2016/17-M06)")],
         header=LEDGER_HEADER + ",period"),
    Case("no_year", ["TCOUNCIL,D-1,1,2030-04-15,CC100,E5100,1.00,A,x"],
         [(2, "posting_date", "2030-04-15 is not in a financial year that is set up")]),
    Case("line_unknown", ["TCOUNCIL,D-1,1,2016-04-15,ZZ,ZZ,1.00,A,x,NOPE"],
         [(2, "budget_line", "unknown budget line 'NOPE'")], header=LEDGER_HEADER + ",budget_line"),
    Case("line_ambiguous", ["TCOUNCIL,D-1,1,2016-04-15,ZZ,ZZ,1.00,A,x,CH01"],
         [(2, "budget_line", "budget line 'CH01' is in more than one fund; ask for a ledger mapping")],
         header=LEDGER_HEADER + ",budget_line", setup=_second_fund_with_ch01),
    Case("no_mapping", ["TCOUNCIL,D-1,1,2016-04-15,CC999,E5100,1.00,A,x"],
         [(2, "cost_centre", "no ledger mapping for cost centre 'CC999' and expense code 'E5100' in 2016/17")]),
    Case("line_not_partner", ["TCOUNCIL,D-1,1,2016-04-15,CC900,E5900,1.00,A,x"],
         [(2, "budget_line", "budget line EL01 is in fund LP-ELSE, which TCOUNCIL is not a partner of")],
         setup=_mapping_to_a_stranger_fund),
    Case("outside_year", ["TCOUNCIL,D-1,1,2017-04-02,CC100,E5100,1.00,A,x,2016/17-M12"],
         [(2, "posting_date", "2017-04-02 is outside 2016/17 (1 April 2016 to 31 March 2017)")],
         header=LEDGER_HEADER + ",period"),
    Case("duplicate", [OK, OK.replace("10.00", "5.00")],
         [(3, "document_number", "document OK-1 line 1 is already on row 2")]),
    Case("period_closed", [OK], [(2, "posting_date", "period 2016/17-M01 is closed for fund LP-TEST")],
         setup=_close_m1),
    # The year-end host rule needs a file from another organisation than the fund's host:
    # test_ledger_import's M13 test runs it through both engines.
    Case("year_end_early", ["TCOUNCIL,YE-1,1,2017-03-31,CC100,E5100,1.00,A,x,2016/17-M13"],
         [(2, "period", ("period 2016/17-M13 takes year-end adjustments once 2016/17-M12 is closed "
                        "for fund LP-TEST"))],
         header=LEDGER_HEADER + ",period"),
    # Accepted: every row posts, to the penny.
    Case("accepted", [OK, "TCOUNCIL,OK-1,2,30/09/2016,CC200,E5200,-0.01,Acme,credit",
                      "TCOUNCIL,OK-2,1,2016-05-01,CC100,E5100,+7,B,"], [], total="16.99"),
    Case("accepted: ledger amounts and numbered lines",
         ['D-1,1.4.2016,"£1,234.56",CC100,E5100,A,x', "D-1,01.04.2016,(12.00),CC200,E5200,A,y",
          "D-2,30.09.2016,5.00-,CC100,E5100,B,z", 'D-2,30.9.2016,"£ 1,000",CC100,E5100,B,z'],
         [], header=PROFILE_HEADER, profile=_profile(), total="2217.56"),
    Case("accepted: a document's lines numbered in file order when they are not together",
         ["D-1,1.4.2016,1.00,CC100,E5100,A,x", "D-2,1.4.2016,2.00,CC100,E5100,A,x", ",,,,,,",
          "D-1,2.4.2016,4.00,CC200,E5200,A,y", "D-1,2.4.2016,8.00,CC100,E5100,A,z"],
         [], header=PROFILE_HEADER, profile=_profile(), total="15.00",
         extra={"lines": {("D-1", 1): "HC01", ("D-1", 2): "CH01", ("D-1", 3): "HC01",
                          ("D-2", 1): "HC01"}}),
    Case("accepted: debit and credit columns",
         ["D-1,15.04.2016,100.00,,CC100,E5100", "D-1,15.04.2016,0.00,25.50,CC100,E5100",
          'D-2,16.04.2016,,"(3.00)",CC100,E5100'],
         [], header=DEBIT_CREDIT_HEADER, profile=DEBIT_CREDIT, total="77.50"),
    Case("accepted: mapping rules",
         ["TCOUNCIL,R-1,1,2016-04-15,CC1234,E1,1.00,A,x", "TCOUNCIL,R-2,1,2016-04-15,XX,5150,2.00,A,x",
          "TCOUNCIL,R-3,1,2016-04-15,CC100,5150,4.00,A,x"],
         [], setup=_rules, total="7.00", extra={"lines": {"R-1": "CH01", "R-2": "HC01", "R-3": "CH01"}}),
    Case("outside the pools: left out",
         [OK, "TCOUNCIL,X-1,1,2016-04-15,CC999,E1,100.00,A,x", "TCOUNCIL,X-2,1,2016-04-15,CC998,E1,-1.50,A,x",
          "TCOUNCIL,X-3,1,2016-04-16,CC999,E2,0.50,A,x"],
         [], outside="leave", total="10.00",
         extra={"outside": (3, "99.00", [("CC999", 2, "100.50"), ("CC998", 1, "-1.50")])}),
    Case("outside the pools: a bad row is still refused",
         [OK, "TCOUNCIL,X-1,1,2016-04-15,CC999,E1,abc,A,x"],
         [(3, "amount", "'abc' is not a number")], outside="leave"),
]  # fmt: skip
# Lone surrogates reach the rules only from a caller of the service (a file is decoded strictly,
# and the API's TextField refuses them first).
API_ONLY = {
    "line_required",
    "period_outside_year",
    "document_number_type",
    "supplier_type",
    "description_type",
    "document_number_surrogate",
    "supplier_surrogate",
    "description_surrogate",
}


def test_every_rule_has_a_case():
    covered = {case.rule for case in CASES} | API_ONLY
    assert set(RULES_BY_KEY) - covered == set()
    assert {"duplicate", "period_closed", "year_end_early"} <= covered


@pytest.fixture
def w():
    return ledger_world()


def _run_case(w: Any, case: Case, engine: str) -> dict[str, Any]:
    """Import the case's rows with one engine, then roll back: what it found and posted."""
    data = ("\n".join([case.header, *case.rows]) + "\n").encode("utf-8")
    with transaction.atomic():
        if case.setup is not None:
            case.setup(w)
        profile = None
        if case.profile is not None:
            profile = ImportProfile.objects.create(
                organisation=w.host, name=case.profile["name"], spec=case.profile
            )
        imp = import_service.start_import(
            actor=w.fin_host,
            organisation=w.host,
            upload=SimpleUploadedFile("case.csv", data, content_type="text/csv"),
            run_now=False,
            profile=profile,
            outside_pools=case.outside,
        )
        import_service.run_import(imp.pk, engine=engine)
        imp.refresh_from_db()
        postings = posted_rows(ledger_import=imp)
        found = {
            "status": imp.status,
            "errors": [(e["row"], e["field"], e["message"]) for e in imp.errors],
            "summary": imp.summary,
            "postings": postings,
            "outside": (imp.rows_outside, str(imp.amount_outside), imp.preview.get("outside")),
            "unmapped": imp.preview.get("unmapped"),
        }
        transaction.set_rollback(True)
    return found


def _assert_case(case: Case, found: dict[str, Any]) -> None:
    assert sorted(found["errors"]) == sorted(case.errors), found["errors"]
    if case.errors:
        assert found["postings"] == []
        assert found["status"] == "rejected"
        return
    assert found["status"] == "posted", found
    total = sum((p[5] for p in found["postings"]), Decimal("0.00"))
    assert total == Decimal(case.total or "0"), total
    if "lines" in case.extra:
        keys = {k if isinstance(k, tuple) else (k, 1) for k in case.extra["lines"]}
        got = {(p[0], p[1]): p[4] for p in found["postings"]}
        assert got == {
            (k if isinstance(k, tuple) else (k, 1)): v for k, v in case.extra["lines"].items()
        }
        assert set(got) == keys
    if "outside" in case.extra:
        rows, amount, top = case.extra["outside"]
        assert found["outside"][:2] == (rows, amount)
        assert [
            (t["cost_centre"], t["rows"], t["amount"])
            for t in found["outside"][2]["top_cost_centres"]
        ] == top


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_in_the_python_engine(w, case):
    _assert_case(case, _run_case(w, case, "python"))


@pytest.mark.pg
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY engine needs PostgreSQL")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_both_engines_agree(w, case):
    python = _run_case(w, case, "python")
    sql = _run_case(w, case, "sql")
    assert sql == python
    _assert_case(case, sql)


def test_no_mapping_pairs_counted_for_the_preview(w):
    case = Case(
        "no_mapping",
        ["TCOUNCIL,D-1,1,2016-04-15,CC999,E1,1.25,A,x", "TCOUNCIL,D-2,1,2016-04-15,CC999,E1,2.00,A,x",
         "TCOUNCIL,D-3,1,2016-04-15,CC998,E1,abc,A,x", OK],
        [],
    )  # fmt: skip
    found = _run_case(w, case, "python")
    assert found["unmapped"] == [
        {
            "year": "2016/17",
            "cost_centre": "CC998",
            "expense_code": "E1",
            "rows": 1,
            "amount": "0.00",
        },
        {
            "year": "2016/17",
            "cost_centre": "CC999",
            "expense_code": "E1",
            "rows": 2,
            "amount": "3.25",
        },
    ]
    if connection.vendor == "postgresql":
        assert _run_case(w, case, "sql")["unmapped"] == found["unmapped"]


def _api_row(w: Any, **values: Any) -> dict[str, Any]:
    return {
        "document_number": "API-1",
        "line_number": 1,
        "posting_date": date(2016, 6, 15),
        "amount": "1.00",
        "budget_line": w.host_line.pk,
        **values,
    }


def test_api_only_rules(w):
    """Rules about a line given by id (the API): required, and a period of another year."""
    with pytest.raises(RowErrors) as caught:
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                _api_row(w, budget_line=""),
                _api_row(w, document_number="API-2", period="2015/16-M03"),
            ],
        )
    assert caught.value.errors == [
        {"row": 1, "field": "budget_line", "message": "is required"},
        {
            "row": 2,
            "field": "period",
            "message": "2015/16-M03 is outside 2016/17 (1 April 2016 to 31 March 2017)",
        },
    ]


def test_a_lone_surrogate_is_named_in_every_text_field(w):
    """The text cleaner's wording for text that is not valid Unicode, from a caller of the service."""
    with pytest.raises(RowErrors) as caught:
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                _api_row(w, document_number="A\ud800"),
                _api_row(w, document_number="API-2", supplier="B\udfff", description="C\ud800"),
            ],
        )
    surrogate = "contains U+{}, which is not a character (text that is not valid Unicode)"
    assert caught.value.errors == [
        {"row": 1, "field": "document_number", "message": surrogate.format("D800")},
        {"row": 2, "field": "description", "message": surrogate.format("D800")},
        {"row": 2, "field": "supplier", "message": surrogate.format("DFFF")},
    ]


def test_text_fields_sent_as_something_else_are_refused(w):
    """A JSON object, list or true/false where text is expected is never stored as its repr."""
    with pytest.raises(RowErrors) as caught:
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                _api_row(w, document_number={"a": 1}),
                _api_row(w, document_number="API-2", supplier=[1, 2], description=True),
            ],
        )
    assert caught.value.errors == [
        {"row": 1, "field": "document_number", "message": "must be text, not an object"},
        {"row": 2, "field": "description", "message": "must be text, not true or false"},
        {"row": 2, "field": "supplier", "message": "must be text, not a list"},
    ]
    assert not SpendPosting.objects.exists()
