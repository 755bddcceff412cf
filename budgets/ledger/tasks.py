"""Celery tasks for this area: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from gmhsc import jobs


@shared_task(name="budgets.tasks.import_ledger", acks_late=True)
def import_ledger(import_id: int) -> str:
    """Check and post (or preview) a stored ledger import. Safe to run twice: a finished import, or
    one another worker holds (its heartbeat is fresh), is left as it is, and posting never doubles
    a row (the natural key is unique). A worker killed mid-import leaves nothing posted (the insert is one
    transaction); the sweep sends the import again once its heartbeat is stale."""
    from budgets.ledger.imports.service import run_import
    from budgets.models import LedgerImport

    imp = LedgerImport.objects.filter(pk=import_id).first()
    if imp is None:
        return "nothing to do"
    status = jobs.run_claimed(imp, lambda: run_import(import_id).status)
    return str(status or "finished or held by another worker")
