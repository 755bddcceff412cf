"""A finance officer in the browser: builds an import profile from a sample of the ledger's export,
uploads the export through it, maps the pair nothing covered from the preview, and posts. Every
page visited is checked for CSP violations and by axe (tests/e2e/conftest.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from budgets.models import LedgerMapping, SpendPosting
from tests.budgets.factories import ledger_world
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery"
SAMPLE = Path(__file__).resolve().parent.parent / "budgets" / "fixtures" / "ledger"


@pytest.fixture
def world(transactional_db):
    return ledger_world()


def test_build_a_profile_preview_map_and_post(world, live_server, page, tmp_path):
    LedgerMapping.objects.filter(organisation=world.host, cost_centre="CC200").delete()
    login(page, live_server, world.fin_host.username, PASSWORD)

    page.goto(f"{live_server.url}/budgets/ledger/profiles/")
    page.get_by_role("link", name="Build a profile from a sample file").click()
    page.get_by_label("A sample of your ledger's export").set_input_files(
        str(SAMPLE / "no-line-numbers.csv")
    )
    page.get_by_role("button", name="Read the sample").click()
    page.get_by_role("heading", name="The sample: no-line-numbers.csv").wait_for()
    page.get_by_label("Document number (invoice or transaction number)").select_option("Doc")
    page.get_by_label("Posting date").select_option("Date")
    page.get_by_label("Amount", exact=True).select_option("Amount")
    page.get_by_label("Cost centre (or department, expense area)").select_option("CC")
    page.get_by_label("Expense code (or expense type, merchant category)").select_option("EC")
    page.get_by_label("Line numbers").select_option("number_in_file_order")
    page.get_by_label("Name").fill("our-export")
    page.get_by_role("button", name="Show the first 20 rows").click()
    page.get_by_role("heading", name="The first 6 rows as gmhsc reads them").wait_for()
    assert page.get_by_text("£1,234.56").count() >= 1
    page.get_by_role("button", name="Save the profile").click()
    page.get_by_role("heading", name="our-export").wait_for()

    page.goto(f"{live_server.url}/budgets/ledger/imports/")
    page.get_by_label("Ledger file").set_input_files(str(SAMPLE / "no-line-numbers.csv"))
    page.get_by_label("How to read it").select_option(label="our-export")
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("heading", name="Pairs no mapping covers (1)").wait_for()
    assert SpendPosting.objects.count() == 0

    page.get_by_role("link", name="Map to line CC200 / E5200").click()
    page.get_by_label("Search by line code, name or fund").fill("community")
    page.get_by_role("button", name="Find lines").click()
    page.get_by_label("Budget line", exact=True).select_option(
        label="LP-TEST · CH01 Community health"
    )
    page.get_by_role("button", name="Map and check again").click()
    page.get_by_role("button", name="Post 6 rows").click()
    page.get_by_text("Posted 6 rows").wait_for()
    assert SpendPosting.objects.aggregate(t=Sum("amount"))["t"] == Decimal("13390.30")
