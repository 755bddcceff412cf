"""Project-level periodic tasks: the worker heartbeat and the job sweep."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from gmhsc import jobs
from gmhsc.health import HEARTBEAT_KEY


@shared_task(name="gmhsc.tasks.heartbeat", ignore_result=True, soft_time_limit=50, time_limit=60)
def heartbeat() -> None:
    """Lets /health/ tell whether a worker is alive."""
    cache.set(HEARTBEAT_KEY, timezone.now(), timeout=600)


@shared_task(name="gmhsc.tasks.sweep_jobs", ignore_result=True, soft_time_limit=50, time_limit=60)
def sweep_jobs() -> int:
    """Send again every job with no heartbeat for GMHSC_JOB_STUCK_SECONDS (gmhsc/jobs.py)."""
    return len(jobs.sweep())
