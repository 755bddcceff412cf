"""Transparency spend files: council over £500 (LGTC 2015) and NHS over £25,000 (HM Treasury)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from budgets.models import ExportJob, Period
from budgets.reports import transparency
from budgets.reports.exports import transparency_export_request
from gmhsc.errors import NotAllowed, NotFound
from tests.budgets.factories import (
    BudgetLineFactory,
    ServiceAreaFactory,
    budget_world,
    make_posting,
)

pytestmark = pytest.mark.django_db


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def world():
    w = budget_world()
    parent = ServiceAreaFactory(code="ASC", name="Adult social care")
    w.area.parent = parent
    w.area.save()
    dp = ServiceAreaFactory(
        code="ASC.DP", name="Direct payments and personal budgets", parent=parent
    )
    w.dp_line = BudgetLineFactory(
        fund=w.fund,
        year=w.year,
        code="DP01",
        name="Direct payments",
        service_area=dp,
        lead_commissioner=w.host,
    )
    host, line = w.host, w.host_line
    # INV-1: two lines of 300 = one invoice of 600 -> published, both lines
    make_posting(organisation=host, line=line, document="INV-1", amount="300.00", line_number=1)
    make_posting(
        organisation=host,
        line=line,
        document="INV-1",
        amount="300.00",
        line_number=2,
        description='=HYPERLINK("http://x.example","y")',
    )
    # INV-2: 499.99 -> not published
    make_posting(organisation=host, line=line, document="INV-2", amount="499.99")
    # INV-3: exactly 500.00 -> not "over £500"
    make_posting(organisation=host, line=line, document="INV-3", amount="500.00")
    # CN-4: a credit note of 750 -> published
    make_posting(
        organisation=host, line=line, document="CN-4", amount="-750.00", description="Credit note"
    )
    # ACC-5: an accrual of 9,000 and its reversal -> not payments, never published
    acc = make_posting(
        organisation=host, line=line, document="ACC-5", amount="9000.00", is_accrual=True
    )
    make_posting(
        organisation=host,
        line=line,
        document="ACC-5R",
        amount="-9000.00",
        reverses=acc,
        period_number=7,
    )
    # DP-6: a direct payment to a person -> redacted
    make_posting(
        organisation=host,
        line=w.dp_line,
        document="DP-6",
        amount="1200.00",
        supplier="Jane Example",
        description="Direct payment for Jane Example",
    )
    # INV-7: supplier marked as an individual by title -> redacted
    make_posting(
        organisation=host,
        line=line,
        document="INV-7",
        amount="800.00",
        supplier="Mrs A Person",
        description="Respite care for Mrs A Person",
    )
    # INV-8: in July (M4) -> only in the quarter 2 file
    make_posting(organisation=host, line=line, document="INV-8", amount="650.00", period_number=4)
    # CCG: one 30,000 invoice split in two lines under 25k each, and a 24,000 invoice
    ccg_line = w.ccg_line
    make_posting(
        organisation=w.ccg, line=ccg_line, document="NHS-1", amount="20000.00", line_number=1
    )
    make_posting(
        organisation=w.ccg, line=ccg_line, document="NHS-1", amount="10000.00", line_number=2
    )
    make_posting(organisation=w.ccg, line=ccg_line, document="NHS-2", amount="24000.00")
    return w


def test_council_file_has_the_lgtc_fields_and_applies_500_to_the_whole_invoice(world):
    rows = transparency.transparency_rows(
        organisation=world.host, year=world.year, numbers=[6], template="lgtc500"
    )
    data = transparency.render_transparency_csv(rows, "lgtc500")
    parsed = rows_of(data)
    assert list(parsed[0]) == [
        "Body name",
        "Date incurred",
        "Department",
        "Beneficiary",
        "Summary of purpose",
        "Amount",
        "Irrecoverable VAT",
        "Merchant category",
        "Transaction number",
    ]
    assert [(r["Transaction number"], r["Amount"]) for r in parsed] == [
        ("CN-4", "-750.00"),
        ("DP-6", "1200.00"),
        ("INV-1", "300.00"),
        ("INV-1", "300.00"),
        ("INV-7", "800.00"),
    ]
    inv1 = parsed[2]
    assert inv1 == {
        "Body name": "Test Council",
        "Date incurred": "30/09/2016",
        "Department": "Adult social care",
        "Beneficiary": "Acme Care Ltd",
        "Summary of purpose": "Home care services",
        "Amount": "300.00",
        "Irrecoverable VAT": "",
        "Merchant category": "Home care",
        "Transaction number": "INV-1",
    }
    # formula text is neutralised
    assert parsed[3]["Summary of purpose"] == '\'=HYPERLINK("http://x.example","y")'


def test_payments_to_individuals_are_redacted_by_service_area_or_supplier_marker(world):
    rows = transparency.transparency_rows(
        organisation=world.host, year=world.year, numbers=[6], template="lgtc500"
    )
    parsed = {
        r["Transaction number"]: r
        for r in rows_of(transparency.render_transparency_csv(rows, "lgtc500"))
    }
    for doc in ("DP-6", "INV-7"):
        assert parsed[doc]["Beneficiary"] == "Redacted: payment to an individual"
        assert parsed[doc]["Summary of purpose"] == "Redacted: personal data"
    assert parsed["DP-6"]["Amount"] == "1200.00"
    assert "Jane Example" not in transparency.render_transparency_csv(rows, "lgtc500").decode()
    assert transparency.is_individual("[individual] J Bloggs", "ASC.HOME")
    assert not transparency.is_individual("Acme Care Ltd", "ASC.HOME")


def test_quarter_file_covers_three_months_and_leaves_accruals_out(world):
    rows = transparency.transparency_rows(
        organisation=world.host,
        year=world.year,
        numbers=transparency.period_numbers("quarter", 2),
        template="lgtc500",
    )
    docs = [r[-1] for r in rows]
    assert docs == ["INV-8", "CN-4", "DP-6", "INV-1", "INV-1", "INV-7"]
    q3 = transparency.transparency_rows(
        organisation=world.host, year=world.year, numbers=[7, 8, 9], template="lgtc500"
    )
    assert q3 == []  # the accrual's reversal is not a payment either


def test_nhs_file_has_the_treasury_fields_and_25000_on_the_whole_transaction(world):
    assert transparency.default_template_for(world.ccg) == "hmt25k"
    rows = transparency.transparency_rows(
        organisation=world.ccg, year=world.year, numbers=[6], template="hmt25k"
    )
    parsed = rows_of(transparency.render_transparency_csv(rows, "hmt25k"))
    assert list(parsed[0]) == [
        "Department family",
        "Entity",
        "Date of payment",
        "Expense type",
        "Expense area",
        "Supplier",
        "Transaction number",
        "Amount",
        "Description",
    ]
    assert [(r["Transaction number"], r["Amount"]) for r in parsed] == [
        ("NHS-1", "20000.00"),
        ("NHS-1", "10000.00"),
    ]
    assert parsed[0]["Department family"] == "Department of Health"
    assert parsed[0]["Entity"] == "Test CCG"
    assert parsed[0]["Expense area"] == "Adult social care"
    assert parsed[0]["Expense type"] == "Home care"


def test_finance_officer_exports_own_organisation_only(world, django_capture_on_commit_callbacks):
    period = Period.objects.get(year=world.year, number=6)
    with django_capture_on_commit_callbacks(execute=True):
        job = transparency_export_request(
            actor=world.fin_host, organisation=world.host, period=period, scope="month", number=6
        )
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert job.rows == 5
    assert job.filename == "spend-lgtc500-TCOUNCIL-2016-17-M06.csv"
    with pytest.raises(NotFound):
        transparency_export_request(
            actor=world.fin_outsider,
            organisation=world.host,
            period=period,
            scope="month",
            number=6,
        )
    with pytest.raises(NotAllowed):
        transparency_export_request(
            actor=world.comm_host, organisation=world.host, period=period, scope="month", number=6
        )


def test_transparency_page_and_download_are_scoped(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world.fin_host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("budgets:transparency"),
            {"organisation": "TCOUNCIL", "year": "2016/17", "scope": "quarter", "number": "2"},
        )
    job = ExportJob.objects.get(owner=world.fin_host)
    assert response.status_code == 302
    assert response["Location"] == reverse("budgets:export-detail", args=[job.pk])
    download = client.get(reverse("budgets:export-download", args=[job.pk]))
    assert download.status_code == 200
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert body.count("\r\n") == 7  # header + 6 rows
    # someone from another organisation: 404 for the page's organisation and the file
    client.force_login(world.fin_outsider)
    assert (
        client.post(
            reverse("budgets:transparency"),
            {"organisation": "TCOUNCIL", "year": "2016/17", "scope": "month", "number": "6"},
        ).status_code
        == 404
    )
    assert client.get(reverse("budgets:export-download", args=[job.pk])).status_code == 404
    client.force_login(world.comm_host)
    assert client.get(reverse("budgets:transparency")).status_code == 404


def test_export_transparency_command(world, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "spend.csv"
    call_command(
        "export_transparency",
        "--organisation",
        "TCCG",
        "--year",
        "2016/17",
        "--month",
        "6",
        "--output",
        str(out),
        stdout=io.StringIO(),
    )
    parsed = rows_of(out.read_bytes())
    assert [r["Transaction number"] for r in parsed] == ["NHS-1", "NHS-1"]
