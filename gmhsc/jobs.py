"""Background jobs that carry a heartbeat: ledger imports, exports, month-close files, board packs.

A job is a row whose task is sent by name through gmhsc.background. The row, not the broker, is
the truth about the work, so a lost message or a killed worker never strands it:

- `claim(job)`: a task takes its job before working on it, and only if nobody holds it (no
  heartbeat yet, or none for GMHSC_JOB_STUCK_SECONDS). A second message for the same job (a
  duplicate, a redelivery after the broker's visibility timeout, a sweep's re-send) finds it
  held or finished and does nothing.
- `beating(job)`: while the task works, a thread of the worker writes the job's heartbeat every
  GMHSC_JOB_HEARTBEAT_SECONDS, so a long step (one SQL statement, a PDF layout) never looks stuck.
  When the worker process dies (`kill -9`, out of memory), the heartbeat stops with it.
- `sweep()`: beat runs it every GMHSC_SWEEP_SECONDS. It re-sends the task of every unfinished job
  whose heartbeat (or, before any, whose creation) is older than GMHSC_JOB_STUCK_SECONDS, at most
  once per that interval; a job claimed GMHSC_JOB_MAX_ATTEMPTS times without finishing is failed
  with a message instead (a file that kills its worker every time must not loop for ever).
- `stuck()`: what /health/ reports (degraded while any job is stuck).

Each app registers its kinds of job (`register(JobKind(...))`) in its AppConfig.ready(); this
module imports no app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connections, models
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

# (task name, positional arguments) that runs a job again.
Resend = tuple[str, tuple[Any, ...]]


class JobFields(models.Model):
    """The columns every job table adds: its heartbeat, its last re-send and its attempts."""

    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker running it."
    )
    requeued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sweep last sent it again."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker has taken it."
    )

    class Meta:
        abstract = True


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its table, the statuses of unfinished work and how to send it again."""

    label: str  # plain words, for /health/ and the logs: "ledger import"
    model: type[models.Model]
    unfinished: tuple[str, ...]
    failed: str  # the status a job ends in when it is given up
    message_field: str  # where the reason it was given up is written
    created_field: str
    resend: Callable[[Any], Resend]
    finished_field: str = "finished_at"


KINDS: dict[type[models.Model], JobKind] = {}


def register(kind: JobKind) -> None:
    KINDS[kind.model] = kind


def kind_of(job: models.Model) -> JobKind:
    return KINDS[type(job)]


def heartbeat_seconds() -> float:
    return float(settings.GMHSC_JOB_HEARTBEAT_SECONDS)


def stuck_after() -> timedelta:
    return timedelta(seconds=float(settings.GMHSC_JOB_STUCK_SECONDS))


def max_attempts() -> int:
    return int(settings.GMHSC_JOB_MAX_ATTEMPTS)


# ---- taking and holding a job ------------------------------------------------------------------


def claim(job: models.Model) -> bool:
    """Take the job for this task: True when it is unfinished and nobody holds it.

    One conditional UPDATE, so two workers given the same job cannot both take it. A job taken
    GMHSC_JOB_MAX_ATTEMPTS times already is failed instead, with a message saying so.
    """
    kind = kind_of(job)
    now = timezone.now()
    free = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - stuck_after())
    taken = (
        kind.model._default_manager.filter(pk=job.pk, status__in=kind.unfinished)
        .filter(free)
        .update(heartbeat_at=now, attempts=F("attempts") + 1)
    )
    if not taken:
        logger.info(
            "%s %s is finished or held by another worker; nothing to do", kind.label, job.pk
        )
        return False
    job.refresh_from_db()
    if job.attempts > max_attempts():  # type: ignore[attr-defined]
        give_up(job, attempts=job.attempts - 1)  # type: ignore[attr-defined]
        return False
    return True


def give_up(job: models.Model, *, attempts: int) -> None:
    kind = kind_of(job)
    message = (
        f"Stopped after {attempts} attempts: the worker running it was lost each time "
        "(stopped, or out of memory). Nothing from it was posted or kept; ask for it again, and "
        "tell the administrator if it happens again."
    )
    logger.error("%s %s given up after %s attempts", kind.label, job.pk, attempts)
    kind.model._default_manager.filter(pk=job.pk, status__in=kind.unfinished).update(
        **{
            "status": kind.failed,
            kind.message_field: message,
            kind.finished_field: timezone.now(),
        }
    )
    job.refresh_from_db()


def _beat(jobs: list[models.Model], stop: threading.Event) -> None:
    try:
        while not stop.wait(heartbeat_seconds()):
            now = timezone.now()
            for job in jobs:
                try:
                    type(job)._default_manager.filter(pk=job.pk).update(heartbeat_at=now)
                except Exception:  # a database hiccup: the next beat tries again
                    logger.warning("heartbeat of %s %s not written", kind_of(job).label, job.pk)
    finally:
        connections.close_all()  # this thread's own connections


@contextmanager
def beating(*jobs: models.Model) -> Iterator[None]:
    """Keep the jobs' heartbeats fresh while the block runs (in a worker; in-process runs skip it)."""
    if not jobs or current_app.conf.task_always_eager:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_beat, args=(list(jobs), stop), daemon=True, name="job-beat")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def release(*jobs: models.Model) -> None:
    """Let go of jobs this task claimed but will not work on now (it retries later)."""
    for job in jobs:
        type(job)._default_manager.filter(pk=job.pk).update(
            heartbeat_at=None, attempts=F("attempts") - 1
        )


def run_claimed(job: models.Model, work: Callable[[], Any]) -> Any:
    """claim() the job, then run work() with its heartbeat beating; None when it was not ours."""
    if not claim(job):
        return None
    with beating(job):
        return work()


# ---- finding stuck jobs ------------------------------------------------------------------------


def _stuck_filter(kind: JobKind, cutoff: datetime) -> Q:
    never_started = Q(heartbeat_at__isnull=True, **{f"{kind.created_field}__lt": cutoff})
    return Q(status__in=kind.unfinished) & (Q(heartbeat_at__lt=cutoff) | never_started)


def stuck(now: datetime | None = None) -> dict[str, Any]:
    """Unfinished jobs with no sign of life for GMHSC_JOB_STUCK_SECONDS, per kind, and the oldest."""
    now = now or timezone.now()
    cutoff = now - stuck_after()
    by_kind: dict[str, int] = {}
    oldest: datetime | None = None
    for kind in KINDS.values():
        rows = kind.model._default_manager.filter(_stuck_filter(kind, cutoff)).values_list(
            "heartbeat_at", kind.created_field
        )
        for heartbeat_at, created_at in rows:
            by_kind[kind.label] = by_kind.get(kind.label, 0) + 1
            last = heartbeat_at or created_at
            oldest = last if oldest is None or last < oldest else oldest
    return {
        "count": sum(by_kind.values()),
        "by_kind": by_kind,
        "oldest_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }


def sweep(now: datetime | None = None) -> list[Resend]:
    """Re-send the task of every stuck job (at most once per GMHSC_JOB_STUCK_SECONDS each)."""
    from gmhsc.background import send

    now = now or timezone.now()
    cutoff = now - stuck_after()
    sends: list[Resend] = []
    for kind in KINDS.values():
        manager = kind.model._default_manager
        due = manager.filter(_stuck_filter(kind, cutoff)).filter(
            Q(requeued_at__isnull=True) | Q(requeued_at__lt=cutoff)
        )
        for job in due.order_by("pk")[:500]:
            if job.attempts >= max_attempts():  # type: ignore[attr-defined]
                give_up(job, attempts=job.attempts)  # type: ignore[attr-defined]
                continue
            manager.filter(pk=job.pk).update(requeued_at=now)
            resend = kind.resend(job)
            if resend not in sends:
                sends.append(resend)
            logger.warning(
                "%s %s has had no heartbeat since %s; sent again",
                kind.label,
                job.pk,
                job.heartbeat_at or "it was created",  # type: ignore[attr-defined]
            )
    for name, args in sends:
        send(name, *args)
    return sends
