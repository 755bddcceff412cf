"""Faults and the gaps around them (issue 21 items 11, 12, 15, 16, 17).

- Money writes and sign-in never depend on Redis: sessions live in the database, the cache (rate
  limits, fragments, the worker heartbeat) falls back to the process's own memory, and an export
  asked for while the broker is down is answered 202 with the job pending.
- Sign-in lockouts behind the reverse proxy key on the client's address from X-Forwarded-For,
  trusting exactly TRUSTED_PROXY_COUNT proxies; without it the header is ignored.
- No /media/ route in any setting: files only through views that check permission.
- /api/docs/ and /api/redoc/ load their scripts from the pinned sidecar package, none inline.

The live outage (Redis stopped 60 s under load, the worker reconnecting by itself) is
tests/system/test_fault_redis.py.
"""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import Resolver404, URLResolver, reverse
from django.urls.resolvers import RegexPattern
from rest_framework.authtoken.models import Token

from budgets.models import ExportJob, FundBudget, Period, SpendPosting
from gmhsc import background
from gmhsc.cache import ResilientRedisCache
from localities import roles
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def redis_down(settings):
    """The cache (and everything that uses it) pointed at a Redis that is not there."""
    settings.CACHES = {
        "default": {
            "BACKEND": "gmhsc.cache.ResilientRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    return caches["default"]


def test_the_cache_answers_from_memory_while_redis_is_down(redis_down):
    cache = redis_down
    assert isinstance(cache, ResilientRedisCache)
    cache.set("k", 41)
    assert cache.get("k") == 41
    assert cache.incr("k") == 42
    assert cache.get_or_set("other", "value") == "value"
    assert cache.is_down
    cache.delete("k")
    assert cache.get("k") is None


def test_sessions_live_in_the_database(settings):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_sign_in_works_while_redis_is_down(redis_down, make_user):
    make_user(roles.FINANCE_OFFICER, username="no-redis")
    client = Client()
    response = client.post(
        reverse("login"), {"username": "no-redis", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_posting_spend_works_and_is_still_rate_limited_while_redis_is_down(redis_down, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"posting": "3/min"})
    w = budget_world(status=FundBudget.Status.APPROVED)
    token = Token.objects.create(user=w.fin_host).key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    statuses = []
    for i in range(4):
        body = {
            "document_number": f"NR-{i}",
            "line_number": 1,
            "posting_date": "2016-04-15",
            "amount": "12.34",
            "budget_line": w.host_line.pk,
        }
        statuses.append(
            client.post(
                "/api/v1/spend-postings/", body, content_type="application/json"
            ).status_code
        )
    # Counted in this process's memory while Redis is away: the fourth is over the limit.
    assert statuses == [201, 201, 201, 429]
    assert SpendPosting.objects.filter(fund=w.fund).count() == 3
    assert sum(p.amount for p in SpendPosting.objects.filter(fund=w.fund)) == Decimal("37.02")


def test_an_export_asked_for_while_the_broker_is_down_is_accepted_and_pending(
    redis_down, monkeypatch, django_capture_on_commit_callbacks
):
    from gmhsc.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(
        background.task_named("budgets.tasks.export_variance"), "apply_async", broker_down
    )
    w = budget_world(status=FundBudget.Status.APPROVED)
    token = Token.objects.create(user=w.fin_host).key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/exports/",
            {"fund": w.fund.code, "period": "2016/17-M01", "format": "csv"},
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.status == ExportJob.Status.PENDING
    assert job.period == Period.objects.get(year=w.year, number=1)


# ---- the client's address behind the reverse proxy ---------------------------------------------


def fail_sign_in(client: Client, username: str, times: int, **headers: str) -> list[int]:
    url = reverse("login")
    return [
        client.post(url, {"username": username, "password": "wrong"}, **headers).status_code
        for _ in range(times)
    ]


def sign_in(client: Client, username: str, **headers: str) -> int:
    return client.post(
        reverse("login"), {"username": username, "password": "correct-horse-battery"}, **headers
    ).status_code


def test_behind_one_trusted_proxy_lockouts_key_on_the_forwarded_client(settings, make_user):
    settings.GMHSC_TRUSTED_PROXY_COUNT = 1
    make_user(roles.COMMISSIONER, username="colleague")
    proxy = {"REMOTE_ADDR": "172.18.0.5"}  # every request arrives from the proxy
    attacker = Client(**proxy)
    # The attacker even writes the victim's address first; the proxy appends the real one.
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.66"}
    assert fail_sign_in(attacker, "colleague", 5, **spoofed)[-1] == 429
    # The colleague, at 203.0.113.9 behind the same proxy, still signs in.
    victim = Client(**proxy)
    assert sign_in(victim, "colleague", HTTP_X_FORWARDED_FOR="203.0.113.9") == 302
    # The attacker's own address stays locked, whatever they write in the header.
    assert sign_in(attacker, "colleague", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.66") == 429


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings, make_user):
    settings.GMHSC_TRUSTED_PROXY_COUNT = 0
    make_user(roles.COMMISSIONER, username="target")
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    # Rotating X-Forwarded-For does not escape the lockout: the connection's address counts.
    statuses = [
        attacker.post(
            reverse("login"),
            {"username": "target", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(5)
    ]
    assert statuses[-1] == 429
    assert sign_in(attacker, "target", HTTP_X_FORWARDED_FOR="10.0.0.99") == 429
    assert sign_in(Client(REMOTE_ADDR="203.0.113.9"), "target") == 302


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        (0, "10.0.0.1", "1.2.3.4", "10.0.0.1"),
        (1, "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (1, "10.0.0.1", "9.9.9.9, 1.2.3.4", "1.2.3.4"),
        (2, "10.0.0.1", "9.9.9.9, 1.2.3.4, 10.0.0.2", "1.2.3.4"),
        (2, "10.0.0.1", "1.2.3.4", "10.0.0.1"),  # fewer entries than proxies: not via them
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (1, "10.0.0.1", "", "10.0.0.1"),
    ],
)
def test_client_address(settings, rf, count, remote, forwarded, expected):
    from gmhsc.client_ip import client_ip

    settings.GMHSC_TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


# ---- files only through views that check permission ---------------------------------------------


def test_there_is_no_media_route_even_with_debug_on(settings):
    import gmhsc.urls

    settings.DEBUG = True
    try:
        module = importlib.reload(gmhsc.urls)
        resolver = URLResolver(RegexPattern(r"^/"), module)
        for path in ("/media/exports/2016/10/variance-GM-POOL-2016-17-M06.pdf", "/media/x"):
            with pytest.raises(Resolver404):
                resolver.resolve(path)
    finally:
        settings.DEBUG = False
        importlib.reload(gmhsc.urls)


def test_an_export_file_is_served_only_to_who_may_see_it(client, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    w = budget_world(status=FundBudget.Status.APPROVED)
    job = ExportJob.objects.create(
        format="csv",
        owner=w.fin_host,
        fund=w.fund,
        period=Period.objects.get(year=w.year, number=1),
        status=ExportJob.Status.DONE,
        filename="variance.csv",
    )
    job.file.save("variance.csv", ContentFile(b"line_code\r\n"), save=True)
    assert client.get("/media/" + job.file.name).status_code == 404
    assert client.get(reverse("budgets:export-download", args=[job.pk])).status_code == 302
    client.force_login(w.fin_host)
    response = client.get(reverse("budgets:export-download", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"line_code\r\n"
    client.force_login(w.fin_outsider)
    assert client.get(reverse("budgets:export-download", args=[job.pk])).status_code == 404


# ---- API docs from the pinned package ------------------------------------------------------------


def test_api_docs_load_their_scripts_from_the_app_itself(client):
    for name in ("api-docs", "api-redoc"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        html = response.content.decode()
        assert "cdn" not in html.lower()
        assert "googleapis" not in html
        assert "<style" not in html
        scripts = html.split("<script")[1:]
        assert scripts, name
        assert all(s.lstrip().startswith("src=") for s in scripts), f"inline script in {name}"
        assert "/static/drf_spectacular_sidecar/" in html
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy + ";"
        style = "style-src 'self' 'unsafe-inline'" if name == "api-redoc" else "style-src 'self';"
        assert style in policy + ";"
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


# ---- the worker rides out a broker outage --------------------------------------------------------


def test_every_worker_we_start_runs_without_gossip_mingle_and_events(settings):
    """Celery's Gossip step tore down its channel after a lost Redis connection had gone
    (AttributeError: 'NoneType' object has no attribute 'hostname' / 'connection_errors') and
    could stop the worker for good; nothing here uses gossip, mingle or worker events."""
    root = settings.BASE_DIR
    places = {
        "Makefile": (root / "Makefile").read_text(),
        "scripts/run.sh": (root / "scripts" / "run.sh").read_text(),
        "docker-compose.yml": (root / "docker-compose.yml").read_text(),
        "bench/run.py": (root / "bench" / "run.py").read_text(),
        "tests/system/processes.py": (root / "tests" / "system" / "processes.py").read_text(),
    }
    for where, text in places.items():
        assert "worker" in text, where
        for flag in ("--without-gossip", "--without-mingle", "--without-heartbeat"):
            assert flag in text, f"{where} starts a worker without {flag}"
    # No result backend (a Redis one made every send wait on its reconnection), and a worker
    # that loses the broker retries for ever instead of giving up after 100 tries.
    assert settings.CELERY_RESULT_BACKEND is None
    assert settings.CELERY_TASK_IGNORE_RESULT is True
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
