"""The board pack on paper: the finance dashboard of a Greater Manchester-sized board prints every
figure whole and fits the page (A4 landscape for the finance section), and no chart label is cut."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from boards import charts
from boards import pack as pack_module
from boards.dashboard import Dashboard, FundSummary, Headline, Movement, RedLine
from boards.models import BoardPack
from gmhsc.money import format_money
from tests.paper import CUT_OR_PENCE, boxes_wider_than_the_page, pdf_text

pytestmark = pytest.mark.django_db
D = Decimal
BOROUGHS = (
    "Bolton",
    "Bury",
    "Manchester",
    "Oldham",
    "Rochdale",
    "Salford",
    "Stockport",
    "Tameside and Glossop",
    "Trafford",
    "Wigan",
)


def gm_dashboard() -> Dashboard:
    """Eleven funds in the billions, with pence, as GM-POOL and the locality pools are."""
    funds = [
        FundSummary(
            n,
            f"LP-{b.upper().replace(' ', '-')}"[:20],
            f"{b} locality pool",
            "2016/17",
            6,
            Headline(
                D("651000123.45") * (n + 1),
                D("319000456.55") * (n + 1),
                D("365000789.50") * (n + 1),
                D("-285742036.15") * (n + 1),
                1918,
                100,
                82,
            ),
        )
        for n, b in enumerate(BOROUGHS)
    ]
    total = Headline()
    for f in funds:
        total.add(f.headline)
    return Dashboard(
        board_code="JCB",
        board_name="Greater Manchester Joint Commissioning Board",
        period_label="Sep 2016/17 (M06)",
        funds=funds,
        total=total,
        by_service_area=[
            (f"Adult social care: residential and nursing care {n}", D("-500000000.45") + n)
            for n in range(12)
        ],
        by_locality=[(b, D("-52345678.90") * (n + 1)) for n, b in enumerate(BOROUGHS)],
        trend=[
            (m, D("6510000000.00"), D("6400000000.00"))
            for m in ("Apr", "May", "Jun", "Jul", "Aug", "Sep")
        ],
        risk_share=[
            (f"NHS {b} Clinical Commissioning Group", D("-128574203.61")) for b in BOROUGHS
        ],
        movements=[
            Movement(
                f"ASC.HOME-{n:02d}",
                "Home care and reablement, integrated community equipment",
                "GM-POOL",
                D("1000000.25"),
                D("3030200.75"),
                D("2030200.50"),
            )
            for n in range(10)
        ],
        movements_since="in the latest month",
        red_lines=[
            RedLine(
                f"AC.NEL-{n:02d}",
                "Non-elective acute admissions",
                "GM-POOL",
                D("2030200.45"),
                D("1087677.55"),
                D("53.57"),
                "Winter pressures; a recovery plan is agreed with the providers and reviewed monthly",
            )
            for n in range(10)
        ],
        as_at=timezone.make_aware(dt.datetime(2016, 10, 3, 14, 2)),
    )


def test_the_finance_dashboard_prints_whole_figures_and_fits_the_page(
    jcb_setup, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    dash = gm_dashboard()
    meeting = jcb_setup["meeting"]
    pack = BoardPack.objects.create(meeting=meeting, version=1, requested_by=jcb_setup["chair"])
    pages: list[str] = []
    render_front = pack_module._render_front

    def keep_html(context):
        pages.append(render_to_string("boards/pack/pack.html", context))
        return render_front(context)

    monkeypatch.setattr(pack_module, "_render_front", keep_html)
    pdf, _, _ = pack_module.render_pack(meeting, pack, dash, include_private=True)
    text = pdf_text(pdf)
    assert CUT_OR_PENCE.findall(text) == []
    for fund in dash.funds:
        for value in (
            fund.headline.current_budget,
            fund.headline.ytd_actual,
            fund.headline.forecast_outturn,
            fund.headline.forecast_variance,
        ):
            assert format_money(value) in text
    assert format_money(dash.total.forecast_variance) == "(£15,715,811,988)"
    assert "(£15,715,811,988)" in text
    assert boxes_wider_than_the_page(pages[-1]) == []


def test_chart_labels_are_never_cut():
    dash = gm_dashboard()
    for name in charts.CHART_NAMES:
        svg = charts.chart_svg(name, dash).decode()
        assert "…" not in svg
    assert "(£500,000,000)" in charts.chart_svg("service-area", dash).decode()
    assert (
        "NHS Tameside and Glossop Clinical Commissioning Group"
        in charts.chart_svg("risk-share", dash).decode()
    )
