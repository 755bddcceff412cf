"""Real processes for the fault tests: a throwaway Redis, gunicorn and Celery beat, by pid.

Each runs in its own session (process group) so a test can stop or `kill -9` it without touching
anything else, and every one is stopped in the test's `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import QUEUES, celery_command, worker_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_command(port: int, *extra: str, program: str = "redis-server") -> list[str]:
    """redis-server on `port` keeping nothing (no snapshot, no append-only file) and refusing
    writes when full rather than evicting keys; `extra` arguments after these."""
    settings = ["--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"]
    return [program, "--port", str(port), *settings, *extra]


class OwnRedis:
    """A throwaway redis-server on a free loopback port (no persistence), started and stopped by pid."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            redis_server_command(self.port, "--bind", "127.0.0.1", "--dir", str(self.workdir)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
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


def app_env(broker_url: str, **extra: str) -> dict[str, str]:
    """Environment for a web, worker or beat process on the test database and this broker."""
    env = worker_env()
    env.update(REDIS_URL=broker_url, CELERY_BROKER_URL=broker_url)
    env.update(extra)
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def start_beat(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    return _spawn(
        celery_command("beat", "-l", "INFO", "--schedule", str(workdir / "celerybeat-schedule")),
        env,
        workdir / "beat.log",
    )


def worker_command(*extra: str) -> list[str]:
    """A worker as `make worker`, `scripts/run.sh` and docker-compose start it."""
    return celery_command(
        "worker",
        "-Q",
        QUEUES,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *extra,
    )


def start_production_worker(env: dict[str, str], workdir: Path, name: str) -> subprocess.Popen:
    """A worker started as `make worker` and docker-compose start it (prefork, one child)."""
    return _spawn(
        worker_command("--concurrency", "1", "-n", f"{name}@%h", "-l", "INFO"),
        env,
        workdir / f"{name}.log",
    )


def start_gunicorn(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import requests

    port = free_port()
    proc = _spawn(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "gmhsc.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        {**env, "DJANGO_SETTINGS_MODULE": "gmhsc.settings.test"},
        workdir / "gunicorn.log",
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{url}/health/", timeout=30)
                return proc, url
            time.sleep(0.2)
    except BaseException:
        stop(proc)
        raise
    stop(proc)
    pytest.fail(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
    raise AssertionError  # unreachable


def stop(proc: subprocess.Popen | None, *, hard: bool = False) -> None:
    """Stop a process group started here: SIGTERM (or SIGKILL), then wait."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL if hard else signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
