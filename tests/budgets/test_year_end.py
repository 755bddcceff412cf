"""Year end and settlement for a two-partner fund, with hand-computed figures.

budget_world: Test Council (host) contributes 600,000.00 and Test CCG 400,000.00 (shares 60:40) to
LP-TEST 2016/17, whose lines are HC01 120,000.00 and CH01 60,000.00 (budget 180,000.00), shared pro
rata to contributions.

Overspend: HC01 spends 10,500.00 a month (126,000.00) plus a 3,000.00 year-end accrual in M13;
CH01 5,000.00 a month (60,000.00). Outturn 189,000.00: an overspend of 9,000.00.
Underspend: HC01 9,500.00 a month, CH01 4,750.00: outturn 171,000.00, an underspend of 9,000.00,
shared host (5,400.00), CCG (3,600.00).
"""

from datetime import date
from decimal import Decimal

import pytest

from budgets.ledger.services.postings import spend_post
from budgets.models import (
    Contribution,
    FundPeriod,
    Period,
    ReportSnapshot,
    RiskShareAgreement,
    Settlement,
    YearEnd,
)
from budgets.planning.services.funds import (
    YearClosed,
    contribution_set,
    contributions_fix_shares,
)
from budgets.planning.services.periods import period_close, period_reopen
from budgets.planning.services.receipts import receipt_record
from budgets.planning.year_selectors import contribution_statuses, overdue_instalments
from budgets.reports.memorandum import frozen_year_account
from budgets.reports.year_end import YearNotReady, financial_year_close, financial_year_reopen
from gmhsc.errors import ApplicationError, Conflict, NotAllowed, NotFound, RowErrors
from tests.budgets.factories import (
    ContributionFactory,
    close_months_by_service,
    make_year,
    spend_every_month,
    year_cycle_world,
)

D = Decimal
pytestmark = pytest.mark.django_db


def spend(w, host_month, ccg_month):
    spend_every_month(w, host_month, ccg_month)


def receive(w, partner, *payments):
    contribution = Contribution.objects.get(fund=w.fund, year=w.year, partner=partner)
    for day, amount in payments:
        receipt_record(
            actor=w.fin_host,
            contribution=contribution,
            amount=amount,
            received_on=day,
            reference=f"BACS-{partner.code}-{day}",
        )


def m13_accrual(w, actor, organisation, amount="3000.00"):
    return spend_post(
        actor=actor,
        organisation=organisation,
        rows=[
            {
                "document_number": "YE-ACR-1",
                "line_number": 1,
                "posting_date": date(2017, 3, 31),
                "period": "2016/17-M13",
                "amount": amount,
                "budget_line": w.host_line.pk,
                "description": "Year-end accrual: March care invoiced in April",
                "is_accrual": True,
            }
        ],
    )


@pytest.fixture
def world():
    return year_cycle_world()


def settlement(close):
    return {
        s.partner.code: (
            s.contribution,
            s.receipts,
            s.variance_share,
            s.underspend_returned,
            s.underspend_retained,
            s.underspend_carried_forward,
            s.net_due,
        )
        for s in Settlement.objects.filter(year_end=close).select_related("partner")
    }


def test_overspend_with_a_formal_variation_and_a_late_part_paid_instalment(world):
    w = world
    contributions_fix_shares(actor=w.fin_host, fund=w.fund, year=w.year)
    contribution_set(
        actor=w.fin_host,
        fund=w.fund,
        year=w.year,
        partner=w.ccg,
        amount="420000.00",
        variation_reason="Section 75 variation 1: community nursing transferred in",
    )
    spend(w, "10500.00", "5000.00")
    receive(
        w,
        w.host,
        *[(f"2016-{m:02d}-01", "150000.00") for m in (4, 7, 10)],
        ("2017-01-03", "150000.00"),
    )
    receive(
        w,
        w.ccg,
        ("2016-04-01", "100000.00"),
        ("2016-07-15", "100000.00"),
        ("2016-11-20", "60000.00"),
    )
    close_months_by_service(w)
    m13_accrual(w, w.fin_host, w.host)
    close = financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year, reason="Audited")
    assert (close.budget, close.outturn, close.variance) == (
        D("180000.00"),
        D("189000.00"),
        D("9000.00"),
    )
    # 9,000.00 pro rata 600,000 : 420,000 -> 5,294.12 and 3,705.88 (the tied penny to the host).
    assert settlement(close) == {
        "TCOUNCIL": (D("600000.00"), D("600000.00"), D("5294.12"), D(0), D(0), D(0), D("5294.12")),
        "TCCG": (D("420000.00"), D("260000.00"), D("3705.88"), D(0), D(0), D(0), D("163705.88")),
    }
    # The CCG's instalments of 105,000.00: receipts pay the earliest first. Q1 completes on 15 July
    # (late), Q2 on 20 November (late), Q3 has 50,000.00 of 105,000.00, Q4 nothing: both overdue
    # at the end of the closed year.
    ccg = next(s for s in contribution_statuses(w.fund, w.year) if s.contribution.partner == w.ccg)
    assert [(i.due_date, i.paid, i.paid_on, i.late, i.overdue) for i in ccg.instalments] == [
        (date(2016, 4, 1), D("105000.00"), date(2016, 7, 15), True, False),
        (date(2016, 7, 1), D("105000.00"), date(2016, 11, 20), True, False),
        (date(2016, 10, 1), D("50000.00"), None, False, True),
        (date(2017, 1, 1), D("0.00"), None, False, True),
    ]
    overdue = overdue_instalments([(w.fund, w.year)])
    assert [(o.partner_code, o.due_date, o.outstanding) for o in overdue] == [
        ("TCCG", date(2016, 10, 1), D("55000.00")),
        ("TCCG", date(2017, 1, 1), D("105000.00")),
    ]
    assert (
        FundPeriod.objects.get(fund=w.fund, period__year=w.year, period__number=13).status
        == "closed"
    )
    assert close.history.first().history_change_reason == "Audited"


@pytest.mark.parametrize(
    ("choice", "host", "ccg"),
    [
        # (returned, retained, carried forward, net due)
        (
            "return_pro_rata",
            (D("5400.00"), D(0), D(0), D("-5400.00")),
            (D("3600.00"), D(0), D(0), D("-3600.00")),
        ),
        ("retain", (D(0), D("5400.00"), D(0), D("0.00")), (D(0), D("3600.00"), D(0), D("0.00"))),
        (
            "carry_forward",
            (D(0), D(0), D("5400.00"), D("0.00")),
            (D(0), D(0), D("3600.00"), D("0.00")),
        ),
    ],
)
def test_underspend_under_each_choice(world, choice, host, ccg):
    w = world
    RiskShareAgreement.objects.filter(fund=w.fund, year=w.year).update(underspend=choice)
    spend(w, "9500.00", "4750.00")
    receive(w, w.host, ("2016-04-01", "600000.00"))
    receive(w, w.ccg, ("2016-04-01", "400000.00"))
    close_months_by_service(w)
    close = financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    assert close.variance == D("-9000.00")
    got = settlement(close)
    assert got["TCOUNCIL"] == (D("600000.00"), D("600000.00"), D("-5400.00"), *host)
    assert got["TCCG"] == (D("400000.00"), D("400000.00"), D("-3600.00"), *ccg)


def test_a_carried_forward_underspend_appears_in_next_years_contributions(world):
    w = world
    next_year = make_year("2017/18")
    for partner, amount in ((w.host, "606000.00"), (w.ccg, "402000.00")):
        ContributionFactory(fund=w.fund, year=next_year, partner=partner, amount=D(amount))
    RiskShareAgreement.objects.filter(fund=w.fund, year=w.year).update(underspend="carry_forward")
    spend(w, "9500.00", "4750.00")
    close_months_by_service(w)
    financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    ccg_next = Contribution.objects.get(fund=w.fund, year=next_year, partner=w.ccg)
    assert (ccg_next.amount, ccg_next.carried_forward, ccg_next.due_in_cash) == (
        D("402000.00"),
        D("3600.00"),
        D("398400.00"),
    )
    assert [i.amount for i in ccg_next.instalments.order_by("due_date")] == [D("99600.00")] * 4
    # A partner whose next-year contribution is set later picks its credit up then.
    Contribution.objects.filter(fund=w.fund, year=next_year, partner=w.host).delete()
    contribution_set(
        actor=w.fin_host, fund=w.fund, year=next_year, partner=w.host, amount="606000.00"
    )
    assert Contribution.objects.get(
        fund=w.fund, year=next_year, partner=w.host
    ).carried_forward == D("5400.00")
    # Reopening the year takes the credit back.
    financial_year_reopen(actor=w.admin, fund=w.fund, year=w.year, reason="Audit adjustment found")
    ccg_next.refresh_from_db()
    assert ccg_next.carried_forward == D("0.00")
    assert [i.amount for i in ccg_next.instalments.order_by("due_date")] == [D("100500.00")] * 4


def test_m13_takes_year_end_adjustments_from_the_host_once_m12_is_closed(world):
    w = world
    close_months_by_service(w, through=11)
    with pytest.raises(RowErrors) as early:
        m13_accrual(w, w.fin_host, w.host)
    assert early.value.errors[0]["message"] == (
        "period 2016/17-M13 takes year-end adjustments once 2016/17-M12 is closed for fund LP-TEST"
    )
    close_months_from = Period.objects.get(year=w.year, number=12)
    period_close(actor=w.fin_host, fund=w.fund, period=close_months_from, files=False)
    with pytest.raises(RowErrors) as partner:
        spend_post(
            actor=w.fin_ccg,
            organisation=w.ccg,
            rows=[
                {
                    "document_number": "CCG-ACR",
                    "line_number": 1,
                    "posting_date": date(2017, 3, 31),
                    "period": "2016/17-M13",
                    "amount": "10.00",
                    "budget_line": w.ccg_line.pk,
                }
            ],
        )
    assert partner.value.errors[0]["message"] == (
        "period 2016/17-M13 takes year-end adjustments for fund LP-TEST from its host only"
    )
    assert m13_accrual(w, w.fin_host, w.host).posted == 1


def test_closing_with_months_open_is_refused_naming_them(world):
    w = world
    close_months_by_service(w, through=10)
    with pytest.raises(YearNotReady, match=r"close 2016/17-M11, 2016/17-M12 first"):
        financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    assert not YearEnd.objects.exists()


def test_a_settlement_without_a_risk_share_agreement_is_refused(world):
    w = world
    RiskShareAgreement.objects.all().delete()
    close_months_by_service(w)
    with pytest.raises(ApplicationError, match="has no risk-share agreement for 2016/17"):
        financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    assert not YearEnd.objects.exists()
    assert FundPeriod.objects.filter(period__number=13).count() == 0


def test_who_may_close_and_reopen(world):
    w = world
    close_months_by_service(w)
    with pytest.raises(NotAllowed):
        financial_year_close(actor=w.fin_ccg, fund=w.fund, year=w.year)
    with pytest.raises(NotFound):
        financial_year_close(actor=w.fin_outsider, fund=w.fund, year=w.year)
    financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    with pytest.raises(Conflict, match="already closed"):
        financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    with pytest.raises(NotAllowed):
        financial_year_reopen(actor=w.fin_host, fund=w.fund, year=w.year, reason="Please")
    with pytest.raises(ApplicationError, match="Say why"):
        financial_year_reopen(actor=w.admin, fund=w.fund, year=w.year, reason=" ")


def test_a_closed_year_is_frozen_until_an_administrator_reopens_it(world):
    w = world
    spend(w, "10000.00", "5000.00")
    close_months_by_service(w)
    first = financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    account = frozen_year_account(w.fund, w.year)
    assert account.frozen
    assert account.run == 1
    assert account.spend_total.actual_to_date == D("180000.00")
    with pytest.raises(YearClosed):
        contribution_set(
            actor=w.fin_host,
            fund=w.fund,
            year=w.year,
            partner=w.ccg,
            amount="1.00",
            variation_reason="late change",
        )
    with pytest.raises(ApplicationError, match="reopen the year first"):
        period_reopen(
            actor=w.admin,
            fund=w.fund,
            period=Period.objects.get(year=w.year, number=12),
            reason="x",
        )
    financial_year_reopen(actor=w.admin, fund=w.fund, year=w.year, reason="Audit adjustment found")
    first.refresh_from_db()
    assert (first.status, first.reopened_by, first.reopen_reason) == (
        "reopened",
        w.admin,
        "Audit adjustment found",
    )
    m13 = FundPeriod.objects.get(fund=w.fund, period__year=w.year, period__number=13)
    assert (m13.status, m13.reason) == ("open", "Audit adjustment found")
    m13_accrual(w, w.fin_host, w.host, amount="900.00")
    second = financial_year_close(actor=w.fin_host, fund=w.fund, year=w.year)
    assert (second.run, second.outturn) == (2, D("180900.00"))
    # The first close's settlement and memorandum account are kept as they were.
    assert Settlement.objects.filter(year_end=first).count() == 2
    assert ReportSnapshot.objects.filter(kind="memorandum").count() == 2
    assert frozen_year_account(w.fund, w.year).spend_total.actual_to_date == D("180900.00")


def test_receipts_above_what_is_due_are_refused(world):
    w = world
    contribution = Contribution.objects.get(fund=w.fund, year=w.year, partner=w.ccg)
    receipt_record(
        actor=w.fin_host,
        contribution=contribution,
        amount="399000.00",
        received_on="2016-04-01",
        reference="A",
    )
    with pytest.raises(
        ApplicationError, match=r"£1,000\.01 is more than the £1,000\.00 Test CCG still owes"
    ):
        receipt_record(
            actor=w.fin_host,
            contribution=contribution,
            amount="1000.01",
            received_on="2016-05-01",
            reference="B",
        )
    with pytest.raises(ApplicationError, match=r"more than £0\.00"):
        receipt_record(
            actor=w.fin_host,
            contribution=contribution,
            amount="0",
            received_on="2016-05-01",
            reference="C",
        )
    with pytest.raises(NotAllowed):
        receipt_record(
            actor=w.fin_ccg,
            contribution=contribution,
            amount="1.00",
            received_on="2016-05-01",
            reference="D",
        )
    assert contribution.receipts.count() == 1
