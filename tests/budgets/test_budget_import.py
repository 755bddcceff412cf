import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from budgets.models import BudgetLine, FundBudget
from budgets.planning.services.budget_upload import FULL_HEADER, import_budget_file
from budgets.planning.services.funds import BudgetNotDraft
from gmhsc.errors import ApplicationError, NotFound, RowErrors
from tests.budgets.factories import budget_world
from tests.factories import LocalityFactory

D = Decimal
pytestmark = pytest.mark.django_db
HEADER = ",".join(FULL_HEADER)


@pytest.fixture
def world():
    w = budget_world()
    LocalityFactory(gss_code="E08000003", name="Manchester")
    return w


def csv_bytes(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\ufeff" + "\n".join([header, *rows]) + "\n").encode("utf-8"))


def run(world, data, actor=None):
    return import_budget_file(
        actor=actor or world.fin_host, fund=world.fund, year=world.year, file=data
    )


GOOD = [
    "NEW1,Reablement,ASC.HOME,E08000003,TCOUNCIL,24000.00,flat" + "," * 12,
    "NEW2,Winter beds,ASC.HOME,manchester,TCCG,120000,seasonal" + "," * 12,
    "NEW3,Equipment,ASC.HOME,,TCCG,1200.00,custom," + ",".join(["50"] * 6 + ["150"] * 6),
    "HC01,Home care (revised),ASC.HOME,,TCOUNCIL,130000.00,flat" + "," * 12,
]


def test_valid_file_creates_and_updates_draft_lines(world):
    result = run(world, csv_bytes(*GOOD))
    assert (result.rows, result.created, result.updated, result.total) == (4, 3, 1, D("275200.00"))
    new1 = BudgetLine.objects.get(code="NEW1")
    assert new1.phasing == [D("2000.00")] * 12
    assert new1.locality.name == "Manchester"
    assert BudgetLine.objects.get(code="NEW2").phasing[9] == D("11800.00")
    assert BudgetLine.objects.get(code="NEW3").phasing == [D("50.00")] * 6 + [D("150.00")] * 6
    hc = BudgetLine.objects.get(code="HC01")
    assert (hc.name, hc.current_budget, hc.version) == ("Home care (revised)", D("130000.00"), 2)
    assert hc.history.latest().history_change_reason == "Budget upload"


def test_header_without_month_columns_is_accepted(world):
    header = ",".join(FULL_HEADER[:7])
    result = run(world, csv_bytes("NEW9,Carers,ASC.HOME,,TCCG,12.00,", header=header))
    assert result.created == 1
    assert BudgetLine.objects.get(code="NEW9").phasing == [D("1.00")] * 12


def test_every_bad_row_is_reported_by_row_and_field_and_nothing_is_written(world):
    rows = [
        GOOD[0],
        "NEW1,Duplicate,ASC.HOME,,TCOUNCIL,1.00,flat" + "," * 12,
        "NEWX,too,few",
        "NEW4,Bad money,ASC.HOME,,TCCG,1.005,weekly" + "," * 12,
        "NEW5,Bad custom,ASC.HOME,,TCCG,1200.00,custom," + ",".join(["100"] * 11 + ["99.99"]),
        "NEW6,Months on flat,ASC.HOME,,TCCG,1200.00,flat," + ",".join(["100"] * 12),
    ]
    with pytest.raises(RowErrors) as err:
        run(world, csv_bytes(*rows))
    problems = {(e["row"], e["field"]) for e in err.value.errors}
    assert problems == {
        (3, "line_code"),
        (4, "row"),
        (5, "annual_budget"),
        (5, "phasing"),
        (6, "phasing"),
        (7, "phasing"),
    }
    messages = {(e["row"], e["field"]): e["message"] for e in err.value.errors}
    assert messages[(3, "line_code")] == "NEW1 is already on row 2"
    assert messages[(5, "annual_budget")] == "'1.005' has more than 2 decimal places"
    assert messages[(6, "phasing")] == "m01..m12 add up to 1199.99, not 1200.00"
    assert not BudgetLine.objects.filter(code__startswith="NEW").exists()


def test_unknown_references_are_named(world):
    with pytest.raises(RowErrors) as err:
        run(world, csv_bytes(",Nothing,NOPE,Atlantis,TOTHER,1.00,flat" + "," * 12))
    messages = {e["field"]: e["message"] for e in err.value.errors}
    assert messages == {
        "line_code": "is empty",
        "service_area": "unknown service area 'NOPE'",
        "locality": "unknown locality 'Atlantis'",
        "lead_commissioner": "'TOTHER' is not a partner organisation of LP-TEST",
    }


def test_wrong_header_empty_and_binary_files_are_refused(world):
    with pytest.raises(RowErrors) as err:
        run(world, csv_bytes(GOOD[0], header="code,name"))
    assert err.value.errors[0]["field"] == "header"
    with pytest.raises(ApplicationError, match="empty"):
        run(world, io.BytesIO(b""))
    with pytest.raises(ApplicationError, match="not a CSV text file"):
        run(world, io.BytesIO(b"\x89PNG\x00\x00\x00"))


def test_approved_budget_refuses_an_upload(world):
    FundBudget.objects.filter(fund=world.fund).update(status=FundBudget.Status.APPROVED)
    with pytest.raises(BudgetNotDraft):
        run(world, csv_bytes(GOOD[0]))


def test_commissioner_uploads_only_lines_their_organisation_leads(world):
    with pytest.raises(RowErrors, match="only lines your organisation leads"):
        run(world, csv_bytes(*GOOD), actor=world.comm_host)
    result = run(world, csv_bytes(GOOD[0]), actor=world.comm_host)
    assert result.created == 1
    with pytest.raises(NotFound):
        run(world, csv_bytes(GOOD[0]), actor=world.comm_outsider)


def test_management_command(world, tmp_path, capsys):
    path = tmp_path / "budget.csv"
    path.write_bytes(csv_bytes(*GOOD).getvalue())
    call_command("import_budget", str(path), "--fund", "LP-TEST", "--year", "2016/17")
    assert (
        "LP-TEST 2016/17: 4 lines (3 new, 1 updated), total 275200.00." in capsys.readouterr().out
    )
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("NEW8,x,ASC.HOME,,TCCG,abc,flat" + "," * 12).getvalue())
    with pytest.raises(CommandError, match="1 problem found"):
        call_command("import_budget", str(bad), "--fund", "LP-TEST", "--year", "2016/17")
    assert "row 2, annual_budget: 'abc' is not a number" in capsys.readouterr().err
    assert not BudgetLine.objects.filter(code="NEW8").exists()


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("1" * 30, f"'{'1' * 30}' is too large"),
        ("1e400", "'1e400' is written with an exponent; write the amount in full, like 100000.00"),
        ("1e5", "'1e5' is written with an exponent; write the amount in full, like 100000.00"),
        ("Infinity", "'Infinity' is not a number"),
    ],
)
def test_the_command_refuses_huge_and_exponent_amounts_without_a_traceback(
    world, tmp_path, capsys, amount, problem
):
    """Issue 21 items 1 and 6: a 30-digit annual_budget was a traceback (decimal.InvalidOperation
    escaped the parser), and 1e5 was imported as £100,000."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(f"NEW9,x,ASC.HOME,,TCCG,{amount},flat" + "," * 12).getvalue())
    with pytest.raises(CommandError, match="1 problem found; nothing was imported"):
        call_command("import_budget", str(bad), "--fund", "LP-TEST", "--year", "2016/17")
    assert f"row 2, annual_budget: {problem}" in capsys.readouterr().err
    assert not BudgetLine.objects.filter(code="NEW9").exists()
