from datetime import date
from decimal import Decimal

import pytest
from celery import current_app
from django.db import transaction

from budgets.models import BudgetLine, FundBudget, FundPeriod, Period, StaleMark
from budgets.planning.services import adjustments
from budgets.planning.services import periods as svc
from budgets.selectors import fund_periods, get_period, period_status
from gmhsc import background
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, PeriodClosed
from localities import roles
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
    sent: list[tuple[str, tuple, dict]] = []
    monkeypatch.setattr(background, "send", lambda name, *a, **kw: sent.append((name, a, kw)))
    StaleMark.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    assert sent == [
        ("budgets.tasks.recompute_fund", (world.fund.pk,), {}),
        ("budgets.tasks.period_close_reports", (world.fund.pk, period(world, 1).pk), {}),
    ]
    mark = StaleMark.objects.get()
    assert (mark.line_id, mark.period_number) == (None, 1)


def test_services_start_background_work_only_by_a_registered_task_name(world):
    for name in (
        "budgets.tasks.recompute_fund",
        "budgets.tasks.period_close_reports",
        "budgets.tasks.import_ledger",
        "budgets.tasks.export_variance",
        "budgets.tasks.export_transparency",
        "boards.tasks.build_pack",
    ):
        assert background.task_named(name).name == name

    def close_and_enqueue(name: str) -> None:
        with transaction.atomic():
            FundPeriod.objects.create(fund=world.fund, period=period(world, 1), status="closed")
            background.enqueue_on_commit(name)

    with pytest.raises(KeyError):
        close_and_enqueue("budgets.tasks.period_close_report")  # misspelt
    assert not FundPeriod.objects.exists()


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


def test_nobody_reopens_a_month_they_closed_themselves(world):
    """Issue 21 item 14: an administrator who is also the host's finance officer closed the month,
    so another administrator reopens it."""
    from django.contrib.auth.models import Group

    both = world.fin_host
    both.groups.add(Group.objects.get_or_create(name=roles.ADMINISTRATOR)[0])
    both = type(both).objects.get(pk=both.pk)  # roles are cached per object
    svc.period_close(actor=both, fund=world.fund, period=period(world, 1), today=AFTER_YEAR)
    with pytest.raises(NotAllowed, match="You closed 2016/17-M01 for LP-TEST yourself"):
        svc.period_reopen(actor=both, fund=world.fund, period=period(world, 1), reason="late")
    assert FundPeriod.objects.get(fund=world.fund, period=period(world, 1)).status == "closed"
    row = svc.period_reopen(
        actor=world.admin, fund=world.fund, period=period(world, 1), reason="Late invoices"
    )
    assert (row.status, row.changed_by) == ("open", world.admin)


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


def test_a_broker_outage_does_not_fail_the_committed_close(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(
        background.task_named("budgets.tasks.period_close_reports"), "apply_async", broker_down
    )
    monkeypatch.setattr(
        background.task_named("budgets.tasks.recompute_fund"), "apply_async", broker_down
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        svc.period_close(
            actor=world.fin_host, fund=world.fund, period=period(world, 1), today=AFTER_YEAR
        )
    assert len(callbacks) == 2
    assert period_status(world.fund, period(world, 1)) == "closed"
    assert StaleMark.objects.filter(fund=world.fund).exists()  # the sweep takes it from here
