"""Ledger mappings page benchmark: `/budgets/ledger/mappings/` for the demo organisation with the
most mappings, signed in as its finance officer, at 20 concurrent users.

Usage (against a database seeded with `manage.py migrate && manage.py seed_demo`):
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_mappings_page.py
Same options as bench_lines_page.py (BENCH_USERS, BENCH_REQUESTS, BENCH_WORKERS); BENCH_USER
overrides the finance officer. Target (issue 17): p95 <= 300 ms on loopback. The page lists 100
mappings a page and its line chooser offers only the lines a search matches, never all of them.

gunicorn is started on a free loopback port and stopped by its pid; the figures are written to
bench/results/mappings_page.json.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_lines_page as harness
from django.db.models import Count

from budgets.models import BudgetLine, LedgerMapping
from localities import roles
from localities.models import User

ROOT = harness.ROOT


def largest_organisation() -> tuple[str, str, int, str]:
    """The demo organisation with the most mappings in a year among those with a finance officer
    (who keeps the mappings), and that officer."""
    officers = dict(
        User.objects.filter(groups__name=roles.FINANCE_OFFICER)
        .order_by("-username")
        .values_list("organisation_id", "username")
    )
    rows = (
        LedgerMapping.objects.exclude(budget_line__fund__code__startswith="BENCH")
        .filter(organisation_id__in=officers)
        .values("organisation_id", "organisation__code", "year__code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    row = rows.first()
    if row is None:
        raise SystemExit(
            "Seed the demo first: no ledger mappings of an organisation with a finance officer."
        )
    username = os.environ.get("BENCH_USER") or officers[row["organisation_id"]]
    return row["organisation__code"], row["year__code"], row["n"], username


def session_cookie(username: str) -> str:
    """A signed-in session made directly (as the login form would make it): on a busy machine
    the login's password hashing alone can outlast the harness's 10 s timeout."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    user = User.objects.get(username=username)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def main() -> None:
    org_code, year_code, n_mappings, username = largest_organisation()
    harness.USERNAME = username
    visible_lines = BudgetLine.objects.filter(year__code=year_code).count()
    port = harness.free_port()
    harness.ACCESS_LOG.unlink(missing_ok=True)
    proc = harness.start_server(port)
    try:
        cookie = session_cookie(username)
        path = f"/budgets/ledger/mappings/?{urlencode({'year': year_code})}"
        harness.load_test(port, path, cookie)  # warm-up: each worker compiles its templates
        started = time.perf_counter()
        timings, errors = harness.load_test(port, path, cookie)
        wall = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    result = {
        "organisation": org_code,
        "user": username,
        "year": year_code,
        "mappings": n_mappings,
        "lines_in_year": visible_lines,
        **harness.figures(path, timings, errors, wall),
    }
    out = ROOT / "bench" / "results" / "mappings_page.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
