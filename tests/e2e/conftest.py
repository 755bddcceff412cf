"""Helpers shared by the browser tests. Keep this small and stable: other e2e authors use it."""

from __future__ import annotations

from typing import Any


def login(page: Any, live_server: Any, username: str, password: str) -> None:
    """Sign in through the real login form and wait until the next page has loaded."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
