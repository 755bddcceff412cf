"""Helpers shared by the browser tests. Keep this small and stable: other e2e authors use it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.checks import PageWatch


def login(page: Any, live_server: Any, username: str, password: str) -> None:
    """Sign in through the real login form and wait until the next page has loaded."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")


@pytest.fixture(autouse=True)
def every_page_is_checked(request: Any) -> Any:
    """On every page a browser test visits: no Content Security Policy violation, and axe finds
    nothing serious or critical (tests/e2e/checks.py). Set up before the test's own fixtures and
    torn down after them, so the pages can be opened again while the test's data is there."""
    if "page" not in request.fixturenames:
        yield None
        return
    request.getfixturevalue("transactional_db")
    request.getfixturevalue("live_server")
    watch = PageWatch(request.getfixturevalue("page"))
    yield watch
    problems = {"Content Security Policy": watch.csp, "axe": watch.axe_problems()}
    if any(problems.values()):
        pytest.fail(f"pages visited: {watch.visited}\n{problems}", pytrace=False)
