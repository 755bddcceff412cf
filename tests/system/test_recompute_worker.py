"""The recompute engine with a real Celery worker, real Redis and PostgreSQL (architecture.md flow).

Spend is written the way the posting service writes it (postings + mark_stale in one transaction).
Each test ends with a reconcile against a recompute from postings in memory.
The sweep is sent by hand where beat would send it every 30 s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from budgets.figures.recompute import recompute_fund_now, reconcile_fund
from budgets.figures.tasks import sweep_stale_marks
from budgets.models import LineVariance, Period, SpendPosting, StaleMark
from budgets.outbox import mark_stale
from tests.budgets.factories import budget_world
from tests.conftest import reset_celery_client, start_worker, stop_worker, wait_for
from tests.system.processes import redis_server_command

pytestmark = [pytest.mark.system, pytest.mark.pg]
D = Decimal


def world():
    """The test fund with every line's snapshot written once (as line_create marks them)."""
    w = budget_world()
    recompute_fund_now(w.fund, full=True)
    return w


def post_spend(w, line, docs, amount="100.00", n=1):
    period = Period.objects.get(year=w.year, number=n)
    with transaction.atomic():
        SpendPosting.objects.bulk_create(
            [
                SpendPosting(
                    organisation=w.host,
                    document_number=doc,
                    line_number=1,
                    posting_date=period.end_date,
                    period=period,
                    fund=w.fund,
                    budget_line=line,
                    amount=D(amount),
                )
                for doc in docs
            ]
        )
        mark_stale(
            fund_id=w.fund.pk,
            year_id=w.year.pk,
            line_ids=[line.pk],
            period_numbers=[n],
            reason="spend",
        )


def ytd(line, n=1):
    row = LineVariance.objects.filter(line=line, period_number=n).first()
    return row.ytd_actual if row else None


def settled(w):
    return not StaleMark.objects.filter(fund=w.fund).exists()


def test_posted_spend_reaches_the_snapshot_with_no_manual_step(celery_worker_proc):
    w = world()
    post_spend(w, w.host_line, ["S1", "S2"], "1234.56")
    wait_for(lambda: ytd(w.host_line) == D("2469.12"), timeout=20)
    wait_for(lambda: settled(w))
    assert reconcile_fund(w.fund) == []


def advisory_lock_held(fund_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 4242 AND objid = %s",
            [fund_id],
        )
        return cursor.fetchone()[0] > 0


@contextlib.contextmanager
def snapshot_rows_held(line):
    """Hold the line's LineVariance rows locked from another connection, so a recompute of the
    line waits mid-way (lock taken, marks taken, rewriting its rows) until the block ends."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
    ) as holder:
        holder.execute(
            f"SELECT id FROM {LineVariance._meta.db_table} WHERE line_id = %s FOR UPDATE",
            [line.pk],
        ).fetchall()
        yield
        holder.rollback()


def recompute_waiting(fund_id):
    """A recompute of the fund holds its lock and waits for the line's rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE %s",
            [f"DELETE FROM %{LineVariance._meta.db_table}%"],
        )
        return advisory_lock_held(fund_id) and cursor.fetchone()[0] > 0


def test_kill_9_mid_recompute_then_a_new_worker_gets_the_figures_right(transactional_db):
    w = world()
    with snapshot_rows_held(w.host_line):
        slow = start_worker("slow")
        try:
            post_spend(w, w.host_line, ["K1"], "500.00")
            wait_for(lambda: recompute_waiting(w.fund.pk), timeout=20)
            os.killpg(slow.pid, signal.SIGKILL)
            slow.wait()
        finally:
            if slow.poll() is None:
                stop_worker(slow)
    # Its client gone, the killed recompute's transaction rolls back once it stops waiting.
    wait_for(lambda: not advisory_lock_held(w.fund.pk), timeout=20)
    assert ytd(w.host_line) == D("0.00")
    assert StaleMark.objects.filter(fund=w.fund).count() == 1
    fresh = start_worker("fresh")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled(w):
            sweep_stale_marks.apply_async()  # what beat sends every 30 s
            time.sleep(2)
        assert settled(w)
        assert ytd(w.host_line) == D("500.00")
        assert reconcile_fund(w.fund) == []
    finally:
        stop_worker(fresh)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port):
    proc = subprocess.Popen(
        redis_server_command(port, program=shutil.which("redis-server") or "redis-server"),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("redis-server did not start")


def reset_pools(app):
    """Point this process's Celery client at the current broker_url (fresh connection pools)."""
    reset_celery_client(app)


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_redis_down_spend_is_accepted_and_the_sweep_catches_up(transactional_db, monkeypatch):
    from gmhsc.celery import app

    w = world()
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port)
    old = (app.conf.broker_url, app.conf.result_backend)
    worker = None
    try:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.setenv("CELERY_RESULT_BACKEND", url)
        monkeypatch.setenv("REDIS_URL", url)
        app.conf.broker_url = url
        app.conf.result_backend = url
        app.conf.broker_connection_timeout = 1
        reset_pools(app)
        worker = start_worker("outage")
        redis.send_signal(signal.SIGTERM)
        redis.wait()
        started = time.monotonic()
        post_spend(w, w.host_line, ["R1", "R2", "R3"], "10.00")  # accepted: the broker is down
        assert time.monotonic() - started < 30
        assert SpendPosting.objects.filter(fund=w.fund).count() == 3
        assert StaleMark.objects.filter(fund=w.fund).count() == 1
        redis = start_redis(port)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not settled(w):
            # the client reconnects on its own schedule
            with contextlib.suppress(Exception):
                sweep_stale_marks.apply_async()
            time.sleep(2)
        assert settled(w)
        assert ytd(w.host_line) == D("30.00")
        assert reconcile_fund(w.fund) == []
    finally:
        if worker is not None:
            stop_worker(worker)
        if redis.poll() is None:
            redis.send_signal(signal.SIGTERM)
            redis.wait()
        app.conf.broker_url, app.conf.result_backend = old
        reset_pools(app)


def test_two_workers_on_one_fund_get_the_figures_right(transactional_db):
    w = world()
    one, two = start_worker("one"), start_worker("two")
    try:
        # The first recompute to reach the host line waits while the batches keep coming, so the
        # other worker finds the fund busy and its tasks retry: the figures must still add up.
        with snapshot_rows_held(w.host_line):
            for batch in range(10):
                line = w.host_line if batch % 2 else w.ccg_line
                post_spend(w, line, [f"B{batch}-{i}" for i in range(5)], "1.01", n=1 + batch % 3)
            wait_for(lambda: recompute_waiting(w.fund.pk), timeout=20)
            time.sleep(1)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not settled(w):
            time.sleep(0.5)
        if not settled(w):
            sweep_stale_marks.apply_async()
            wait_for(lambda: settled(w), timeout=60)
        assert LineVariance.objects.get(line=w.host_line, period_number=3).ytd_actual == D("25.25")
        assert LineVariance.objects.get(line=w.ccg_line, period_number=3).ytd_actual == D("25.25")
        assert reconcile_fund(w.fund) == []
    finally:
        stop_worker(one)
        stop_worker(two)
