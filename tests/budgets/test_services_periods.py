from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from budgets.models import BudgetLine, FundBudget, FundPeriod, Period, StaleMark
from budgets.planning.services import adjustments
from budgets.planning.services import periods as svc
from budgets.reports import tasks as report_tasks
from budgets.selectors import fund_periods, get_period, period_status
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, PeriodClosed
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db
AFTER_YEAR = date(2017, 4, 20)


@pytest.fixture
def world():
    return budget_world(status=FundBudget.Status.APPROVED)


def period(world, n):
    return Period.objects.select_related("year").get(year=world.year, number=n)


def test_host_finance_officer_closes_months_in_order(world):
    row = svc.period_close(
        actor=world.fin_host, fund=world.fund, period=period(world, 1), today=date(2016, 5, 3)
    )
    assert row.status == "closed"
    assert row.changed_by == world.fin_host
    assert period_status(world.fund, period(world, 1)) == "closed"
    with pytest.raises(ApplicationError, match="Close 2016/17-M02 first"):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 3), today=AFTER_YEAR
        )
    with pytest.raises(ApplicationError, match="already closed"):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )


def test_a_month_that_has_not_ended_cannot_close(world):
    with pytest.raises(
        ApplicationError, match="has not ended yet; it can be closed from 1 May 2016"
    ):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=date(2016, 4, 30)
        )


def test_others_cannot_close(world):
    with pytest.raises(NotAllowed):
        svc.period_close(
            actor=world.fin_ccg, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    with pytest.raises(NotFound):
        svc.period_close(
            actor=world.fin_outsider, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    assert not FundPeriod.objects.exists()


def test_close_marks_the_fund_stale_and_hands_over_to_the_report_task(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr(
        report_tasks,
        "period_close_reports",
        SimpleNamespace(delay=lambda *a: calls.append(a)),
        raising=False,
    )
    from budgets import outbox

    recomputes: list[int] = []
    monkeypatch.setattr(outbox, "enqueue_recompute", recomputes.append)
    StaleMark.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    assert calls == [(world.fund.pk, period(world, 1).pk)]
    assert recomputes == [world.fund.pk]
    mark = StaleMark.objects.get()
    assert (mark.line_id, mark.period_number) == (None, 1)


def test_close_works_before_the_report_task_exists(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delattr(report_tasks, "period_close_reports", raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )


def test_only_an_administrator_reopens_latest_first_with_a_reason(world):
    for n in (1, 2):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, n), today=AFTER_YEAR
        )
    with pytest.raises(NotAllowed):
        svc.period_reopen(
            actor=world.fin_host, fund=world.fund, period=period(world, 2), reason="late"
        )
    with pytest.raises(ApplicationError, match="Say why"):
        svc.period_reopen(actor=world.admin, fund=world.fund, period=period(world, 2), reason="")
    with pytest.raises(ApplicationError, match="Reopen 2016/17-M02 first"):
        svc.period_reopen(
            actor=world.admin, fund=world.fund, period=period(world, 1), reason="late"
        )
    row = svc.period_reopen(
        actor=world.admin, fund=world.fund, period=period(world, 2), reason="Late NHS invoices"
    )
    assert row.status == "open"
    record = row.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        world.admin,
        "Reopened: Late NHS invoices",
    )
    statuses = [p["status"] for p in fund_periods(world.fund, world.year)]
    assert statuses == ["closed"] + ["open"] * 12


def test_get_period_by_code():
    from tests.budgets.factories import make_year

    make_year()
    assert get_period("2016/17-M06").start_date == date(2016, 9, 1)
    with pytest.raises(NotFound):
        get_period("2016/17-M6")


def test_adjustment_by_host_finance_officer_is_spread_over_open_months(world):
    svc.period_close(
        actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
    )
    adj = adjustments.adjustment_create(
        actor=world.fin_host,
        line=world.host_line,
        amount="5500.00",
        reason="Care Act funding",
        recurrent=True,
    )
    assert adj.period.code == "2016/17-M02"
    line = BudgetLine.objects.get(pk=world.host_line.pk)
    assert (line.original_budget, line.changes, line.current_budget) == (
        D("120000.00"),
        D("5500.00"),
        D("125500.00"),
    )
    assert line.phasing == [D("10000.00")] + [D("10500.00")] * 11


def test_adjustment_refusals(world):
    line = world.host_line
    with pytest.raises(NotAllowed):
        adjustments.adjustment_create(actor=world.comm_host, line=line, amount="1.00", reason="x")
    with pytest.raises(NotFound):
        adjustments.adjustment_create(
            actor=world.fin_outsider, line=line, amount="1.00", reason="x"
        )
    with pytest.raises(ApplicationError, match="cross zero"):
        adjustments.adjustment_create(
            actor=world.fin_host, line=line, amount="-120000.01", reason="x"
        )
    with pytest.raises(ApplicationError, match="nothing"):
        adjustments.adjustment_create(actor=world.fin_host, line=line, amount="0", reason="x")
    svc.period_close(
        actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
    )
    with pytest.raises(PeriodClosed, match="Period 2016/17-M01 is closed"):
        adjustments.adjustment_create(
            actor=world.fin_host, line=line, amount="1.00", reason="x", period=period(world, 1)
        )
    FundBudget.objects.filter(fund=world.fund).update(status=FundBudget.Status.DRAFT)
    with pytest.raises(ApplicationError, match="not approved yet"):
        adjustments.adjustment_create(actor=world.fin_host, line=line, amount="1.00", reason="x")
    assert BudgetLine.objects.get(pk=line.pk).current_budget == D("120000.00")


def test_a_failing_report_task_does_not_fail_the_committed_close(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(
        report_tasks, "period_close_reports", SimpleNamespace(delay=boom), raising=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    assert period_status(world.fund, period(world, 1)) == "closed"
