"""`make run`'s background worker: long work never holds the browser (issue 17 item 10).

Without REDIS_URL, gmhsc.settings.local sends tasks to a Celery worker over kombu's filesystem
transport (a folder of message files) and `scripts/run.sh` starts that worker, with beat inside
it, beside the web server. This test starts the worker exactly as run.sh does, on a folder of its
own and the test database, and closes a month through the page as the host's finance officer:
the page answers at once with the month's files pending (listed with their progress pages), and
the worker then freezes the month and makes its CSV, XLSX and PDF.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import reset_celery_client, worker_env
from tests.system.processes import stop, worker_command

pytestmark = [pytest.mark.system, pytest.mark.pg]


def local_worker(broker_dir, workdir) -> subprocess.Popen:
    env = {
        k: v
        for k, v in worker_env().items()
        if k not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="gmhsc.settings.local",
        GMHSC_LOCAL_BROKER_DIR=str(broker_dir),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    log = (workdir / "local-worker.log").open("ab")
    # The same command line as scripts/run.sh's default branch.
    return subprocess.Popen(
        worker_command(
            "-l",
            "WARNING",
            "--concurrency",
            "1",
            "--beat",
            "--schedule",
            str(workdir / "celerybeat-schedule"),
        ),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_closing_a_month_returns_at_once_and_the_local_worker_makes_the_files(
    transactional_db, tmp_path, client
):
    from budgets.figures.recompute import recompute_fund_now
    from budgets.models import ExportJob, FundPeriod, Period, ReportSnapshot
    from gmhsc.celery import app
    from tests.budgets.factories import budget_world

    world = budget_world(status="approved")
    recompute_fund_now(world.fund, full=True)
    april = Period.objects.get(year=world.year, number=1)
    broker = tmp_path / "broker"
    broker.mkdir()
    options = {
        "data_folder_in": str(broker),
        "data_folder_out": str(broker),
        "control_folder": str(broker / "control"),
    }
    old = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)
    worker = None
    try:
        # This process (the web side) sends to the same folder, as runserver does under make run.
        app.conf.update(
            broker_url="filesystem://", broker_transport_options=options, task_always_eager=False
        )
        reset_celery_client(app)
        client.force_login(world.fin_host)
        response = client.post(
            reverse("budgets:month-close", args=[world.fund.code]), {"period": april.code}
        )
        assert response.status_code == 302
        assert FundPeriod.objects.get(fund=world.fund, period=april).status == "closed"
        # Nothing was done inside the request: the files are owed, the message is in the folder.
        files = ExportJob.objects.filter(fund=world.fund, source=ExportJob.Source.PERIOD_CLOSE)
        assert sorted(files.values_list("format", "status")) == [
            ("csv", "pending"),
            ("pdf", "pending"),
            ("xlsx", "pending"),
        ]
        assert not ReportSnapshot.objects.filter(fund=world.fund).exists()
        assert [p.name.split(".", 1)[1] for p in broker.glob("*.msg")].count("exports.msg") == 1
        page = client.get(reverse("budgets:month-close", args=[world.fund.code])).content.decode()
        for job in files:
            assert reverse("budgets:export-detail", args=[job.pk]) in page
        progress = client.get(reverse("budgets:export-progress", args=[files.first().pk]))
        assert progress.status_code == 200

        worker = local_worker(broker, tmp_path)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and files.filter(status="done").count() < 3:
            assert worker.poll() is None, (tmp_path / "local-worker.log").read_text()[-3000:]
            time.sleep(0.5)
        assert sorted(files.values_list("format", "status")) == [
            ("csv", "done"),
            ("pdf", "done"),
            ("xlsx", "done"),
        ]
        snapshot = ReportSnapshot.objects.get(fund=world.fund, period=april)
        assert set(files.values_list("snapshot", flat=True)) == {snapshot.pk}
        assert os.listdir(broker / "control")  # the worker bound its queues in the folder
    finally:
        stop(worker)
        app.conf.update(
            broker_url=old[0], broker_transport_options=old[1], task_always_eager=old[2]
        )
        reset_celery_client(app)
