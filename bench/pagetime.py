"""A figures page's server time beside a trivial signed-in page's, measured in the same run.

The page benchmarks (lines page, variance page, board dashboard) start gunicorn with an access log
that records each request's path, status and server time in milliseconds (`access_log_args`).
After a page's load test the benchmark loads the trivial page (the signed-in home page, `/`: one
session read and a short template) with the same users through `trivial_load`, and `compare`
reads both pages' server times from the log. The target is a figures page at most twice the
trivial page's server time (issue 17), so what a page costs is read against what any page costs
on the same machine at the same moment.
"""

from __future__ import annotations

import http.client
import statistics
import threading
from pathlib import Path
from typing import Any

TRIVIAL_PATH = "/"
ACCESS_FORMAT = "%(U)s %(s)s %(M)s"  # path (no query string), status, request time in ms
TARGET_RATIO = 2.0


def access_log_args(log: Path) -> list[str]:
    """gunicorn arguments that write the access log `server_ms` reads."""
    return ["--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT]


def server_ms(log: Path, path: str) -> list[int]:
    """Server times (ms) of the successful requests for `path` in the access log."""
    times = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == path and parts[1] == "200":
            times.append(int(parts[2]))
    return times


def trivial_load(port: int, cookies: list[str], rounds: int) -> int:
    """Every user (one Cookie header each) loads the trivial page once to warm up, then `rounds`
    times, all at once. Returns the number of failed requests."""
    errors = 0
    lock = threading.Lock()

    def user(cookie: str, times: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(times):
            conn.request("GET", TRIVIAL_PATH, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                with lock:
                    errors += 1
        conn.close()

    for times in (1, rounds):
        threads = [threading.Thread(target=user, args=(c, times)) for c in cookies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))])


def compare(page: list[int], trivial: list[int]) -> dict[str, Any]:
    """Both pages' server p50 and p95 and their ratios; met when the p95 ratio is at most 2."""
    if not page or not trivial:
        return {"error": "no server times in the access log"}
    page_p50, trivial_p50 = statistics.median(page), statistics.median(trivial)
    page_p95, trivial_p95 = _pct(page, 0.95), _pct(trivial, 0.95)
    ratio_p95 = round(page_p95 / max(trivial_p95, 1.0), 2)
    return {
        "trivial_page": TRIVIAL_PATH,
        "page_requests": len(page),
        "trivial_requests": len(trivial),
        "page_server_p50_ms": round(page_p50, 1),
        "page_server_p95_ms": round(page_p95, 1),
        "trivial_server_p50_ms": round(trivial_p50, 1),
        "trivial_server_p95_ms": round(trivial_p95, 1),
        "ratio_p50": round(page_p50 / max(trivial_p50, 1.0), 2),
        "ratio_p95": ratio_p95,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio_p95 <= TARGET_RATIO,
    }
