"""Boards benchmark: the finance dashboard at 20 concurrent users and a pack with 10 papers.

Run against a seeded PostgreSQL database, e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:55440/gmhsc_h7 REDIS_URL=redis://127.0.0.1:56390/7 \
        .venv/bin/python bench/bench_boards.py
(REDIS_URL gives the gunicorn workers one shared cache, as in production.)
Seeds the database first if it has no boards (migrate, seed_demo). Starts gunicorn on a free port
(stopped by pid), logs 20 board members' sessions in, and has each load the dashboard page (and,
like a browser, any image it refers to by URL) repeatedly; then builds a pack with 10 five-page papers in-process and times it.
Writes bench/results/boards.json. Targets: dashboard p95 <= 500 ms; pack <= 30 s. In the same run
the members load the signed-in home page and the dashboard's server time is reported beside it
(bench/pagetime.py; target: at most 2x).
"""

from __future__ import annotations

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmhsc.settings.local")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("MEDIA_ROOT", "/tmp/gmhsc-bench-media")

USERS = 20
ROUNDS = 30  # page loads per user (600 in all, so the p95 rests on 30 samples)
PAPERS = 10
PAPER_PAGES = 5
ACCESS_LOG = Path(os.environ.get("BENCH_ACCESS_LOG", "/tmp/bench_boards_access.log"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_seeded() -> None:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from boards.models import Meeting

    if Meeting.objects.exists():
        return
    try:
        call_command("seed_demo", "--quiet-logins")
    except Exception as exc:  # another app's demo failed: seed what boards needs
        print(f"seed_demo failed ({exc!r}); seeding reference data, users and boards only")
        from boards import demo as boards_demo
        from boards import demo_meetings
        from localities import demo as localities_demo

        call_command("seed_reference", verbosity=0)
        localities_demo.seed_users()
        boards_demo.link_funds()
        boards_demo.seed_memberships()
        for line in demo_meetings.seed():
            print(line)


def bench_users() -> list[str]:
    """20 board members on the JCB (the demo's three plus bench members), one password."""
    from django.conf import settings

    from boards.models import Board, Membership
    from localities import roles
    from localities.models import Organisation, User

    board = Board.objects.get(code="JCB")
    org = Organisation.objects.get(code="X24")
    names = []
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=roles.BOARD_MEMBER)
    for n in range(USERS):
        username = f"bench.member{n:02d}"
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"organisation": org, "first_name": "Bench", "last_name": f"Member {n}"},
        )
        if created:
            user.set_password(settings.GMHSC_DEMO_PASSWORD)
            user.save()
        user.groups.add(group)
        Membership.objects.get_or_create(
            board=board,
            person=user,
            defaults={"organisation": org, "role": "member", "voting": True},
        )
        names.append(username)
    return names


def start_server(port: int) -> subprocess.Popen:
    from pagetime import access_log_args

    ACCESS_LOG.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "gmhsc.wsgi",
            "-w",
            str(2 * (os.cpu_count() or 2) + 1),  # gunicorn's own rule, as the README's WEB_WORKERS
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *access_log_args(ACCESS_LOG),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        start_new_session=True,
    )
    import requests

    # A worker's first request imports the project and compiles templates: seconds on a busy VM.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if (
                requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=30).status_code
                == 200
            ):
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("gunicorn did not start")


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def login(base: str, username: str, password: str):
    import re

    import requests

    s = requests.Session()
    page = s.get(f"{base}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = s.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    if r.status_code != 200 or "Sign out" not in r.text:
        raise SystemExit(f"login failed for {username}")
    return s


def dashboard_load(base: str, users: list[str], board_id: int, password: str) -> dict:
    from pagetime import TRIVIAL_PATH, compare, server_ms, trivial_load

    sessions = [login(base, u, password) for u in users]
    page_times: list[float] = []
    chart_times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions))
    url = f"{base}/boards/{board_id}/dashboard/"
    # Warm-up, as for the other page benchmarks: the first member to open the dashboard after new
    # figures builds it (one build while the others wait for it); then every member opens it once
    # at the same time, so each gunicorn worker has served a request (its first one loads and
    # compiles the templates) as on a server that has been up for a while. The load measures what
    # follows.
    warm = sessions[0].get(url)
    if warm.status_code != 200:
        raise SystemExit(f"dashboard warm-up answered {warm.status_code}")
    warmers = [threading.Thread(target=s.get, args=(url,)) for s in sessions]
    for t in warmers:
        t.start()
    for t in warmers:
        t.join()

    def run(session) -> None:
        barrier.wait()
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            r = session.get(url)
            dt_page = time.perf_counter() - t0
            times = []
            # Like a browser: fetch every image the page refers to by URL (charts inside the page
            # as data: URIs need no request).
            charts = [
                base + src
                for src in re.findall(r'<img[^>]* src="([^"]+)"', r.text)
                if not src.startswith("data:")
            ]
            for c in charts:
                t1 = time.perf_counter()
                rc = session.get(c)
                times.append(time.perf_counter() - t1)
                if rc.status_code != 200:
                    with lock:
                        errors.append(f"{c}: {rc.status_code}")
            with lock:
                page_times.append(dt_page)
                chart_times.extend(times)
                if r.status_code != 200 or "Finance dashboard" not in r.text:
                    errors.append(f"page: {r.status_code}")

    started = time.perf_counter()
    cpu0 = time.process_time()
    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - cpu0
    port = int(base.rsplit(":", 1)[1])
    cookies = ["; ".join(f"{k}={v}" for k, v in s.cookies.items()) for s in sessions]
    trivial_errors = trivial_load(port, cookies, ROUNDS)
    page_server = server_ms(ACCESS_LOG, f"/boards/{board_id}/dashboard/")[-len(page_times) :]
    trivial_server = server_ms(ACCESS_LOG, TRIVIAL_PATH)[-ROUNDS * len(sessions) :]

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "users": len(sessions),
        "page_requests": len(page_times),
        "chart_requests": len(chart_times),
        "page_p50_ms": round(statistics.median(page_times) * 1000, 1),
        "page_p95_ms": round(pct(page_times, 0.95) * 1000, 1),
        "page_max_ms": round(max(page_times) * 1000, 1),
        "chart_p95_ms": round(pct(chart_times, 0.95) * 1000, 1) if chart_times else None,
        "requests_per_second": round((len(page_times) + len(chart_times)) / wall, 1),
        # The 20 clients run in this process on the same cores as the server.
        "load_generator_cpu_share": round(client_cpu / wall, 2),
        "errors": errors[:10],
        "target_p95_ms": 500,
        "meets_target": pct(page_times, 0.95) <= 0.5 and not errors,
        "server_time_vs_trivial_page": {
            **compare(page_server, trivial_server),
            "errors": trivial_errors,
        },
    }


def pack_bench() -> dict:
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from weasyprint import HTML

    from boards import pack as pack_builder
    from boards import services
    from boards.models import Board, BoardPack, Meeting
    from localities.models import User

    board = Board.objects.get(code="JCB")
    actor = User.objects.get(username="admin")
    Meeting.objects.filter(board=board, title="Benchmark meeting").delete()
    meeting = services.meeting_create(
        actor=actor,
        board=board,
        title="Benchmark meeting",
        starts_at=timezone.make_aware(dt.datetime(2017, 3, 29, 14)),
    )
    t_papers = time.perf_counter()
    css = "<style>.b { page-break-after: always; }</style>"
    for n in range(PAPERS):
        body = '<div class="b"></div>'.join(
            f"<h1>Paper {n + 1}</h1><p>{'Board paper text. ' * 200}</p><p>Page {p + 1}</p>"
            for p in range(PAPER_PAGES)
        )
        data = HTML(string=f"<html><head>{css}</head><body>{body}</body></html>").write_pdf()
        services.agenda_item_add(
            actor=actor,
            meeting=meeting,
            title=f"Paper {n + 1}",
            purpose="information",
            is_private=(n == 9),
            paper=SimpleUploadedFile(f"p{n}.pdf", data, content_type="application/pdf"),
        )
    papers_seconds = time.perf_counter() - t_papers
    pack = BoardPack.objects.create(meeting=meeting, version=1, requested_by=actor)
    t0 = time.perf_counter()
    built = pack_builder.build(pack.pk)
    seconds = time.perf_counter() - t0
    result = {
        "papers": PAPERS,
        "pages_per_paper": PAPER_PAGES,
        "status": built.status,
        "pages_full": built.pages,
        "pages_public": built.public_pages,
        "build_seconds": round(seconds, 2),
        "paper_upload_seconds": round(papers_seconds, 2),
        "target_seconds": 30,
        "meets_target": built.status == "ready" and seconds <= 30,
        "note": "Builds two PDFs (full and public without the private item), each with one page numbering.",
    }
    for p in meeting.packs.all():
        p.file.delete(save=False)
        p.public_file.delete(save=False)
    for item in meeting.items.all():
        item.paper.delete(save=False)
    meeting.delete()
    return result


def main() -> None:
    import django

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to the seeded PostgreSQL database (e.g. gmhsc_h7)")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from boards.dashboard import build_dashboard
    from boards.models import Board

    ensure_seeded()
    users = bench_users()
    board = Board.objects.get(code="JCB")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quiet import django_count, wait_quiet

    wait_quiet(django_count)  # no recompute or autovacuum under the measurements
    t0 = time.perf_counter()
    dash = build_dashboard(board)
    cold_ms = (time.perf_counter() - t0) * 1000
    connection.close()
    port = free_port()
    server = start_server(port)
    try:
        dashboard = dashboard_load(
            f"http://127.0.0.1:{port}", users, board.pk, settings.GMHSC_DEMO_PASSWORD
        )
    finally:
        stop_server(server)
    dashboard["build_dashboard_uncached_ms"] = round(cold_ms, 1)
    dashboard["funds_with_figures"] = len(dash.funds)
    dashboard["note"] = (
        "One warm-up load, then one by every user at once (every worker warm); each page load then also fetches every image the page refers to "
        "by URL (the 4 charts are inside the page as data: URIs). The page below its heading is "
        "cached per board under the figures' snapshot time and pending changes, so loads are "
        "cache hits until the figures change; the uncached build time is reported."
    )
    pack = pack_bench()
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": connection.settings_dict["NAME"],
        "gunicorn_workers": 2 * (os.cpu_count() or 2) + 1,
        "cache_backend": settings.CACHES["default"]["BACKEND"],
        "cpus": os.cpu_count(),
        "dashboard": dashboard,
        "pack": pack,
    }
    path = ROOT / "bench/results/boards.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
