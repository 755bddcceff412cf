"""Month-end close: the report task freezes the month once, makes its files, and never changes them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.figures.recompute import FundBusy, recompute_fund_now
from budgets.models import (
    ExportJob,
    FundBudget,
    FundPeriod,
    LineVariance,
    Period,
    ReportSnapshot,
    StaleMark,
)
from budgets.planning.services.forecasts import forecast_set
from budgets.planning.services.periods import period_close, period_reopen
from budgets.reports import month_close
from budgets.reports.tasks import period_close_reports
from budgets.reports.variance import compute_variance_report
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    w = budget_world(status=FundBudget.Status.APPROVED)
    recompute_fund_now(w.fund)
    w.m1 = Period.objects.select_related("year").get(year=w.year, number=1)
    w.m2 = Period.objects.select_related("year").get(year=w.year, number=2)
    return w


def close(w, period, capture):
    with capture(execute=True):
        period_close(actor=w.fin_host, fund=w.fund, period=period)


def test_closing_a_month_freezes_it_and_makes_csv_xlsx_and_pdf(
    world, django_capture_on_commit_callbacks
):
    close(world, world.m1, django_capture_on_commit_callbacks)
    snapshot = ReportSnapshot.objects.get(fund=world.fund, period=world.m1)
    assert snapshot.run == 1
    assert snapshot.verify()
    assert [r["line_code"] for r in snapshot.data["rows"]] == ["CH01", "HC01"]
    jobs = ExportJob.objects.filter(snapshot=snapshot)
    assert sorted(j.format for j in jobs) == ["csv", "pdf", "xlsx"]
    assert {j.status for j in jobs} == {ExportJob.Status.DONE}
    assert {j.source for j in jobs} == {ExportJob.Source.PERIOD_CLOSE}
    assert jobs.get(format="csv").filename == "variance-LP-TEST-2016-17-M01.csv"
    # The task is idempotent: running it again freezes nothing new and makes no new files.
    period_close_reports.apply(args=[world.fund.pk, world.m1.pk])
    assert ReportSnapshot.objects.filter(fund=world.fund, period=world.m1).count() == 1
    assert ExportJob.objects.filter(fund=world.fund).count() == 3


def forecast_then_close_without_the_report(w, capture):
    """M1 forecast up to 130,000 and closed, its report task not yet run: the fund is stale."""
    with capture(execute=False):
        forecast_set(
            actor=w.fin_host,
            line=w.host_line,
            period=w.m1,
            amount=Decimal("130000.00"),
            commentary="Demand up",
        )
        period_close(actor=w.fin_host, fund=w.fund, period=w.m1)


def test_pending_changes_are_recomputed_before_the_month_is_frozen(
    world, django_capture_on_commit_callbacks
):
    forecast_then_close_without_the_report(world, django_capture_on_commit_callbacks)
    assert StaleMark.objects.filter(fund=world.fund).exists()
    period_close_reports.apply(args=[world.fund.pk, world.m1.pk])
    assert not StaleMark.objects.filter(fund=world.fund).exists()
    report = compute_variance_report(fund=world.fund, period=world.m1)
    assert report.source == "snapshot"
    hc01 = {r.line_code: r for r in report.rows}["HC01"]
    assert hc01.forecast_outturn == Decimal("130000.00")
    assert hc01.forecast_variance == Decimal("10000.00")
    assert hc01.commentary == "Demand up"


def test_reopening_and_closing_again_adds_run_2_and_keeps_run_1(
    world, django_capture_on_commit_callbacks
):
    close(world, world.m1, django_capture_on_commit_callbacks)
    first = ReportSnapshot.objects.get(fund=world.fund, period=world.m1)
    frozen_data, frozen_checksum = first.data, first.checksum
    with django_capture_on_commit_callbacks(execute=True):
        period_reopen(actor=world.admin, fund=world.fund, period=world.m1, reason="Late invoice")
        forecast_set(
            actor=world.fin_host,
            line=world.host_line,
            period=world.m1,
            amount=Decimal("121000.00"),
            commentary="Late invoice for April placements",
        )
    close(world, world.m1, django_capture_on_commit_callbacks)
    runs = list(ReportSnapshot.objects.filter(fund=world.fund, period=world.m1).order_by("run"))
    assert [s.run for s in runs] == [1, 2]
    assert runs[0].data == frozen_data
    assert runs[0].checksum == frozen_checksum
    report = compute_variance_report(fund=world.fund, period=world.m1)
    assert report.snapshot_run == 2
    assert {r.line_code: r for r in report.rows}["HC01"].forecast_outturn == Decimal("121000.00")
    assert ExportJob.objects.filter(snapshot=runs[1], status=ExportJob.Status.DONE).count() == 3


def _busy(fund):
    raise FundBusy(fund.pk)


def test_while_another_worker_recomputes_the_fund_the_month_waits_for_its_figures(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    forecast_then_close_without_the_report(world, django_capture_on_commit_callbacks)
    monkeypatch.setattr(month_close, "recompute_fund_now", _busy)
    with pytest.raises(month_close.FiguresPending):
        month_close.close_month_reports(fund_id=world.fund.pk, period_id=world.m1.pk)
    assert not ReportSnapshot.objects.exists()
    # The files stay owed (pending, since the close) and free for the retry to take.
    assert (
        sorted(ExportJob.objects.values_list("status", "snapshot", "heartbeat_at", "attempts"))
        == [("pending", None, None, 0)] * 3
    )
    # Once the other worker has finished, the month freezes with the new forecast.
    monkeypatch.undo()
    assert (
        month_close.close_month_reports(fund_id=world.fund.pk, period_id=world.m1.pk)
        == "snapshot run 1; 3 files"
    )
    hc01 = {r["line_code"]: r for r in ReportSnapshot.objects.get().data["rows"]}["HC01"]
    assert hc01["forecast_outturn"] == "130000.00"


def test_in_process_the_month_freezes_what_the_snapshots_hold(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    recompute_fund_now(world.fund, full=True)  # figures as they stand before the forecast
    before = LineVariance.objects.get(line=world.host_line, period_number=1).forecast_outturn
    forecast_then_close_without_the_report(world, django_capture_on_commit_callbacks)
    monkeypatch.setattr(month_close, "recompute_fund_now", _busy)
    assert (
        month_close.close_month_reports(
            fund_id=world.fund.pk, period_id=world.m1.pk, files=False, wait_for_figures=False
        )
        == "snapshot run 1; files on request"
    )
    hc01 = {r["line_code"]: r for r in ReportSnapshot.objects.get().data["rows"]}["HC01"]
    assert hc01["forecast_outturn"] == str(before)  # the recompute had not run
    assert before != Decimal("130000.00")
    # files=False makes none: the three owed by the close are still waiting for their task.
    assert sorted(ExportJob.objects.values_list("status", flat=True)) == ["pending"] * 3


def test_the_task_does_nothing_for_a_month_that_is_open(world):
    assert (
        period_close_reports.apply(args=[world.fund.pk, world.m2.pk]).get() == "period not closed"
    )
    assert not ReportSnapshot.objects.exists()
    assert not ExportJob.objects.exists()


def test_only_the_hosts_finance_officer_can_close_from_the_page(
    world, client, django_capture_on_commit_callbacks
):
    url = reverse("budgets:month-close", args=[world.fund.code])
    client.force_login(world.fin_ccg)
    page = client.get(url).content.decode()
    assert 'id="close-period"' not in page
    assert client.post(url, {"period": "2016/17-M01"}).status_code == 403
    client.force_login(world.fin_outsider)
    assert client.post(url, {"period": "2016/17-M01"}).status_code == 404
    client.force_login(world.fin_host)
    assert 'id="close-period"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"period": "2016/17-M01"})
    # The month-end tasks run after the close commits; the page the user is sent to lists them.
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "2016/17-M01 is closed" in html
    assert 'data-download="xlsx"' in html
    assert ReportSnapshot.objects.filter(fund=world.fund, period=world.m1).count() == 1


def test_an_administrator_reopens_the_latest_closed_month_from_the_page_with_a_reason(
    world, client, django_capture_on_commit_callbacks
):
    close(world, world.m1, django_capture_on_commit_callbacks)
    close(world, world.m2, django_capture_on_commit_callbacks)
    close_page = reverse("budgets:month-close", args=[world.fund.code])
    reopen_page = reverse("budgets:period-reopen", args=[world.fund.code])
    client.force_login(world.admin)
    assert 'id="reopen-link"' in client.get(close_page).content.decode()
    form = client.get(reopen_page).content.decode()
    assert "Reopen 2016/17-M02 for LP-TEST" in form  # the latest closed month
    assert 'value="2016/17-M02"' in form

    # No reason: refused, said beside the box, nothing changes.
    page = client.post(reopen_page, {"period": "2016/17-M02", "reason": "  "}).content.decode()
    assert "Say why the period is reopened." in page
    assert 'id="reason-error"' in page
    # Not the latest: refused with the rule.
    page = client.post(reopen_page, {"period": "2016/17-M01", "reason": "x"}).content.decode()
    assert "Reopen 2016/17-M02 first: periods reopen latest first." in page
    assert list(
        FundPeriod.objects.filter(fund=world.fund)
        .order_by("period__number")
        .values_list("status", flat=True)
    ) == ["closed", "closed"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reopen_page, {"period": "2016/17-M02", "reason": "Late NHS invoices for May"}
        )
    assert response.status_code == 302
    assert response["Location"] == f"{close_page}?year=2016/17"
    row = FundPeriod.objects.get(fund=world.fund, period=world.m2)
    assert (row.status, row.changed_by, row.reason) == (
        "open",
        world.admin,
        "Late NHS invoices for May",
    )
    record = row.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        world.admin,
        "Reopened: Late NHS invoices for May",
    )
    html = client.get(response["Location"]).content.decode()
    assert "2016/17-M02 is open again for LP-TEST." in html
    assert f"by {world.admin}: Late NHS invoices for May" in html
    # M1 is now the latest closed month, so it is the one offered next.
    assert f'{reopen_page}?period=2016/17-M01"' in html
    # Run 1 of M2 stays frozen as it was.
    assert ReportSnapshot.objects.filter(fund=world.fund, period=world.m2).count() == 1


def test_only_an_administrator_may_reopen_from_the_page(
    world, client, django_capture_on_commit_callbacks
):
    close(world, world.m1, django_capture_on_commit_callbacks)
    close_page = reverse("budgets:month-close", args=[world.fund.code])
    reopen_page = reverse("budgets:period-reopen", args=[world.fund.code])
    for user in (world.fin_host, world.comm_host, world.fin_ccg):
        client.force_login(user)
        assert 'id="reopen-link"' not in client.get(close_page).content.decode()
        assert client.get(reopen_page).status_code == 403
        post = client.post(reopen_page, {"period": "2016/17-M01", "reason": "late"})
        assert post.status_code == 403
    client.force_login(world.fin_outsider)
    assert client.post(reopen_page, {"period": "2016/17-M01", "reason": "late"}).status_code == 404
    assert FundPeriod.objects.get(fund=world.fund, period=world.m1).status == "closed"


def test_reopen_page_with_nothing_closed_says_so(world, client):
    client.force_login(world.admin)
    page = client.get(reverse("budgets:period-reopen", args=[world.fund.code]))
    assert "No month of LP-TEST is closed, so there is nothing to reopen." in page.content.decode()
    refused = client.post(reverse("budgets:period-reopen", args=[world.fund.code]), {})
    assert "No month of LP-TEST is closed." in refused.content.decode()
