"""The reporting context (budgets.context): one answer to "which fund, year and month", chosen by
one rule and carried by every page, link, sort, filter, page, fragment and download.

The world is the demo's shape: 2016/17 approved with spend in M1..M6 and M1..M5 closed, 2017/18
a draft that has not started. Each regression test here failed before the context existed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from budgets.context import (
    NoBudgetYear,
    fund_years,
    reporting_context,
    year_due_for_close,
    year_started,
)
from budgets.figures.recompute import recompute_fund_now
from budgets.models import FundBudget, FundPeriod, LineVariance
from budgets.rag import Rag
from tests.budgets.factories import (
    BudgetLineFactory,
    PooledFundFactory,
    close_months,
    context_world,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world():
    return context_world()


# ---- the rule -------------------------------------------------------------------------------


def test_default_is_the_latest_closed_month_of_the_latest_started_approved_year(world):
    ctx = reporting_context(world.fund)
    assert (ctx.year.code, ctx.period_code, ctx.closed, ctx.started) == (
        "2016/17",
        "2016/17-M05",
        True,
        True,
    )
    assert ctx.label == "2016/17-M05 (August 2016), closed"
    assert ctx.query == "year=2016%2F17&period=2016%2F17-M05"


def test_before_any_close_the_latest_ended_month_with_postings_not_yet_closed(world):
    FundPeriod.objects.filter(fund=world.fund).delete()
    ctx = reporting_context(world.fund)
    assert (ctx.period_code, ctx.closed, ctx.state) == ("2016/17-M06", False, "not yet closed")
    # On 15 September 2016 September had not ended: August is the month reported.
    ctx = reporting_context(world.fund, on=dt.date(2016, 9, 15))
    assert (ctx.period_code, ctx.state) == ("2016/17-M05", "not yet closed")


def test_a_draft_year_only_when_asked_for_and_then_not_started(world):
    ctx = reporting_context(world.fund, year="2017/18")
    assert (ctx.year.code, ctx.period, ctx.started, ctx.state) == (
        "2017/18",
        None,
        False,
        "not started",
    )
    assert ctx.is_draft
    assert ctx.label == "2017/18: not started"
    assert not year_started(world.fund, world.next_year)
    assert year_started(world.fund, world.year)


def test_a_board_uses_the_rule_at_the_meetings_date(world):
    close_months(world.fund, world.year, 6)
    assert reporting_context(world.fund, on=dt.date(2016, 9, 14)).period_code == "2016/17-M05"
    assert reporting_context(world.fund, on=dt.date(2016, 10, 12)).period_code == "2016/17-M06"
    assert reporting_context(world.fund).period_code == "2016/17-M06"


def test_a_month_asked_for_and_what_is_ignored(world):
    ctx = reporting_context(world.fund, period="2016/17-M03")
    assert (ctx.year.code, ctx.period_code, ctx.closed) == ("2016/17", "2016/17-M03", True)
    assert reporting_context(world.fund, period="2016/17-M06").state == "not yet closed"
    # A year switcher that still carries the old month: the year wins, its default month shown.
    ctx = reporting_context(world.fund, year="2017/18", period="2016/17-M03")
    assert (ctx.year.code, ctx.period) == ("2017/18", None)
    # A year the fund has no budget for, and nonsense, give the default (named in the heading).
    assert reporting_context(world.fund, year="2030/31").period_code == "2016/17-M05"
    assert reporting_context(world.fund, period="2016/17-M13").period_code == "2016/17-M05"
    assert reporting_context(world.fund, period="garbage").period_code == "2016/17-M05"


def test_a_fund_with_only_a_draft_year_opens_on_it_and_a_fund_without_budget_has_none(world):
    fund = PooledFundFactory(code="NEW-FUND")
    BudgetLineFactory(fund=fund, year=world.next_year)
    ctx = reporting_context(fund)
    assert (ctx.year.code, ctx.budget_status, ctx.started) == ("2017/18", "draft", False)
    with pytest.raises(NoBudgetYear):
        reporting_context(PooledFundFactory(code="EMPTY"))


def test_an_approved_year_that_has_not_started_is_not_the_default(world):
    FundBudget.objects.filter(fund=world.fund, year=world.next_year).update(
        status=FundBudget.Status.APPROVED
    )
    assert reporting_context(world.fund).year.code == "2016/17"
    assert [c.label for c in fund_years(world.fund)] == [
        "2016/17 (budget approved)",
        "2017/18 (budget approved)",
    ]


def test_the_close_page_year_is_the_one_whose_next_month_is_due(world):
    assert year_due_for_close(world.fund).code == "2016/17"
    assert year_due_for_close(world.fund, on=dt.date(2016, 9, 1)) is None  # M1..M5 closed, M6 open


# ---- pages: the context is named and travels ---------------------------------------------


def caption(html):
    match = re.search(
        r'id="reporting-context" data-fund="[^"]*" data-year="([^"]*)" '
        r'data-period="([^"]*)" data-state="([^"]*)"',
        html,
    )
    assert match, "the page's heading names no reporting context"
    return match.groups()


def hrefs(html, text):
    """Every link whose visible text starts with `text`, unescaped."""
    return [
        unescape(h)
        for h, label in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>([^<]*)', html)
        if label.strip().startswith(text)
    ]


def next_page(html):
    (link,) = re.findall(r'href="([^"]*)" rel="next"', html)
    return unescape(link)


def row(html, line):
    match = re.search(
        rf'<tr class="govuk-table__row[^"]*" id="line-row-{line.pk}">(.*?)</tr>', html, re.S
    )
    assert match, f"no row for {line.code}"
    return match.group(1)


def test_sorting_the_lines_keeps_the_year(world, client):
    """Regression: /lines/?year=2016/17, then "Current budget" showed the 2017/18 draft."""
    client.force_login(world.comm_host)
    url = reverse("budgets:line-table", args=[world.fund.pk])
    page = client.get(url, {"year": "2016/17"}).content.decode()
    assert caption(page) == ("2016/17", "2016/17-M05", "closed")
    (sort,) = hrefs(page, "Current budget")
    sorted_page = client.get(url + sort).content.decode()
    assert caption(sorted_page) == ("2016/17", "2016/17-M05", "closed")
    assert "HC01" in sorted_page
    assert "N00" not in sorted_page


def test_filter_pagination_fragments_and_row_links_keep_the_context(world, client):
    for n in range(60):
        BudgetLineFactory(
            fund=world.fund, year=world.year, code=f"P{n:02d}", service_area=world.area
        )
    client.force_login(world.comm_host)
    url = reverse("budgets:line-table", args=[world.fund.pk])
    page = client.get(url, {"year": "2016/17", "period": "2016/17-M03"}).content.decode()
    assert caption(page) == ("2016/17", "2016/17-M03", "closed")
    following = next_page(page)
    assert parse_qs(urlsplit(following).query)["period"] == ["2016/17-M03"]
    assert caption(client.get(url + following).content.decode())[1] == "2016/17-M03"
    # The filter form carries the context as hidden fields.
    assert '<input type="hidden" name="period" value="2016/17-M03">' in page
    # The HTMX totals fragments ask for the same context.
    fragments = re.findall(r'hx-get="([^"]*part=[a-z]+)"', page)
    assert len(fragments) == 2
    assert all("period=2016%2F17-M03" in unescape(f) for f in fragments)
    # Each line's link opens it in the same month.
    assert f"/budgets/lines/{world.host_line.pk}/?year=2016%2F17&amp;period=2016%2F17-M03" in page


def test_the_lines_table_cache_is_per_context(world, client):
    """The cached table fragment is keyed on the context: M03's RAG never shows as M05's."""
    LineVariance.objects.filter(line=world.host_line, period_number=3).update(rag=Rag.RED)
    LineVariance.objects.filter(line=world.host_line, period_number=5).update(rag=Rag.GREEN)
    client.force_login(world.comm_host)
    url = reverse("budgets:line-table", args=[world.fund.pk])
    m3 = client.get(url, {"period": "2016/17-M03"}).content.decode()
    m5 = client.get(url, {"period": "2016/17-M05"}).content.decode()
    assert "RAG at M03" in m3
    assert "app-rag--red" in row(m3, world.host_line)
    assert "RAG at M05" in m5
    assert "app-rag--green" in row(m5, world.host_line)


def test_the_overview_names_the_context_offers_a_switcher_and_links_keep_it(world, client):
    """Regression: the overview had no year chooser; "Request a virement" on the 2016/17
    overview opened the 2017/18 form."""
    client.force_login(world.fin_host)
    url = reverse("budgets:fund-overview", args=[world.fund.pk])
    page = client.get(url, {"year": "2016/17"}).content.decode()
    assert caption(page) == ("2016/17", "2016/17-M05", "closed")
    assert 'id="context-switcher"' in page
    assert '<option value="2017/18">2017/18 (budget draft)</option>' in page
    assert 'data-year-link="2017/18"' in page
    virement = hrefs(page, "Request a virement")[0]
    form = client.get(virement).content.decode()
    assert caption(form)[0] == "2016/17"
    # The form's line chooser searches the context's year: this year's line, not next year's.
    found = client.post(
        virement, {"from_line_q": world.fund.code, "find_lines": "from_line", "reason": "x"}
    ).content.decode()
    assert f'value="{world.host_line.pk}"' in found
    assert f'value="{world.next_lines[0].pk}"' not in found
    links = page[page.index('id="fund-links"') :]
    for label in ("Budget lines", "Variance report", "Month-end close", "Virements in"):
        assert "period=2016%2F17-M05" in hrefs(links, label)[0], label


def test_the_overview_shows_the_position_at_the_month(world, client):
    client.force_login(world.comm_host)
    page = client.get(
        reverse("budgets:fund-overview", args=[world.fund.pk]), {"period": "2016/17-M05"}
    ).content.decode()
    assert "Position at August 2016 (M05), closed" in page
    assert 'id="position-ytd-actual">£50,000<' in page  # five months of £10,000


def test_the_month_end_close_page_opens_on_the_year_whose_month_is_due(world, client):
    """Regression: it opened on the 2017/18 draft offering "Close 2017/18-M01" while
    2016/17-M06 was due."""
    client.force_login(world.fin_host)
    page = client.get(reverse("budgets:month-close", args=[world.fund.code])).content.decode()
    assert caption(page)[:2] == ("2016/17", "2016/17-M05")
    assert "Close 2016/17-M06" in page
    assert "2017/18-M01" not in page


def test_the_variance_reports_month_end_close_link_keeps_the_year(world, client):
    client.force_login(world.fin_host)
    page = client.get(reverse("budgets:variance"), {"fund": world.fund.code}).content.decode()
    assert caption(page) == ("2016/17", "2016/17-M05", "closed")
    (link,) = hrefs(page, "Month-end close")
    landing = client.get(link).content.decode()
    assert caption(landing)[0] == "2016/17"
    assert "Close 2016/17-M06" in landing


def test_the_variance_report_pages_keep_the_context_and_grouping(world, client):
    for n in range(210):
        BudgetLineFactory(
            fund=world.fund, year=world.year, code=f"P{n:03d}", service_area=world.area
        )
    recompute_fund_now(world.fund, full=True)
    client.force_login(world.fin_host)
    page = client.get(
        reverse("budgets:variance"),
        {"fund": world.fund.code, "period": "2016/17-M03", "grouping": "locality"},
    ).content.decode()
    query = parse_qs(urlsplit(next_page(page)).query)
    assert (query["period"], query["grouping"], query["year"]) == (
        ["2016/17-M03"],
        ["locality"],
        ["2016/17"],
    )


# ---- years not started: no RAG, no percentages ---------------------------------------------


def test_a_draft_year_that_has_not_started_is_not_red(world, client):
    """Regression: /lines/?year=2017/18 showed "RAG (M1)" red on most lines (YTD -100%)."""
    assert LineVariance.objects.filter(
        line__in=world.next_lines, period_number=1, rag=Rag.RED
    ).exists()  # the engine rates April as if it had passed with no spend
    client.force_login(world.comm_host)
    page = client.get(
        reverse("budgets:line-table", args=[world.fund.pk]), {"year": "2017/18"}
    ).content.decode()
    assert caption(page) == ("2017/18", "", "not started")
    assert "app-rag--red" not in page
    assert page.count("Not started</span>") == 3
    assert "RAG (not started)" in page


def test_a_year_not_started_has_no_rag_and_no_percentages_in_the_report_and_api(world, client):
    client.force_login(world.fin_host)
    body = client.get(
        reverse("api-fund-variance", args=[world.fund.code]), {"period": "2017/18-M01"}
    ).json()
    assert body["started"] is False
    assert {r["rag"] for r in body["rows"]} == {""}
    assert {r["ytd_variance_pct"] for r in body["rows"]} == {None}
    assert {r["forecast_variance_pct"] for r in body["rows"]} == {None}
    assert body["totals"]["ytd_variance_pct"] is None
    assert (body["totals"]["red"], body["totals"]["amber"]) == (0, 0)
    page = client.get(
        reverse("budgets:variance"), {"fund": world.fund.code, "period": "2017/18-M01"}
    ).content.decode()
    assert "-100" not in page
    assert "Not started" in page
    overview = client.get(
        reverse("budgets:fund-overview", args=[world.fund.pk]), {"year": "2017/18"}
    ).content.decode()
    assert 'id="not-started"' in overview
    assert 'id="fund-position"' not in overview
