"""Background jobs carry a heartbeat: claim, the sweep of stuck jobs, /health/ (issue 21 item 10).

The worker-killed case end to end (a real worker, kill -9, a new worker) is in
tests/system/test_fault_import.py; these pin the rules on the rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from budgets.models import ExportJob, FundBudget, LedgerImport, Period
from gmhsc import background, health, jobs
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = budget_world(status=FundBudget.Status.APPROVED)
    w.m1 = Period.objects.get(year=w.year, number=1)
    return w


@pytest.fixture
def sent(monkeypatch):
    """What the sweep sends, instead of sending it."""
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(background, "send", lambda name, *args: calls.append((name, args)))
    return calls


def ledger_import(w, **fields) -> LedgerImport:
    imp = LedgerImport(organisation=w.host, uploaded_by=w.fin_host, original_name="l.csv")
    imp.file.save("l.csv", ContentFile(b"x"), save=False)
    for name, value in fields.items():
        setattr(imp, name, value)
    imp.save()
    return imp


def age(obj, *, minutes: float, field: str = "heartbeat_at") -> None:
    type(obj).objects.filter(pk=obj.pk).update(
        **{field: timezone.now() - timedelta(minutes=minutes)}
    )
    obj.refresh_from_db()


def test_a_job_is_taken_once_while_its_heartbeat_is_fresh(world):
    imp = ledger_import(world)
    assert jobs.claim(imp) is True
    assert imp.attempts == 1
    assert imp.heartbeat_at is not None
    # A second message for the same import (a duplicate, a redelivery) does nothing.
    assert jobs.claim(LedgerImport.objects.get(pk=imp.pk)) is False
    # Once the heartbeat is older than GMHSC_JOB_STUCK_SECONDS (the worker died), it can be taken.
    age(imp, minutes=4)
    assert jobs.claim(imp) is True
    assert imp.attempts == 2


def test_a_finished_job_is_never_taken(world):
    imp = ledger_import(world, status=LedgerImport.Status.POSTED)
    assert jobs.claim(imp) is False
    assert LedgerImport.objects.get(pk=imp.pk).attempts == 0


def test_a_job_that_loses_its_worker_every_time_is_given_up(world, settings):
    settings.GMHSC_JOB_MAX_ATTEMPTS = 2
    imp = ledger_import(world, status=LedgerImport.Status.CHECKING, attempts=2)
    age(imp, minutes=10)
    assert jobs.claim(imp) is False
    imp.refresh_from_db()
    assert imp.status == LedgerImport.Status.FAILED
    assert imp.message.startswith("Stopped after 2 attempts: the worker running it was lost")
    assert imp.finished_at is not None


def test_the_sweep_sends_stuck_jobs_again_once_per_interval(world, sent):
    fresh = ledger_import(world, status=LedgerImport.Status.CHECKING)
    age(fresh, minutes=1)  # beating recently: left alone
    dead = ledger_import(world, status=LedgerImport.Status.POSTING)
    age(dead, minutes=4)  # its worker stopped beating 4 minutes ago
    lost = ledger_import(world)  # never taken: its message was lost
    age(lost, minutes=5, field="created_at")
    new = ledger_import(world)  # just queued
    done = ledger_import(world, status=LedgerImport.Status.POSTED)
    age(done, minutes=60)
    export = ExportJob.objects.create(
        format="csv", owner=world.fin_host, fund=world.fund, period=world.m1
    )
    age(export, minutes=5, field="created_at")

    assert jobs.sweep() == [
        ("budgets.tasks.import_ledger", (dead.pk,)),
        ("budgets.tasks.import_ledger", (lost.pk,)),
        ("budgets.tasks.export_variance", (export.pk,)),
    ]
    assert sent == [
        ("budgets.tasks.import_ledger", (dead.pk,)),
        ("budgets.tasks.import_ledger", (lost.pk,)),
        ("budgets.tasks.export_variance", (export.pk,)),
    ]
    assert LedgerImport.objects.get(pk=dead.pk).requeued_at is not None
    assert LedgerImport.objects.get(pk=new.pk).requeued_at is None
    # The next sweep, 30 s later, does not send them again: they were just sent.
    assert jobs.sweep() == []
    # ...but after another GMHSC_JOB_STUCK_SECONDS without a heartbeat it does.
    LedgerImport.objects.filter(pk=dead.pk).update(
        requeued_at=timezone.now() - timedelta(minutes=4)
    )
    assert jobs.sweep() == [("budgets.tasks.import_ledger", (dead.pk,))]


def test_health_is_degraded_while_a_job_is_stuck(client, world, settings):
    settings.CELERY_BROKER_URL = ""
    imp = ledger_import(world, status=LedgerImport.Status.CHECKING)
    age(imp, minutes=1)
    body = client.get("/health/").json()
    assert body["checks"]["jobs"] == {
        "ok": True,
        "count": 0,
        "by_kind": {},
        "oldest_age_seconds": None,
    }
    age(imp, minutes=4)
    response = client.get("/health/")
    assert response.status_code == 503
    check = response.json()["checks"]["jobs"]
    assert check["ok"] is False
    assert check["count"] == 1
    assert check["by_kind"] == {"ledger import": 1}
    assert 240 <= check["oldest_age_seconds"] < 300
    assert health.report()["status"] == "degraded"


def test_closing_a_month_owes_its_three_files_in_the_same_transaction(world, sent, monkeypatch):
    from budgets.figures.recompute import recompute_fund_now
    from budgets.planning.services.periods import period_close

    recompute_fund_now(world.fund)
    # The broker is down: the message is lost, but the files are owed in the database.
    monkeypatch.setattr(background, "send", lambda *a, **k: False)
    period_close(actor=world.fin_host, fund=world.fund, period=world.m1)
    owed = ExportJob.objects.filter(fund=world.fund, source=ExportJob.Source.PERIOD_CLOSE)
    assert sorted(owed.values_list("format", "status", "snapshot")) == [
        ("csv", "pending", None),
        ("pdf", "pending", None),
        ("xlsx", "pending", None),
    ]
    owed.update(created_at=timezone.now() - timedelta(minutes=5))
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(background, "send", lambda name, *args: calls.append((name, args)))
    # One re-send for the month, not one per file.
    assert jobs.sweep() == [("budgets.tasks.period_close_reports", (world.fund.pk, world.m1.pk))]
    assert calls == [("budgets.tasks.period_close_reports", (world.fund.pk, world.m1.pk))]

    from budgets.reports.tasks import period_close_reports

    period_close_reports.apply(args=[world.fund.pk, world.m1.pk])
    assert sorted(owed.values_list("format", "status")) == [
        ("csv", "done"),
        ("pdf", "done"),
        ("xlsx", "done"),
    ]
    assert owed.filter(snapshot__isnull=True).count() == 0
    assert owed.filter(attempts=1).count() == 3


def test_every_task_has_a_time_limit_shorter_than_the_visibility_timeout(settings):
    from gmhsc.celery import app

    app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility == settings.GMHSC_LONGEST_TASK_SECONDS + 300
    ours = {n: t for n, t in app.tasks.items() if not n.startswith("celery.")}
    assert "budgets.tasks.import_ledger" in ours
    limits = {n: t.time_limit or app.conf.task_time_limit for n, t in ours.items()}
    assert all(limits.values()), limits
    soft = {n: t.soft_time_limit or app.conf.task_soft_time_limit for n, t in ours.items()}
    assert all(soft[n] < limits[n] for n in ours), (soft, limits)
    assert max(limits.values()) == settings.GMHSC_LONGEST_TASK_SECONDS
    # The sweep finds a stranded job long before the broker would hand its message out again.
    assert settings.GMHSC_JOB_STUCK_SECONDS + settings.GMHSC_SWEEP_SECONDS < 300 < visibility


def test_every_job_table_is_registered():
    from boards.models import BoardPack

    assert {kind.model for kind in jobs.KINDS.values()} == {LedgerImport, ExportJob, BoardPack}
