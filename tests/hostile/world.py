"""The world the hostile suites attack (the permission matrix's: one organisation's people and
objects and another's), a request that leaves nothing behind, and the row counts that prove a
refused request wrote nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.test import Client

from tests.budgets import factories
from tests.test_permission_matrix import World, _build_world

# Rows a refused request may write by design: the answer kept for an Idempotency-Key replay, the
# record of a ledger file that was read and rejected, sign-in bookkeeping.
NOT_DATA = {"budgets_idempotencyrecord", "budgets_ledgerimport", "axes_accesslog"}
APPS = ("localities", "budgets", "commissioning", "boards")


def build() -> World:
    """The permission matrix's world, with its own organisation's ledger import a preview (a dry
    run, not posted) so the pages that post or check again a preview have their forms."""
    world = _build_world()
    world.objects["ledger_import"] = (previewed_import(world), world.objects["ledger_import"][1])
    return world


def profile_spec(name: str) -> dict[str, Any]:
    """An import profile's settings (as exported) for a ledger file with five columns."""
    return factories.profile_spec(name, title="Hostile ledger export")


def previewed_import(world: World) -> Any:
    """A one-row gmhsc ledger CSV checked and previewed (dry run) by the finance officer."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from budgets.ledger.imports import start_import
    from budgets.models import LedgerImport
    from tests.budgets.factories import LEDGER_HEADER

    text = f"{LEDGER_HEADER},budget_line\nMXOWN,HX-P1,1,2016-09-15,,,10.00,Acme,September,own-A\n"
    imp = start_import(
        actor=world.users["finance_officer"],
        organisation=world.objects["organisation"][0],
        upload=SimpleUploadedFile("preview.csv", text.encode()),
        original_name="preview.csv",
        run_now=True,
        dry_run=True,
    )
    imp.refresh_from_db()
    assert imp.status == LedgerImport.Status.PREVIEWED, (imp.status, imp.errors, imp.message)
    return imp


def _tables() -> list[str]:
    names = set()
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            names.add(model._meta.db_table)
    return sorted(names - NOT_DATA)


_COUNT_SQL: list[str] = []


def row_counts() -> dict[str, int]:
    """Every data table's row count, in one query."""
    if not _COUNT_SQL:
        tables = _tables()
        quote = connection.ops.quote_name
        parts = ", ".join(f"(SELECT count(*) FROM {quote(t)})" for t in tables)
        _COUNT_SQL.append(f"SELECT {parts}")
        _COUNT_SQL.append(",".join(tables))
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL[0])
        values = cursor.fetchone()
    return dict(zip(_COUNT_SQL[1].split(","), values, strict=True))


@dataclass
class Outcome:
    status: int
    body: bytes
    content_type: str
    written: dict[str, int] = field(default_factory=dict)  # table -> rows added or removed
    error: str = ""  # an exception the request raised (a server error)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def clients(world: World) -> dict[str, Client]:
    out = {}
    for role, user in world.users.items():
        client = Client(raise_request_exception=True)
        client.force_login(user)
        out[role] = client
    return out


def attempt(send: Any) -> Outcome:
    """Run `send()` (which prepares what it needs and makes one request) inside a savepoint that is
    rolled back, so each attempt meets the same world. Returns the answer and what it wrote."""
    try:
        with transaction.atomic():
            before: dict[str, int] = {}

            def counted() -> None:
                before.update(row_counts())

            try:
                response = send(counted)
            except Exception as exc:  # a server error: the request raised
                outcome = Outcome(500, b"", "", error=f"{type(exc).__name__}: {exc}"[:500])
                raise _Rollback(outcome) from None
            after = row_counts()
            written = {t: after[t] - before[t] for t in after if before and after[t] != before[t]}
            outcome = Outcome(
                response.status_code,
                response.content if not getattr(response, "streaming", False) else b"",
                response.get("Content-Type", ""),
                written,
            )
            raise _Rollback(outcome)
    except _Rollback as done:
        return done.outcome
