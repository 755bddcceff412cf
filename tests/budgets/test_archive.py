"""Fund archive (issue 10 item 5): export CSV + manifest with checksums; importing it into an
empty database reproduces the same figures and the same variance reports."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from budgets.archive.codec import ArchiveError
from budgets.archive.export import export_archive
from budgets.archive.fingerprint import fingerprint
from budgets.archive.restore import import_archive, read_manifest
from budgets.models import (
    BudgetAdjustment,
    ContributionInstalment,
    Forecast,
    FundPeriod,
    LedgerMapping,
    Period,
    RiskShareAgreement,
    Virement,
)
from gmhsc.errors import Conflict
from tests.budgets.factories import budget_world, make_posting

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def fund_year():
    world = budget_world(status="approved")
    year, fund = world.year, world.fund
    m5 = Period.objects.get(year=year, number=5)
    m6 = Period.objects.get(year=year, number=6)
    host_line, ccg_line = world.host_line, world.ccg_line
    first = make_posting(
        organisation=world.host, line=host_line, document="INV-1", amount="1234.56"
    )
    make_posting(
        organisation=world.host, line=host_line, document="INV-1", line_number=2, amount="0.01"
    )
    make_posting(
        organisation=world.ccg, line=ccg_line, document="C-77", amount="5000.00", period_number=5
    )
    make_posting(
        organisation=world.host,
        line=host_line,
        document="INV-1-REV",
        amount="-1234.56",
        reverses=first,
    )
    make_posting(
        organisation=world.ccg, line=ccg_line, document="ACC-1", amount="250.50", is_accrual=True
    )
    Forecast.objects.create(
        line=host_line, period=m6, amount=Decimal("118000.00"), commentary="Winter"
    )
    BudgetAdjustment.objects.create(
        line=ccg_line, period=m5, amount=Decimal("0.00"), reason="noted", created_by=world.fin_host
    )
    Virement.objects.create(
        fund=fund,
        from_line=host_line,
        to_line=ccg_line,
        period=m6,
        amount=Decimal("1000.00"),
        reason="Rebalance",
        requested_by=world.comm_host,
    )
    FundPeriod.objects.create(
        fund=fund, period=m5, status="closed", changed_by=world.fin_host, reason="M5 close"
    )
    RiskShareAgreement.objects.create(
        fund=fund, year=year, rule="pro_rata", parameters={"cap_at_contribution": True}
    )
    contribution = fund.contributions.get(partner=world.ccg)
    ContributionInstalment.objects.create(
        contribution=contribution, due_date=m6.start_date, amount=Decimal("100000.00")
    )
    LedgerMapping.objects.create(
        organisation=world.host,
        year=year,
        cost_centre="CC1",
        expense_code="E1",
        budget_line=host_line,
    )
    return fund, year


def test_export_writes_csv_files_and_a_manifest_with_checksums(fund_year, tmp_path):
    fund, year = fund_year
    manifest = export_archive(fund=fund, year=year, out_dir=tmp_path / "a")
    assert manifest["fund"] == "LP-TEST"
    assert manifest["year"] == "2016/17"
    assert manifest["totals"] == {
        "budget_lines": "2",
        "current_budget": "180000.00",
        "spend_postings": "5",
        "spend_amount": "5250.51",
    }
    files = manifest["files"]
    assert files["spend_postings.csv"]["rows"] == 5
    assert files["budget_lines.csv"]["rows"] == 2
    assert files["organisations.csv"]["rows"] == 2  # the host council and the CCG partner
    assert files["people.csv"]["rows"] == 2  # who closed M5 / requested the virement
    assert read_manifest(tmp_path / "a") == json.loads((tmp_path / "a/manifest.json").read_text())
    with (tmp_path / "a/spend_postings.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    reversal = next(r for r in rows if r["document_number"] == "INV-1-REV")
    assert reversal["reverses"] == "TCOUNCIL|INV-1|1"
    assert reversal["amount"] == "-1234.56"
    with (tmp_path / "a/budget_lines.csv").open() as handle:
        line = next(r for r in csv.DictReader(handle) if r["code"] == "HC01")
    assert line["current_budget"] == "120000.00"
    assert sum(Decimal(line[f"m{n:02d}"]) for n in range(1, 13)) == Decimal("120000.00")


def test_export_refuses_a_folder_that_is_not_empty(fund_year, tmp_path):
    fund, year = fund_year
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(ArchiveError, match="is not empty"):
        export_archive(fund=fund, year=year, out_dir=tmp_path)


def test_a_changed_file_is_refused(fund_year, tmp_path):
    fund, year = fund_year
    export_archive(fund=fund, year=year, out_dir=tmp_path)
    path = tmp_path / "spend_postings.csv"
    path.write_text(path.read_text().replace("5000.00", "5000.01"))
    with pytest.raises(ArchiveError, match=r"spend_postings\.csv does not match its checksum"):
        read_manifest(tmp_path)


def test_import_refuses_a_fund_that_exists(fund_year, tmp_path):
    fund, year = fund_year
    export_archive(fund=fund, year=year, out_dir=tmp_path)
    with pytest.raises(Conflict, match="Fund LP-TEST already exists here"):
        import_archive(in_dir=tmp_path)


def test_commands_export(fund_year, tmp_path, capsys):
    call_command("export_fund_archive", fund="LP-TEST", year="2016/17", output=str(tmp_path / "x"))
    out = capsys.readouterr().out
    assert "Archived LP-TEST 2016/17" in out
    assert "5 postings totalling £5,250.51" in out


def test_import_into_an_empty_database_reproduces_the_figures(fund_year, tmp_path):
    """Round trip through a brand-new database (a fresh SQLite file, migrated from nothing)."""
    fund, year = fund_year
    export_archive(fund=fund, year=year, out_dir=tmp_path / "archive")
    before = json.loads(json.dumps(fingerprint(fund, year)))

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="gmhsc.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v", "0")
    out = manage("import_fund_archive", str(tmp_path / "archive"))
    assert "Restored LP-TEST 2016/17: 2 budget lines, 5 postings totalling £5,250.51" in out
    probe = (
        "import json, django; django.setup(); "
        "from budgets.archive.fingerprint import fingerprint; from budgets.models import PooledFund, FinancialYear; "
        "print(json.dumps(fingerprint(PooledFund.objects.get(code='LP-TEST'), "
        "FinancialYear.objects.get(code='2016/17'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    after = json.loads(result.stdout.strip().splitlines()[-1])
    assert after == before, differences(before, after)
    assert after["actuals"] == {"HC01|6": "0.01", "CH01|5": "5000.00", "CH01|6": "250.50"}
    assert after["periods_closed"] == [5]
    assert sorted(after["variance_reports"], key=int) == [str(n) for n in range(1, 13)]
    assert after["variance_reports"]["6"]["totals"]["lines"] == 2


def differences(want: Any, got: Any, path: str = "") -> list[str]:
    """Where two fingerprints differ, leaf by leaf (the dicts are too large for pytest's diff)."""
    if isinstance(want, dict) and isinstance(got, dict):
        return [
            d
            for key in sorted(set(want) | set(got), key=str)
            for d in differences(want.get(key), got.get(key), f"{path}.{key}")
        ]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for d in differences(w, g, f"{path}[{i}]")
        ]
    return [] if want == got else [f"{path}: {want!r} != {got!r}"]
