"""A worker killed with `kill -9` during a 100,000-row ledger import (issue 21 item 10).

Real parts: PostgreSQL (the test database), a Redis server started by this test on a free
loopback port, real Celery workers and a real beat.

1. Upload a 100,000-row ledger CSV through POST /api/v1/ledger-imports/ (it runs as a task).
2. While the worker is checking or posting it: `kill -9` the worker's whole process group. Its
   message stays unacknowledged in Redis until the visibility timeout (an hour): the broker will
   not hand it out again in time.
3. /health/ turns degraded once the import has had no heartbeat for GMHSC_JOB_STUCK_SECONDS.
4. Start a new worker and beat. Nobody uploads anything again: the sweep finds the stuck import
   and sends it again, and the new worker takes it.
5. Afterwards: the file is posted exactly once (100,000 postings, the total exact to the penny,
   no duplicate natural keys), within minutes of the new worker starting; /health/ is ok for
   jobs; no stale mark is left; `reconcile` finds no difference.

The heartbeat, stuck and sweep intervals are settings; this test shortens them (2 s / 10 s /
2 s) so it takes about a minute instead of the production scale of minutes.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import shutil
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from tests.budgets.factories import LEDGER_HEADER
from tests.conftest import kill_worker, reset_celery_client, start_worker, wait_for
from tests.system.processes import OwnRedis, app_env, start_beat, stop

pytestmark = [pytest.mark.system, pytest.mark.pg]

ROWS = int(os.environ.get("FAULT_IMPORT_ROWS", "100000"))
SEED = 20170331
FAST = {
    "GMHSC_JOB_HEARTBEAT_SECONDS": "2",
    "GMHSC_JOB_STUCK_SECONDS": "10",
    "GMHSC_SWEEP_SECONDS": "2",
}


def point_app_at(broker_url: str) -> None:
    """Make this process's Celery app (used by on_commit enqueues) talk to our Redis."""
    from gmhsc.celery import app

    app.conf.update(broker_url=broker_url, task_always_eager=False)
    reset_celery_client(app)


def ledger_csv(org_code: str, mappings: list[tuple[str, str]]) -> tuple[bytes, Decimal]:
    rng = random.Random(SEED)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LEDGER_HEADER.split(","))
    total = Decimal("0.00")
    for i in range(ROWS):
        cost_centre, expense_code = mappings[i % len(mappings)]
        amount = Decimal(rng.randint(-20_000, 2_500_000)) / 100
        total += amount
        writer.writerow(
            [
                org_code,
                f"LED-{i // 4:06d}",
                i % 4 + 1,
                f"2016-{4 + i % 6:02d}-{1 + i % 28:02d}",
                cost_centre,
                expense_code,
                f"{amount:.2f}",
                f"Supplier {i % 311}",
                "Fault test",
            ]
        )
    return out.getvalue().encode(), total


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_a_worker_killed_during_a_large_import_is_recovered_without_a_new_upload(
    transactional_db, tmp_path, client, settings
):
    from budgets.models import LedgerImport, LedgerMapping, SpendPosting, StaleMark
    from tests.budgets.factories import budget_world

    for name, value in FAST.items():
        setattr(settings, name, float(value))
    world = budget_world(status="approved")
    mappings = [("CC100", "E5100"), ("CC200", "E5200")]
    for (cost_centre, expense_code), line in zip(
        mappings, [world.host_line, world.ccg_line], strict=True
    ):
        LedgerMapping.objects.create(
            organisation=world.host,
            year=world.year,
            cost_centre=cost_centre,
            expense_code=expense_code,
            budget_line=line,
        )
    data, expected_total = ledger_csv(world.host.code, mappings)
    client.force_login(world.fin_host)

    redis_server = OwnRedis(tmp_path)
    worker = second = beat = None
    try:
        redis_server.start()
        point_app_at(redis_server.url)
        worker = start_worker("fault1", broker_url=redis_server.url, env=FAST)
        upload = SimpleUploadedFile("ledger-2016-h1.csv", data, content_type="text/csv")
        response = client.post(reverse("ledger-import-list"), {"file": upload})
        assert response.status_code == 202, response.content
        imp = LedgerImport.objects.get(pk=response.json()["id"])

        # Wait until the worker has taken the import and is working on it, then kill it.
        wait_for(
            lambda: LedgerImport.objects.filter(
                pk=imp.pk,
                status__in=[LedgerImport.Status.CHECKING, LedgerImport.Status.POSTING],
                heartbeat_at__isnull=False,
            ).exists(),
            120,
            what="the worker taking the import",
            interval=0.05,
        )
        time.sleep(0.5)
        kill_worker(worker)
        imp.refresh_from_db()
        assert imp.status in {LedgerImport.Status.CHECKING, LedgerImport.Status.POSTING}
        assert imp.attempts == 1
        # The posting transaction died with the worker: nothing is half-posted.
        assert SpendPosting.objects.filter(organisation=world.host).count() == 0

        # No worker, no heartbeat: within GMHSC_JOB_STUCK_SECONDS health says so.
        def degraded():
            body = client.get("/health/")
            return body.status_code == 503 and body.json()["checks"]["jobs"]["by_kind"] == {
                "ledger import": 1
            }

        wait_for(degraded, 60, what="/health/ reporting the stuck import", interval=1)

        # A new worker and beat; nobody uploads the file again.
        env = app_env(redis_server.url, **FAST)
        second = start_worker("fault2", broker_url=redis_server.url, env=FAST)
        started = time.monotonic()
        beat = start_beat(env, tmp_path)
        wait_for(
            lambda: LedgerImport.objects.filter(pk=imp.pk, finished_at__isnull=False).exists(),
            300,
            what="the import finishing after the new worker started",
        )
        recovered_in = time.monotonic() - started
        print(f"fault import: {ROWS} rows posted {recovered_in:.0f} s after the new worker started")
        imp.refresh_from_db()
        assert imp.status == LedgerImport.Status.POSTED, (imp.status, imp.message)
        assert imp.attempts == 2
        assert imp.rows_posted == ROWS
        assert recovered_in < 180

        postings = SpendPosting.objects.filter(organisation=world.host)
        assert postings.count() == ROWS
        assert postings.aggregate(t=Sum("amount"))["t"] == expected_total
        assert postings.values("document_number", "line_number").distinct().count() == ROWS

        wait_for(
            lambda: not StaleMark.objects.exists(), 120, what="beat's sweep taking the stale marks"
        )
        body = client.get("/health/").json()
        assert body["checks"]["jobs"]["ok"] is True
        out = io.StringIO()
        call_command("reconcile", stdout=out)  # raises CommandError when figures differ
        counts = [int(n) for n in re.findall(r"(\d+) difference", out.getvalue().lower())]
        assert all(n == 0 for n in counts), out.getvalue()
    finally:
        stop(beat)
        for proc in (worker, second):
            if proc is not None:
                stop(proc)
        redis_server.stop()
        from django.conf import settings as django_settings

        from gmhsc.celery import app

        point_app_at(django_settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = django_settings.CELERY_TASK_ALWAYS_EAGER
