"""Model-based test: random sequences of post, re-send, reverse, budget change, virement and period
close; after every step the incremental snapshots (recompute of only the marked lines) equal a full
recompute from postings in memory, to the penny (budgets.figures.recompute.reconcile_fund).

Postings are written as H1's spend_post writes them (rows + mark_stale in one transaction, a
re-sent (organisation, document, line) inserts nothing); budget changes, virements and period close
go through H2's services. Each example runs inside a savepoint rolled back at teardown.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from budgets.figures.recompute import recompute_fund_now, reconcile_fund
from budgets.models import FundBudget, FundPeriod, Period, RiskShareAgreement, SpendPosting
from budgets.outbox import mark_stale
from budgets.planning.services.adjustments import adjustment_create
from budgets.planning.services.periods import period_close
from budgets.planning.services.virements import virement_approve, virement_request
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db

amounts = st.integers(min_value=-50_000, max_value=2_000_000).map(lambda p: Decimal(p) / 100)


class LedgerMachine(RuleBasedStateMachine):
    world = None  # set by the test

    @initialize()
    def start(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.w = self.world
        self.lines = [self.w.host_line, self.w.ccg_line]
        self.periods = {
            p.number: p for p in Period.objects.filter(year=self.w.year, number__lte=12)
        }
        self.closed = 0
        self.docs: list[tuple[str, int, int, Decimal]] = []
        self.counter = 0
        recompute_fund_now(self.w.fund, full=True)

    def teardown(self):
        if hasattr(self, "atomic"):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def _post(self, doc, line, n, amount, reverses=None):
        period = self.periods[n]
        with transaction.atomic():
            if SpendPosting.objects.filter(
                organisation=self.w.host, document_number=doc, line_number=1
            ).exists():
                return  # ON CONFLICT DO NOTHING: a re-send posts nothing and marks nothing
            SpendPosting.objects.create(
                organisation=self.w.host,
                document_number=doc,
                line_number=1,
                posting_date=period.end_date,
                period=period,
                fund=self.w.fund,
                budget_line=line,
                amount=amount,
                reverses=reverses,
            )
            mark_stale(
                fund_id=self.w.fund.pk,
                year_id=self.w.year.pk,
                line_ids=[line.pk],
                period_numbers=[n],
                reason="spend",
            )

    def _open_period(self, offset):
        return min(12, self.closed + 1 + offset % max(1, 12 - self.closed))

    @rule(line=st.integers(0, 1), offset=st.integers(0, 11), amount=amounts)
    def post(self, line, offset, amount):
        self.counter += 1
        doc = f"D{self.counter}"
        n = self._open_period(offset)
        self._post(doc, self.lines[line], n, amount)
        self.docs.append((doc, line, n, amount))

    @rule(i=st.integers(0, 1000))
    def resend(self, i):
        if self.docs:
            doc, line, n, amount = self.docs[i % len(self.docs)]
            self._post(doc, self.lines[line], self._open_period(n), amount)

    @rule(i=st.integers(0, 1000))
    def reverse(self, i):
        candidates = SpendPosting.objects.filter(
            fund=self.w.fund, reverses__isnull=True, reversals__isnull=True
        ).order_by("id")
        count = candidates.count()
        if not count:
            return
        original = candidates[i % count]
        self._post(
            f"REV-{original.document_number}",
            original.budget_line,
            self._open_period(0),
            -original.amount,
            reverses=original,
        )

    @rule(line=st.integers(0, 1), pounds=st.integers(-5000, 5000))
    def budget_change(self, line, pounds):
        if pounds and self.closed < 12:
            target = self.lines[line]
            target.refresh_from_db()
            if target.current_budget + pounds > 0:
                adjustment_create(
                    actor=self.w.fin_host,
                    line=target,
                    amount=Decimal(pounds),
                    reason="state machine",
                    period=self.periods[self.closed + 1],
                )

    @rule(pounds=st.integers(1, 3000), forward=st.booleans())
    def virement(self, pounds, forward):
        if self.closed >= 12:
            return
        a, b = self.lines if forward else self.lines[::-1]
        a.refresh_from_db()
        b.refresh_from_db()
        if a.current_budget <= pounds * 2:
            return
        v = virement_request(
            actor=self.w.fin_ccg,  # nobody approves their own request
            from_line=a,
            to_line=b,
            amount=Decimal(pounds),
            recurrent=False,
            reason="state machine",
        )
        virement_approve(actor=self.w.fin_host, virement=v)

    @rule()
    def close_period(self):
        if self.closed < 11:
            period_close(
                actor=self.w.fin_host,
                fund=self.w.fund,
                period=self.periods[self.closed + 1],
                today=date(2017, 6, 1),
            )
            self.closed += 1

    @invariant()
    def incremental_equals_full(self):
        if not hasattr(self, "w"):
            return
        recompute_fund_now(self.w.fund)
        assert reconcile_fund(self.w.fund) == []
        closed = FundPeriod.objects.filter(fund=self.w.fund, status="closed").count()
        assert closed == self.closed


def test_incremental_snapshots_equal_a_full_recompute(django_capture_on_commit_callbacks):
    w = budget_world(status=FundBudget.Status.APPROVED)
    RiskShareAgreement.objects.create(
        fund=w.fund,
        year=w.year,
        rule="threshold",
        parameters={"host_first_pct": "1", "then": "pro_rata"},
    )
    LedgerMachine.world = w
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
