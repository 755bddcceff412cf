"""Redis stopped for 60 s under load (issue 21 items 11 and 12).

Real parts: PostgreSQL (the test database), a Redis started by this test on a free loopback port
(the broker and the cache), gunicorn, a Celery worker started as `make worker` starts it and a
Celery beat, all driven over HTTP.

While Redis is down for OUTAGE seconds (60 unless FAULT_REDIS_OUTAGE says otherwise):
- finance officers post spend through POST /api/v1/spend-postings/ with an Idempotency-Key and
  retry on a transport error or a 503 (honouring Retry-After);
- people sign in through the login form and open their home page;
- a finance officer asks for an export (POST /api/v1/exports/).
Then Redis is started again (empty: no persistence) and nothing else is restarted.

Every request is answered 2xx (or 3xx from the login form) or a clear 503 with Retry-After, never a
500; every posting is written exactly once; the worker, never restarted, catches up: no stale mark
is left, the figures equal the postings, the exports asked for during the outage are made, and
`reconcile` finds no difference.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db.models import Sum

from tests.conftest import wait_for
from tests.system.processes import (
    OwnRedis,
    app_env,
    start_beat,
    start_gunicorn,
    start_production_worker,
    stop,
)

pytestmark = [pytest.mark.system, pytest.mark.pg]

OUTAGE = float(os.environ.get("FAULT_REDIS_OUTAGE", "60"))
FAST = {
    "GMHSC_JOB_HEARTBEAT_SECONDS": "2",
    "GMHSC_JOB_STUCK_SECONDS": "10",
    "GMHSC_SWEEP_SECONDS": "2",
    "GMHSC_HEARTBEAT_SECONDS": "2",
}
PASSWORD = "correct-horse-battery"
KEYS = uuid.UUID("0c3d6f0a-6c55-4f1e-9d0b-2016a2b31b2c")


class Ledger:
    """Answers and postings seen by the clients, shared between threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int, str]] = []
        self.bad: list[str] = []
        self.posted: dict[str, Decimal] = {}

    def record(self, what: str, response: requests.Response) -> None:
        status = response.status_code
        with self.lock:
            self.answers.append((what, status, time.strftime("%H:%M:%S")))
            ok = 200 <= status < 400 or (status == 503 and response.headers.get("Retry-After"))
            if not ok:
                self.bad.append(f"{what}: {status} {response.text[:200]!r}")

    def flowing(self, since: int) -> bool:
        """Since the `since`th answer, at least two postings written and two home pages shown."""
        with self.lock:
            done = [(w, s) for w, s, _ in self.answers[since:] if 200 <= s < 300]
        return done.count(("post", 201)) + done.count(("post", 200)) >= 2 and (
            done.count(("home", 200)) >= 2
        )


def poster(
    base: str, token: str, org: str, lines: list[int], n: int, ledger: Ledger, stop_at: Any
) -> None:
    """Post batches of 5 until told to stop; each batch is retried with its key until it lands."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    batch = 0
    while not stop_at.is_set():
        key = str(uuid.uuid5(KEYS, f"{n}-{batch}"))
        postings = [
            {
                "document_number": f"R{n}-{batch:05d}",
                "line_number": i + 1,
                "posting_date": f"2016-{4 + (batch + i) % 6:02d}-15",
                "amount": f"{(n + 1) * 100 + batch % 97}.{i:02d}",
                "budget_line": lines[(batch + i) % len(lines)],
            }
            for i in range(5)
        ]
        for _attempt in range(60):
            try:
                response = session.post(
                    f"{base}/api/v1/spend-postings/",
                    json={"organisation": org, "postings": postings},
                    headers={"Idempotency-Key": key},
                    timeout=30,
                )
            except requests.RequestException:
                time.sleep(0.5)
                continue
            ledger.record("post", response)
            if response.status_code == 503:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code in (200, 201):
                with ledger.lock:
                    for p in postings:
                        ledger.posted[f"{p['document_number']}/{p['line_number']}"] = Decimal(
                            p["amount"]
                        )
            break
        batch += 1
        time.sleep(0.1)


def signer(base: str, username: str, ledger: Ledger, stop_at: Any) -> None:
    while not stop_at.is_set():
        session = requests.Session()
        try:
            page = session.get(f"{base}/accounts/login/", timeout=30)
            ledger.record("login page", page)
            response = session.post(
                f"{base}/accounts/login/",
                data={
                    "username": username,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
                },
                headers={"Referer": f"{base}/accounts/login/"},
                timeout=30,
            )
            ledger.record("sign in", response)
            if response.url.rstrip("/") != base:
                with ledger.lock:
                    ledger.bad.append(f"sign in as {username} did not reach the home page")
            home = session.get(f"{base}/", timeout=30)
            ledger.record("home", home)
        except requests.RequestException as exc:
            with ledger.lock:
                ledger.bad.append(f"sign in: no answer ({exc.__class__.__name__})")
        time.sleep(0.5)


def exporter(base: str, token: str, fund_code: str, ledger: Ledger, ids: list[int]) -> None:
    response = requests.post(
        f"{base}/api/v1/exports/",
        json={"fund": fund_code, "period": "2016/17-M03", "format": "csv"},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    ledger.record("export", response)
    if response.status_code == 202:
        ids.append(response.json()["id"])


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_redis_stopped_for_a_minute_under_load(transactional_db, tmp_path):
    from rest_framework.authtoken.models import Token

    from budgets.figures.recompute import recompute_fund_now
    from budgets.models import ExportJob, LineVariance, SpendPosting, StaleMark
    from tests.budgets.factories import budget_world

    world = budget_world(status="approved")
    recompute_fund_now(world.fund, full=True)
    tokens = [Token.objects.create(user=u).key for u in (world.fin_host, world.fin_ccg)]
    organisations = [world.host.code, world.ccg.code]
    lines = [world.host_line.pk, world.ccg_line.pk]
    signers = [world.comm_host.username, world.comm_ccg.username]

    redis_server = OwnRedis(tmp_path)
    web = worker = beat = None
    ledger = Ledger()
    done = threading.Event()
    export_ids: list[int] = []
    threads: list[threading.Thread] = []
    try:
        redis_server.start()
        env = app_env(redis_server.url, **FAST)
        worker = start_production_worker(env, tmp_path, "outage")
        beat = start_beat(env, tmp_path)
        web, base = start_gunicorn(env, tmp_path)

        threads = [
            threading.Thread(
                target=poster, args=(base, tokens[n], organisations[n], lines, n, ledger, done)
            )
            for n in range(2)
        ] + [threading.Thread(target=signer, args=(base, u, ledger, done)) for u in signers]
        for thread in threads:
            thread.start()
        # Under load: both posters' batches and both people's home pages answered.
        wait_for(lambda: ledger.flowing(0), 30, what="postings and sign-ins before the outage")
        exporter(base, tokens[0], world.fund.code, ledger, export_ids)

        redis_server.stop()
        outage_started = time.monotonic()
        time.sleep(OUTAGE / 2)
        exporter(base, tokens[0], world.fund.code, ledger, export_ids)  # asked for mid-outage
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - outage_started)))
        answers_during = len(ledger.answers)
        restarted_at = len(ledger.answers)
        redis_server.start()  # empty: whatever was queued is gone

        # The clients carry on: postings and sign-ins answered again after Redis is back.
        wait_for(lambda: ledger.flowing(restarted_at), 60, what="answers after Redis is back")
        done.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        print(
            f"fault redis: {len(ledger.answers)} answers ({answers_during} by the end of the "
            f"{OUTAGE:.0f} s outage), {len(ledger.posted)} postings, statuses "
            f"{sorted({(w, s) for w, s, _ in ledger.answers})}"
        )
        assert ledger.bad == []
        assert {s for w, s, _ in ledger.answers if w == "post"} <= {200, 201, 503}
        assert len(ledger.posted) > 50

        # Every posting exactly once, to the penny.
        postings = SpendPosting.objects.filter(fund=world.fund)
        assert postings.count() == len(ledger.posted)
        assert postings.aggregate(t=Sum("amount"))["t"] == sum(ledger.posted.values())
        assert postings.values(
            "organisation", "document_number", "line_number"
        ).distinct().count() == len(ledger.posted)

        # The worker was never restarted; it catches up: marks taken, figures equal postings,
        # the exports asked for before and during the outage are made.
        assert worker.poll() is None, "the worker exited"
        wait_for(
            lambda: not StaleMark.objects.filter(fund=world.fund).exists(), 120, what="stale marks"
        )
        ytd = LineVariance.objects.filter(fund=world.fund, period_number=12).aggregate(
            t=Sum("ytd_actual")
        )["t"]
        assert ytd == sum(ledger.posted.values())
        assert len(export_ids) == 2
        wait_for(
            lambda: ExportJob.objects.filter(pk__in=export_ids, status="done").count() == 2,
            120,
            what="the exports asked for during the outage",
        )
        out = io.StringIO()
        call_command("reconcile", stdout=out)
        counts = [int(n) for n in re.findall(r"(\d+) difference", out.getvalue().lower())]
        assert all(n == 0 for n in counts), out.getvalue()
        assert worker.poll() is None, "the worker exited"
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        for proc in (web, beat, worker):
            stop(proc)
        redis_server.stop()
