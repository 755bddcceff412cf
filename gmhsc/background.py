"""Background work, the one way services start it: by task name, once their transaction commits.

Services never import task modules (tasks import services), so the layers stay one-way; a name
that is not a registered task fails loudly. A broker outage never undoes or fails the committed
write: it is logged, and the outbox sweep (stale marks) or the job's own status picks the work up.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task, current_app
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

#: What an unreachable or failing broker raises (kombu wraps most in OperationalError).
BROKER_ERRORS = (OSError, KombuOperationalError)


def task_named(name: str) -> Task:
    """The registered task called `name`; loads the task modules on first use."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    return tasks[name]


def send(name: str, *args: Any, **kwargs: Any) -> bool:
    """Send the task now. True when it was handed over (or run, when tasks run in-process)."""
    task = task_named(name)
    try:
        task.apply_async(args=list(args), kwargs=kwargs, retry=False)
    except BROKER_ERRORS:
        logger.warning("broker unreachable; %s%r left for the sweep", name, args, exc_info=True)
        return False
    except Exception:
        if current_app.conf.task_always_eager:
            raise  # run in-process: a failing task is a fault to see, not an outage to ride out
        logger.exception("could not send %s%r", name, args)
        return False
    return True


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Send the task once the current transaction commits (at once outside a transaction)."""
    task_named(name)  # an unknown name fails inside the writer's transaction, not after it
    transaction.on_commit(partial(send, name, *args, **kwargs))
