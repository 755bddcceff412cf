"""Lines page benchmark: the budget lines table of the largest demo fund at 20 concurrent users.

Usage (against a database seeded with `manage.py migrate && manage.py seed_demo`):
    DATABASE_URL=sqlite:////tmp/h4.sqlite3 .venv/bin/python bench/bench_lines_page.py
Options by environment: BENCH_USERS (20), BENCH_REQUESTS (400 in all), BENCH_WORKERS (gunicorn -w, 2 x cores + 1),
BENCH_USER (comm.manchester). Target (issue 5): p95 <= 300 ms on loopback.

gunicorn is started on a free loopback port and stopped by its pid; the figures are written to
bench/results/lines_page.json. In the same run the signed-in home page is loaded by the same users,
and the page's server time is reported beside it (bench/pagetime.py; target: at most 2x).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
os.environ.setdefault("DEBUG", "False")

import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402
from pagetime import (  # noqa: E402
    TRIVIAL_PATH,
    access_log_args,
    compare,
    server_ms,
    trivial_load,
)

from budgets.models import BudgetLine  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "20"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
# gunicorn's own rule for sync workers, as the README's WEB_WORKERS: 2 x cores + 1.
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
USERNAME = os.environ.get("BENCH_USER", "comm.manchester")
PASSWORD = os.environ.get("BENCH_PASSWORD", "gm-demo-pass-2016")
TARGET_P95_MS = 300.0
ACCESS_LOG = Path(os.environ.get("BENCH_ACCESS_LOG", "/tmp/bench_lines_page_access.log"))


def largest_fund() -> tuple[int, str, str, int]:
    # The largest *demo* fund: the other benchmarks add synthetic BENCH-* funds the demo user
    # cannot see.
    row = (
        BudgetLine.objects.exclude(fund__code__startswith="BENCH")
        .values("fund_id", "fund__code", "year__code")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is None or row["n"] < 2000:
        raise SystemExit("Seed the demo first: the largest fund needs at least 2,000 lines.")
    return row["fund_id"], row["fund__code"], row["year__code"], row["n"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen[bytes]:
    from django.conf import settings

    # gunicorn signs with this process's key, so a session made here (bench_mappings_page) is valid.
    env = {**os.environ, "SECRET_KEY": settings.SECRET_KEY}
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "gmhsc.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *access_log_args(ACCESS_LOG),
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    raise SystemExit("gunicorn did not start")


def login(port: int) -> str:
    """Sign in through the login form; returns the Cookie header for the session."""
    # A worker's first request imports the project and compiles templates: seconds on a busy VM.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/accounts/login/")
    resp = conn.getresponse()
    body = resp.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not (csrf_cookie and token):
        raise SystemExit("no CSRF token on the login page")
    form = urlencode({"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token[1]})
    conn.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie[1]}",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
    )
    resp = conn.getresponse()
    resp.read()
    session = re.search(r"sessionid=([^;]+)", resp.getheader("Set-Cookie") or "")
    if resp.status != 302 or not session:
        raise SystemExit(f"login failed ({resp.status})")
    return f"sessionid={session[1]}; csrftoken={csrf_cookie[1]}"


def load_test(port: int, path: str, cookie: str) -> tuple[list[float], int]:
    timings: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_user = REQUESTS // USERS

    def user() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(per_user):
            start = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                timings.append(elapsed)
                if resp.status != 200:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=user) for _ in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings, errors


def main() -> None:
    fund_id, fund_code, year_code, n_lines = largest_fund()
    port = free_port()
    ACCESS_LOG.unlink(missing_ok=True)
    proc = start_server(port)
    try:
        cookie = login(port)
        path = (
            f"/budgets/funds/{fund_id}/lines/?{urlencode({'year': year_code, 'sort': '-current'})}"
        )
        load_test(port, path, cookie)  # warm-up: each worker connects and compiles templates
        started = time.perf_counter()
        timings, errors = load_test(port, path, cookie)
        wall = time.perf_counter() - started
        trivial_errors = trivial_load(port, [cookie] * USERS, REQUESTS // USERS)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    result = {
        "fund": fund_code,
        "year": year_code,
        "lines": n_lines,
        **figures(path, timings, errors, wall),
    }
    server = server_ms(ACCESS_LOG, path.split("?")[0])[-len(timings) :]
    trivial = server_ms(ACCESS_LOG, TRIVIAL_PATH)[-(REQUESTS // USERS) * USERS :]  # not warm-ups
    result["server_time_vs_trivial_page"] = {**compare(server, trivial), "errors": trivial_errors}
    out = ROOT / "bench" / "results" / "lines_page.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def figures(path: str, timings: list[float], errors: int, wall: float) -> dict[str, object]:
    """A page load's figures: client and server (gunicorn access log) percentiles, against the
    p95 target. Shared by the page benchmarks."""
    timings = sorted(timings)
    server = sorted(server_ms(ACCESS_LOG, path.split("?")[0])[-len(timings) :])
    if not server:
        raise SystemExit(f"{path}: no request succeeded ({errors} of {len(timings)} failed)")
    p95 = timings[int(0.95 * (len(timings) - 1))]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": django.db.connection.vendor,
        "page": path,
        "concurrent_users": USERS,
        "requests": len(timings),
        "errors": errors,
        "gunicorn_workers": WORKERS,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(timings[-1], 1),
        "server_p50_ms": server[len(server) // 2],
        "server_p95_ms": server[int(0.95 * (len(server) - 1))],
        "cpus": os.cpu_count(),
        "throughput_rps": round(len(timings) / wall, 1),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": p95 <= TARGET_P95_MS and errors == 0,
    }


if __name__ == "__main__":
    main()
