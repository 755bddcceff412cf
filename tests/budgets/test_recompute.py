"""The recompute engine: report columns, RAG, positions, idempotency, freshness and reconcile."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from budgets.figures.recompute import recompute_fund_now, reconcile_fund
from budgets.freshness import fund_freshness
from budgets.models import (
    Forecast,
    FundPosition,
    LineVariance,
    Period,
    RiskShareAgreement,
    RiskShareAllocation,
    SpendPosting,
    StaleMark,
)
from budgets.outbox import mark_stale, mark_stale_from_sql
from budgets.planning.services.commitments import commitments_replace
from tests.budgets.factories import budget_world, make_posting

pytestmark = pytest.mark.django_db
D = Decimal


def post(w, line, doc, amount, n):
    make_posting(organisation=w.host, line=line, document=doc, amount=amount, period_number=n)
    mark_stale(
        fund_id=w.fund.pk, year_id=w.year.pk, line_ids=[line.pk], period_numbers=[n], reason="t"
    )


def snapshot(line, n):
    return LineVariance.objects.get(line=line, period_number=n)


def test_posting_then_recompute_gives_every_report_column():
    w = budget_world()
    # host line: 120,000 flat = 10,000 a month; spend 11,000 in each of M1..M3
    for n in (1, 2, 3):
        post(w, w.host_line, f"D{n}", "11000.00", n)
    commitments_replace(
        actor=w.fin_host, source_ref="PO-9", rows={w.host_line.pk: {3: D("700"), 5: D("500.00")}}
    )
    assert StaleMark.objects.filter(fund=w.fund).count() == 4
    result = recompute_fund_now(w.fund)
    assert result["marks"] == 4
    assert not StaleMark.objects.filter(fund=w.fund).exists()
    row = snapshot(w.host_line, 3)
    assert row.current_budget == D("120000.00")
    assert row.ytd_budget == D("30000.00")
    assert row.ytd_actual == D("33000.00")
    assert row.ytd_variance == D("3000.00")
    assert row.ytd_variance_pct == D("10.00")
    assert row.commitments == D("500.00")  # M5 only: months after M3
    # no forecast: outturn = actual to date + remaining phased budget (9 x 10,000)
    assert row.forecast_outturn == D("123000.00")
    assert row.forecast_variance == D("3000.00")
    assert row.forecast_variance_pct == D("2.50")
    assert row.rag == "amber"
    assert row.adverse_favourable == "adverse"
    assert snapshot(w.host_line, 2).forecast_variance == D("2000.00")
    assert row.movement == D("1000.00")
    assert snapshot(w.host_line, 1).movement == D("0.00")
    assert snapshot(w.host_line, 1).commitments == D("1200.00")
    # untouched line has no snapshot yet (only affected lines are aggregated)
    assert not LineVariance.objects.filter(line=w.ccg_line).exists()


def test_forecast_applies_to_its_period_and_later_and_rag_red_favourable():
    w = budget_world()
    periods = {p.number: p for p in Period.objects.filter(year=w.year)}
    Forecast.objects.create(line=w.ccg_line, period=periods[4], amount=D("54000.00"))
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="forecast")
    recompute_fund_now(w.fund)
    # before the forecast: nothing spent + 9 months of 5,000 still phased
    assert snapshot(w.ccg_line, 3).forecast_outturn == D("45000.00")
    m4 = snapshot(w.ccg_line, 4)
    assert m4.forecast_outturn == D("54000.00")
    assert m4.forecast_variance == D("-6000.00")
    assert m4.forecast_variance_pct == D("-10.00")
    assert m4.rag == "red"
    assert m4.adverse_favourable == "favourable"
    assert m4.movement == D("9000.00")  # -6,000 now against -15,000 at M3
    assert snapshot(w.ccg_line, 9).forecast_outturn == D("54000.00")


def test_rag_floor_keeps_small_variances_green():
    w = budget_world()
    w.fund.rag_floor = D("5000.00")
    w.fund.save()
    post(w, w.host_line, "F1", "14000.00", 1)  # +4,000 = 3.33% but under £5,000
    recompute_fund_now(w.fund)
    row = snapshot(w.host_line, 1)
    assert (row.forecast_variance, row.rag) == (D("4000.00"), "green")


def test_fund_position_totals_and_rag_counts():
    w = budget_world()
    post(w, w.host_line, "P1", "16000.00", 1)  # +6,000 on 120,000 = exactly 5%: amber
    post(w, w.ccg_line, "P2", "5000.00", 1)  # on plan: green
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="all")
    recompute_fund_now(w.fund)
    pos = FundPosition.objects.get(fund=w.fund, period_number=1)
    assert pos.current_budget == D("180000.00")
    assert pos.ytd_budget == D("15000.00")
    assert pos.ytd_actual == D("21000.00")
    assert pos.forecast_variance == D("6000.00")
    assert pos.forecast_variance_pct == D("3.33")  # 6,000 / 180,000
    # domain.md 2.4: amber from 2% up to and including 5%, red only above 5%.
    assert (pos.red_count, pos.amber_count, pos.green_count) == (0, 1, 1)
    assert FundPosition.objects.filter(fund=w.fund).count() == 12
    post(w, w.host_line, "P3", "0.01", 1)  # one penny more: above 5%, red
    recompute_fund_now(w.fund)
    pos = FundPosition.objects.get(fund=w.fund, period_number=1)
    assert (pos.red_count, pos.amber_count, pos.green_count) == (1, 0, 1)


def test_risk_share_written_per_period_and_actual_at_year_end():
    w = budget_world()
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="pro_rata", parameters={})
    post(w, w.host_line, "R1", "10001.00", 1)  # +1.00 overspend
    post(w, w.ccg_line, "R2", "5000.00", 1)
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="all")
    recompute_fund_now(w.fund)
    m1 = dict(
        RiskShareAllocation.objects.filter(
            fund=w.fund, period_number=1, basis="forecast"
        ).values_list("partner__code", "amount")
    )
    assert m1 == {"TCOUNCIL": D("0.60"), "TCCG": D("0.40")}
    actual = dict(
        RiskShareAllocation.objects.filter(
            fund=w.fund, period_number=12, basis="actual"
        ).values_list("partner__code", "amount")
    )
    # at M12 actual: 15,001 spent against 180,000 = 164,999 under, shared 60:40
    assert actual == {"TCOUNCIL": D("-98999.40"), "TCCG": D("-65999.60")}


def test_running_twice_gives_identical_rows_and_reconcile_is_clean(capsys):
    w = budget_world()
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="own_risk", parameters={})
    post(w, w.host_line, "I1", "12345.67", 2)
    post(w, w.ccg_line, "I2", "-250.00", 3)
    recompute_fund_now(w.fund, full=True)
    cols = [
        "line_id",
        "period_number",
        "ytd_actual",
        "forecast_variance",
        "rag",
        "movement",
        "commitments",
    ]
    first = list(LineVariance.objects.order_by("line_id", "period_number").values_list(*cols))
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="again")
    recompute_fund_now(w.fund)
    assert (
        list(LineVariance.objects.order_by("line_id", "period_number").values_list(*cols)) == first
    )
    assert reconcile_fund(w.fund) == []
    call_command("reconcile", "--fund", w.fund.code)
    assert "no differences" in capsys.readouterr().out


def test_reconcile_reports_a_tampered_snapshot_and_exits_non_zero(capsys):
    w = budget_world()
    post(w, w.host_line, "T1", "100.00", 1)
    recompute_fund_now(w.fund, full=True)
    LineVariance.objects.filter(line=w.host_line, period_number=1).update(ytd_actual=D("99.00"))
    with pytest.raises(SystemExit) as exc:
        call_command("reconcile")
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "LP-TEST line HC01 M01 ytd_actual: snapshot 99.00 != recomputed 100.00" in out


def test_reconcile_reports_a_posting_whose_budget_line_is_missing():
    """Postings have no row-by-row FK check; reconcile is where a dangling line would show."""
    w = budget_world()
    post(w, w.host_line, "OK1", "100.00", 1)
    good = SpendPosting.objects.get(document_number="OK1")
    SpendPosting.objects.bulk_create(
        [
            SpendPosting(
                organisation_id=good.organisation_id,
                document_number="LOST1",
                line_number=1,
                posting_date=good.posting_date,
                period_id=good.period_id,
                fund_id=good.fund_id,
                budget_line_id=10**9,
                amount=D("5.00"),
            )
        ]
    )
    recompute_fund_now(w.fund, full=True)
    assert reconcile_fund(w.fund) == [f"LP-TEST posting LOST1/1: budget line {10**9} is missing"]


def test_freshness_counts_pending_marks_and_formats_time():
    from datetime import UTC, datetime

    from budgets.freshness import Freshness

    w = budget_world()
    assert fund_freshness(w.fund).computed_at is None
    post(w, w.host_line, "F1", "1.00", 1)
    post(w, w.host_line, "F2", "1.00", 1)
    post(w, w.host_line, "F3", "1.00", 1)
    assert fund_freshness(w.fund).pending == 3
    recompute_fund_now(w.fund)
    fresh = fund_freshness(w.fund, w.year)
    assert fresh.pending == 0
    assert fresh.computed_at is not None
    f = Freshness(computed_at=datetime(2016, 10, 3, 13, 2, tzinfo=UTC), pending=3)
    assert f.as_at_text == "Figures as at 14:02 on 3 October 2016"  # Europe/London, BST
    assert f.pending_text == "Recalculating: 3 changes pending"
    assert f.as_dict() == {"as_at": "2016-10-03T13:02:00+00:00", "pending_changes": 3}


def test_figures_api_carries_freshness_and_hides_other_funds():
    from rest_framework.test import APIClient

    w = budget_world()
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="pro_rata", parameters={})
    post(w, w.host_line, "A1", "10500.00", 1)
    recompute_fund_now(w.fund, full=True)
    post(w, w.host_line, "A2", "1.00", 1)  # one change pending
    client = APIClient()
    client.force_authenticate(w.fin_host)
    body = client.get(f"/api/v1/figures/{w.fund.code}/variance/?period=1").json()
    assert body["pending_changes"] == 1
    assert body["as_at"] is not None
    host_row = next(r for r in body["results"] if r["line"] == "HC01")
    assert host_row["ytd_actual"] == "10500.00"
    assert host_row["rag"] == "green"
    positions = client.get(f"/api/v1/figures/{w.fund.code}/positions/").json()
    assert len(positions["results"]) == 12
    shares = client.get(f"/api/v1/figures/{w.fund.code}/risk-share/?period=1").json()
    assert {r["partner"]: r["amount"] for r in shares["results"]} == {
        "TCOUNCIL": "-2700.00",  # M1 forecast variance: +500 host, -5,000 CCG (nothing spent)
        "TCCG": "-1800.00",
    }
    assert "pending_changes" in client.get(f"/api/v1/figures/{w.fund.code}/allocation-runs/").json()
    outsider = APIClient()
    outsider.force_authenticate(w.fin_outsider)
    assert outsider.get(f"/api/v1/figures/{w.fund.code}/positions/").status_code == 404


def test_lines_missing_commentary_lists_amber_and_red_lines_without_it():
    from budgets.figures.selectors import lines_missing_commentary

    w = budget_world()
    post(w, w.host_line, "C1", "16000.00", 1)  # red
    post(w, w.ccg_line, "C2", "5000.00", 1)  # green
    recompute_fund_now(w.fund)
    assert [v.line.code for v in lines_missing_commentary(w.fund, 1)] == ["HC01"]
    period = Period.objects.get(year=w.year, number=1)
    Forecast.objects.create(
        line=w.host_line, period=period, amount=D("126000.00"), commentary="Pressure"
    )
    assert list(lines_missing_commentary(w.fund, 1)) == []


def test_broker_down_the_write_stands_and_the_mark_waits_for_the_sweep(
    django_capture_on_commit_callbacks, monkeypatch
):
    from budgets.figures import tasks

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    w = budget_world()
    monkeypatch.setattr(tasks.recompute_fund, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(w, w.host_line, "BD1", "10.00", 1)
    assert len(callbacks) == 1
    assert StaleMark.objects.filter(fund=w.fund).count() == 1
    monkeypatch.undo()
    monkeypatch.setattr(tasks, "SWEEP_MIN_AGE", __import__("datetime").timedelta(0))
    assert tasks.sweep_stale_marks() == [w.fund.pk]  # eager: the sweep's task runs in-process
    assert not StaleMark.objects.filter(fund=w.fund).exists()
    assert snapshot(w.host_line, 1).ytd_actual == D("10.00")


def test_recompute_command_and_demo_seed_rebuild_every_fund(capsys):
    from budgets.demo import recompute as demo_recompute

    w = budget_world()
    post(w, w.host_line, "M1", "7.00", 1)
    call_command("recompute", "--fund", w.fund.code)
    assert "LP-TEST: 2 lines recomputed" in capsys.readouterr().out
    assert snapshot(w.host_line, 1).ytd_actual == D("7.00")
    assert LineVariance.objects.filter(fund=w.fund).count() == 24
    assert list(demo_recompute.seed()) == ["LP-TEST: 2 lines recomputed"]
    assert reconcile_fund(w.fund) == []


def test_freshness_include_never_shows_a_silently_stale_number():
    from datetime import UTC, datetime

    from django.template.loader import render_to_string

    from budgets.freshness import Freshness

    html = render_to_string(
        "budgets/includes/freshness.html",
        {"freshness": Freshness(computed_at=datetime(2016, 10, 3, 13, 2, tzinfo=UTC), pending=3)},
    )
    assert "Figures as at 14:02 on 3 October 2016" in html
    assert "Recalculating: 3 changes pending" in html
    calm = render_to_string(
        "budgets/includes/freshness.html",
        {"freshness": Freshness(computed_at=datetime(2016, 10, 3, 13, 2, tzinfo=UTC), pending=0)},
    )
    assert "Recalculating" not in calm


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the set-based marks serve the COPY import engine (PostgreSQL)",
)
def test_set_based_marks_are_the_marks_mark_stale_writes(django_capture_on_commit_callbacks):
    from budgets.ledger.services.postings import stale_after_posting

    w = budget_world()
    other = w.ccg_line
    changes = [
        (w.fund.pk, w.year.pk, w.host_line.pk, 5),
        (w.fund.pk, w.year.pk, w.host_line.pk, 3),
        (w.fund.pk, w.year.pk, other.pk, 7),
    ]

    def marks():
        return sorted(
            StaleMark.objects.values_list(
                "fund_id", "year_id", "line_id", "period_number", "reason"
            )
        )

    with django_capture_on_commit_callbacks() as row_by_row:
        stale_after_posting(changes)
    expected = marks()
    assert expected == [
        (w.fund.pk, w.year.pk, line, 3, "spend posted")
        for line in sorted([w.host_line.pk, other.pk])
    ]
    StaleMark.objects.all().delete()
    values = ", ".join(["(%s, %s, %s, %s)"] * len(changes))
    with django_capture_on_commit_callbacks() as set_based:
        mark_stale_from_sql(
            f"SELECT * FROM (VALUES {values}) v (fund_id, year_id, line_id, period_number)",
            [value for change in changes for value in change],
            reason="spend posted",
        )
    assert marks() == expected
    assert len(set_based) == len(row_by_row) == 1
