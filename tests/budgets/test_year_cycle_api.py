"""The financial year cycle through its commands, API endpoints and pages."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from budgets.figures.recompute import recompute_fund_now
from budgets.models import (
    BudgetLine,
    FinancialYear,
    Period,
    YearEnd,
)
from budgets.planning.services.years import financial_year_open
from gmhsc.errors import ApplicationError
from tests.budgets.factories import (
    close_months_by_service,
    make_year,
    spend_every_month,
    year_cycle_world,
)
from tests.factories import api_as

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return year_cycle_world()


def closed_year(w):
    spend_every_month(w, "10500.00", "5000.00")
    close_months_by_service(w)


# ---- opening years ----------------------------------------------------------------------------


def test_open_financial_year_command_is_idempotent(world):
    out = io.StringIO()
    call_command("open_financial_year", "2018/19", "--user", world.admin.username, stdout=out)
    assert "2018/19 opened: 1 April 2018 to 31 March 2019, 13 periods." in out.getvalue()
    call_command("open_financial_year", "2018/19", "--user", world.admin.username, stdout=out)
    assert "2018/19 was already open" in out.getvalue()
    year = FinancialYear.objects.get(code="2018/19")
    assert [p.code for p in year.periods.order_by("number")][-2:] == ["2018/19-M12", "2018/19-M13"]
    m13 = Period.objects.get(year=year, number=13)
    assert (m13.start_date.isoformat(), m13.end_date.isoformat()) == ("2019-03-31", "2019-03-31")
    assert year.history.first().history_user == world.admin


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("2018/20", "the years must be consecutive, like 2018/19"),
        ("18/19", "write it like 2017/18"),
        ("2018-19", "write it like 2017/18"),
        ("2299/00", "outside the years gmhsc keeps"),
    ],
)
def test_a_year_not_written_yyyy_yy_with_consecutive_years_is_refused(world, code, message):
    with pytest.raises(ApplicationError, match=message):
        financial_year_open(actor=world.admin, code=code)
    with pytest.raises(CommandError, match=message):
        call_command("open_financial_year", code, "--user", world.admin.username)
    assert not FinancialYear.objects.filter(code=code).exists()


def test_financial_years_api(world):
    created = api_as(world.admin).post(
        "/api/v1/financial-years/", {"code": "2019/20"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["periods"][0] == "2019/20-M01"
    again = api_as(world.admin).post("/api/v1/financial-years/", {"code": "2019/20"}, format="json")
    assert again.status_code == 200
    refused = api_as(world.fin_host).post(
        "/api/v1/financial-years/", {"code": "2020/21"}, format="json"
    )
    assert refused.status_code == 403
    bad = api_as(world.admin).post("/api/v1/financial-years/", {"code": "2020/22"}, format="json")
    assert bad.status_code == 400
    assert "consecutive" in bad.json()["detail"]
    codes = [y["code"] for y in api_as(world.comm_ccg).get("/api/v1/financial-years/").json()]
    assert codes == ["2015/16", "2016/17", "2019/20"]


# ---- budget setting ---------------------------------------------------------------------------


def test_roll_forward_api_and_comparison(world):
    w = world
    make_year("2017/18")
    body = {
        "year": "2017/18",
        "uplift_pct": "2.10",
        "efficiency_pct": "1.50",
        "contribution_uplift_pct": "1.00",
    }
    assert (
        api_as(w.fin_outsider)
        .post(f"/api/v1/funds/{w.fund.pk}/roll-forward/", body, format="json")
        .status_code
        == 404
    )
    assert (
        api_as(w.comm_host)
        .post(f"/api/v1/funds/{w.fund.pk}/roll-forward/", body, format="json")
        .status_code
        == 403
    )
    response = api_as(w.fin_host).post(
        f"/api/v1/funds/{w.fund.pk}/roll-forward/", body, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    # HC01 120,000 and CH01 60,000, both recurrent: x 1.006.
    assert (data["prior_recurrent_total"], data["new_total"], data["lines_carried"]) == (
        "180000.00",
        "181080.00",
        2,
    )
    again = api_as(w.fin_host).post(f"/api/v1/funds/{w.fund.pk}/roll-forward/", body, format="json")
    assert again.status_code == 409
    assert "replace the draft" in again.json()["detail"]
    comparison = (
        api_as(w.comm_ccg).get(f"/api/v1/funds/{w.fund.pk}/budget-setting/?year=2017/18").json()
    )
    hc01 = next(line for line in comparison["lines"] if line["code"] == "HC01")
    assert (
        hc01["this_year_budget"],
        hc01["prior_recurrent_budget"],
        hc01["uplift"],
        hc01["efficiency"],
        hc01["next_year_draft"],
        hc01["change"],
    ) == (
        "120000.00",
        "120000.00",
        "2520.00",
        "1800.00",
        "120720.00",
        "720.00",
    )


def test_budget_setting_page_rolls_forward_through_the_form(world, client):
    w = world
    make_year("2017/18")
    client.force_login(w.fin_host)
    url = f"/budgets/funds/{w.fund.pk}/budget-setting/?year=2017/18"
    page = client.get(url)
    assert page.status_code == 200
    assert "Budget setting 2017/18" in page.content.decode()
    refused = client.post(url, {"uplift_pct": "-101", "efficiency_pct": "1"})
    assert refused.status_code == 200
    assert "cannot be below -100%" in refused.content.decode()
    assert not BudgetLine.objects.filter(year__code="2017/18").exists()
    done = client.post(
        url,
        {
            "uplift_pct": "2.10",
            "efficiency_pct": "1.50",
            "area-ASC.HOME-uplift": "3",
            "area-ASC.HOME-efficiency": "1",
        },
    )
    assert done.status_code == 302
    # ASC.HOME's own rates: x 1.02.
    assert BudgetLine.objects.get(year__code="2017/18", code="HC01").current_budget == D(
        "122400.00"
    )
    shown = client.get(url).content.decode()
    assert "122,400.00" in shown
    client.force_login(w.comm_ccg)
    assert client.post(url, {"uplift_pct": "1"}).status_code == 403
    client.force_login(w.fin_outsider)
    assert client.get(url).status_code == 404


# ---- receipts and savings -----------------------------------------------------------------------


def test_receipts_api(world):
    w = world
    body = {
        "fund": w.fund.pk,
        "year": "2016/17",
        "partner": "TCCG",
        "amount": "50000.00",
        "received_on": "2016-04-04",
        "reference": "BACS 1",
    }
    response = api_as(w.fin_host).post("/api/v1/contribution-receipts/", body, format="json")
    assert response.status_code == 201
    assert response.json()["amount"] == "50000.00"
    too_much = api_as(w.fin_host).post(
        "/api/v1/contribution-receipts/", {**body, "amount": "350000.01"}, format="json"
    )
    assert too_much.status_code == 400
    assert "still owes" in too_much.json()["detail"]
    assert (
        api_as(w.fin_ccg).post("/api/v1/contribution-receipts/", body, format="json").status_code
        == 403
    )
    listed = api_as(w.comm_ccg).get(f"/api/v1/contribution-receipts/?fund={w.fund.pk}").json()
    assert [r["reference"] for r in listed["results"]] == ["BACS 1"]
    history = (
        api_as(w.comm_ccg)
        .get(f"/api/v1/contribution-receipts/{listed['results'][0]['id']}/history/")
        .json()
    )
    assert history[0]["why"] == "Receipt BACS 1 recorded"
    assert (
        api_as(w.comm_outsider)
        .get(f"/api/v1/contribution-receipts/?fund={w.fund.pk}")
        .json()["results"]
        == []
    )


def test_savings_api(world):
    w = world
    body = {
        "fund": w.fund.pk,
        "year": "2016/17",
        "code": "CIP-1",
        "name": "Home care rates",
        "lead_commissioner": "TCOUNCIL",
        "lines": ["HC01"],
        "planned": ["500.00"] * 12,
    }
    created = api_as(w.comm_host).post("/api/v1/savings-schemes/", body, format="json")
    assert created.status_code == 201
    scheme = created.json()
    assert scheme["lines"] == ["HC01"]
    delivered = api_as(w.comm_host).post(
        f"/api/v1/savings-schemes/{scheme['id']}/deliveries/",
        {"month": "1", "amount": "450.00"},
        format="json",
    )
    assert delivered.json()["deliveries"] == {"M01": "450.00"}
    other_fund = api_as(w.comm_host).post(
        "/api/v1/savings-schemes/", {**body, "code": "CIP-2", "lines": ["NOPE"]}, format="json"
    )
    assert other_fund.status_code == 400
    history = api_as(w.comm_ccg).get(f"/api/v1/savings-schemes/{scheme['id']}/history/").json()
    assert {h["why"] for h in history} >= {"Savings scheme created", "Delivered in M01: 450.00"}
    assert (
        api_as(w.comm_outsider).get(f"/api/v1/savings-schemes/{scheme['id']}/").status_code == 404
    )


# ---- year end --------------------------------------------------------------------------------------


def test_close_year_api_settlement_and_memorandum_account(world):
    w = world
    closed_year(w)
    url = f"/api/v1/funds/{w.fund.pk}/close-year/"
    assert api_as(w.fin_ccg).post(url, {"year": "2016/17"}, format="json").status_code == 403
    response = api_as(w.fin_host).post(url, {"year": "2016/17"}, format="json")
    assert response.status_code == 201
    data = response.json()
    # Outturn 186,000 against 180,000: 6,000 shared 60:40.
    assert (
        data["variance"],
        [(s["partner"], s["variance_share"], s["net_due"]) for s in data["settlement"]],
    ) == (
        "6000.00",
        [("TCOUNCIL", "3600.00", "603600.00"), ("TCCG", "2400.00", "402400.00")],
    )
    settlement = (
        api_as(w.comm_ccg).get(f"/api/v1/funds/{w.fund.pk}/settlement/?year=2016/17").json()
    )
    assert settlement["run"] == 1
    account = (
        api_as(w.comm_ccg).get(f"/api/v1/funds/{w.fund.pk}/memorandum-account/?year=2016/17").json()
    )
    assert (account["frozen"], account["variance"], len(account["checksum"])) == (
        True,
        "6000.00",
        64,
    )
    quarter = (
        api_as(w.comm_ccg)
        .get(f"/api/v1/funds/{w.fund.pk}/memorandum-account/?year=2016/17&quarter=2")
        .json()
    )
    assert (quarter["frozen"], quarter["scope"], quarter["end"]) == (False, "Q2", "2016-09-30")
    assert (
        api_as(w.fin_host)
        .post(
            f"/api/v1/funds/{w.fund.pk}/reopen-year/",
            {"year": "2016/17", "reason": "x"},
            format="json",
        )
        .status_code
        == 403
    )
    reopened = api_as(w.admin).post(
        f"/api/v1/funds/{w.fund.pk}/reopen-year/",
        {"year": "2016/17", "reason": "Audit"},
        format="json",
    )
    assert reopened.json()["status"] == "reopened"


def test_close_year_command_and_exports(world, tmp_path):
    w = world
    closed_year(w)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Only the host's finance officer"):
        call_command(
            "close_financial_year",
            "--fund",
            "LP-TEST",
            "--year",
            "2016/17",
            "--user",
            w.fin_ccg.username,
        )
    call_command(
        "close_financial_year",
        "--fund",
        "LP-TEST",
        "--year",
        "2016/17",
        "--user",
        w.fin_host.username,
        stdout=out,
    )
    assert (
        "LP-TEST 2016/17 closed (run 1): budget 180000.00, outturn 186000.00, variance 6000.00."
        in out.getvalue()
    )
    call_command(
        "export_settlement",
        "--fund",
        "LP-TEST",
        "--year",
        "2016/17",
        "--output",
        str(tmp_path / "statements"),
        stdout=out,
    )
    assert sorted(p.name for p in (tmp_path / "statements").iterdir()) == [
        "LP-TEST-settlement-2016-17-TCCG.pdf",
        "LP-TEST-settlement-2016-17-TCOUNCIL.pdf",
    ]
    call_command(
        "export_memorandum_account",
        "--fund",
        "LP-TEST",
        "--year",
        "2016/17",
        "--format",
        "xlsx",
        "--output",
        str(tmp_path / "m.xlsx"),
        stdout=out,
    )
    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    assert book.sheetnames == ["Income", "By service area", "By locality", "Sharing", "Notes"]
    sharing = list(book["Sharing"].iter_rows(values_only=True))
    assert sharing[1][:3] == ("Test Council", "TCOUNCIL", 3600)
    assert book["Sharing"]["C2"].number_format == "£#,##0.00;(£#,##0.00)"


def test_year_end_pages(world, client):
    w = world
    closed_year(w)
    page = f"/budgets/funds/{w.fund.pk}/year-end/?year=2016/17"
    client.force_login(w.fin_host)
    shown = client.get(page).content.decode()
    assert "The settlement if the year closed now" in shown
    assert client.post(page, {"year": "2016/17"}).status_code == 302
    assert YearEnd.objects.get(fund=w.fund).status == "closed"
    client.force_login(w.comm_ccg)
    statement = client.get(f"/budgets/funds/{w.fund.pk}/year-end/statements/TCCG/?year=2016/17")
    assert statement["Content-Type"] == "application/pdf"
    assert statement.content.startswith(b"%PDF")
    xlsx = client.get(f"/budgets/funds/{w.fund.pk}/memorandum-account/?year=2016/17&format=xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content))["Income"]["A1"].value == "Partner"
    recompute_fund_now(w.fund, full=True)
    years = client.get(f"/budgets/funds/{w.fund.pk}/years/").content.decode()
    assert "Closed, settled" in years
    line = client.get(f"/budgets/lines/{w.host_line.pk}/").content.decode()
    assert "Across years" in line
    assert "£126,000" in line
    client.force_login(w.fin_outsider)
    assert client.get(page).status_code == 404
    assert (
        client.get(f"/budgets/funds/{w.fund.pk}/year-end/statements/TCCG/?year=2016/17").status_code
        == 404
    )


def test_variance_report_dashboard_and_pack_show_savings_and_overdue_instalments(world):
    from boards.dashboard import Dashboard, build_dashboard
    from budgets.planning.services.savings import savings_delivery_record, savings_scheme_create
    from budgets.reports.variance import compute_variance_report
    from tests.boards.factories import BoardFactory

    w = world
    scheme = savings_scheme_create(
        actor=w.comm_host,
        fund=w.fund,
        year=w.year,
        code="CIP-1",
        name="Home care rates",
        lead_commissioner=w.host,
        lines=[w.host_line],
        planned=["1000.00"] * 12,
    )
    savings_delivery_record(actor=w.comm_host, scheme=scheme, month=1, amount="600.00")
    close_months_by_service(w, through=4)
    recompute_fund_now(w.fund, full=True)
    report = compute_variance_report(fund=w.fund, period=Period.objects.get(year=w.year, number=1))
    # Planned 1,000 to M1, delivered 600: shortfall 400 = 40% -> red; at risk 400.
    assert [
        (e.code, e.planned_to_date, e.delivered_to_date, e.at_risk, e.rag) for e in report.savings
    ] == [
        ("CIP-1", D("1000.00"), D("600.00"), D("400.00"), "red"),
    ]
    board = BoardFactory(code="T-JCB")
    board.funds.add(w.fund)
    dash = build_dashboard(board)
    # The dashboard shows M4 (the latest position is M12 of 2016/17 before the context selector;
    # savings are rated at the dashboard's month): planned 12,000, delivered 600.
    assert [(s.fund_code, s.planned_year, s.delivered_to_date) for s in dash.savings] == [
        ("LP-TEST", D("12000.00"), D("600.00")),
    ]
    # No receipts: as at the end of M4 (31 July 2016) the April and July instalments are overdue.
    assert [(o.partner, o.due_date.isoformat(), o.outstanding) for o in dash.overdue] == [
        ("Test CCG", "2016-04-01", D("100000.00")),
        ("Test Council", "2016-04-01", D("150000.00")),
        ("Test CCG", "2016-07-01", D("100000.00")),
        ("Test Council", "2016-07-01", D("150000.00")),
    ]
    frozen = Dashboard.from_json(dash.to_json())
    assert frozen.overdue == dash.overdue
    assert frozen.savings == dash.savings
