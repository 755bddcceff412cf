"""Commissioning pages and API: thin layers over the services, scoped to the user's funds."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from commissioning import services
from commissioning.models import Contract, ContractCommitment, ContractDecision, Provider
from tests.commissioning.helpers import (
    award_decision,
    bcf_scheme,
    commissioning_world,
    contract_kwargs,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world():
    return commissioning_world()


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_commissioner_creates_a_contract_through_the_form(world):
    client = _client(world.comm_host)
    url = reverse("commissioning:contract-create", args=[world.fund.pk])
    page = client.get(url)
    assert page.status_code == 200
    # Only lines the council leads are offered (not CH01).
    assert b"HC01" in page.content
    assert b"CH01" not in page.content
    data = {
        "reference": "C-WEB",
        "title": "Home care",
        "service": world.service.pk,
        "provider": world.provider.pk,
        "value": "36,000",
        # GOV.UK date inputs: day, month and year
        "start_date_day": "1",
        "start_date_month": "10",
        "start_date_year": "2016",
        "end_date_day": "30",
        "end_date_month": "9",
        "end_date_year": "2017",
        "status": "active",
        "line_1": world.host_line.pk,
        "amount_1": "24000",
        "line_2": world.second_line.pk,
        "amount_2": "12000",
    }
    response = client.post(url, data)
    contract = Contract.objects.get(reference="C-WEB")
    assert response.status_code == 302
    assert response["Location"] == reverse("commissioning:contract-detail", args=[contract.pk])
    detail = client.get(response["Location"])
    assert b"\xc2\xa336,000<" in detail.content

    # A profile that does not add up is shown beside the value and nothing is saved.
    data.update(reference="C-BAD", amount_2="11999.99")
    response = client.post(url, data)
    assert response.status_code == 200
    assert b"adds up to \xc2\xa335,999.99" in response.content
    assert not Contract.objects.filter(reference="C-BAD").exists()


def test_other_organisations_contract_pages_answer_404(world):
    contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    outsider = _client(world.comm_outsider)
    assert (
        outsider.get(reverse("commissioning:contract-detail", args=[contract.pk])).status_code
        == 404
    )
    assert (
        outsider.get(reverse("commissioning:contract-create", args=[world.fund.pk])).status_code
        == 404
    )
    api = outsider.get(f"/api/v1/contracts/{contract.pk}/")
    assert api.status_code == 404
    assert outsider.get("/api/v1/contracts/").json()["results"] == []


def test_contract_list_query_count_is_flat(world, django_assert_max_num_queries):
    for i in range(5):
        services.contract_create(
            actor=world.comm_host, **contract_kwargs(world, reference=f"C-{i:03d}")
        )
    client = _client(world.comm_host)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("commissioning:contract-list"))
    assert response.status_code == 200
    assert response.content.count(b"Acme Care Ltd") == 5


def test_register_csv_and_pipeline(world):
    contract = services.contract_create(
        actor=world.comm_host, **contract_kwargs(world, status="planned")
    )
    award_decision(
        world.comm_host,
        contract,
        "36000.00",
        summary="Award",
        participants="Head of commissioning\nFinance lead",
        conflicts_declared="None of note",
        conflicts_handling="Recorded",
    )
    client = _client(world.fin_ccg)
    body = client.get(reverse("commissioning:decision-register-csv")).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["Contract reference", "Service", "Provider"]
    assert rows[1][0] == "C-001"
    assert rows[1][10] == "Head of commissioning; Finance lead"
    assert rows[1][8] == "Officer within delegation"

    page = client.get(reverse("commissioning:pipeline") + "?as_of=2017-06-01")
    # Ends 30 September 2017: within 6 months of 1 June 2017.
    assert page.context["pipeline"].value_6 == D("36000.00")
    assert client.get(reverse("commissioning:pipeline") + "?as_of=2017-10-01").context[
        "pipeline"
    ].value_12 == D("0")
    api = client.get("/api/v1/contracts/pipeline/?as_of=2016-12-01").json()
    assert api["value_6"] == "0.00"
    assert api["value_12"] == "36000.00"
    assert api["groups"][0]["within_12"][0]["reference"] == "C-001"


def test_api_creates_a_contract_and_refuses_bad_input_naming_the_field(world):
    client = _client(world.comm_host)
    body = {
        "fund": "LP-TEST",
        "year": "2016/17",
        "reference": "C-API",
        "title": "Home care",
        "service": world.service.pk,
        "provider": world.provider.pk,
        "value": "36000.00",
        "start_date": "2016-10-01",
        "end_date": "2017-09-30",
        "status": "active",
        "lines": [
            {"line": world.host_line.pk, "amount": "24000.00"},
            {"line": world.second_line.pk, "months": {str(n): "2000.00" for n in range(7, 13)}},
        ],
    }
    response = client.post("/api/v1/contracts/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["value"] == "36000.00"
    assert {p["line_code"]: p["months"]["7"] for p in data["profile"]} == {
        "HC01": "4000.00",
        "HC02": "2000.00",
    }
    for change, field in [
        ({"reference": "C-2", "end_date": "2016-01-01"}, "end_date"),
        ({"reference": "C-3", "value": "-1.00"}, "value"),
        ({"reference": "C-4", "provider": 999999}, "provider"),
        ({"reference": "C-5", "value": "35000.00"}, "profile"),
    ]:
        response = client.post(
            "/api/v1/contracts/", {**body, **change}, content_type="application/json"
        )
        assert response.status_code == 400, change
        assert response.json()["field"] == field
    assert Contract.objects.count() == 1


def test_api_decision_and_provider(world):
    contract = services.contract_create(
        actor=world.comm_host, **contract_kwargs(world, status="planned")
    )
    client = _client(world.comm_host)
    response = client.post(
        f"/api/v1/contracts/{contract.pk}/decisions/",
        {"kind": "award", "value": "90000.00", "summary": "Award", "participants": "Chair"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "awaiting_board"
    assert response.json()["decided_on"] is None
    assert ContractDecision.objects.get().route == "board"
    response = client.post(
        "/api/v1/providers/",
        {"name": "Carers Trust", "kind": "voluntary"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Provider.objects.filter(name="Carers Trust").exists()
    refused = _client(world.fin_host).post(
        "/api/v1/providers/", {"name": "X", "kind": "voluntary"}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_bcf_page_and_return_download(world):
    world.fund.is_bcf = True
    world.fund.save()
    bcf_scheme(world, "S01", "1000.00", {1: "250.00"}, name="Reablement", lead_commissioner="la")
    client = _client(world.comm_ccg)
    assert client.get(reverse("commissioning:bcf-fund", args=[world.fund.pk])).status_code == 200
    response = client.get(
        reverse("commissioning:bcf-return", args=[world.fund.pk]) + "?quarter=1&year=2016/17"
    )
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb["Income and expenditure"]["B4"].value == "Q1"
    outsider = _client(world.comm_outsider)
    assert (
        outsider.get(reverse("commissioning:bcf-return", args=[world.fund.pk])).status_code == 404
    )


def test_status_change_from_the_page(world):
    contract = services.contract_create(
        actor=world.comm_host, **contract_kwargs(world, status="planned")
    )
    url = reverse("commissioning:contract-status", args=[contract.pk])
    assert _client(world.comm_ccg).post(url, {"status": "active"}).status_code == 404
    assert _client(world.comm_host).post(url, {"status": "active"}).status_code == 302
    assert Contract.objects.get(pk=contract.pk).status == "active"
    assert contract.start_date == dt.date(2016, 10, 1)


def test_contract_edit_page_and_api_rewrite_the_profile(world):
    contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    url = reverse("commissioning:contract-edit", args=[contract.pk])
    client = _client(world.comm_host)
    form = client.get(url)
    assert form.context["form"].initial["amount_1"] == D("24000.00")
    assert _client(world.comm_ccg).get(url).status_code == 404
    response = client.post(
        url,
        {
            "title": "Home care framework",
            "value": "6000",
            "start_date": "2017-01-01",
            "end_date": "2017-03-31",
            "line_1": world.host_line.pk,
            "amount_1": "6000",
        },
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.value == D("6000.00")
    assert {
        (c.contract_line.line.code, c.period_number, c.amount)
        for c in ContractCommitment.objects.select_related("contract_line__line")
    } == {("HC01", 10, D("2000.00")), ("HC01", 11, D("2000.00")), ("HC01", 12, D("2000.00"))}

    api = client.post(
        f"/api/v1/contracts/{contract.pk}/profile/",
        {
            "value": "3000.00",
            "start_date": "2017-01-01",
            "end_date": "2017-03-31",
            "lines": [{"line": world.second_line.pk, "months": {"12": "3000.00"}}],
        },
        content_type="application/json",
    )
    assert api.status_code == 200, api.json()
    assert api.json()["profile"] == [
        {"line": world.second_line.pk, "line_code": "HC02", "months": {"12": "3000.00"}}
    ]
    refused = _client(world.comm_ccg).post(
        f"/api/v1/contracts/{contract.pk}/profile/", {}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_conditions_and_metrics_from_the_bcf_page(world):
    from commissioning.models import BcfCondition, BcfMetric

    world.fund.is_bcf = True
    world.fund.save()
    client = _client(world.comm_host)
    page = reverse("commissioning:bcf-fund", args=[world.fund.pk])
    response = client.post(
        reverse("commissioning:bcf-condition-set", args=[world.fund.pk]),
        {"year": "2016/17", "number": "8", "status": "partially_met", "commentary": "Plan agreed"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{page}?year=2016/17"
    client.post(
        reverse("commissioning:bcf-metric-set", args=[world.fund.pk]),
        {"year": "2016/17", "code": "BCF4", "quarter": "2", "plan": "230", "actual": "241.5"},
    )
    assert BcfCondition.objects.get().status == "partially_met"
    metric = BcfMetric.objects.get()
    assert (metric.code, metric.quarter, metric.plan, metric.actual) == (
        "BCF4",
        2,
        D("230.00"),
        D("241.50"),
    )
    assert b"241.50" in client.get(page).content
    outsider = _client(world.comm_outsider).post(
        reverse("commissioning:bcf-metric-set", args=[world.fund.pk]),
        {"year": "2016/17", "code": "BCF4", "quarter": "2", "plan": "1"},
    )
    assert outsider.status_code == 404
    assert BcfMetric.objects.get().plan == D("230.00")


def test_contract_page_shows_its_history_and_the_api_list_query_count_is_flat(
    world, django_assert_max_num_queries
):
    contract = services.contract_create(
        actor=world.comm_host, **contract_kwargs(world, status="planned")
    )
    services.contract_status_set(actor=world.comm_host, contract=contract, status="active")
    client = _client(world.comm_host)
    page = client.get(reverse("commissioning:contract-detail", args=[contract.pk]))
    history = page.context["history"]
    assert (history[0]["field"], history[0]["after_text"]) == ("Status", "Active")
    assert (history[0]["before"], history[0]["after"]) == ("planned", "active")
    assert history[0]["who"] == "Commhost Tester"
    for i in range(4):
        services.contract_create(
            actor=world.comm_host, **contract_kwargs(world, reference=f"C-X{i}")
        )
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/contracts/")
    assert response.json()["count"] == 5
