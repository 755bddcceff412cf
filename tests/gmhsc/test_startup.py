"""The SQLite default boots and serves the login page; bad configuration fails with one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(overrides)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sqlite_default_boots_and_serves_login_page(tmp_path):
    env = _env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.sqlite3'}",
        DJANGO_SETTINGS_MODULE="gmhsc.settings.local",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=2
                ) as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert '<h1 class="govuk-heading-xl">Sign in</h1>' in body
        assert 'name="csrfmiddlewaretoken"' in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_production_without_secret_key_fails_with_one_line():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="gmhsc.settings.production",
            DATABASE_URL="postgres://x@127.0.0.1:1/x",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "gmhsc: configuration error: SECRET_KEY is not set; set it to a long random value."
    )


def test_unreachable_database_fails_with_one_line():
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="gmhsc.settings.local",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/nowhere",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "INFO" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gmhsc: cannot reach the database at 127.0.0.1:{port}/nowhere")


@pytest.mark.django_db
def test_login_page_and_home_sends_each_role_to_its_work(client, make_user):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    user = make_user("finance_officer")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "Post spend and close months" in page
    assert "Board meetings and dashboards" not in page
