"""Security settings (issue 10 item 2): deploy checks, lockout, CSP, cookies, HSTS, passwords,
session expiry, admin for administrators only, upload limits and API rate limits."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gmhsc.errors import ApplicationError
from gmhsc.uploads import check_upload
from localities import roles

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "prod-" + "k3y" * 20


def production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "DEBUG",
            "DATABASE_URL",
            "REDIS_URL",
            "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright only
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="gmhsc.settings.production",
        SECRET_KEY=STRONG_KEY,
        DATABASE_URL="postgres://gmhsc@127.0.0.1:5432/gmhsc",
        ALLOWED_HOSTS="gmhsc.example.org",
    )
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# ---- production settings ---------------------------------------------------------------------


def test_production_settings_are_secure():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ['DEBUG', 'SESSION_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SECURE', "
        "'CSRF_COOKIE_HTTPONLY', 'CSRF_COOKIE_SAMESITE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT', "
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', 'X_FRAME_OPTIONS', "
        "'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'SESSION_COOKIE_AGE']}))"
    )
    result = run_python(code, production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_AGE": 8 * 60 * 60,
    }


def test_check_deploy_reports_nothing_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "django-insecure-short"}, "SECRET_KEY is too weak"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
    ],
)
def test_unsafe_production_configuration_stops_with_one_line(overrides, message):
    result = run_python("import django; django.setup()", production_env(**overrides))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"gmhsc: configuration error: {message}"] or (
        result.stderr.strip().startswith(f"gmhsc: configuration error: {message}")
        and "Traceback" not in result.stderr
    )


def test_production_response_sets_hsts_and_secure_cookies():
    """A real request through the production middleware stack: HSTS, secure HttpOnly cookies."""
    code = """
import django, json
django.setup()
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
setup_test_environment()
# Production serves hashed static files after collectstatic; this check needs only the headers.
override_settings(STORAGES={
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}).enable()
c = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="gmhsc.example.org")
r = c.get("/accounts/login/", secure=True)
csrf = r.cookies["csrftoken"]
insecure = Client(HTTP_HOST="gmhsc.example.org").get("/accounts/login/")
print(json.dumps({
  "status": r.status_code,
  "hsts": r.headers.get("Strict-Transport-Security"),
  "csrf_secure": bool(csrf["secure"]), "csrf_httponly": bool(csrf["httponly"]),
  "csrf_samesite": csrf["samesite"],
  "redirect": insecure.status_code, "location": insecure.headers.get("Location"),
}))
"""
    env = production_env(DATABASE_URL="sqlite:////tmp/gmhsc-prod-settings-test.sqlite3")
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "status": 200,
        "hsts": "max-age=31536000; includeSubDomains; preload",
        "csrf_secure": True,
        "csrf_httponly": True,
        "csrf_samesite": "Lax",
        "redirect": 301,
        "location": "https://gmhsc.example.org/accounts/login/",
    }


def test_session_cookie_is_httponly_samesite_and_expires(client, make_user):
    make_user(roles.COMMISSIONER, username="sess-user")
    response = client.post(
        reverse("login"), {"username": "sess-user", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Expires at browser close, and server-side after 8 hours at most.
    assert cookie["expires"] == ""
    assert client.session.get_expiry_age() == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


# ---- passwords and lockout -------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short1", "password123456", "123456789012345"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_is_accepted():
    validate_password("pooled-budget-harbour-lamp")


@pytest.mark.django_db
def test_lockout_after_five_failures_per_username_and_address(client, make_user):
    make_user(roles.COMMISSIONER, username="lock-me")
    url = reverse("login")
    for _ in range(4):
        response = client.post(url, {"username": "lock-me", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    # The fifth failure locks this username from this address ...
    response = client.post(url, {"username": "lock-me", "password": "wrong"})
    assert response.status_code == 429
    # ... so even the right password is refused now.
    response = client.post(url, {"username": "lock-me", "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Same user from another address is not locked out (nobody can lock a colleague out).
    other = client.__class__(REMOTE_ADDR="10.9.8.7")
    response = other.post(url, {"username": "lock-me", "password": "correct-horse-battery"})
    assert response.status_code == 302
    # Another user from the first address is not locked out either.
    make_user(roles.COMMISSIONER, username="colleague")
    response = client.post(url, {"username": "colleague", "password": "correct-horse-battery"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_four_failures_then_success_resets_the_count(client, make_user):
    make_user(roles.COMMISSIONER, username="almost")
    url = reverse("login")
    for _ in range(4):
        client.post(url, {"username": "almost", "password": "wrong"})
    assert (
        client.post(url, {"username": "almost", "password": "correct-horse-battery"}).status_code
        == 302
    )
    client.logout()
    for _ in range(4):
        client.post(url, {"username": "almost", "password": "wrong"})
    assert (
        client.post(url, {"username": "almost", "password": "correct-horse-battery"}).status_code
        == 302
    )


# ---- content security policy -----------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def assert_csp_safe(response, where: str) -> None:
    """The CSP header forbids inline script, and the page carries none."""
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"{where}: no Content-Security-Policy header"
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in header.split(";") if part.strip()
    )
    script_src = directives.get("script-src", directives.get("default-src", ""))
    assert script_src, f"{where}: CSP has no script-src/default-src"
    assert "'unsafe-inline'" not in script_src, f"{where}: script-src allows 'unsafe-inline'"
    assert "'unsafe-eval'" not in script_src, f"{where}: script-src allows 'unsafe-eval'"
    html = response.content.decode("utf-8", "replace")
    assert not INLINE_SCRIPT.search(html), f"{where}: inline <script> in the page"
    assert not EVENT_HANDLER.search(html), f"{where}: inline event handler in the page"
    assert not STYLE_ATTRIBUTE.search(html), f"{where}: inline style attribute in the page"


def _html_pages_without_arguments() -> list[str]:
    names: list[str] = []

    def walk(resolver: URLResolver, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                ns = ":".join(p for p in (namespace, entry.namespace or "") if p)
                walk(entry, ns)
            elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groups:
                route = str(entry.pattern)
                if "api/" in route or route.startswith("^"):
                    continue
                names.append(f"{namespace}:{entry.name}" if namespace else entry.name)

    walk(get_resolver(), "")
    return sorted(set(names))


@pytest.mark.django_db
def test_every_main_html_page_has_a_strict_csp(client, make_user):
    admin = make_user(roles.ADMINISTRATOR, username="csp-admin", is_staff=True, is_superuser=True)
    pages = []
    for name in ["login", *_html_pages_without_arguments()]:
        if name in {"logout", "health"}:
            continue
        client.logout()
        if name != "login":
            client.force_login(admin)
        response = client.get(reverse(name))
        if response.get("Content-Type", "").startswith("text/html") and response.status_code == 200:
            assert_csp_safe(response, name)
            pages.append(name)
    assert {"login", "home"} <= set(pages)
    client.force_login(admin)
    assert_csp_safe(client.get(reverse("admin:index")), "admin:index")


def test_csp_settings_forbid_inline_script():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


# ---- admin for administrators only -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "staff", "expected"),
    [
        (roles.COMMISSIONER, False, 302),
        (roles.FINANCE_OFFICER, False, 302),
        (roles.BOARD_MEMBER, False, 302),
        (roles.COMMISSIONER, True, 302),  # staff flag alone is not enough
        (roles.ADMINISTRATOR, True, 200),
    ],
)
def test_admin_is_for_administrators_only(client, make_user, role, staff, expected):
    user = make_user(role, is_staff=staff, is_superuser=role == roles.ADMINISTRATOR)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/admin/login/")
    response = client.get("/admin/localities/organisation/")
    assert response.status_code == expected


@pytest.mark.django_db
def test_anonymous_admin_goes_to_admin_login(client):
    response = client.get("/admin/localities/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_admin_changelists_for_localities_search_and_filter(client, make_user, reference):
    from localities.models import Organisation

    org = Organisation.objects.get(code="E47000001")
    admin = make_user(roles.ADMINISTRATOR, organisation=org, is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/localities/organisation/?q=Bolton").status_code == 200
    assert client.get("/admin/localities/organisation/?kind__exact=ccg").status_code == 200
    assert client.get("/admin/localities/locality/?q=E08000001").status_code == 200
    assert client.get("/admin/localities/neighbourhood/").status_code == 200
    assert client.get("/admin/localities/user/?q=user").status_code == 200
    assert client.get(f"/admin/localities/user/{admin.pk}/change/").status_code == 200
    assert client.get(f"/admin/localities/organisation/{org.pk}/history/").status_code == 200


# ---- uploads ---------------------------------------------------------------------------------


def csv_file(rows: int, name: str = "ledger.csv") -> SimpleUploadedFile:
    body = "document,amount\n" + "".join(f"D{i},1.00\n" for i in range(rows))
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


def xlsx_bytes(rows: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["document", "amount"])
    for i in range(rows):
        sheet.append([f"D{i}", 1])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_upload_within_limits_is_accepted_and_rewound():
    upload = csv_file(10)
    info = check_upload(upload, max_bytes=10_000, allowed_types=["csv"], max_rows=10)
    assert (info.kind, info.rows) == ("csv", 10)
    assert upload.read(8) == b"document"


def test_upload_too_large_is_refused():
    with pytest.raises(ApplicationError, match="the largest allowed is 1 KB"):
        check_upload(csv_file(200), max_bytes=1024, allowed_types=["csv"])


def test_upload_with_too_many_rows_is_refused():
    with pytest.raises(ApplicationError, match="more than 100 rows"):
        check_upload(csv_file(101), max_bytes=10**6, allowed_types=["csv"], max_rows=100)


def test_upload_of_the_wrong_type_is_refused():
    with pytest.raises(ApplicationError, match=r"not an allowed file type\. Upload one of: CSV"):
        check_upload(
            SimpleUploadedFile("tool.exe", b"MZ\x90\x00"), max_bytes=10**6, allowed_types=["csv"]
        )


def assert_refused_as(name: str, content: bytes, match: str) -> None:
    """check_upload refuses `content` uploaded as `name`, its ending the one type allowed."""
    with pytest.raises(ApplicationError, match=match):
        check_upload(
            SimpleUploadedFile(name, content),
            max_bytes=10**6,
            allowed_types=[name.rsplit(".", 1)[1]],
        )


def test_utf16_text_with_a_byte_order_mark_is_text_but_zero_bytes_without_one_are_not():
    """Excel's "Unicode text" is UTF-16: its zero bytes are part of the text. A file whose
    zero bytes are not UTF-16 text stays refused."""
    text = "Doc\tAmount\r\nINV-1\t£5.00\r\n".encode("utf-16")
    info = check_upload(
        SimpleUploadedFile("ledger.txt", text), max_bytes=10**6, allowed_types=["txt"]
    )
    assert info.kind == "txt"
    assert_refused_as("ledger.txt", b"\xff\xfe\x00\x00\x00\x00binary", "not a TXT text file")
    assert_refused_as("ledger.txt", b"Doc\x00Amount", "not a TXT text file")


def test_renamed_binary_is_refused_by_content():
    assert_refused_as("ledger.csv", b"MZ\x90\x00\x00\x00", "not a CSV text file")
    assert_refused_as("paper.pdf", b"<html>not a pdf</html>", "content is not PDF")
    not_excel = io.BytesIO()
    with zipfile.ZipFile(not_excel, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert_refused_as("budget.xlsx", not_excel.getvalue(), r"content is not Excel \(.xlsx\)")


def test_empty_and_non_utf8_uploads_are_refused():
    with pytest.raises(ApplicationError, match="The file is empty"):
        check_upload(SimpleUploadedFile("a.csv", b""), max_bytes=100, allowed_types=["csv"])
    with pytest.raises(ApplicationError, match="not a UTF-8 CSV file"):
        check_upload(
            SimpleUploadedFile("a.csv", "name\ncaf\xe9\n".encode("latin-1")),
            max_bytes=100,
            allowed_types=["csv"],
            max_rows=10,
        )
    with pytest.raises(ApplicationError, match="header row but no data rows"):
        check_upload(
            SimpleUploadedFile("a.csv", b"document,amount\n"),
            max_bytes=100,
            allowed_types=["csv"],
            max_rows=10,
        )


def test_xlsx_rows_are_counted():
    upload = SimpleUploadedFile("budget.xlsx", xlsx_bytes(30))
    info = check_upload(upload, max_bytes=10**6, allowed_types=["csv", "xlsx"], max_rows=30)
    assert (info.kind, info.rows) == ("xlsx", 30)
    with pytest.raises(ApplicationError, match="more than 29 rows"):
        check_upload(upload, max_bytes=10**6, allowed_types=["xlsx"], max_rows=29)


def test_pdf_paper_is_accepted():
    upload = SimpleUploadedFile("paper.pdf", b"%PDF-1.7\n%...\n")
    assert check_upload(upload, max_bytes=10**6, allowed_types=["pdf"]).kind == "pdf"


# ---- API rate limits -------------------------------------------------------------------------


def test_throttle_scopes_are_configured():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(rates) >= {"posting", "import", "export"}
    from gmhsc.settings import base

    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "posting": "600/min",
        "import": "30/min",
        "export": "60/min",
    }


@pytest.mark.django_db
def test_export_endpoint_answers_429_past_its_rate(client, make_user, monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(
        ScopedRateThrottle,
        "THROTTLE_RATES",
        {"export": "3/min", "posting": "3/min", "import": "3/min"},
    )
    monkeypatch.setattr(ScopedRateThrottle, "cache", LocMemCache("throttle-test", {}))
    client.force_login(make_user(roles.FINANCE_OFFICER))
    url = reverse("api-export-list")
    statuses = [client.post(url, {}, content_type="application/json").status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3] == 429
    body = client.post(url, {}, content_type="application/json").json()
    assert body["code"] == "throttled"
    # Reading the list is not throttled.
    assert client.get(url).status_code == 200


def _view_class_for(name: str):
    from django.urls import resolve

    return resolve(reverse(name)).func.cls


@pytest.mark.parametrize(
    ("url_name", "scope"),
    [
        ("api-export-list", "export"),
        ("spend-posting-list", "posting"),
        ("ledger-import-list", "import"),
    ],
)
def test_posting_import_and_export_endpoints_are_throttled(url_name, scope):
    from rest_framework.throttling import ScopedRateThrottle

    view = _view_class_for(url_name)()
    view.action = "create"  # the writing action (viewsets throttle per action)
    view.request = SimpleNamespace(method="POST")
    throttles = view.get_throttles()
    assert any(isinstance(t, ScopedRateThrottle) for t in throttles), url_name
    assert view.throttle_scope == scope, f"{url_name} has no '{scope}' throttle"


# ---- every upload endpoint refuses what it must not take -------------------------------------


@pytest.mark.django_db
def test_budget_upload_refuses_a_binary_file(client):
    from tests.budgets.factories import budget_world

    world = budget_world()
    client.force_login(world.fin_host)
    upload = SimpleUploadedFile("budget.csv", b"MZ\x90\x00\x03\x00\x00\x00" * 64)
    response = client.post(
        reverse("budget-import-list"), {"file": upload, "fund": world.fund.code, "year": "2016/17"}
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] != "error"


@pytest.mark.django_db
def test_board_paper_must_be_a_pdf_within_the_limit(settings):
    from boards.services import validate_paper

    with pytest.raises(ApplicationError, match="must be a PDF"):
        validate_paper(SimpleUploadedFile("paper.pdf", b"<html>not a pdf</html>"))
    settings.GMHSC_MAX_PAPER_BYTES = 1024 * 1024
    with pytest.raises(ApplicationError, match="smaller than 1 MB"):
        validate_paper(SimpleUploadedFile("paper.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024)))


@pytest.mark.django_db
def test_ledger_upload_refuses_a_binary_file(client, make_user):
    url = reverse("ledger-import-list")
    client.force_login(make_user(roles.FINANCE_OFFICER))
    upload = SimpleUploadedFile("ledger.csv", b"\x00\x01\x02PK\x03\x04" * 100)
    response = client.post(url, {"file": upload})
    assert response.status_code in (400, 413), response.content


@pytest.mark.django_db
def test_a_nul_character_in_a_query_or_form_is_refused_before_any_view(client, make_user):
    """NUL reached an ORM lookup (`?service_area=%00`, a transparency form's organisation) and
    PostgreSQL answered "text fields cannot contain NUL": a server error. Now 400, in the API's
    error shape for the API."""
    from localities import roles

    client.force_login(make_user(roles.FINANCE_OFFICER))
    response = client.get("/api/v1/budget-lines/?service_area=%00")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request contains the NUL character (U+0000), which no field can hold.",
    }
    page = client.post("/budgets/reports/transparency/", {"organisation": "\x00", "year": "x"})
    assert page.status_code == 400
    assert b"NUL character" in page.content
    assert client.get("/api/v1/budget-lines/?service_area=ASC").status_code == 200


@pytest.mark.django_db
def test_an_over_large_or_over_long_api_body_gets_the_json_error_shape(client, make_user):
    """Issue 21 item 6: a 6 MB body got Django's HTML 400 page, not the API's JSON error."""
    from localities import roles

    client.force_login(make_user(roles.FINANCE_OFFICER))
    big = '{"reason": "' + "x" * (6 * 1024 * 1024) + '"}'
    response = client.post("/api/v1/spend-postings/", big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["detail"].startswith("The request body is larger than 5 MB")
    fields = "&".join(f"f{n}=1" for n in range(1100))
    response = client.post(
        "/api/v1/exports/", fields, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    deep = "[" * 100_000
    response = client.post("/api/v1/spend-postings/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "detail": "JSON parse error - the JSON is nested more than 32 levels deep.",
    }
