"""Exports as jobs: progress, "my exports", month-close files, and who may see and download them."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from budgets.models import ExportJob, FundPeriod, Period, ReportSnapshot
from budgets.reports.exports import exports_visible_to, run_variance_export
from tests.budgets.factories import budget_world, synthetic_variance_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_world():
    """M6 of the test fund closed with a frozen snapshot (figures from the synthetic report)."""
    w = budget_world()
    w.period = Period.objects.select_related("year").get(year=w.year, number=6)
    closed_at = timezone.now()
    FundPeriod.objects.create(
        fund=w.fund, period=w.period, status=FundPeriod.Status.CLOSED, changed_at=closed_at
    )
    data = synthetic_variance_report(12).to_data()
    data.update(fund_id=w.fund.pk, fund_code=w.fund.code, fund_name=w.fund.name)
    w.snapshot = ReportSnapshot.objects.create(
        fund=w.fund, period=w.period, closed_at=closed_at, data=data
    )
    w.close_job = ExportJob.objects.create(
        kind=ExportJob.Kind.VARIANCE,
        format=ExportJob.Format.XLSX,
        source=ExportJob.Source.PERIOD_CLOSE,
        fund=w.fund,
        period=w.period,
        snapshot=w.snapshot,
    )
    run_variance_export(w.close_job)
    return w


def test_month_close_file_is_made_and_partners_can_download_it(closed_world, client):
    w = closed_world
    w.close_job.refresh_from_db()
    assert w.close_job.status == ExportJob.Status.DONE
    assert w.close_job.progress == 100
    assert w.close_job.rows == 12
    assert w.close_job.filename == "variance-LP-TEST-2016-17-M06.xlsx"
    client.force_login(w.comm_ccg)
    page = client.get(reverse("budgets:month-close", args=[w.fund.code]))
    assert page.status_code == 200
    assert reverse("budgets:export-download", args=[w.close_job.pk]) in page.content.decode()
    response = client.get(reverse("budgets:export-download", args=[w.close_job.pk]))
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert wb["Notes"]["B1"].value == f"{w.fund.code} {w.fund.name}"


def test_other_organisations_get_404_for_files_pages_and_api(closed_world, client):
    w = closed_world
    client.force_login(w.comm_outsider)
    for name in ("budgets:export-detail", "budgets:export-download", "budgets:export-progress"):
        assert client.get(reverse(name, args=[w.close_job.pk])).status_code == 404
    assert client.get(reverse("budgets:month-close", args=[w.fund.code])).status_code == 404
    assert client.get(reverse("api-export-detail", args=[w.close_job.pk])).status_code == 404
    assert client.get(reverse("api-export-download", args=[w.close_job.pk])).status_code == 404
    assert not exports_visible_to(w.comm_outsider).exists()
    assert list(exports_visible_to(w.comm_ccg)) == [w.close_job]


def test_a_users_own_export_runs_as_a_job_and_is_listed_under_my_exports(
    closed_world, client, settings, django_capture_on_commit_callbacks
):
    w = closed_world
    settings.GMHSC_EXPORT_SYNC_LINES = {"csv": 0, "xlsx": 0, "pdf": 0}  # force a job
    client.force_login(w.fin_host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("budgets:variance-export"),
            {"fund": w.fund.code, "period": "2016/17-M06", "format": "csv", "grouping": "locality"},
        )
    job = ExportJob.objects.get(owner=w.fin_host)
    assert response.status_code == 302
    assert response["Location"] == reverse("budgets:export-detail", args=[job.pk])
    assert job.status == ExportJob.Status.DONE
    assert job.rows == 12
    listing = client.get(reverse("budgets:export-list")).content.decode()
    assert f'data-job="{job.pk}"' in listing
    assert f'data-job="{w.close_job.pk}"' not in listing  # month-close files are not "mine"
    fragment = client.get(reverse("budgets:export-progress", args=[job.pk])).content.decode()
    assert "hx-get" not in fragment
    assert "Download" in fragment
    # a partner of the same fund does not see someone else's own export
    client.force_login(w.comm_ccg)
    assert client.get(reverse("budgets:export-detail", args=[job.pk])).status_code == 404


def test_a_pending_job_polls_with_htmx_and_offers_a_refresh_link(closed_world, client):
    w = closed_world
    job = ExportJob.objects.create(
        kind=ExportJob.Kind.VARIANCE,
        format="pdf",
        owner=w.fin_host,
        fund=w.fund,
        period=w.period,
        status=ExportJob.Status.RUNNING,
        progress=40,
    )
    client.force_login(w.fin_host)
    html = client.get(reverse("budgets:export-detail", args=[job.pk])).content.decode()
    assert f'hx-get="{reverse("budgets:export-progress", args=[job.pk])}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "40%" in html
    assert f'href="{reverse("budgets:export-detail", args=[job.pk])}">Refresh' in html
    assert client.get(reverse("budgets:export-download", args=[job.pk])).status_code == 404


def test_small_closed_month_download_streams_at_once_with_the_frozen_figures(closed_world, client):
    w = closed_world
    client.force_login(w.comm_host)
    response = client.post(
        reverse("budgets:variance-export"),
        {"fund": w.fund.code, "period": "2016/17-M06", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[1].startswith(
        "L00000,Line 0,Home care,Bolton,Bolton Council,120000.45"
    )
    client.force_login(w.comm_outsider)
    assert (
        client.post(
            reverse("budgets:variance-export"),
            {"fund": w.fund.code, "period": "2016/17-M06", "format": "csv"},
        ).status_code
        == 404
    )


def test_api_export_request_and_listing(closed_world, client, django_capture_on_commit_callbacks):
    w = closed_world
    client.force_login(w.fin_ccg)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api-export-list"),
            {"fund": w.fund.code, "period": "2016/17-M06", "format": "xlsx"},
            content_type="application/json",
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    detail = client.get(reverse("api-export-detail", args=[job_id])).json()
    assert detail["status"] == "done"
    assert detail["download_url"] == f"/api/v1/exports/{job_id}/download/"
    assert [j["id"] for j in client.get(reverse("api-export-list")).json()] == [job_id]
    client.force_login(w.fin_outsider)
    refused = client.post(
        reverse("api-export-list"),
        {"fund": w.fund.code, "period": "2016/17-M06", "format": "xlsx"},
        content_type="application/json",
    )
    assert refused.status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_export_variance_command_writes_the_frozen_figures(closed_world, tmp_path, fmt):
    from django.core.management import call_command

    out = tmp_path / f"report.{fmt}"
    call_command(
        "export_variance",
        "--fund",
        "LP-TEST",
        "--period",
        "2016/17-M06",
        "--format",
        fmt,
        "--output",
        str(out),
        stdout=io.StringIO(),
    )
    data = out.read_bytes()
    if fmt == "csv":
        assert data.decode("utf-8-sig").splitlines()[1].startswith("L00000,Line 0,Home care")
    elif fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert wb["Notes"]["B3"].value == "2016/17-M06 (to 2016-09-30)"
    else:
        assert data.startswith(b"%PDF")


def test_export_variance_command_refuses_unknown_fund_and_period(closed_world, tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="There is no fund NOPE"):
        call_command(
            "export_variance",
            "--fund",
            "NOPE",
            "--period",
            "2016/17-M06",
            "--format",
            "csv",
            "--output",
            str(tmp_path / "x.csv"),
        )
    with pytest.raises(CommandError, match="not a period code"):
        call_command(
            "export_variance",
            "--fund",
            "LP-TEST",
            "--period",
            "June",
            "--format",
            "csv",
            "--output",
            str(tmp_path / "x.csv"),
        )
