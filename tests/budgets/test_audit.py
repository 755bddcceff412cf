"""Every budget service writes exactly one history record per object it changes, with actor and reason."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.history import line_history, object_history
from budgets.models import (
    BudgetLine,
    Contribution,
    FundBudget,
    FundPeriod,
    Period,
    RiskShareAgreement,
)
from budgets.planning.services import adjustments, forecasts, funds, lines, periods, virements
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


def count(obj):
    return obj.history.count()


def latest(obj):
    record = obj.history.latest()
    return record.history_user, record.history_change_reason


def test_draft_services_write_one_record_each(world_draft):
    w = world_draft
    line = lines.line_create(
        actor=w.comm_host,
        fund=w.fund,
        year=w.year,
        code="N1",
        name="New",
        service_area=w.area,
        lead_commissioner=w.host,
        annual_budget=D("1200.00"),
        reason="New scheme",
    )
    assert count(line) == 1
    assert latest(line) == (w.comm_host, "New scheme")
    line = lines.line_update(
        actor=w.comm_host, line=line, expected_version=1, reason="Uplift", annual_budget="2400.00"
    )
    assert count(line) == 2
    assert latest(line) == (w.comm_host, "Uplift")

    contribution = funds.contribution_set(
        actor=w.fin_host, fund=w.fund, year=w.year, partner=w.ccg, amount="450000.00"
    )
    assert count(contribution) == 2  # the factory's creation, then this change
    assert latest(contribution) == (w.fin_host, "Contribution changed from 400000.00 to 450000.00")

    agreement = funds.risk_share_agreement_set(
        actor=w.fin_host, fund=w.fund, year=w.year, rule="pro_rata", reason="Section 75 schedule 3"
    )
    assert count(agreement) == 1
    assert latest(agreement) == (w.fin_host, "Section 75 schedule 3")

    budget = funds.fund_budget_submit(actor=w.fin_ccg, fund=w.fund, year=w.year)
    before = count(budget)
    budget = funds.fund_budget_approve(actor=w.fin_host, fund=w.fund, year=w.year)
    assert count(budget) == before + 1
    assert latest(budget) == (w.fin_host, "Budget approved")


def test_approved_services_write_one_record_each(world_approved):
    w = world_approved
    period = Period.objects.get(year=w.year, number=1)
    row = periods.period_close(
        actor=w.fin_host, fund=w.fund, period=period, today=date(2017, 1, 1), reason="May close"
    )
    assert count(row) == 1
    assert latest(row) == (w.fin_host, "May close")

    src, dst = w.host_line, w.ccg_line
    adjustments.adjustment_create(
        actor=w.fin_host, line=src, amount="100.00", reason="Grant uplift"
    )
    assert count(BudgetLine.objects.get(pk=src.pk)) == 2
    assert latest(src) == (w.fin_host, "Adjustment: Grant uplift")

    virement = virements.virement_request(
        actor=w.comm_host,
        from_line=src,
        to_line=dst,
        amount="50.00",
        recurrent=True,
        reason="Rebalance",
    )
    assert count(virement) == 1
    virements.virement_approve(actor=w.fin_host, virement=virement, note="OK")
    assert count(virement) == 2
    assert latest(virement) == (w.fin_host, "OK")
    assert count(src) == 3
    assert count(dst) == 2

    forecast = forecasts.forecast_set(
        actor=w.comm_host,
        line=src,
        period=Period.objects.get(year=w.year, number=2),
        amount="120050.00",
        commentary="On budget",
    )
    assert count(forecast) == 1
    assert latest(forecast) == (w.comm_host, "On budget")
    assert FundPeriod.objects.count() == 1


def test_line_history_merges_field_changes_adjustments_and_virements_newest_first(world_approved):
    w = world_approved
    line = lines.line_update(
        actor=w.comm_host,
        line=w.host_line,
        expected_version=1,
        reason="Clearer name",
        name="Home care and reablement",
    )
    adjustments.adjustment_create(actor=w.fin_host, line=line, amount="600.00", reason="Grant")
    v = virements.virement_request(
        actor=w.comm_host,
        from_line=line,
        to_line=w.ccg_line,
        amount="1200.00",
        recurrent=False,
        reason="Rebalance",
    )
    virements.virement_approve(actor=w.fin_host, virement=v)
    entries = line_history(BudgetLine.objects.get(pk=line.pk))
    whens = [e["when"] for e in entries]
    assert whens == sorted(whens, reverse=True)
    rename = next(e for e in entries if e["field_key"] == "name")
    assert (rename["before"], rename["after"], rename["who"], rename["why"]) == (
        "Home care",
        "Home care and reablement",
        "Commhost Tester",
        "Clearer name",
    )
    out = next(e for e in entries if e["action"] == "virement out")
    assert out["after"] == D("-1200.00")
    assert out["why"] == "Rebalance (to CH01; applied)"
    adj = next(e for e in entries if e["action"] == "adjustment")
    assert adj["after"] == D("600.00")
    current_changes = [e for e in entries if e["field_key"] == "current_budget"]
    assert [(e["before"], e["after"]) for e in current_changes] == [
        (D("120600.00"), D("119400.00")),
        (D("120000.00"), D("120600.00")),
    ]
    assert entries[-1]["action"] == "created"


def test_object_history_reads_other_objects(world_approved):
    w = world_approved
    funds.risk_share_agreement_set(actor=w.fin_host, fund=w.fund, year=w.year, rule="own_risk")
    agreement = funds.risk_share_agreement_set(
        actor=w.fin_host,
        fund=w.fund,
        year=w.year,
        rule="fixed",
        parameters={"percentages": {"TCOUNCIL": "50", "TCCG": "50"}},
        reason="Varied",
    )
    entries = object_history(agreement)
    rule_change = next(e for e in entries if e["field_key"] == "rule")
    assert (rule_change["before"], rule_change["after"], rule_change["why"]) == (
        "own_risk",
        "fixed",
        "Varied",
    )
    assert RiskShareAgreement.objects.count() == 1
    assert Contribution.objects.count() == 2


@pytest.fixture
def world_draft():
    return budget_world()


@pytest.fixture
def world_approved():
    return budget_world(status=FundBudget.Status.APPROVED)


def _forget_history(line):
    """As the demo and archive loaders leave a line: bulk-created, no history rows."""
    BudgetLine.history.filter(id=line.pk).delete()


def test_an_inline_edit_of_a_line_loaded_in_bulk_records_the_fields_it_changed(world_draft, client):
    w = world_draft
    _forget_history(w.host_line)
    client.force_login(w.comm_host)
    response = client.post(
        reverse("budgets:line-edit", args=[w.host_line.pk]),
        {
            "name": "Home care",
            "annual_budget": "132,000",
            "recurrent": "on",
            "version": 1,
            "reason": "Uplift",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    entries = line_history(BudgetLine.objects.get(pk=w.host_line.pk))
    changed = {
        e["field"]: (e["before_text"], e["after_text"]) for e in entries if e["why"] == "Uplift"
    }
    assert changed["Annual budget"] == ("£120,000", "£132,000")
    assert changed["Original budget"] == ("£120,000", "£132,000")
    assert changed["April"] == ("£10,000", "£11,000")
    assert changed["March"] == ("£10,000", "£11,000")
    assert len(changed) == 14  # annual, original and the twelve months; nothing blank
    assert "" not in changed

    page = client.get(reverse("budgets:line-detail", args=[w.host_line.pk])).content.decode()
    assert "changed: Annual budget</td>" in page
    assert (
        '<td class="govuk-table__cell">£120,000</td><td class="govuk-table__cell">£132,000</td>'
        in page
    )
    assert "m01" not in page.split('id="history-heading"')[1].split("</section>")[0]

    api = client.get(f"/api/v1/budget-lines/{w.host_line.pk}/history/").json()
    annual = next(h for h in api if h["field"] == "Annual budget")
    assert {
        "field_key": "current_budget",
        "before": "120000.00",
        "after": "132000.00",
        "before_text": "£120,000",
        "after_text": "£132,000",
        "action": "changed",
        "why": "Uplift",
    }.items() <= annual.items()
    assert not [h for h in api if h["action"] == "changed" and not h["field"]]


def test_history_names_related_records_choices_and_flags_in_words(world_draft):
    w = world_draft
    _forget_history(w.host_line)
    lines.line_update(
        actor=w.comm_host,
        line=w.host_line,
        expected_version=1,
        reason="Seasonal, one-off",
        phasing_method="seasonal",
        recurrent=False,
        lead_commissioner="TCCG",
    )
    entries = object_history(BudgetLine.objects.get(pk=w.host_line.pk))
    words = {
        e["field"]: (e["before_text"], e["after_text"]) for e in entries if e["action"] == "changed"
    }
    assert words["Phasing"] == ("Flat (1/12 a month)", "Seasonal (winter-weighted)")
    assert words["Recurrent"] == ("Yes", "No")
    assert words["Lead commissioner"] == ("Test Council", "Test CCG")
    assert entries[-1]["action"] == "created"
    assert entries[-1]["why"] == "As loaded, before its first recorded change"
