"""GET /health/: database, broker, worker heartbeat and the age of the oldest stale mark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from budgets.models import StaleMark
from gmhsc import health
from gmhsc.tasks import heartbeat
from tests.budgets.factories import PooledFundFactory, make_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    settings.CELERY_BROKER_URL = ""


@pytest.fixture
def no_heartbeat():
    cache.delete(health.HEARTBEAT_KEY)
    yield
    cache.delete(health.HEARTBEAT_KEY)


def test_healthy_in_process(client, in_process):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": True, "mode": "in-process"}
    assert body["checks"]["worker"] == {"ok": True, "mode": "in-process"}
    assert body["checks"]["stale_marks"] == {"ok": True, "oldest_age_seconds": None, "pending": 0}
    assert response["X-Request-ID"]


def test_old_stale_mark_makes_health_degraded(client, in_process):
    fund = PooledFundFactory()
    year = make_year()
    mark = StaleMark.objects.create(fund=fund, year_id=year.pk, reason="test")
    StaleMark.objects.filter(pk=mark.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    StaleMark.objects.create(fund=fund, year_id=year.pk, reason="test")
    response = client.get("/health/")
    assert response.status_code == 503
    stale = response.json()["checks"]["stale_marks"]
    assert stale["ok"] is False
    assert stale["pending"] == 2
    assert 600 <= stale["oldest_age_seconds"] < 660


def test_fresh_stale_mark_is_fine(client, in_process):
    StaleMark.objects.create(fund=PooledFundFactory(), year_id=make_year().pk, reason="test")
    body = client.get("/health/").json()
    assert body["status"] == "ok"
    assert body["checks"]["stale_marks"]["pending"] == 1
    assert body["checks"]["stale_marks"]["oldest_age_seconds"] < 60


def test_unreachable_broker_and_no_heartbeat(client, settings, no_heartbeat):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["mode"] == "redis"
    assert checks["broker"]["error"]
    assert checks["worker"] == {"ok": False, "last_heartbeat": None, "age_seconds": None}


def test_worker_heartbeat_is_reported(settings, no_heartbeat, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    heartbeat()
    worker = health.report()["checks"]["worker"]
    assert worker["ok"] is True
    assert worker["age_seconds"] < 5
    cache.set(health.HEARTBEAT_KEY, timezone.now() - timedelta(minutes=5), timeout=60)
    worker = health.report()["checks"]["worker"]
    assert worker["ok"] is False
    assert 300 <= worker["age_seconds"] < 360


def test_database_failure_is_reported_without_a_traceback(in_process, monkeypatch):
    class Broken:
        def __enter__(self):
            raise RuntimeError("connection refused\nsecond line")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    report = health.report()
    assert report["status"] == "degraded"
    assert report["checks"]["database"] == {"ok": False, "error": "connection refused"}
    assert report["checks"]["stale_marks"] == {"ok": False, "error": "database unavailable"}


def test_health_needs_no_login_and_shows_no_data(client, in_process):
    body = client.get("/health/").json()
    assert set(body) == {"status", "checks", "time"}
    assert set(body["checks"]) == {"database", "broker", "worker", "stale_marks", "jobs"}
