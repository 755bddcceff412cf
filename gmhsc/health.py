"""Health: database, broker, worker heartbeat, the oldest stale mark and stuck background jobs.

GET /health/ answers 200 with {"status": "ok", ...} when every check passes, 503 "degraded"
otherwise. It is public (load balancers and monitors call it) and reveals no data, only ages
and counts. Thresholds come from settings so operators can tune them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from budgets.figures import selectors as figure_selectors
from budgets.models import StaleMark
from gmhsc import jobs

HEARTBEAT_KEY = "gmhsc:worker-heartbeat"


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [exc.__class__.__name__])[0][:200]


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": _first_line(exc)}


def _broker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process"}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        return {"ok": folder.is_dir() and os.access(folder, os.W_OK), "mode": "folder"}
    try:
        import redis

        redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
        ).ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:
        return {"ok": False, "mode": "redis", "error": _first_line(exc)}


def _worker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process"}
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:
        beat = None
    if beat is None:
        return {"ok": False, "last_heartbeat": None, "age_seconds": None}
    age = (timezone.now() - beat).total_seconds()
    return {
        "ok": age < _limit("GMHSC_HEALTH_HEARTBEAT_MAX_AGE", 180),
        "last_heartbeat": beat.isoformat(),
        "age_seconds": round(age, 1),
    }


def _stale_marks() -> dict[str, Any]:
    try:
        age = figure_selectors.oldest_stale_mark_age()
        pending = StaleMark.objects.count()
    except Exception as exc:
        return {"ok": False, "error": _first_line(exc)}
    return {
        "ok": age is None or age < _limit("GMHSC_HEALTH_STALE_MAX_AGE", 300),
        "oldest_age_seconds": age,
        "pending": pending,
    }


def _jobs() -> dict[str, Any]:
    """Background jobs with no heartbeat for GMHSC_JOB_STUCK_SECONDS (the sweep sends them again)."""
    try:
        found = jobs.stuck()
    except Exception as exc:
        return {"ok": False, "error": _first_line(exc)}
    return {"ok": found["count"] == 0, **found}


def report() -> dict[str, Any]:
    checks = {"database": _database(), "broker": _broker(), "worker": _worker()}
    if checks["database"]["ok"]:
        checks["stale_marks"] = _stale_marks()
        checks["jobs"] = _jobs()
    else:
        checks["stale_marks"] = {"ok": False, "error": "database unavailable"}
        checks["jobs"] = {"ok": False, "error": "database unavailable"}
    status = "ok" if all(c["ok"] for c in checks.values()) else "degraded"
    return {"status": status, "checks": checks, "time": timezone.now().isoformat()}
