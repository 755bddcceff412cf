"""Project-level periodic tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from gmhsc.health import HEARTBEAT_KEY


@shared_task(name="gmhsc.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Lets /health/ tell whether a worker is alive."""
    cache.set(HEARTBEAT_KEY, timezone.now(), timeout=600)
