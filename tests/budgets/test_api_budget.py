import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import BudgetLine, Virement
from tests.budgets.factories import BudgetLineFactory, budget_world
from tests.factories import api_as

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world()


def test_funds_are_scoped_and_others_answer_404(world):
    body = api_as(world.comm_ccg).get("/api/v1/funds/").json()
    assert [f["code"] for f in body["results"]] == ["LP-TEST"]
    assert body["results"][0]["host"] == "TCOUNCIL"
    outsider = api_as(world.comm_outsider)
    assert outsider.get("/api/v1/funds/").json()["results"] == []
    assert outsider.get(f"/api/v1/funds/{world.fund.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/budget-lines/{world.host_line.pk}/").status_code == 404


def test_line_detail_has_an_etag_and_if_match_guards_every_edit(world):
    api = api_as(world.comm_host)
    url = f"/api/v1/budget-lines/{world.host_line.pk}/"
    got = api.get(url)
    assert got["ETag"] == '"1"'
    assert got.json()["phasing"] == ["10000.00"] * 12
    saved = api.patch(
        url, {"annual_budget": "132000.00", "reason": "Uplift"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert saved.status_code == 200
    assert saved["ETag"] == '"2"'
    assert saved.json()["current_budget"] == "132000.00"
    assert saved.json()["phasing"] == ["11000.00"] * 12
    stale = api.patch(url, {"annual_budget": "1.00"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    body = stale.json()
    assert body["code"] == "stale_version"
    assert body["detail"].startswith("This line was changed by Commhost Tester at ")
    assert body["current"]["current_budget"] == "132000.00"
    assert body["version"] == 2
    missing = api.patch(url, {"annual_budget": "1.00"}, format="json")
    assert missing.status_code == 428
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("132000.00")


def test_partner_who_does_not_lead_gets_403_and_outsider_404_on_edit(world):
    url = f"/api/v1/budget-lines/{world.host_line.pk}/"
    assert (
        api_as(world.comm_ccg)
        .patch(url, {"name": "x"}, format="json", HTTP_IF_MATCH='"1"')
        .status_code
        == 403
    )
    assert (
        api_as(world.comm_outsider)
        .patch(url, {"name": "x"}, format="json", HTTP_IF_MATCH='"1"')
        .status_code
        == 404
    )


def test_create_line_and_rephase_and_read_its_history(world):
    api = api_as(world.comm_ccg)
    created = api.post(
        "/api/v1/budget-lines/",
        {
            "fund": world.fund.pk,
            "year": "2016/17",
            "code": "CCG2",
            "name": "IAPT",
            "service_area": "ASC.HOME",
            "lead_commissioner": "TCCG",
            "annual_budget": "1200.00",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    line_id = created.json()["id"]
    rephased = api.post(
        f"/api/v1/budget-lines/{line_id}/rephase/",
        {"method": "custom", "custom": ["0"] * 11 + ["1200.00"], "reason": "Year-end invoice"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert rephased.status_code == 200, rephased.json()
    assert rephased.json()["phasing"][-1] == "1200.00"
    history = api.get(f"/api/v1/budget-lines/{line_id}/history/").json()
    assert history[0]["why"] == "Year-end invoice"
    assert {
        "field": "March",
        "before": "100.00",
        "after": "1200.00",
        "after_text": "£1,200",
    }.items() <= next(h for h in history if h["field_key"] == "m12").items()
    assert history[-1]["action"] == "created"


def test_bad_input_gets_a_400_with_the_message(world):
    api = api_as(world.comm_host)
    response = api.post(
        "/api/v1/budget-lines/",
        {
            "fund": world.fund.pk,
            "year": "2016/17",
            "code": "X",
            "name": "X",
            "service_area": "ASC.HOME",
            "lead_commissioner": "TCOUNCIL",
            "annual_budget": "1,2x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "annual_budget: This amount '1,2x' is not a number."


def test_lifecycle_virement_and_period_endpoints(world):
    host_fin, ccg_fin = api_as(world.fin_host), api_as(world.fin_ccg)
    fund_url = f"/api/v1/funds/{world.fund.pk}/"
    assert host_fin.get(fund_url + "budget/?year=2016/17").json()["status"] == "draft"
    assert (
        ccg_fin.post(fund_url + "submit/", {"year": "2016/17"}, format="json").json()["status"]
        == "submitted"
    )
    assert (
        ccg_fin.post(fund_url + "approve/", {"year": "2016/17"}, format="json").status_code == 403
    )
    assert (
        host_fin.post(fund_url + "approve/", {"year": "2016/17"}, format="json").json()["status"]
        == "approved"
    )

    requested = api_as(world.comm_host).post(
        "/api/v1/virements/",
        {
            "from_line": world.host_line.pk,
            "to_line": world.ccg_line.pk,
            "amount": "6000.00",
            "reason": "Move to community",
            "recurrent": True,
        },
        format="json",
    )
    assert requested.status_code == 201, requested.json()
    assert requested.json()["status"] == "requested"
    vid = requested.json()["id"]
    assert ccg_fin.post(f"/api/v1/virements/{vid}/approve/", {}, format="json").status_code == 403
    applied = host_fin.post(f"/api/v1/virements/{vid}/approve/", {"note": "ok"}, format="json")
    assert applied.json()["status"] == "applied"
    assert Virement.objects.get(pk=vid).status == "applied"
    line = api_as(world.comm_host).get(f"/api/v1/budget-lines/{world.host_line.pk}/").json()
    assert (line["original_budget"], line["changes"], line["current_budget"]) == (
        "120000.00",
        "-6000.00",
        "114000.00",
    )

    big = (
        api_as(world.comm_host)
        .post(
            "/api/v1/virements/",
            {
                "from_line": world.host_line.pk,
                "to_line": world.ccg_line.pk,
                "amount": "60000.00",
                "reason": "Big move",
            },
            format="json",
        )
        .json()
    )
    assert big["status_label"] == "Awaiting board decision"

    closed = host_fin.post(fund_url + "close-period/", {"period": "2016/17-M01"}, format="json")
    assert closed.json() == {"period": "2016/17-M01", "status": "closed"}
    periods = host_fin.get(fund_url + "periods/?year=2016/17").json()
    assert [p["status"] for p in periods[:2]] == ["closed", "open"]
    assert (
        host_fin.post(
            fund_url + "reopen-period/", {"period": "2016/17-M01", "reason": "x"}, format="json"
        ).status_code
        == 403
    )
    reopened = api_as(world.admin).post(
        fund_url + "reopen-period/",
        {"period": "2016/17-M01", "reason": "Late invoice"},
        format="json",
    )
    assert reopened.json()["status"] == "open"
    audit = host_fin.get(fund_url + "period-history/?period=2016/17-M01").json()
    assert [(h["who"], h["why"]) for h in audit if h["field_key"] in ("", "status")] == [
        ("Admin1 Tester", "Reopened: Late invoice"),
        ("Finhost Tester", "Month-end close"),
    ]

    forecast = api_as(world.comm_host).post(
        "/api/v1/forecasts/",
        {
            "line": world.host_line.pk,
            "period": "2016/17-M02",
            "amount": "130000.00",
        },
        format="json",
    )
    assert forecast.status_code == 400
    assert forecast.json()["field"] == "commentary"
    suggested = (
        api_as(world.comm_host)
        .get(f"/api/v1/budget-lines/{world.host_line.pk}/suggested-forecast/?period=2016/17-M02")
        .json()
    )
    assert suggested["suggested"] == "95000.00"

    adj = host_fin.post(
        "/api/v1/budget-adjustments/",
        {"line": world.ccg_line.pk, "amount": "1000.00", "reason": "Grant"},
        format="json",
    )
    assert adj.status_code == 201, adj.json()
    assert adj.json()["period"] == "2016/17-M01"


def test_contributions_and_risk_share_endpoints(world):
    api = api_as(world.fin_host)
    rows = api.get(f"/api/v1/contributions/?fund={world.fund.pk}").json()["results"]
    assert [(r["partner"], r["amount"]) for r in rows] == [
        ("TCCG", "400000.00"),
        ("TCOUNCIL", "600000.00"),
    ]
    created = api.post(
        "/api/v1/contributions/",
        {"fund": world.fund.pk, "year": "2016/17", "partner": "TCCG", "amount": "400000.02"},
        format="json",
    )
    assert [i["amount"] for i in created.json()["instalments"]] == [
        "100000.01",
        "100000.01",
        "100000.00",
        "100000.00",
    ]
    fixed = api.post(
        f"/api/v1/funds/{world.fund.pk}/fix-shares/", {"year": "2016/17"}, format="json"
    ).json()
    assert [c["share"] for c in fixed] == ["0.40000001", "0.59999999"]
    bad = api.post(
        "/api/v1/risk-share-agreements/",
        {
            "fund": world.fund.pk,
            "year": "2016/17",
            "rule": "fixed",
            "parameters": {"percentages": {"TCOUNCIL": "50", "TCCG": "49"}},
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Fixed percentages must add up to 100; they add up to 99.00."
    good = api.post(
        "/api/v1/risk-share-agreements/",
        {
            "fund": world.fund.pk,
            "year": "2016/17",
            "rule": "threshold",
            "parameters": {"host_first_pct": "1.5"},
        },
        format="json",
    )
    assert good.status_code == 201
    history = api.get(f"/api/v1/risk-share-agreements/{good.json()['id']}/history/").json()
    assert history[0]["who"] == "Finhost Tester"


def test_budget_upload_through_the_api(world):
    api = api_as(world.fin_host)
    header = "line_code,name,service_area,locality,lead_commissioner,annual_budget,phasing"
    data = io.BytesIO(f"{header}\nUP1,Uploaded,ASC.HOME,,TCCG,1200.00,flat\n".encode())
    data.name = "budget.csv"
    response = api.post(
        "/api/v1/budget-imports/",
        {"file": data, "fund": "LP-TEST", "year": "2016/17"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 1
    bad = io.BytesIO(f"{header}\nUP2,Uploaded,ASC.HOME,,TCCG,1.2.3,flat\n".encode())
    bad.name = "bad.csv"
    response = api.post(
        "/api/v1/budget-imports/",
        {"file": bad, "fund": "LP-TEST", "year": "2016/17"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 2, "field": "annual_budget", "message": "'1.2.3' is not a number"}
    ]


def test_lines_list_uses_a_constant_number_of_queries(world):
    api = api_as(world.comm_host)
    url = f"/api/v1/budget-lines/?fund={world.fund.pk}"
    api.get(url)  # the user's roles are read once and cached
    with CaptureQueriesContext(connection) as few:
        assert api.get(url).status_code == 200
    for _ in range(20):
        BudgetLineFactory(fund=world.fund, year=world.year, service_area=world.area)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(url).json()["results"]) == 22
    assert len(many) == len(few)


def test_phasing_preview_changes_nothing(world):
    api = api_as(world.comm_ccg)
    url = f"/api/v1/budget-lines/{world.host_line.pk}/phasing-preview/"
    body = api.get(url, {"method": "seasonal"}).json()
    assert body["method"] == "seasonal"
    assert body["phasing"][9] == "11800.00"
    fallback = api.get(url, {"method": "last_year", "amount": "1200"}).json()
    assert (fallback["method"], fallback["phasing"][0]) == ("flat", "100.00")
    assert "phased flat instead" in fallback["note"]
    assert api.get(url, {"method": "weekly"}).status_code == 400
    assert BudgetLine.objects.get(pk=world.host_line.pk).version == 1
