"""Partners' ledger exports as they come (tests/budgets/fixtures/ledger/, written by
make_fixtures.py): each quirk alone and several at once, read through an import profile by both
engines, give the same six postings and £13,390.30 to the penny."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum

from budgets.ledger.imports import service as import_service
from budgets.models import ImportProfile, SpendPosting
from tests.budgets.factories import ledger_world

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ledger"
TOTAL = Decimal("13390.30")
COLUMNS = {
    "document_number": "Doc",
    "line_number": "Line",
    "posting_date": "Date",
    "amount": "Amount",
    "cost_centre": "CC",
    "expense_code": "EC",
    "supplier": "Supplier",
    "description": "Description",
}
NO_LINES = {k: v for k, v in COLUMNS.items() if k != "line_number"}
DEBIT_CREDIT = {
    **{k: v for k, v in COLUMNS.items() if k != "amount"},
    "debit": "Debit",
    "credit": "Credit",
}

# file -> the profile settings that read it (beyond the baseline: UTF-8 or detected, commas,
# header on row 1, DD/MM/YYYY, line numbers from the Line column).
EXPORTS: dict[str, dict[str, Any]] = {
    "baseline.csv": {},
    "win1252-pound.csv": {},  # the encoding is detected
    "unicode-text.txt": {"delimiter": "tab"},  # UTF-16 detected from its byte-order mark
    "debit-credit.csv": {"amounts": "debit_credit", "columns": DEBIT_CREDIT},
    "no-line-numbers.csv": {"line_numbers": "number_in_file_order", "columns": NO_LINES},
    "dates-dots.csv": {"date_format": "DD.MM.YYYY"},
    "dates-us.csv": {"date_format": "M/D/YYYY"},
    "dates-mon-yy.csv": {"date_format": "DD-Mon-YY"},
    "dates-excel.csv": {"date_format": "Excel"},
    "negatives-brackets.csv": {},
    "negatives-trailing.csv": {},
    "semicolons.csv": {"delimiter": "semicolon"},
    "pipes.csv": {"delimiter": "pipe"},
    "trailing-empty-columns.csv": {},
    "blank-rows.csv": {},
    "title-rows.csv": {"header_row": 3},
    "totals-row.csv": {"footer_rows": 1},
    "title-totals.xlsx": {"file_type": "xlsx", "sheet": "Spend", "header_row": 3, "footer_rows": 1},
    "combined.csv": {
        "encoding": "windows-1252",
        "delimiter": "semicolon",
        "header_row": 4,
        "footer_rows": 1,
        "date_format": "DD-Mon-YY",
        "amounts": "debit_credit",
        "line_numbers": "number_in_file_order",
        "columns": {k: v for k, v in DEBIT_CREDIT.items() if k != "line_number"},
    },
    "combined.xlsx": {
        "file_type": "xlsx",
        "header_row": 2,
        "footer_rows": 1,
        "amounts": "debit_credit",
        "line_numbers": "number_in_file_order",
        "columns": {k: v for k, v in DEBIT_CREDIT.items() if k != "line_number"},
    },
}
ENGINES = ["python", "sql"]


@pytest.fixture
def w():
    return ledger_world()


def _import(w: Any, name: str, settings: dict[str, Any], engine: str) -> Any:
    spec = {"name": "fixture", "columns": COLUMNS, **settings}
    profile = ImportProfile.objects.create(organisation=w.host, name="fixture", spec=spec)
    content_type = "application/octet-stream" if name.endswith("xlsx") else "text/csv"
    upload = SimpleUploadedFile(name, (FIXTURES / name).read_bytes(), content_type=content_type)
    imp = import_service.start_import(
        actor=w.fin_host, organisation=w.host, upload=upload, run_now=False, profile=profile
    )
    return import_service.run_import(imp.pk, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(EXPORTS))
def test_export_posts_the_same_six_postings_to_the_penny(w, name, engine):
    if engine == "sql" and connection.vendor != "postgresql":
        pytest.skip("the COPY engine needs PostgreSQL")
    imp = _import(w, name, EXPORTS[name], engine)
    assert imp.status == "posted", (imp.message, imp.errors)
    postings = SpendPosting.objects.filter(ledger_import=imp)
    assert postings.aggregate(t=Sum("amount"))["t"] == TOTAL
    got = sorted(
        (p.document_number, p.line_number, p.posting_date, p.amount, p.budget_line.code)
        for p in postings.select_related("budget_line")
    )
    assert got == [
        ("CRN-2001", 1, date(2016, 9, 30), Decimal("-100.25"), "HC01"),
        ("INV-1001", 1, date(2016, 4, 15), Decimal("1234.56"), "HC01"),
        ("INV-1001", 2, date(2016, 4, 15), Decimal("250.00"), "CH01"),
        ("INV-1003", 1, date(2016, 10, 1), Decimal("12000.00"), "HC01"),
        ("INV-1003", 2, date(2016, 10, 1), Decimal("0.99"), "CH01"),
        ("INV-1004", 1, date(2017, 3, 31), Decimal("5.00"), "HC01"),
    ]
    supplier = postings.get(document_number="INV-1001", line_number=1).supplier
    assert supplier == "Café Rouge Care Ltd"  # the encoding read right
    assert imp.summary == [
        {"fund": "LP-TEST", "period": "2016/17-M01", "rows": 2, "posted": 2, "amount": "1484.56"},
        {"fund": "LP-TEST", "period": "2016/17-M06", "rows": 1, "posted": 1, "amount": "-100.25"},
        {"fund": "LP-TEST", "period": "2016/17-M07", "rows": 2, "posted": 2, "amount": "12000.99"},
        {"fund": "LP-TEST", "period": "2016/17-M12", "rows": 1, "posted": 1, "amount": "5.00"},
    ]
