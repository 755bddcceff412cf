"""spend_post and spend_reverse: all or nothing, exact totals, re-sends, reversals, permissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from budgets.ledger.services.postings import spend_post, spend_reverse
from budgets.models import FundPeriod, Period, SpendPosting, StaleMark
from gmhsc.errors import Conflict, NotAllowed, NotFound, PeriodClosed, RowErrors
from tests.budgets.factories import ledger_world

pytestmark = pytest.mark.django_db


def row(doc: str, amount: str, line, *, day: date = date(2016, 6, 15), n: int = 1, **extra):
    return {
        "document_number": doc,
        "line_number": n,
        "posting_date": day,
        "amount": amount,
        "budget_line": line,
        "supplier": "Acme Care Ltd",
        "description": "Home care",
        **extra,
    }


@pytest.fixture
def w():
    return ledger_world()


def test_post_batch_exact_totals_and_period_from_date(w):
    result = spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[
            row("INV-1", "1234.56", w.host_line),
            row("INV-1", "-0.01", w.host_line, n=2),
            row("INV-2", "100.10", w.ccg_line.pk, day=date(2016, 9, 30)),
        ],
    )
    assert (result.posted, result.already_posted) == (3, 0)
    postings = SpendPosting.objects.filter(organisation=w.host)
    assert postings.aggregate(t=Sum("amount"))["t"] == Decimal("1334.65")
    june = postings.get(document_number="INV-1", line_number=1)
    assert june.period.code == "2016/17-M03"
    assert june.fund == w.fund
    assert june.created_by == w.fin_host
    assert postings.get(document_number="INV-2").period.code == "2016/17-M06"
    assert result.summary == [
        {"fund": "LP-TEST", "period": "2016/17-M03", "rows": 2, "posted": 2, "amount": "1234.55"},
        {"fund": "LP-TEST", "period": "2016/17-M06", "rows": 1, "posted": 1, "amount": "100.10"},
    ]


def test_post_marks_stale_per_fund_with_earliest_period(w):
    StaleMark.objects.all().delete()
    spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[
            row("A", "10.00", w.host_line, day=date(2016, 8, 1)),
            row("B", "10.00", w.ccg_line, day=date(2016, 5, 1)),
        ],
    )
    marks = list(StaleMark.objects.order_by("line_id"))
    assert {m.line_id for m in marks} == {w.host_line.pk, w.ccg_line.pk}
    assert {m.period_number for m in marks} == {2}
    assert {m.fund_id for m in marks} == {w.fund.pk}


def test_resend_posts_nothing_and_counts_already_posted(w):
    rows = [row("INV-9", "50.00", w.host_line), row("INV-9", "25.00", w.host_line, n=2)]
    spend_post(actor=w.fin_host, organisation=w.host, rows=rows)
    again = spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[*rows, row("INV-10", "5.00", w.host_line)],
    )
    assert (again.posted, again.already_posted) == (1, 2)
    assert SpendPosting.objects.filter(organisation=w.host).count() == 3
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == Decimal("80.00")


def test_bad_rows_all_reported_and_nothing_posted(w):
    with pytest.raises(RowErrors) as caught:
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                row("OK-1", "10.00", w.host_line),
                row("X-1", "1,2x", w.host_line),
                row("X-2", "1.234", w.host_line),
                row("X-3", "", w.host_line),
                row("X-4", "1.00", w.host_line, day=date(2017, 4, 1)),
                row("X-5", "1.00", 999_999),
                row("OK-1", "3.00", w.host_line),
                row("", "3.00", w.host_line, n=0),
            ],
        )
    errors = caught.value.errors
    assert errors == [
        {"row": 2, "field": "amount", "message": "'1,2x' is not a number"},
        {"row": 3, "field": "amount", "message": "'1.234' has more than 2 decimal places"},
        {"row": 4, "field": "amount", "message": "is empty"},
        {
            "row": 5,
            "field": "posting_date",
            "message": "2017-04-01 is outside 2016/17 (1 April 2016 to 31 March 2017)",
        },
        {"row": 6, "field": "budget_line", "message": "unknown budget line '999999'"},
        {
            "row": 7,
            "field": "document_number",
            "message": "document OK-1 line 1 is already on row 1",
        },
        {"row": 8, "field": "document_number", "message": "is required"},
        {"row": 8, "field": "line_number", "message": "'0' is not a whole number of 1 or more"},
    ]
    assert SpendPosting.objects.count() == 0


def test_float_amount_refused(w):
    with pytest.raises(RowErrors) as caught:
        spend_post(actor=w.fin_host, organisation=w.host, rows=[row("F", 1.5, w.host_line)])
    assert caught.value.errors[0]["field"] == "amount"


def test_closed_period_refused_naming_period_and_fund(w):
    period = Period.objects.get(year=w.year, number=3)
    FundPeriod.objects.create(fund=w.fund, period=period, status=FundPeriod.Status.CLOSED)
    with pytest.raises(RowErrors) as caught:
        spend_post(actor=w.fin_host, organisation=w.host, rows=[row("C-1", "9.99", w.host_line)])
    assert caught.value.errors == [
        {
            "row": 1,
            "field": "posting_date",
            "message": "period 2016/17-M03 is closed for fund LP-TEST",
        }
    ]
    assert "period 2016/17-M03 is closed for fund LP-TEST" in caught.value.message
    assert SpendPosting.objects.count() == 0


def test_explicit_period_accrual_and_resend_after_close(w):
    spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[
            row(
                "ACC-1",
                "700.00",
                w.host_line,
                day=date(2016, 7, 2),
                period="2016/17-M03",
                is_accrual=True,
            )
        ],
    )
    posting = SpendPosting.objects.get(document_number="ACC-1")
    assert posting.period.code == "2016/17-M03"
    assert posting.is_accrual
    period = Period.objects.get(year=w.year, number=3)
    FundPeriod.objects.create(fund=w.fund, period=period, status=FundPeriod.Status.CLOSED)
    again = spend_post(
        actor=w.fin_host,
        organisation=w.host,
        rows=[row("ACC-1", "700.00", w.host_line, day=date(2016, 7, 2), period="2016/17-M03")],
    )
    assert (again.posted, again.already_posted) == (0, 1)


def test_a_line_of_a_fund_the_organisation_is_not_partner_of_is_refused_as_unknown(w):
    """Issue 21 item 13: naming the other fund and line code let line ids be enumerated; the
    answer is now exactly the one for an id that does not exist."""
    from tests.budgets.factories import BudgetLineFactory, PooledFundFactory

    other_fund = PooledFundFactory(code="OTHER", host=w.outsider)
    line = BudgetLineFactory(fund=other_fund, year=w.year, code="OX1")
    missing = line.pk + 1000
    answers = []
    for line_id in (line.pk, missing):
        with pytest.raises(RowErrors) as caught:
            spend_post(
                actor=w.fin_host,
                organisation=w.host,
                rows=[{**row("P-1", "1.00", w.host_line), "budget_line": line_id}],
            )
        answers.append((caught.value.message, str(caught.value.errors).replace(str(line_id), "ID")))
    assert answers[0] == answers[1]
    assert (
        answers[0][1]
        == "[{'row': 1, 'field': 'budget_line', 'message': \"unknown budget line 'ID'\"}]"
    )
    assert not SpendPosting.objects.exists()


def test_permissions_both_sides(w):
    ok = spend_post(actor=w.fin_ccg, organisation=w.ccg, rows=[row("C1", "1.00", w.ccg_line)])
    assert ok.posted == 1
    for actor in (w.fin_outsider, w.comm_host, w.fin_ccg):
        with pytest.raises(NotAllowed):
            spend_post(actor=actor, organisation=w.host, rows=[row("H1", "1.00", w.host_line)])
    admin = spend_post(actor=w.admin, organisation=w.host, rows=[row("H1", "1.00", w.host_line)])
    assert admin.posted == 1


def test_reversal_negative_copy_once_and_net_zero(w):
    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("E-1", "5000.00", w.host_line)])
    original = SpendPosting.objects.get(document_number="E-1")
    reversal = spend_reverse(actor=w.fin_host, posting=original, reason="Wrong line")
    assert reversal.amount == Decimal("-5000.00")
    assert reversal.document_number == "REV-E-1"
    assert reversal.reverses == original
    assert reversal.period == original.period
    assert original.reversed_by == reversal
    total = SpendPosting.objects.filter(budget_line=w.host_line).aggregate(t=Sum("amount"))["t"]
    assert total == Decimal("0.00")
    with pytest.raises(Conflict):
        spend_reverse(actor=w.fin_host, posting=original, reason="Again")


def test_reversal_goes_to_next_open_period_when_original_closed(w):
    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("E-2", "10.00", w.host_line)])
    original = SpendPosting.objects.get(document_number="E-2")
    for number in (1, 2, 3):
        FundPeriod.objects.create(
            fund=w.fund, period=Period.objects.get(year=w.year, number=number), status="closed"
        )
    reversal = spend_reverse(actor=w.fin_host, posting=original, reason="Duplicate invoice")
    assert reversal.period.code == "2016/17-M04"
    assert reversal.posting_date == date(2016, 7, 1)
    closed = Period.objects.get(year=w.year, number=2)
    other = SpendPosting.objects.get(pk=original.pk)
    with pytest.raises(Conflict):
        spend_reverse(actor=w.fin_host, posting=other, reason="x", period=closed)


def test_reversal_into_closed_period_refused(w):
    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("E-3", "10.00", w.host_line)])
    original = SpendPosting.objects.get(document_number="E-3")
    closed = Period.objects.get(year=w.year, number=3)
    FundPeriod.objects.create(fund=w.fund, period=closed, status="closed")
    with pytest.raises(PeriodClosed, match="Period 2016/17-M03 is closed for fund LP-TEST"):
        spend_reverse(actor=w.fin_host, posting=original, reason="x", period=closed)


def test_reversal_permissions(w):
    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("E-4", "10.00", w.host_line)])
    original = SpendPosting.objects.get(document_number="E-4")
    with pytest.raises(NotFound):
        spend_reverse(actor=w.fin_outsider, posting=original, reason="x")
    with pytest.raises(NotAllowed):
        spend_reverse(actor=w.fin_ccg, posting=original, reason="x")
    with pytest.raises(NotAllowed):
        spend_reverse(actor=w.comm_host, posting=original, reason="x")
    assert spend_reverse(actor=w.admin, posting=original, reason="x").amount == Decimal("-10.00")


@pytest.mark.pg
def test_database_refuses_update_and_delete_of_postings(w):
    from django.db import transaction
    from django.db.utils import DatabaseError

    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("T-1", "10.00", w.host_line)])
    pk = SpendPosting.objects.get(document_number="T-1").pk
    for sql in (
        "UPDATE budgets_spendposting SET amount = 0 WHERE id = %s",
        "DELETE FROM budgets_spendposting WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="spend postings are immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    assert SpendPosting.objects.get(pk=pk).amount == Decimal("10.00")


@pytest.mark.pg
def test_database_refuses_to_delete_a_budget_line_that_has_postings(w):
    """Postings carry no row-by-row FK check; a trigger on budget lines guards them instead."""
    from django.db import transaction
    from django.db.utils import DatabaseError

    from budgets.models import BudgetLine

    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("G-1", "10.00", w.host_line)])
    with (
        pytest.raises(DatabaseError, match="has spend postings and cannot be deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM budgets_budgetline WHERE id = %s", [w.host_line.pk])
    assert BudgetLine.objects.filter(pk=w.host_line.pk).exists()


def test_a_posting_is_reversed_at_most_once_even_past_the_service(w):
    """The unique index on non-null reversal links holds when the service's check is bypassed."""
    from django.db import IntegrityError, transaction

    spend_post(actor=w.fin_host, organisation=w.host, rows=[row("U-1", "10.00", w.host_line)])
    original = SpendPosting.objects.get(document_number="U-1")
    first = spend_reverse(actor=w.fin_host, posting=original, reason="Wrong line")
    assert original.reversed_by == first
    duplicate = SpendPosting(
        organisation_id=first.organisation_id,
        document_number="U-1-AGAIN",
        line_number=1,
        posting_date=first.posting_date,
        period_id=first.period_id,
        fund_id=first.fund_id,
        budget_line_id=first.budget_line_id,
        amount=first.amount,
        reverses=original,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert SpendPosting.objects.filter(reverses=original).count() == 1
