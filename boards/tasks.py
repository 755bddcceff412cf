"""Celery tasks for boards: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from boards.models import BoardPack
from boards.pack import build
from gmhsc import jobs


@shared_task(name="boards.tasks.build_pack", acks_late=True, max_retries=2)
def build_pack(pack_id: int) -> str:
    """Build one board pack version (a ready pack, or one another worker holds, is left alone)."""
    pack = BoardPack.objects.filter(pk=pack_id).first()
    if pack is None:
        return "nothing to do"
    status = jobs.run_claimed(pack, lambda: build(pack_id).status)
    return str(status or "finished or held by another worker")
