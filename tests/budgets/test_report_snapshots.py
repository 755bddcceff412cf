"""Frozen month-end snapshots never change, and round-trip to the same figures."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from budgets.models import Period, ReportSnapshot
from budgets.models.reports import FrozenSnapshot, checksum_of
from budgets.reports.variance import report_from_data
from tests.budgets.factories import budget_world, synthetic_variance_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot():
    world = budget_world()
    period = Period.objects.get(year=world.year, number=6)
    return ReportSnapshot.objects.create(
        fund=world.fund,
        period=period,
        closed_at=timezone.now(),
        data=synthetic_variance_report(7).to_data(),
    )


def test_snapshot_round_trips_to_identical_rows_and_totals(snapshot):
    original = synthetic_variance_report(7)
    stored = ReportSnapshot.objects.get(pk=snapshot.pk)
    again = report_from_data(stored.data, closed=True, source="snapshot")
    assert again.rows == original.rows
    assert again.totals == original.totals
    assert [g.subtotal for g in again.groups] == [g.subtotal for g in original.groups]
    assert stored.checksum == checksum_of(original.to_data())
    assert stored.verify()


def test_snapshot_refuses_to_be_changed_or_deleted(snapshot):
    snapshot.data = {"rows": []}
    with pytest.raises(FrozenSnapshot):
        snapshot.save()
    with pytest.raises(FrozenSnapshot):
        snapshot.delete()
    assert ReportSnapshot.objects.get(pk=snapshot.pk).verify()


@pytest.mark.pg
def test_database_refuses_update_and_delete_of_a_snapshot(snapshot):
    for sql in (
        "UPDATE budgets_reportsnapshot SET checksum = 'x' WHERE id = %s",
        "DELETE FROM budgets_reportsnapshot WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [snapshot.pk])
    assert ReportSnapshot.objects.get(pk=snapshot.pk).verify()
