"""Start-up guards: bad configuration ends with one clear line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def _describe_database() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {db['NAME']}"
    return f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db.get('NAME')}"


def database_unreachable_message(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"gmhsc: cannot reach the database at {_describe_database()}: {first_line}. "
        "Check DATABASE_URL and that the server is running."
    )


def check_database() -> None:
    """Open one connection; exit with one line if the database cannot be reached."""
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        sys.stderr.write(database_unreachable_message(exc) + "\n")
        raise SystemExit(2) from None


def run_with_clear_errors(command: Callable[[list[str]], Any], argv: list[str]) -> None:
    from django.db.utils import OperationalError

    try:
        command(argv)
    except OperationalError as exc:
        if (
            "could not connect" in str(exc)
            or "Connection refused" in str(exc)
            or "unable to open" in str(exc)
        ):
            sys.stderr.write(database_unreachable_message(exc) + "\n")
            raise SystemExit(2) from None
        raise
