from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from boards import services
from tests.boards.factories import AgendaItemFactory, InterestFactory


@pytest.fixture
def api(jcb_setup):
    s = jcb_setup
    AgendaItemFactory(meeting=s["meeting"], order=1, title="Open item")
    AgendaItemFactory(meeting=s["meeting"], order=2, title="Secret item", is_private=True)
    services.decision_record(
        actor=s["chair"], meeting=s["meeting"], text="Approve", outcome="approved", amount="1234.5"
    )
    InterestFactory(person=s["chair"], description="Published")
    InterestFactory(
        person=s["chair"],
        description="Unpublished",
        consent_to_publish=False,
        no_consent_reason="x",
    )
    return s


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_boards_meetings_and_items_scoped(api):
    s = api
    observer = client_for(s["observer"])
    boards = observer.get("/api/v1/boards/").json()["results"]
    assert [b["code"] for b in boards] == ["JCB"]
    assert boards[0]["delegated_limit"] == "50000000.00"
    meetings = observer.get("/api/v1/board-meetings/").json()["results"]
    assert [i["title"] for i in meetings[0]["items"]] == ["Open item"]
    member = client_for(s["member"]).get(f"/api/v1/board-meetings/{s['meeting'].pk}/").json()
    assert [i["title"] for i in member["items"]] == ["Open item", "Secret item"]
    outsider = client_for(s["outsider"])
    assert outsider.get("/api/v1/boards/").json()["results"] == []
    assert outsider.get(f"/api/v1/board-meetings/{s['meeting'].pk}/").status_code == 404
    assert outsider.get(f"/api/v1/boards/{s['board'].pk}/dashboard/").status_code == 404


def test_decisions_money_as_strings(api):
    d = client_for(api["member"]).get("/api/v1/board-decisions/").json()["results"]
    assert [(x["reference"], x["amount"]) for x in d] == [("JCB/2016/001", "1234.50")]


def test_interest_register_consent(api):
    member = client_for(api["member"]).get("/api/v1/board-interests/").json()["results"]
    officer = client_for(api["officer"]).get("/api/v1/board-interests/").json()["results"]
    assert [i["description"] for i in member] == ["Published"]
    assert sorted(i["description"] for i in officer) == ["Published", "Unpublished"]


def test_dashboard_endpoint_shape(api):
    data = client_for(api["member"]).get(f"/api/v1/boards/{api['board'].pk}/dashboard/").json()
    assert data["board_code"] == "JCB"
    assert "as_at" in data
    assert isinstance(data["total"]["forecast_variance"], str)
