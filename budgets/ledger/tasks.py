"""Celery tasks for this area: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="budgets.tasks.import_ledger", acks_late=True)
def import_ledger(import_id: int) -> str:
    """Check and post (or preview) a stored ledger import. Safe to run twice: a finished import
    is left as it is, and posting never doubles a row (the natural key is unique)."""
    from budgets.ledger.imports.service import run_import

    return str(run_import(import_id).status)
