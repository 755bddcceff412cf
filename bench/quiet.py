"""Wait until nothing else is working on the machine's database before a measurement.

On 2 cores a recompute running in the Celery worker, or PostgreSQL's autovacuum after a
million-row load, would be measured along with whatever runs beside it. `make bench` (run.py)
waits before each module; modules that load data themselves wait again before they time anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MARKS = "SELECT count(*) FROM budgets_stalemark"
VACUUMS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"


def wait_quiet(count: Callable[[str], int], timeout: float = 600) -> bool:
    """`count(sql)` runs a COUNT query and returns the number. True once both counts are 0."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count(MARKS) == 0 and count(VACUUMS) == 0:
            return True
        time.sleep(1)
    print("bench: recompute or autovacuum still busy after the wait; measuring anyway", flush=True)
    return False


def django_count(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])
