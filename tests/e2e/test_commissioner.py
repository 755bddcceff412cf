"""A commissioner edits budget lines in the browser; two people editing one line; a virement end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from budgets.models import BudgetLine, FundBudget
from tests.budgets.factories import budget_world
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery"


@pytest.fixture
def draft(transactional_db):
    return budget_world()


@pytest.fixture
def approved(transactional_db):
    return budget_world(status=FundBudget.Status.APPROVED)


def test_commissioner_edits_a_budget_inline_and_the_fund_total_changes(draft, live_server, page):
    login(page, live_server, draft.comm_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{draft.fund.pk}/lines/")
    expect(page.locator("#lines-current-total")).to_have_text("£180,000")
    expect(page.locator("#lines-tfoot-current")).to_have_text("£180,000")
    row = page.locator(f"#line-row-{draft.host_line.pk}")
    row.get_by_role("link", name="Edit line HC01").click()
    page.get_by_label("Annual budget").fill("150000")
    page.get_by_label("Reason for the change").fill("New care packages")
    page.get_by_role("button", name="Save line HC01").click()
    expect(row.locator("[data-current]")).to_have_text("£150,000")
    expect(page.locator("#lines-current-total")).to_have_text("£210,000")
    expect(page.locator("#lines-tfoot-current")).to_have_text("£210,000")
    assert BudgetLine.objects.get(pk=draft.host_line.pk).current_budget == Decimal("150000.00")
    # An error is shown beside the field and in the summary, and nothing is saved.
    row.get_by_role("link", name="Edit line HC01").click()
    page.get_by_label("Annual budget").fill("a lot")
    page.get_by_role("button", name="Save line HC01").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter an annual budget in pounds")
    expect(page.locator("#id_annual_budget_error")).to_be_visible()
    assert BudgetLine.objects.get(pk=draft.host_line.pk).current_budget == Decimal("150000.00")


def test_second_editor_gets_the_conflict_message(draft, live_server, browser):
    first = browser.new_context()
    second = browser.new_context()
    try:
        pages = []
        for context in (first, second):
            page = context.new_page()
            login(page, live_server, draft.comm_host.username, PASSWORD)
            page.goto(f"{live_server.url}/budgets/funds/{draft.fund.pk}/lines/")
            page.get_by_role("link", name="Edit line HC01").click()
            expect(page.get_by_label("Annual budget")).to_be_visible()
            pages.append(page)
        pages[0].get_by_label("Annual budget").fill("130000")
        pages[0].get_by_role("button", name="Save line HC01").click()
        expect(pages[0].locator(f"#line-row-{draft.host_line.pk} [data-current]")).to_have_text(
            "£130,000"
        )
        pages[1].get_by_label("Annual budget").fill("999000")
        pages[1].get_by_role("button", name="Save line HC01").click()
        expect(pages[1].locator(".app-conflict")).to_contain_text("changed by Commhost Tester at")
        expect(pages[1].get_by_label("Annual budget")).to_have_value("130000.00")
        assert BudgetLine.objects.get(pk=draft.host_line.pk).current_budget == Decimal("130000.00")
    finally:
        first.close()
        second.close()


def test_virement_requested_approved_and_both_lines_show_it(approved, live_server, browser):
    commissioner = browser.new_context().new_page()
    login(commissioner, live_server, approved.comm_host.username, PASSWORD)
    commissioner.goto(f"{live_server.url}/budgets/funds/{approved.fund.pk}/virements/new/")
    # The line chooser: type to search (HTMX fills the list), then choose.
    for field, words, label in (
        ("from_line", "HC01", "HC01 – Home care"),
        ("to_line", "community", "CH01 – Community health"),
    ):
        commissioner.locator(f"#id_{field}_q").fill(words)
        expect(commissioner.locator(f"#id_{field} option", has_text=label)).to_have_count(1)
        commissioner.locator(f"#id_{field}").select_option(label=label)
    commissioner.get_by_label("Amount").fill("12000")
    commissioner.get_by_label("One-off: this year only").check()
    commissioner.get_by_label("Reason").fill("Discharge to assess")
    commissioner.get_by_role("button", name="Request virement").click()
    expect(commissioner.locator("h1")).to_have_text("My virement requests")
    expect(commissioner.locator("table")).to_contain_text("Requested")

    officer = browser.new_context().new_page()
    login(officer, live_server, approved.fin_host.username, PASSWORD)
    officer.goto(f"{live_server.url}/budgets/funds/{approved.fund.pk}/virements/?status=requested")
    officer.locator("table a").first.click()
    officer.get_by_role("button", name="Approve and apply").click()
    expect(officer.locator("#virement-status")).to_have_text("Applied")

    for line, amount, action in (
        (approved.host_line, "£108,000", "virement out"),
        (approved.ccg_line, "£72,000", "virement in"),
    ):
        commissioner.goto(f"{live_server.url}/budgets/lines/{line.pk}/")
        expect(commissioner.locator("#line-current-budget")).to_have_text(amount)
        expect(commissioner.locator("table", has_text="Why")).to_contain_text(action)
