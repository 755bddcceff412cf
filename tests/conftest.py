"""Shared fixtures: reference data, users per role, a real Celery worker, Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

# Playwright keeps an event loop in the main thread; the ORM calls in browser tests are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import UserFactory

CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if os.path.exists("/usr/lib/chromium/chromium")
    else "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (run `make test`)")
    skip_system = pytest.mark.skip(reason="needs PostgreSQL and Redis (run `make test`)")
    for item in items:
        if "pg" in item.keywords and not is_postgres():
            item.add_marker(skip_pg)
        if "system" in item.keywords and not (is_postgres() and settings.REDIS_URL):
            item.add_marker(skip_system)


@pytest.fixture
def reference(db):
    """Greater Manchester reference data, as `seed_reference` loads it."""
    from django.core.management import call_command

    call_command("seed_reference", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return True


@pytest.fixture
def make_user(db):
    """make_user("commissioner", organisation=org) -> a user holding that role."""

    def _make(*role_names: str, organisation=None, **kwargs):
        return UserFactory(roles=list(role_names), organisation=organisation, **kwargs)

    return _make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def celery_worker_proc(transactional_db) -> Iterator[subprocess.Popen]:
    """A real Celery worker process against the test database and the Redis `make test` started."""
    if not settings.CELERY_BROKER_URL:
        pytest.skip("no broker: in-process tasks only")
    proc = start_worker()
    yield proc
    stop_worker(proc)


def worker_env() -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="gmhsc.settings.test",
        CELERY_TASK_ALWAYS_EAGER="0",
    )


def reset_celery_client(app) -> None:
    """Give this process's Celery client fresh connection pools for the current broker_url.

    The app, its producer pool, its control mailbox and its result backend each cache a
    connection; all must go, or the next send or ping finds a closed pool ("Acquire on closed
    pool") or a broker that is no longer there.
    """
    from kombu import pools

    pools.reset()  # closes every pooled connection and forgets the pools (keyed by broker URL)
    app._pool = None
    app.amqp._producer_pool = None
    app.control.mailbox.__dict__.pop("producer_pool", None)
    # The result backend holds its own connection to the old broker (cached per app or thread).
    app._backend_cache = None
    with contextlib.suppress(AttributeError):
        del app._local.backend


#: The queues a worker takes, as `make worker` starts it.
QUEUES = "default,recompute,imports,exports"


def celery_command(*args: str) -> list[str]:
    """The command line of one of this app's Celery processes (a worker, beat) with `args`."""
    return [sys.executable, "-m", "celery", "-A", "gmhsc", *args]


def start_worker(
    name: str = "w1", *, broker_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a real solo worker (own session) and wait until it answers a ping.

    broker_url: a broker other than the one `make test` started (fault tests run their own).
    env: more environment (e.g. shorter job heartbeat and sweep intervals).
    The worker is killed if it never answers or the ping itself fails, so none is left behind.
    """
    from gmhsc.celery import app

    extra = env or {}
    env = worker_env()
    if broker_url:
        env.update(REDIS_URL=broker_url, CELERY_BROKER_URL=broker_url)
    env.update(extra)
    proc = subprocess.Popen(
        celery_command(
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "-n",
            f"{name}@%h",
            "-Q",
            QUEUES,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            # Start from an empty queue: a worker never inherits the tasks an earlier test left
            # queued (the posting fault test leaves about 2,000 finished fund's recomputes).
            "--purge",
            "-l",
            "WARNING",
        ),
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            if any(name in key for reply in replies for key in reply):
                app.conf.task_always_eager = False
                return proc
        pytest.fail("the Celery worker did not answer a ping within 30 s")
    except BaseException:
        kill_worker(proc)
        raise


def kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group (it runs in its own session)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def stop_worker(proc: subprocess.Popen) -> None:
    from gmhsc.celery import app

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what} not met within {timeout} s")
