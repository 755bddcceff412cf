"""Health: database, broker, worker heartbeat and the age of the oldest stale mark."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

HEARTBEAT_KEY = "gmhsc:worker-heartbeat"


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": str(exc).splitlines()[0]}


def _broker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process"}
    try:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1).ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:
        return {"ok": False, "mode": "redis", "error": str(exc).splitlines()[0]}


def _worker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process"}
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:
        beat = None
    if beat is None:
        return {"ok": False, "last_heartbeat": None}
    age = (timezone.now() - beat).total_seconds()
    return {"ok": age < 180, "last_heartbeat": beat.isoformat(), "age_seconds": round(age, 1)}


def _stale_marks() -> dict[str, Any]:
    from budgets import selectors

    age = selectors.oldest_stale_mark_age()
    return {"ok": age is None or age < 300, "oldest_age_seconds": age}


def report() -> dict[str, Any]:
    checks = {"database": _database(), "broker": _broker(), "worker": _worker()}
    if checks["database"]["ok"]:
        checks["stale_marks"] = _stale_marks()
    status = "ok" if all(c["ok"] for c in checks.values()) else "degraded"
    return {"status": status, "checks": checks, "time": timezone.now().isoformat()}
