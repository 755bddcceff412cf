"""Two people save the same line at the same moment: exactly one wins, the other gets StaleVersion."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from budgets.models import BudgetLine
from budgets.planning.services.lines import line_update
from gmhsc.errors import StaleVersion
from tests.budgets.factories import budget_world


@pytest.mark.pg
@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_one_version_cannot_both_win():
    world = budget_world()
    line_id = world.host_line.pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(amount: str) -> None:
        try:
            line = BudgetLine.objects.select_related("fund", "year").get(pk=line_id)
            barrier.wait(timeout=10)
            line_update(
                actor=world.comm_host,
                line=line,
                expected_version=1,
                reason=amount,
                annual_budget=amount,
            )
            outcomes.append(f"saved {amount}")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(a,)) for a in ("130000.00", "140000.00")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes)[1] == "stale", outcomes
    line = BudgetLine.objects.get(pk=line_id)
    assert line.version == 2
    winner = Decimal(next(o for o in outcomes if o.startswith("saved")).split()[1])
    assert line.current_budget == winner
    assert sum(line.phasing) == winner
    assert line.history.count() == 2
