"""Ledger CSV import: every bad input refused with row and column, nothing posted; re-import posts
nothing. Runs the Python engine everywhere and, on PostgreSQL, the COPY + SQL engine too, with the
same expected messages."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from budgets.ledger.imports import error_file, sql_engine, start_import
from budgets.ledger.imports import service as ledger_import
from budgets.ledger.services.postings import spend_post
from budgets.models import FundPeriod, LedgerImport, Period, SpendPosting, StaleMark
from gmhsc.errors import NotAllowed
from gmhsc.uploads import UploadRefused
from tests.budgets.factories import LEDGER_HEADER, assert_rejected, ledger_csv, ledger_world

pytestmark = pytest.mark.django_db

GOOD = [
    "TCOUNCIL,INV-1,1,2016-04-15,CC100,E5100,1200.50,Acme Care Ltd,April home care",
    "TCOUNCIL,INV-1,2,2016-04-15,CC200,E5200,-200.25,Acme Care Ltd,Credit note",
    "TCOUNCIL,INV-2,1,30/09/2016,CC100,E5100,99.99,Bolton NHS FT,September",
]


# A year-end accrual into M13 (period and accrual flag given), and what refuses it while the fund's
# M12 is open.
M13_HEADER = LEDGER_HEADER + ",budget_line,period,is_accrual"
M13_ACCRUAL = "TCOUNCIL,YE-1,1,2017-03-31,CC100,E5100,750.00,Acme,Year-end accrual,,2016/17-M13,yes"
M13_EARLY = (
    "period 2016/17-M13 takes year-end adjustments once 2016/17-M12 is closed for fund LP-TEST"
)


@pytest.fixture(params=["python", "sql"])
def engine(request, monkeypatch):
    if request.param == "sql" and connection.vendor != "postgresql":
        pytest.skip("the COPY engine needs PostgreSQL")
    real = ledger_import.run_import

    def run(import_id, *, engine=None, **kwargs):
        return real(import_id, engine=request.param, **kwargs)

    monkeypatch.setattr(ledger_import, "run_import", run)
    return request.param


@pytest.fixture
def w():
    return ledger_world()


def upload(w, data: bytes, *, actor=None, name: str = "ledger.csv") -> LedgerImport:
    return start_import(
        actor=actor or w.fin_host,
        organisation=w.host,
        upload=SimpleUploadedFile(name, data, content_type="text/csv"),
        run_now=True,
    )


def test_good_file_posts_every_row_with_summary(w, engine):
    imp = upload(w, ledger_csv(GOOD))
    assert imp.status == "posted", imp.message
    assert (imp.rows_total, imp.rows_checked, imp.rows_posted) == (3, 3, 3)
    postings = SpendPosting.objects.filter(ledger_import=imp)
    assert postings.aggregate(t=Sum("amount"))["t"] == Decimal("1100.24")
    assert postings.get(document_number="INV-2").period.code == "2016/17-M06"
    assert postings.get(document_number="INV-1", line_number=2).budget_line == w.ccg_line
    assert imp.summary == [
        {"fund": "LP-TEST", "period": "2016/17-M01", "rows": 2, "posted": 2, "amount": "1000.25"},
        {"fund": "LP-TEST", "period": "2016/17-M06", "rows": 1, "posted": 1, "amount": "99.99"},
    ]
    assert imp.message == "Posted 3 rows; the file's 3 rows total £1,100.24."
    assert StaleMark.objects.filter(fund=w.fund).exists()


def test_bom_and_optional_columns(w, engine):
    header = LEDGER_HEADER + ",budget_line,period,is_accrual"
    rows = [
        "TCOUNCIL,ACC-1,1,2016-07-03,CC100,E5100,500.00,Acme,June accrual,,2016/17-M03,yes",
        "TCOUNCIL,ACC-2,1,2016-07-03,ZZ,ZZ,25.00,Acme,By line code,CH01,,",
    ]
    imp = upload(w, ledger_csv(rows, header=header, bom=True))
    assert imp.status == "posted", (imp.message, imp.errors)
    acc = SpendPosting.objects.get(document_number="ACC-1")
    assert acc.is_accrual
    assert acc.period.code == "2016/17-M03"
    assert SpendPosting.objects.get(document_number="ACC-2").budget_line == w.ccg_line


def test_reimport_posts_nothing_and_says_so(w, engine):
    upload(w, ledger_csv(GOOD))
    again = upload(w, ledger_csv(GOOD))
    assert again.status == "nothing_new"
    assert again.rows_posted == 0
    assert again.rows_already_posted == 3
    assert "Already imported" in again.message
    assert SpendPosting.objects.count() == 3


def test_recheck_of_posted_rows_after_the_period_closed_still_nothing_new(w, engine):
    first = upload(w, ledger_csv(GOOD))
    FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=1), status="closed"
    )
    again = upload(w, ledger_csv(GOOD))
    assert again.status == "nothing_new"
    assert f"(import {first.pk})" in again.message
    # The same rows in a different file are checked row by row: still nothing new.
    other = upload(w, ledger_csv(list(reversed(GOOD))))
    assert other.status == "nothing_new", other.errors
    assert other.message == (
        "Already imported: all 3 rows were posted before, so nothing new was posted."
    )
    assert other.summary[0]["posted"] == 0


def test_partly_new_file_posts_only_new_rows(w, engine):
    upload(w, ledger_csv(GOOD[:2]))
    imp = upload(w, ledger_csv(GOOD))
    assert (imp.status, imp.rows_posted, imp.rows_already_posted) == ("posted", 1, 2)
    assert imp.message == (
        "Posted 1 row; the file's 3 rows total £1,100.24. 2 rows were already posted and skipped."
    )


def _sql_engine_with_a_change_under_the_lock(monkeypatch, change) -> None:
    """The COPY engine, with `change` made just after it takes the organisation's lock (after
    the rows were checked, before they are inserted)."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY engine needs PostgreSQL")
    real_run = ledger_import.run_import
    monkeypatch.setattr(
        ledger_import, "run_import", lambda pk, **kw: real_run(pk, **{**kw, "engine": "sql"})
    )
    real_lock = sql_engine.lock_organisation

    def lock_then_change(organisation):
        real_lock(organisation)
        change()

    monkeypatch.setattr(sql_engine, "lock_organisation", lock_then_change)


def test_rows_posted_while_the_file_was_checked_are_skipped_not_doubled(w, monkeypatch):
    """The COPY engine inserts without ON CONFLICT; a posting of the same document and line that
    lands between its checks and its insert makes it fall back to skipping that row. (The Python
    engine checks and inserts under one lock.)"""

    def someone_posts():
        spend_post(
            actor=w.fin_host,
            organisation=w.host,
            rows=[
                {
                    "document_number": "INV-2",
                    "line_number": 1,
                    "posting_date": date(2016, 9, 30),
                    "amount": Decimal("99.99"),
                    "budget_line": w.host_line,
                    "supplier": "Bolton NHS FT",
                    "description": "posted through the API meanwhile",
                }
            ],
        )

    _sql_engine_with_a_change_under_the_lock(monkeypatch, someone_posts)
    imp = upload(w, ledger_csv(GOOD))
    assert (imp.status, imp.rows_posted) == ("posted", 2)
    inv2 = SpendPosting.objects.get(organisation=w.host, document_number="INV-2", line_number=1)
    assert inv2.description == "posted through the API meanwhile"
    assert inv2.ledger_import_id is None
    assert SpendPosting.objects.filter(ledger_import=imp).count() == 2
    assert SpendPosting.objects.filter(organisation=w.host).aggregate(t=Sum("amount"))["t"] == (
        Decimal("1100.24")
    )


def test_a_month_closed_while_the_file_was_checked_refuses_its_rows(w, monkeypatch):
    april = Period.objects.get(year=w.year, number=1)
    _sql_engine_with_a_change_under_the_lock(
        monkeypatch, lambda: FundPeriod.objects.create(fund=w.fund, period=april, status="closed")
    )
    imp = upload(w, ledger_csv(GOOD))
    assert imp.status == "rejected"
    assert [(e["row"], e["field"]) for e in imp.errors] == [
        (2, "posting_date"),
        (3, "posting_date"),
    ]
    assert imp.errors[0]["message"] == "period 2016/17-M01 is closed for fund LP-TEST"
    assert not SpendPosting.objects.exists()


def test_m12_reopened_while_the_file_was_checked_refuses_its_m13_rows(w, monkeypatch):
    m12 = FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=12), status="closed"
    )
    _sql_engine_with_a_change_under_the_lock(
        monkeypatch, lambda: FundPeriod.objects.filter(pk=m12.pk).update(status="open")
    )
    imp = upload(w, ledger_csv([M13_ACCRUAL], header=M13_HEADER))
    assert_rejected(imp, 2, "period", M13_EARLY)


BAD_ROWS = [
    ('TCOUNCIL,B-1,1,2016-04-15,CC100,E5100,"1,2x",Acme,x', "amount", "'1,2x' is not a number"),
    ("TCOUNCIL,B-2,1,2016-04-15,CC100,E5100,,Acme,x", "amount", "is empty"),
    (
        "TCOUNCIL,B-3,1,2016-04-15,CC100,E5100,10.123,Acme,x",
        "amount",
        "'10.123' has more than 2 decimal places",
    ),
    (
        "NOSUCH,B-4,1,2016-04-15,CC100,E5100,10.00,Acme,x",
        "organisation",
        "unknown organisation 'NOSUCH'",
    ),
    (
        "TCCG,B-5,1,2016-04-15,CC100,E5100,10.00,Acme,x",
        "organisation",
        "is TCCG; this file is for TCOUNCIL",
    ),
    (
        "TCOUNCIL,B-6,1,2016-04-15,CC999,E5100,10.00,Acme,x",
        "cost_centre",
        "no ledger mapping for cost centre 'CC999' and expense code 'E5100' in 2016/17",
    ),
    (
        "TCOUNCIL,B-7,1,2016-02-30,CC100,E5100,10.00,Acme,x",
        "posting_date",
        "'2016-02-30' is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
    ),
    (
        "TCOUNCIL,B-8,1,2030-04-15,CC100,E5100,10.00,Acme,x",
        "posting_date",
        "2030-04-15 is not in a financial year that is set up",
    ),
    (
        "TCOUNCIL,B-9,x,2016-04-15,CC100,E5100,10.00,Acme,x",
        "line_number",
        "'x' is not a whole number of 1 or more",
    ),
    (",B-10,1,2016-04-15,CC100,E5100,10.00,Acme,x", "organisation", "is required"),
    (
        "TCOUNCIL,B-11,1,2016-04-15,CC100,E5100,1e3,Acme,x",
        "amount",
        "'1e3' is written with an exponent; write the amount in full, like 100000.00",
    ),
    ("TCOUNCIL,B-12,1,2016-04-15,CC100,E5100,NaN,Acme,x", "amount", "'NaN' is not a number"),
    (
        "TCOUNCIL,B-13,1,2016-04-15,CC100,E5100,10000000000000000.00,Acme,x",
        "amount",
        "'10000000000000000.00' is too large",
    ),
    # The one text cleaner (gmhsc.text), in both engines: control characters are named; a line
    # break or tab is refused in a one-line field and kept in the description.
    (
        "TCOUNCIL,B-14\x01,1,2016-04-15,CC100,E5100,10.00,Acme,x",
        "document_number",
        "contains the control character U+0001; remove it",
    ),
    (
        'TCOUNCIL,B-15,1,2016-04-15,CC100,E5100,10.00,"Ac\nme",x',
        "supplier",
        "must be on one line; remove the line break or tab",
    ),
    (
        "TCOUNCIL,B-16,1,2016-04-15,CC100,E5100,10.00,Acme,x\x1b[31m",
        "description",
        "contains the control character U+001B; remove it",
    ),
    (
        "TCOUNCIL,B-17,1,2016-04-15,CC100,E5100,10.00,Ac\x85me,x",
        "supplier",
        "contains the control character U+0085; remove it",
    ),
]


@pytest.mark.parametrize(("line", "field", "problem"), BAD_ROWS)
def test_each_bad_row_refused_naming_row_and_column(w, engine, line, field, problem):
    imp = upload(w, ledger_csv([GOOD[0], line]))
    assert_rejected(imp, 3, field, problem)
    assert imp.error_count == 1


def test_closed_period_refused(w, engine):
    FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=6), status="closed"
    )
    imp = upload(w, ledger_csv(GOOD))
    assert_rejected(imp, 4, "posting_date", "period 2016/17-M06 is closed for fund LP-TEST")


def test_posting_date_outside_the_periods_year(w, engine):
    header = LEDGER_HEADER + ",period"
    rows = ["TCOUNCIL,Y-1,1,2017-04-02,CC100,E5100,10.00,Acme,x,2016/17-M12"]
    imp = upload(w, ledger_csv(rows, header=header))
    assert imp.errors == [
        {
            "row": 2,
            "field": "posting_date",
            "message": "2017-04-02 is outside 2016/17 (1 April 2016 to 31 March 2017)",
        }
    ]


def test_same_document_and_line_twice_in_one_file(w, engine):
    imp = upload(w, ledger_csv([*GOOD, GOOD[0].replace("1200.50", "5.00")]))
    assert imp.errors == [
        {
            "row": 5,
            "field": "document_number",
            "message": "document INV-1 line 1 is already on row 2",
        }
    ]
    assert SpendPosting.objects.count() == 0


def test_every_bad_row_reported_and_error_csv(w, engine):
    rows = [GOOD[0], BAD_ROWS[0][0], BAD_ROWS[3][0], BAD_ROWS[5][0], GOOD[2]]
    imp = upload(w, ledger_csv(rows))
    assert [(e["row"], e["field"]) for e in imp.errors] == [
        (3, "amount"),
        (4, "organisation"),
        (5, "cost_centre"),
    ]
    assert (
        imp.message
        == "3 problems found in 3 rows; nothing was posted. Correct the file and upload it again."
    )
    csv_text = error_file(imp).decode()
    assert csv_text.splitlines()[0] == "row,column,problem"
    assert "3,amount,\"'1,2x' is not a number\"" in csv_text
    assert SpendPosting.objects.count() == 0


def test_hyperlink_description_kept_as_plain_text(w, engine):
    text = '=HYPERLINK("http://evil.example","click")'
    line = (
        f'TCOUNCIL,H-1,1,2016-04-15,CC100,E5100,10.00,Acme,"{text.replace(chr(34), chr(34) * 2)}"'
    )
    imp = upload(w, ledger_csv([line]))
    assert imp.status == "posted", imp.errors
    assert SpendPosting.objects.get(document_number="H-1").description == text


@pytest.mark.parametrize(
    "header",
    [
        (
            "organisation,document_number,line_number,posting_date,cost_centre,expense_code,amt,"
            "supplier,description"
        ),
        (
            "document_number,organisation,line_number,posting_date,cost_centre,expense_code,amount,"
            "supplier,description"
        ),
        LEDGER_HEADER + ",colour",
    ],
)
def test_wrong_header(w, engine, header):
    imp = upload(w, ledger_csv(GOOD, header=header))
    assert imp.status == "rejected"
    assert imp.errors[0]["row"] == 1
    assert imp.errors[0]["field"] == "header"
    assert "Expected organisation,document_number" in imp.errors[0]["message"]


def test_missing_header(w, engine):
    imp = upload(w, "\n".join(GOOD).encode() + b"\n")
    assert imp.status == "rejected"
    assert imp.errors[0]["field"] == "header"
    assert "missing" in imp.errors[0]["message"]


def test_ragged_row(w, engine):
    imp = upload(w, ledger_csv([GOOD[0], "TCOUNCIL,R-1,1,2016-04-15,CC100"]))
    assert imp.errors == [{"row": 3, "field": "row", "message": "has 5 columns; expected 9"}]


def test_empty_binary_and_oversized_files_refused(w, settings):
    with pytest.raises(UploadRefused, match="The file is empty"):
        upload(w, b"")
    with pytest.raises(UploadRefused, match="not a CSV text file"):
        upload(w, b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    with pytest.raises(UploadRefused, match="not a UTF-8 CSV file"):
        upload(w, LEDGER_HEADER.encode() + b"\n\xff\xfe\xfa bad bytes,1\n")
    settings.GMHSC_MAX_UPLOAD_BYTES = 100
    with pytest.raises(UploadRefused, match="the largest allowed is 100 bytes"):
        upload(w, ledger_csv(GOOD))
    with pytest.raises(UploadRefused, match="not an allowed file type"):
        upload(w, ledger_csv(GOOD[:1]), name="ledger.exe")
    assert LedgerImport.objects.count() == 0


def test_a_file_that_stops_being_utf8_after_64_kb_is_refused_before_anything_is_stored(w):
    """Issue 21 item 7: only the first 64 KB used to be checked, so such a file was accepted (the
    API answered 201) and then ended `failed`. The whole file is checked first now."""
    rows = [
        f"TCOUNCIL,U-{n},1,2016-04-15,CC100,E5100,10.00,Acme,padding {'x' * 40}"
        for n in range(2000)
    ]
    data = ledger_csv(rows)
    assert len(data) > 64 * 1024
    bad = data + b"TCOUNCIL,U-bad,1,2016-04-15,CC100,E5100,10.00,Caf\xe9,x\n"
    with pytest.raises(UploadRefused, match="stops being UTF-8 on line 2,002"):
        upload(w, bad)
    assert LedgerImport.objects.count() == 0
    assert SpendPosting.objects.count() == 0


def test_a_nul_character_after_the_first_8_kb_is_named_by_row_and_column(w, engine):
    """The upload check refuses NUL in a file's first 8 KB as binary; further on, the row and
    column are named (COPY refuses the byte outright, so the SQL engine reads the file again)."""
    rows = [
        f"TCOUNCIL,N-{n},1,2016-04-15,CC100,E5100,10.00,Acme,padding {'x' * 40}" for n in range(300)
    ]
    rows.append("TCOUNCIL,N-nul,1,2016-04-15,CC100,E5100,10.00,Ac\x00me,x")
    imp = upload(w, ledger_csv(rows))
    assert_rejected(imp, 302, "supplier", "contains the NUL character (U+0000); remove it")


def test_only_the_organisations_finance_officer_may_import(w):
    for actor in (w.fin_ccg, w.comm_host, w.fin_outsider):
        with pytest.raises(NotAllowed):
            upload(w, ledger_csv(GOOD), actor=actor)
    assert upload(w, ledger_csv(GOOD), actor=w.admin).status == "posted"


def test_large_file_runs_as_task_with_progress(w, settings, django_capture_on_commit_callbacks):
    settings.GMHSC_IMPORT_ASYNC_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        imp = start_import(
            actor=w.fin_host,
            organisation=w.host,
            upload=SimpleUploadedFile("l.csv", ledger_csv(GOOD)),
        )
    assert imp.status == "pending"
    imp.refresh_from_db()
    assert imp.status == "posted"
    assert imp.rows_checked == 3
    assert imp.rows_posted == 3


def test_import_ledger_command(w, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_bytes(ledger_csv(GOOD))
    out = io.StringIO()
    call_command("import_ledger", str(path), "--organisation", "TCOUNCIL", stdout=out)
    text = out.getvalue()
    assert "Posted 3 rows" in text
    assert "LP-TEST 2016/17-M01: 2 rows, £1,000.25" in text
    out = io.StringIO()
    call_command("import_ledger", str(path), "--organisation", "TCOUNCIL", stdout=out)
    assert "Already imported" in out.getvalue()


@pytest.mark.system
@pytest.mark.pg
def test_large_upload_runs_on_a_real_worker_with_progress(transactional_db, celery_worker_proc):
    from rest_framework.test import APIClient

    from tests.conftest import wait_for

    w = ledger_world()
    rows = [
        f"TCOUNCIL,W-{i // 3:05d},{i % 3 + 1},2016-05-{1 + i % 28:02d},CC100,E5100,{i % 500}.25,"
        f"Acme,Row {i}"
        for i in range(6_000)
    ]
    client = APIClient()
    client.force_authenticate(w.fin_host)
    response = client.post(
        "/api/v1/ledger-imports/",
        {"file": SimpleUploadedFile("big.csv", ledger_csv(rows))},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    pk = response.json()["id"]

    def finished():
        body = client.get(f"/api/v1/ledger-imports/{pk}/").json()
        return body if body["status"] in ("posted", "rejected", "failed") else None

    body = wait_for(finished, timeout=60)
    assert body["status"] == "posted", body["message"]
    assert body["rows_checked"] == body["rows_posted"] == 6_000
    expected = sum(Decimal(f"{i % 500}.25") for i in range(6_000))
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == expected


@pytest.mark.parametrize(
    ("chunks", "controls", "line_breaks"),
    [
        ([b"TCOUNCIL,A-1,1,2016-04-15,CC100,E5100,10.00,Caf\xc2\xa3,x\n"], False, False),
        ([b"a\x01b"], True, False),
        ([b"x\xc2", b"\x85y"], True, False),  # U+0085 cut between two chunks
        ([b"a\x7f"], True, False),
        ([b"a\tb"], False, True),
        ([b'"two\nlines"'], False, True),
    ],
)
def test_the_sql_engine_runs_the_text_checks_only_when_the_bytes_allow_a_problem(
    chunks, controls, line_breaks
):
    """The COPY engine's control-character checks cost about a second per million rows, so they
    run only when the file's bytes hold a control character (or a tab or a quote, for line
    breaks in one-line cells); the scan must never miss one."""
    scan = sql_engine.TextScan()
    for chunk in chunks:
        scan.feed(chunk)
    assert (scan.controls, scan.line_breaks) == (controls, line_breaks)


def test_m13_takes_the_hosts_year_end_adjustments_once_m12_is_closed(w, engine):
    """Both engines apply Calendar.year_end_problem's rule, with the same words."""
    header = M13_HEADER
    assert_rejected(upload(w, ledger_csv([M13_ACCRUAL], header=header)), 2, "period", M13_EARLY)
    FundPeriod.objects.create(
        fund=w.fund, period=Period.objects.get(year=w.year, number=12), status="closed"
    )
    ccg_row = "TCCG,YE-2,1,2017-03-31,CC300,E5300,10.00,Trust,Not the host,,2016/17-M13,yes"
    partner = start_import(
        actor=w.fin_ccg,
        organisation=w.ccg,
        upload=SimpleUploadedFile("ccg.csv", ledger_csv([ccg_row], header=header)),
        run_now=True,
    )
    assert partner.status == "rejected"
    assert partner.errors[0]["message"] == (
        "period 2016/17-M13 takes year-end adjustments for fund LP-TEST from its host only"
    )
    posted = upload(w, ledger_csv([M13_ACCRUAL], header=header))
    assert posted.status == "posted", posted.errors
    assert SpendPosting.objects.get(document_number="YE-1").period.code == "2016/17-M13"
