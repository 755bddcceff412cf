"""One truth: every surface that shows a fund's figures for a month names the same period and the
same figures, to the penny where it shows pence (on screen and paper, as the one money filter
formats the same value).

A demo-shaped world is built through the services: a GM-wide pool with lines in three
localities, a locality pool and a Better Care Fund pool, each approved for 2016/17 with six
months of spend (an accrual and a reversal among it), forecasts with commentary, a commitment and
a virement, months M1..M5 closed (each freezing its report), and a 2017/18 draft. One board
oversees all three and meets after each close. For every fund and every closed month the test
reads the dashboard page and API, the variance page, the lines page, the figures API (lines and
positions), the variance API, the CSV, XLSX and PDF downloads and the board pack frozen for the
meeting that reviewed that month, and compares each with the report computed once. The default
(no year or month asked for) is checked the same way on every surface.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from boards import services as board_services
from boards.models import Membership
from budgets.models import FundBudget, Period, PooledFund
from budgets.models.figures import MONEY_COLUMNS
from budgets.reports.variance import compute_variance_report
from gmhsc.money import format_money, split_largest_remainder
from gmhsc.templatetags.money import gbp, gbp_pence
from localities import roles
from localities.models import Organisation
from tests.boards.factories import BoardFactory, MeetingFactory, MembershipFactory
from tests.budgets.factories import (
    BudgetLineFactory,
    ContributionFactory,
    FundBudgetFactory,
    PooledFundFactory,
    ServiceAreaFactory,
    make_year,
)
from tests.factories import LocalityFactory, OrganisationFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pg]
D = Decimal
CLOSED = 5
# A board meets a fortnight or so after each month ends: that month is what it reviews.
MEETINGS = {
    1: (2016, 5, 18),
    2: (2016, 6, 15),
    3: (2016, 7, 20),
    4: (2016, 8, 17),
    5: (2016, 9, 14),
}
HEADLINE = ("current_budget", "ytd_actual", "forecast_outturn", "forecast_variance")


def _world():
    from budgets.ledger.services import postings as ledger
    from budgets.planning.services.commitments import commitments_replace
    from budgets.planning.services.forecasts import forecast_set
    from budgets.planning.services.periods import period_close
    from budgets.planning.services.virements import virement_approve, virement_request

    year = make_year("2016/17")
    next_year = make_year("2017/18")
    periods = {p.number: p for p in Period.objects.filter(year=year)}
    localities = [
        LocalityFactory(gss_code="E08000001", name="Bolton", population_mid2015=281_000),
        LocalityFactory(gss_code="E08000002", name="Bury", population_mid2015=188_000),
        LocalityFactory(gss_code="E08000003", name="Manchester", population_mid2015=530_000),
    ]
    parent = ServiceAreaFactory(code="ASC", name="Adult social care")
    areas = [
        ServiceAreaFactory(code="ASC.HOME", name="Home care", parent=parent),
        ServiceAreaFactory(
            code="AC.NEL", name="Non-elective", parent=ServiceAreaFactory(code="AC", name="Acute")
        ),
        ServiceAreaFactory(
            code="PH.SEX",
            name="Sexual health",
            parent=ServiceAreaFactory(code="PH", name="Public health"),
        ),
    ]
    gmca = OrganisationFactory(
        code="E47000001", name="GM Combined Authority", kind=Organisation.Kind.COMBINED_AUTHORITY
    )
    council = OrganisationFactory(
        code="E08000003", name="Manchester City Council", kind=Organisation.Kind.COUNCIL
    )
    ccg = OrganisationFactory(code="00W", name="NHS Central Manchester CCG")
    shapes = [
        ("GM-TRUTH", "GM-wide pool", gmca, PooledFund.Scope.GM, False, 12, True),
        (
            "LP-TRUTH",
            "Manchester locality pool",
            council,
            PooledFund.Scope.LOCALITY,
            False,
            8,
            False,
        ),
        (
            "BCF-TRUTH",
            "Manchester Better Care Fund",
            council,
            PooledFund.Scope.LOCALITY,
            True,
            6,
            False,
        ),
    ]
    board = BoardFactory(code="JCB-T", name="Joint Commissioning Board")
    chair = MembershipFactory(board=board, role=Membership.Role.CHAIR).person
    member = MembershipFactory(board=board).person
    funds = []
    for code, name, host, scope, is_bcf, count, in_localities in shapes:
        fund = PooledFundFactory(code=code, name=name, host=host, scope=scope, is_bcf=is_bcf)
        for partner, amount in ((host, "6000000.00"), (ccg, "4000000.00")):
            ContributionFactory(fund=fund, year=year, partner=partner, amount=D(amount))
        FundBudgetFactory(fund=fund, year=year, status=FundBudget.Status.APPROVED)
        officer = UserFactory(
            username=f"fo-{code.lower()}", roles=[roles.FINANCE_OFFICER], organisation=host
        )
        lines = [
            BudgetLineFactory(
                fund=fund,
                year=year,
                code=f"{code[:2]}{n:02d}",
                name=f"{areas[n % 3].name} {n}",
                service_area=areas[n % 3],
                locality=localities[n % 3] if in_localities else None,
                lead_commissioner=host,
                original_budget=D(120000 + 37_123 * n) + D("0.45") * n,
                recurrent=True,
            )
            for n in range(count)
        ]
        # Asked for by the host's commissioner: nobody approves their own request.
        requester = UserFactory(
            username=f"cm-{code.lower()}", roles=[roles.COMMISSIONER], organisation=host
        )
        virement_approve(
            actor=officer,
            virement=virement_request(
                actor=requester,
                from_line=lines[0],
                to_line=lines[1],
                amount=D("12345.67"),
                recurrent=False,
                reason="Move home care to non-elective",
            ),
        )
        for line in lines:
            line.refresh_from_db()
        rows = []
        for i, line in enumerate(lines):
            # Spend runs 4% under to 6% over the phased budget, a different pattern each line.
            factor = D("0.96") + D("0.01") * (i % 11)
            spent = split_largest_remainder(line.current_budget * factor, [1] * 12)
            for n in range(1, 7):
                rows.append(
                    {
                        "document_number": f"{code}-{line.code}-{n:02d}",
                        "line_number": 1,
                        "posting_date": periods[n].end_date,
                        "amount": spent[n - 1],
                        "budget_line": line,
                        "supplier": "Manchester Foundation Trust",
                        "description": f"{line.name} M{n}",
                    }
                )
        rows.append(
            {
                "document_number": f"{code}-ACC",
                "line_number": 1,
                "posting_date": periods[4].end_date,
                "amount": D("2500.00"),
                "budget_line": lines[2],
                "supplier": "Care Ltd",
                "description": "Accrual",
                "is_accrual": True,
            }
        )
        rows.append(
            {
                "document_number": f"{code}-ERR",
                "line_number": 1,
                "posting_date": periods[2].end_date,
                "amount": D("7777.77"),
                "budget_line": lines[3],
                "supplier": "Wrong Ltd",
                "description": "Wrong line",
            }
        )
        ledger.spend_post(actor=officer, organisation=host, rows=rows)
        from budgets.models import SpendPosting

        ledger.spend_reverse(
            actor=officer,
            posting=SpendPosting.objects.get(fund=fund, document_number=f"{code}-ERR"),
            reason="Posted to the wrong line",
            period=periods[3],
        )
        for n, line, over in (
            (3, lines[1], "40000.00"),
            (5, lines[1], "65000.00"),
            (4, lines[4], "-9000.00"),
        ):
            forecast_set(
                actor=officer,
                line=line,
                period=periods[n],
                amount=line.current_budget + D(over),
                commentary=f"Forecast at M{n}: demand above plan",
            )
        commitments_replace(
            actor=officer, source_ref=f"PO-{code}", rows={lines[5].pk: {7: D("4321.09")}}
        )
        for n in range(1, CLOSED + 1):
            period_close(actor=officer, fund=fund, period=periods[n], files=False)
        board.funds.add(fund)
        funds.append(fund)
    # 2017/18 is a draft: shown only when asked for.
    FundBudgetFactory(fund=funds[1], year=next_year, status=FundBudget.Status.DRAFT)
    BudgetLineFactory(
        fund=funds[1],
        year=next_year,
        code="NX01",
        service_area=areas[0],
        lead_commissioner=council,
        original_budget=D("200000.00"),
    )
    meetings = {
        n: MeetingFactory(
            board=board,
            title=f"Meeting reviewing M{n:02d}",
            starts_at=timezone.make_aware(dt.datetime(*day, 14, 0)),
        )
        for n, day in MEETINGS.items()
    }
    viewer = UserFactory(username="truth.admin", roles=[roles.ADMINISTRATOR], organisation=gmca)
    return funds, periods, board, chair, member, meetings, viewer


# ---- reading each surface ---------------------------------------------------------------------


def _caption_period(html):
    match = re.search(r'id="reporting-context"[^>]* data-period="([^"]*)"', html)
    assert match, "no reporting context in the heading"
    return match.group(1)


def _cells(row_html):
    return [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.S)
    ]


class Truth:
    """Collects every disagreement, so one run names them all."""

    def __init__(self):
        self.problems: list[str] = []

    def same(self, where, got, want):
        if got != want:
            self.problems.append(f"{where}: {got!r} != {want!r}")


def _check_month(truth, client, fund, period, meeting_pack):
    code = period.code
    report = compute_variance_report(fund=fund, period=period)
    t = report.totals
    where = f"{fund.code} {code}"
    truth.same(f"{where} report is frozen", (report.closed, report.source), (True, "snapshot"))

    # Variance page: the heading and the fund total row.
    html = client.get(
        "/budgets/reports/variance/", {"fund": fund.code, "period": code}
    ).content.decode()
    truth.same(f"{where} variance page period", _caption_period(html), code)
    row = re.search(r'<tr[^>]*id="fund-total"[^>]*>(.*?)</tr>', html, re.S)
    cells = _cells(row.group(1)) if row else []
    money = [format_money(getattr(t, k)) for k in MONEY_COLUMNS]  # the page: whole pounds
    shown = [c for c in cells if c.startswith(("£", "(£"))]
    truth.same(f"{where} variance page totals", shown, money)

    # Lines page: the heading and the current budget of all the fund's lines.
    html = client.get(f"/budgets/funds/{fund.pk}/lines/", {"period": code}).content.decode()
    truth.same(f"{where} lines page period", _caption_period(html), code)
    found = re.search(r'id="lines-tfoot-current">([^<]*)<', html)
    truth.same(
        f"{where} lines page current budget", found and found.group(1), gbp(t.current_budget)
    )

    # Figures API: every line at the month, and the fund's position.
    body = client.get(
        f"/api/v1/figures/{fund.code}/variance/",
        {"year": period.year.code, "period": period.number},
    ).json()
    truth.same(f"{where} figures API period", body["period"], code)
    for key in MONEY_COLUMNS:
        summed = sum((D(r[key]) for r in body["results"]), D("0.00"))
        truth.same(f"{where} figures API {key}", summed, getattr(t, key))
    body = client.get(f"/api/v1/figures/{fund.code}/positions/", {"year": period.year.code}).json()
    position = next(p for p in body["results"] if p["period_number"] == period.number)
    for key in MONEY_COLUMNS:
        truth.same(f"{where} position {key}", D(position[key]), getattr(t, key))
    truth.same(
        f"{where} position RAG",
        (position["red_count"], position["amber_count"], position["green_count"]),
        (t.red, t.amber, t.green),
    )

    # Variance API.
    body = client.get(f"/api/v1/funds/{fund.code}/variance/", {"period": code}).json()
    truth.same(f"{where} variance API period", body["period"], code)
    for key in MONEY_COLUMNS:
        truth.same(f"{where} variance API {key}", body["totals"][key], f"{getattr(t, key):.2f}")

    # Downloads.
    def download(fmt):
        return client.post(
            "/budgets/reports/variance/export/", {"fund": fund.code, "period": code, "format": fmt}
        ).content

    rows = list(csv.DictReader(io.StringIO(download("csv").decode("utf-8-sig"))))
    for key in MONEY_COLUMNS:
        truth.same(f"{where} CSV {key}", sum((D(r[key]) for r in rows), D("0.00")), getattr(t, key))
    sheet = load_workbook(io.BytesIO(download("xlsx")), data_only=True).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]
    total = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "Total")
    for key, label in (
        ("current_budget", "Current budget"),
        ("ytd_actual", "YTD actual"),
        ("forecast_outturn", "Forecast outturn"),
        ("forecast_variance", "Forecast variance £"),
    ):
        value = total[header.index(label)]
        truth.same(f"{where} XLSX {key}", D(str(value)).quantize(D("0.01")), getattr(t, key))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(download("pdf"))).pages)
    truth.same(f"{where} PDF period", code in text, True)
    for key in HEADLINE:
        value = getattr(t, key)
        truth.same(f"{where} PDF {key}", gbp_pence(value) in text or gbp(value) in text, True)

    # Board dashboard (API and page) asked for this month.
    body = client.get(
        f"/api/v1/boards/{meeting_pack.meeting.board_id}/dashboard/", {"period": code}
    ).json()
    summary = next(f for f in body["funds"] if f["code"] == fund.code)
    truth.same(
        f"{where} dashboard API period",
        (summary["period_code"], summary["state"]),
        (code, "closed"),
    )
    for key in HEADLINE:
        truth.same(
            f"{where} dashboard API {key}", summary["headline"][key], f"{getattr(t, key):.2f}"
        )
    truth.same(
        f"{where} dashboard API RAG",
        tuple(summary["headline"][c] for c in ("red", "amber", "green")),
        (t.red, t.amber, t.green),
    )
    html = client.get(
        f"/boards/{meeting_pack.meeting.board_id}/dashboard/", {"period": code}
    ).content.decode()
    truth.same(
        f"{where} dashboard page period",
        f'data-fund-context="{fund.code}" data-period="{code}"' in html,
        True,
    )
    truth.same(
        f"{where} dashboard page variance",
        f'data-fund="{fund.code}">{gbp(t.forecast_variance)}<' in html,
        True,
    )

    # The pack frozen for the meeting that reviewed this month.
    frozen = next(f for f in meeting_pack.snapshot["funds"] if f["code"] == fund.code)
    truth.same(f"{where} pack period", (frozen["period_code"], frozen["state"]), (code, "closed"))
    for key in HEADLINE:
        truth.same(f"{where} pack {key}", frozen["headline"][key], f"{getattr(t, key):.2f}")
    truth.same(
        f"{where} pack PDF",
        f"({code}, closed) – Forecast variance {gbp(t.forecast_variance)}" in meeting_pack.text,
        True,
    )


def _check_default(truth, client, fund, board):
    """Asked for nothing, every surface names the same month: the latest closed one."""
    want = f"2016/17-M{CLOSED:02d}"
    pages = {
        "overview": f"/budgets/funds/{fund.pk}/",
        "lines": f"/budgets/funds/{fund.pk}/lines/",
        "variance": f"/budgets/reports/variance/?fund={fund.code}",
        "month-end close": f"/budgets/funds/{fund.code}/reports/",
        "virement": f"/budgets/funds/{fund.pk}/virements/new/",
    }
    for name, url in pages.items():
        truth.same(
            f"{fund.code} default {name}", _caption_period(client.get(url).content.decode()), want
        )
    truth.same(
        f"{fund.code} default variance API",
        client.get(f"/api/v1/funds/{fund.code}/variance/").json()["period"],
        want,
    )
    truth.same(
        f"{fund.code} default figures API",
        client.get(f"/api/v1/figures/{fund.code}/variance/").json()["period"],
        want,
    )
    dash = client.get(f"/api/v1/boards/{board.pk}/dashboard/").json()
    summary = next(f for f in dash["funds"] if f["code"] == fund.code)
    truth.same(f"{fund.code} default dashboard", summary["period_code"], want)


def test_every_surface_names_the_same_month_and_agrees(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        funds, periods, board, chair, _member, meetings, viewer = _world()
    packs = {}
    for n, meeting in meetings.items():
        with django_capture_on_commit_callbacks(execute=True):
            pack = board_services.pack_request(actor=chair, meeting=meeting)
        pack.refresh_from_db()
        assert pack.status == "ready", pack.error
        pack.text = "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(pack.file.read())).pages
        )
        packs[n] = pack
    client.force_login(viewer)
    truth = Truth()
    for fund in funds:
        _check_default(truth, client, fund, board)
        for n in range(1, CLOSED + 1):
            _check_month(truth, client, fund, periods[n], packs[n])
    assert not truth.problems, "\n".join(truth.problems)
