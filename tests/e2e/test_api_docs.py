"""/api/docs/ (Swagger UI) and /api/redoc/ (ReDoc) work under the site's CSP (issue 21 item 17).

Scripts come from 'self' only on both pages; /api/redoc/ alone allows inline styles (ReDoc's
styled-components write <style> elements at run time), checked in test_faults.py.

Both load their files from the pinned drf-spectacular-sidecar package through the app's own
static files; the browser reports no Content Security Policy violation and the documentation
of the API is on the page.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda msg: (
            found.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    return found


@pytest.fixture
def docs_page(browser, transactional_db):
    """A page of its own: Swagger UI and ReDoc are third-party pages, so the every-page axe and
    CSP watch of tests/e2e/conftest.py (for the site's own pages) does not apply; the CSP checks
    that matter for them are made here."""
    page = browser.new_page()
    yield page
    page.close()


def open_docs(page, url: str, title: str) -> tuple[list[str], list[str]]:
    """Open `url` watching the console and the requests; the element `title` names the API.
    Returns the CSP violations and the URLs requested (both go on growing while the page runs)."""
    violations = csp_violations(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_selector(title, timeout=30_000)
    assert "gmhsc API" in page.inner_text(title)
    return violations, requests


def test_swagger_ui_renders_the_schema_with_no_csp_violation(live_server, docs_page):
    page = docs_page
    violations, requests = open_docs(
        page, f"{live_server.url}/api/docs/", ".swagger-ui .info .title"
    )
    page.wait_for_selector(".opblock-tag", timeout=30_000)
    assert violations == []
    assert all(url.startswith(live_server.url) for url in requests), requests


def test_redoc_renders_the_schema_with_no_csp_violation(live_server, docs_page):
    # ReDoc's styled-components write <style> elements; that page alone allows inline *styles*
    # (never inline script).
    violations, requests = open_docs(docs_page, f"{live_server.url}/api/redoc/", "h1")
    # The one thing CSP still stops is ReDoc's footer logo from its CDN (img-src): never fetched.
    assert [v for v in violations if "cdn.redoc.ly/redoc/logo-mini.svg" not in v] == []
    elsewhere = {
        url for url in requests if not url.startswith((live_server.url, f"blob:{live_server.url}"))
    }
    assert elsewhere <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}, elsewhere  # blocked by CSP
