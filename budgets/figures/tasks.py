"""Recompute tasks: thin, idempotent, retried with backoff, time-limited, JSON arguments.

Routed to the "recompute" queue (settings.CELERY_TASK_ROUTES); the beat schedule runs the sweep
every 30 s and the reconcile nightly at 02:15.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from budgets.figures.recompute import FundBusy, recompute_fund_now, reconcile
from budgets.models import PooledFund, StaleMark

logger = logging.getLogger(__name__)

SWEEP_MIN_AGE = timedelta(seconds=5)


@shared_task(
    name="budgets.tasks.recompute_fund",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(FundBusy, OperationalError, DatabaseError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=12,
    soft_time_limit=240,
    time_limit=300,
)
def recompute_fund(fund_id: int) -> dict[str, int]:
    """Take the fund's stale marks and rewrite its snapshots; no marks -> nothing to do."""
    if not PooledFund.objects.filter(pk=fund_id).exists():
        return {"marks": 0, "lines": 0}
    if not StaleMark.objects.filter(fund_id=fund_id).exists():
        return {"marks": 0, "lines": 0}
    return recompute_fund_now(fund_id)


@shared_task(
    name="budgets.tasks.sweep_stale_marks",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=20,
    time_limit=30,
)
def sweep_stale_marks() -> list[int]:
    """Re-send the recompute for every fund with marks no task has taken (broker lost, worker died)."""
    cutoff = timezone.now() - SWEEP_MIN_AGE
    fund_ids = sorted(
        set(StaleMark.objects.filter(created_at__lte=cutoff).values_list("fund_id", flat=True))
    )
    for fund_id in fund_ids:
        recompute_fund.apply_async(args=[fund_id])
    if fund_ids:
        logger.info("sweep re-sent recompute for funds %s", fund_ids)
    return fund_ids


@shared_task(
    name="budgets.tasks.reconcile_all",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.GMHSC_LONGEST_TASK_SECONDS - 5 * 60,
    time_limit=settings.GMHSC_LONGEST_TASK_SECONDS,  # the longest; the visibility timeout follows it
)
def reconcile_all() -> int:
    """Nightly: recompute every fund from postings in memory and log every difference."""
    differences = reconcile(PooledFund.objects.order_by("code"))
    for line in differences:
        logger.error("reconcile: %s", line)
    return len(differences)
