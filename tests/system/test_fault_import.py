"""A worker killed and Redis stopped during a 100,000-row ledger import (issue 10 item 4).

Real parts: PostgreSQL (the test database), a Redis server started by this test on a free
loopback port (so stopping it touches nobody else's broker), and real Celery workers.

1. Upload a 100,000-row ledger CSV through POST /api/v1/ledger-imports/ (it runs as a task).
2. While the worker is checking or posting it: `kill -9` the worker, then stop Redis (its queue
   is lost: no persistence), wait, start Redis again empty, start a new worker.
3. The finance officer uploads the same file again (what the screen tells them to do).
4. After recovery: exactly 100,000 postings (nothing lost, nothing doubled), the total exact to the
   penny, no duplicate natural keys, no stale marks left once the sweep has run, and
   `manage.py reconcile` finds no difference.

Written to the contracts of issue 3 (the ledger CSV header and the ledger-imports API).
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from tests.conftest import kill_worker, reset_celery_client, start_worker

pytestmark = [pytest.mark.system, pytest.mark.pg]

ROWS = int(os.environ.get("FAULT_IMPORT_ROWS", "100000"))
SEED = 20170331
HEADER = [
    "organisation",
    "document_number",
    "line_number",
    "posting_date",
    "cost_centre",
    "expense_code",
    "amount",
    "supplier",
    "description",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def requirements() -> str:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    return reverse("ledger-import-list")


class OwnRedis:
    """A throwaway redis-server, started and stopped by pid."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    kill_worker(proc)  # the worker's own session/process group


def point_app_at(broker_url: str) -> None:
    """Make this process's Celery app (used by on_commit enqueues) talk to our Redis."""
    from gmhsc.celery import app

    app.conf.update(broker_url=broker_url, result_backend=broker_url, task_always_eager=False)
    reset_celery_client(app)


def ledger_csv(org_code: str, mappings: list[tuple[str, str]]) -> tuple[bytes, Decimal]:
    rng = random.Random(SEED)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
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


def test_worker_killed_and_redis_stopped_during_a_large_import(transactional_db, tmp_path, client):
    from budgets.models import LedgerImport, LedgerMapping, SpendPosting, StaleMark
    from tests.budgets.factories import budget_world

    path = requirements()
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
    worker = second = None
    try:
        redis_server.start()
        point_app_at(redis_server.url)
        worker = start_worker("fault1", broker_url=redis_server.url)
        upload = SimpleUploadedFile("ledger-2016-h1.csv", data, content_type="text/csv")
        response = client.post(path, {"file": upload})
        assert response.status_code in (200, 201, 202), response.content
        first = LedgerImport.objects.latest("created_at")

        # Wait until the worker is inside the import, then kill it and take Redis away.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            first.refresh_from_db()
            if first.rows_checked > 0 or first.status in {"posting", "posted", "nothing_new"}:
                break
            time.sleep(0.05)
        kill_hard(worker)
        redis_server.stop()
        time.sleep(3)
        redis_server.start()  # empty: the queued messages are gone
        point_app_at(redis_server.url)
        second = start_worker("fault2", broker_url=redis_server.url)

        # The finance officer uploads the same file again.
        upload = SimpleUploadedFile("ledger-2016-h1.csv", data, content_type="text/csv")
        response = client.post(path, {"file": upload})
        assert response.status_code in (200, 201, 202), response.content
        again = LedgerImport.objects.latest("created_at")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            again.refresh_from_db()
            if again.status in {"posted", "nothing_new", "rejected", "failed"}:
                break
            time.sleep(0.5)
        assert again.status in {"posted", "nothing_new"}, (again.status, again.message)

        postings = SpendPosting.objects.filter(organisation=world.host)
        assert postings.count() == ROWS
        assert postings.aggregate(t=Sum("amount"))["t"] == expected_total
        assert postings.values("document_number", "line_number").distinct().count() == ROWS

        from gmhsc.celery import app

        app.send_task("budgets.tasks.sweep_stale_marks")
        deadline = time.monotonic() + 300
        while StaleMark.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not StaleMark.objects.exists(), "stale marks left after recovery"
        out = io.StringIO()
        call_command("reconcile", stdout=out)  # raises CommandError when figures differ
        text = out.getvalue().lower()
        counts = [int(n) for n in re.findall(r"(\d+) difference", text)]
        assert all(n == 0 for n in counts), text
    finally:
        for proc in (worker, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    kill_hard(proc)
        redis_server.stop()
        from django.conf import settings as django_settings

        point_app_at(django_settings.CELERY_BROKER_URL)
        from gmhsc.celery import app

        app.conf.task_always_eager = django_settings.CELERY_TASK_ALWAYS_EAGER
