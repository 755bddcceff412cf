"""A walk through the figures pages in a real browser: sorting, filtering, paging, grouping and
the year and month switchers on the lines, overview, variance and month-end close pages. The
reporting context in the heading never changes unless the person changed it, and then the
heading says so. axe finds nothing serious on the lines and month-end close pages with their
switchers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.budgets.factories import context_world
from tests.e2e.conftest import login
from tests.e2e.test_accessibility import serious_violations

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery"
M03 = ("2016/17", "2016/17-M03")
M05 = ("2016/17", "2016/17-M05")


@pytest.fixture
def world(transactional_db):
    return context_world(extra_lines=120)


def context(page):
    heading = page.locator("#reporting-context")
    return heading.get_attribute("data-year"), heading.get_attribute("data-period")


def same_context(page, expected, action):
    """Do `action` (which loads a page); the heading still names `expected`."""
    with page.expect_navigation():
        action()
    assert context(page) == expected, f"the context changed after {action.__doc__ or action}"


def test_the_context_survives_every_click_and_changes_only_when_asked(world, live_server, page):
    login(page, live_server, world.fin_host.username, PASSWORD)
    base = live_server.url

    # Lines: sort, filter, page, and the year switcher.
    page.goto(f"{base}/budgets/funds/{world.fund.pk}/lines/?year=2016/17&period=2016/17-M03")
    assert context(page) == M03
    expect(page.locator("#reporting-context")).to_contain_text("June 2016 (M03), closed")
    same_context(page, M03, lambda: page.get_by_role("link", name="Current budget").click())
    same_context(page, M03, lambda: page.get_by_role("link", name="Current budget").click())
    page.select_option("#f-service-area", world.area.code)
    same_context(page, M03, lambda: page.get_by_role("button", name="Apply filters").click())
    assert page.locator("#f-service-area").input_value() == world.area.code
    same_context(page, M03, lambda: page.locator("a[rel=next]").click())
    assert "page=2" in page.url
    assert serious_violations(page) == []
    page.select_option("#ctx-year", "2017/18")
    with page.expect_navigation():
        page.locator("#context-switcher").get_by_role("button", name="Show").click()
    assert context(page) == ("2017/18", "")
    expect(page.locator("#reporting-context")).to_contain_text("not started")
    expect(page.locator("#lines-table")).not_to_contain_text("Red")
    with page.expect_navigation():
        page.locator("[data-year-link='2016/17']").click()
    assert context(page) == M05  # the year's default: its latest closed month

    # Overview: the month switcher, then the links keep the month chosen.
    with page.expect_navigation():
        page.get_by_role("link", name=world.fund.code).click()  # breadcrumb
    assert context(page) == M05
    page.select_option("#ctx-period", "2016/17-M03")
    same_context(page, M03, lambda: page.locator("#context-switcher button").click())
    expect(page.locator("#position-heading")).to_have_text("Position at June 2016 (M03), closed")
    same_context(
        page,
        M03,
        lambda: page.locator("#fund-links").get_by_role("link", name="Budget lines").click(),
    )
    page.go_back()
    same_context(
        page,
        M03,
        lambda: page.locator("#fund-links").get_by_role("link", name="Variance report").click(),
    )

    # Variance: group by, page, and on to month-end close.
    page.select_option("#id_grouping", "locality")
    same_context(page, M03, lambda: page.get_by_role("button", name="Show report").click())
    same_context(page, M03, lambda: page.locator("a[rel=next]").click())
    assert "grouping=locality" in page.url
    page.select_option("#ctx-period", "2016/17-M04")
    same_context(
        page,
        ("2016/17", "2016/17-M04"),
        lambda: page.get_by_role("button", name="Show report").click(),
    )
    expect(page.locator("#report-title")).to_contain_text("2016/17-M04 (July 2016), closed")
    with page.expect_navigation():
        page.locator("#month-close-link").click()
    assert context(page) == ("2016/17", "2016/17-M04")
    expect(page.locator("#close-period")).to_have_text("Close 2016/17-M06")

    # Month-end close: its own year switcher.
    page.select_option("#ctx-year", "2017/18")
    with page.expect_navigation():
        page.locator("#context-switcher button").click()
    assert context(page) == ("2017/18", "")
    expect(page.locator("h1")).to_contain_text("month-end close 2017/18")
    assert serious_violations(page) == []


def test_the_close_page_opens_on_the_year_whose_month_is_due(world, live_server, page):
    login(page, live_server, world.fin_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{world.fund.code}/reports/")
    assert context(page) == M05
    expect(page.locator("#close-period")).to_have_text("Close 2016/17-M06")
