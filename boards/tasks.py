"""Celery tasks for boards: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from boards.pack import build


@shared_task(name="boards.tasks.build_pack", acks_late=True, max_retries=2)
def build_pack(pack_id: int) -> str:
    """Build one board pack version (a ready pack is left as it is)."""
    return build(pack_id).status
