"""Restoring a fund archive: every checksum and the control totals are verified, the fund must not
exist, and everything is written in one transaction; the fund is then marked stale so the
recompute rebuilds its figures. People who do not exist are created inactive, without a usable
password ("archived user"): the records keep who did what."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from budgets.archive.codec import (
    FORMAT,
    MANIFEST,
    VERSION,
    ArchiveError,
    flag,
    optional_date,
    optional_decimal,
    optional_time,
    required_date,
    required_time,
    sha256,
)
from budgets.archive.scope import control_totals
from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    Contribution,
    ContributionInstalment,
    FinancialYear,
    Forecast,
    FundBudget,
    FundPeriod,
    LedgerMapping,
    LineCommitment,
    Period,
    PooledFund,
    RiskShareAgreement,
    ServiceArea,
    SpendPosting,
    Virement,
)
from budgets.models.lines import MONTH_FIELDS
from budgets.outbox import mark_stale
from gmhsc.errors import Conflict
from localities.actors import Actor
from localities.models import Locality, Organisation, User


def read_manifest(in_dir: Path) -> dict[str, Any]:
    """The manifest, after checking every file's checksum and row count."""
    path = in_dir / MANIFEST
    if not path.exists():
        raise ArchiveError(f"No {MANIFEST} in {in_dir}; this is not a gmhsc fund archive.")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArchiveError(f"{MANIFEST} is damaged: {exc}.") from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ArchiveError(
            f"Unsupported archive format {manifest.get('format')} v{manifest.get('version')}."
        )
    for name, meta in manifest["files"].items():
        file = in_dir / name
        if not file.exists():
            raise ArchiveError(f"{name} is missing from the archive.")
        if sha256(file) != meta["sha256"]:
            raise ArchiveError(
                f"{name} does not match its checksum: the archive was changed or damaged."
            )
    return manifest


def _rows(in_dir: Path, name: str) -> Iterator[dict[str, str]]:
    path = in_dir / f"{name}.csv"
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


@contextlib.contextmanager
def _keep_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let restored rows keep their recorded times instead of 'now' (auto_now/auto_now_add)."""
    saved: list[tuple[Any, bool, bool]] = []
    for model_class in model_classes:
        for field in model_class._meta.concrete_fields:
            if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
                saved.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def import_archive(*, in_dir: Path, actor: Actor | None = None) -> dict[str, Any]:
    """Restore an archive into this database (the fund must not exist). Returns the manifest."""
    manifest = read_manifest(in_dir)
    if PooledFund.objects.filter(code=manifest["fund"]).exists():
        raise Conflict(
            f"Fund {manifest['fund']} already exists here; restore into an empty database."
        )
    with (
        transaction.atomic(),
        _keep_timestamps(BudgetAdjustment, Virement, Forecast, SpendPosting, BudgetLine),
    ):
        for row in _rows(in_dir, "localities"):
            Locality.objects.get_or_create(
                gss_code=row["gss_code"],
                defaults={
                    "name": row["name"],
                    "old_la_code": row["old_la_code"],
                    "population_mid2011": int(row["population_mid2011"]),
                    "population_mid2015": int(row["population_mid2015"]),
                    "population_mid2015_verified": flag(row["population_mid2015_verified"]),
                    "need_index": Decimal(row["need_index"]),
                    "cost_index": Decimal(row["cost_index"]),
                },
            )
        localities = {lo.gss_code: lo for lo in Locality.objects.all()}
        for row in _rows(in_dir, "organisations"):
            org, created = Organisation.objects.get_or_create(
                code=row["code"],
                defaults={
                    "code_system": row["code_system"],
                    "name": row["name"],
                    "short_name": row["short_name"],
                    "kind": row["kind"],
                    "valid_from": optional_date(row["valid_from"]),
                    "valid_to": optional_date(row["valid_to"]),
                    "verified": flag(row["verified"]),
                    "notes": row["notes"],
                },
            )
            if created and row["localities"]:
                org.localities.set([localities[c] for c in row["localities"].split(";")])
        orgs = {o.code: o for o in Organisation.objects.all()}
        for row in _rows(in_dir, "people"):
            if not User.objects.filter(username=row["username"]).exists():
                person = User(
                    username=row["username"],
                    first_name=row["first_name"],
                    last_name=row["last_name"],
                    email=row["email"],
                    organisation=orgs.get(row["organisation"]),
                    is_active=False,
                    job_title="archived user",
                )
                person.set_unusable_password()
                person.save()
        people = {
            u.username: u
            for u in User.objects.filter(
                username__in=[r["username"] for r in _rows(in_dir, "people")]
            )
        }

        def who(username: str) -> Any:
            return people.get(username) if username else None

        for row in _rows(in_dir, "service_areas"):
            ServiceArea.objects.get_or_create(
                code=row["code"],
                defaults={
                    "name": row["name"],
                    "maps_to": row["maps_to"],
                    "parent": ServiceArea.objects.get(code=row["parent"])
                    if row["parent"]
                    else None,
                },
            )
        areas = {a.code: a for a in ServiceArea.objects.all()}
        year = None
        for row in _rows(in_dir, "periods"):
            year, _ = FinancialYear.objects.get_or_create(
                code=row["year"],
                defaults={
                    "start_date": optional_date(row["year_start"]),
                    "end_date": optional_date(row["year_end"]),
                },
            )
            Period.objects.get_or_create(
                year=year,
                number=int(row["number"]),
                defaults={
                    "start_date": optional_date(row["start_date"]),
                    "end_date": optional_date(row["end_date"]),
                },
            )
        if year is None:
            year = FinancialYear.objects.get(code=manifest["year"])
        periods = {p.code: p for p in Period.objects.filter(year=year).select_related("year")}

        (row,) = list(_rows(in_dir, "fund"))
        fund = PooledFund(
            code=row["code"],
            name=row["name"],
            scope=row["scope"],
            locality=localities.get(row["locality"]),
            arrangement=row["arrangement"],
            host=orgs[row["host"]],
            is_bcf=flag(row["is_bcf"]),
            rag_amber_pct=Decimal(row["rag_amber_pct"]),
            rag_red_pct=Decimal(row["rag_red_pct"]),
            rag_floor=Decimal(row["rag_floor"]),
            officer_virement_limit=Decimal(row["officer_virement_limit"]),
        )
        fund._change_reason = "Restored from archive"  # type: ignore[attr-defined]
        fund.save()
        for row in _rows(in_dir, "fund_budget"):
            FundBudget.objects.create(
                fund=fund,
                year=year,
                status=row["status"],
                submitted_by=who(row["submitted_by"]),
                submitted_at=optional_time(row["submitted_at"]),
                approved_by=who(row["approved_by"]),
                approved_at=optional_time(row["approved_at"]),
            )
        for row in _rows(in_dir, "fund_periods"):
            FundPeriod.objects.create(
                fund=fund,
                period=periods[row["period"]],
                status=row["status"],
                changed_by=who(row["changed_by"]),
                changed_at=optional_time(row["changed_at"]),
                reason=row["reason"],
            )
        contributions = {}
        for row in _rows(in_dir, "contributions"):
            contributions[row["partner"]] = Contribution.objects.create(
                fund=fund,
                year=year,
                partner=orgs[row["partner"]],
                amount=Decimal(row["amount"]),
                share=optional_decimal(row["share"]),
                shares_fixed_at=optional_time(row["shares_fixed_at"]),
            )
        ContributionInstalment.objects.bulk_create(
            ContributionInstalment(
                contribution=contributions[row["partner"]],
                due_date=required_date(row["due_date"]),
                amount=Decimal(row["amount"]),
                paid_on=optional_date(row["paid_on"]),
            )
            for row in _rows(in_dir, "contribution_instalments")
        )
        for row in _rows(in_dir, "risk_share"):
            RiskShareAgreement.objects.create(
                fund=fund,
                year=year,
                rule=row["rule"],
                parameters=json.loads(row["parameters"]) if row["parameters"] else {},
                agreed_on=optional_date(row["agreed_on"]),
                notes=row["notes"],
            )
        now = timezone.now()
        BudgetLine.objects.bulk_create(
            BudgetLine(
                fund=fund,
                year=year,
                code=row["code"],
                name=row["name"],
                service_area=areas[row["service_area"]],
                locality=localities.get(row["locality"]),
                lead_commissioner=orgs[row["lead_commissioner"]],
                recurrent=flag(row["recurrent"]),
                original_budget=Decimal(row["original_budget"]),
                changes=Decimal(row["changes"]),
                current_budget=Decimal(row["current_budget"]),
                phasing_method=row["phasing_method"],
                version=int(row["version"]),
                updated_by=who(row["updated_by"]),
                updated_at=now,
                **{m: Decimal(row[m]) for m in MONTH_FIELDS},
            )
            for row in _rows(in_dir, "budget_lines")
        )
        lines = {ln.code: ln for ln in BudgetLine.objects.filter(fund=fund, year=year)}
        BudgetAdjustment.objects.bulk_create(
            BudgetAdjustment(
                line=lines[row["line"]],
                period=periods[row["period"]],
                amount=Decimal(row["amount"]),
                recurrent=flag(row["recurrent"]),
                reason=row["reason"],
                created_by=who(row["created_by"]),
                created_at=required_time(row["created_at"]),
            )
            for row in _rows(in_dir, "budget_adjustments")
        )
        Virement.objects.bulk_create(
            Virement(
                fund=fund,
                from_line=lines[row["from_line"]],
                to_line=lines[row["to_line"]],
                period=periods[row["period"]],
                amount=Decimal(row["amount"]),
                recurrent=flag(row["recurrent"]),
                reason=row["reason"],
                status=row["status"],
                requested_by=who(row["requested_by"]),
                requested_at=required_time(row["requested_at"]),
                decided_by=who(row["decided_by"]),
                decided_at=optional_time(row["decided_at"]),
                decision_note=row["decision_note"],
                approval_reference=row["approval_reference"],
                applied_at=optional_time(row["applied_at"]),
            )
            for row in _rows(in_dir, "virements")
        )
        Forecast.objects.bulk_create(
            Forecast(
                line=lines[row["line"]],
                period=periods[row["period"]],
                amount=Decimal(row["amount"]),
                commentary=row["commentary"],
                updated_by=who(row["updated_by"]),
                updated_at=optional_time(row["updated_at"]) or now,
            )
            for row in _rows(in_dir, "forecasts")
        )
        LedgerMapping.objects.bulk_create(
            LedgerMapping(
                organisation=orgs[row["organisation"]],
                year=year,
                cost_centre=row["cost_centre"],
                expense_code=row["expense_code"],
                budget_line=lines[row["budget_line"]],
            )
            for row in _rows(in_dir, "ledger_mappings")
        )
        _import_postings(in_dir, fund=fund, orgs=orgs, periods=periods, lines=lines, who=who)
        LineCommitment.objects.bulk_create(
            LineCommitment(
                line=lines[row["line"]],
                period_number=int(row["period_number"]),
                amount=Decimal(row["amount"]),
                source_ref=row["source_ref"],
            )
            for row in _rows(in_dir, "line_commitments")
        )
        totals = control_totals(fund, year)
        if totals != manifest["totals"]:
            raise ArchiveError(
                f"Control totals differ after import: archive {manifest['totals']}, database {totals}."
            )
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="restored from archive")
    return manifest


def _import_postings(
    in_dir: Path,
    *,
    fund: PooledFund,
    orgs: dict[str, Any],
    periods: dict[str, Period],
    lines: dict[str, BudgetLine],
    who: Callable[[str], Any],
) -> None:
    """Originals first, then reversals (which point at them by natural key), in batches."""
    originals: list[SpendPosting] = []
    reversals: list[dict[str, str]] = []

    def build(row: dict[str, str], reverses: SpendPosting | None) -> SpendPosting:
        return SpendPosting(
            organisation=orgs[row["organisation"]],
            document_number=row["document_number"],
            line_number=int(row["line_number"]),
            posting_date=required_date(row["posting_date"]),
            period=periods[row["period"]],
            fund=fund,
            budget_line=lines[row["budget_line"]],
            amount=Decimal(row["amount"]),
            supplier=row["supplier"],
            description=row["description"],
            is_accrual=flag(row["is_accrual"]),
            reverses=reverses,
            created_by=who(row["created_by"]),
            created_at=optional_time(row["created_at"]) or timezone.now(),
        )

    for row in _rows(in_dir, "spend_postings"):
        if row["reverses"]:
            reversals.append(row)
            continue
        originals.append(build(row, None))
        if len(originals) >= 5000:
            SpendPosting.objects.bulk_create(originals)
            originals = []
    SpendPosting.objects.bulk_create(originals)
    # A reversal may itself be reversed: insert in rounds until every target exists.
    pending = reversals
    while pending:
        keys = {r["reverses"] for r in pending}
        targets = {}
        for key in keys:
            org, document, line_number = key.split("|")
            posting = SpendPosting.objects.filter(
                organisation=orgs[org], document_number=document, line_number=int(line_number)
            ).first()
            if posting is not None:
                targets[key] = posting
        ready = [r for r in pending if r["reverses"] in targets]
        if not ready:
            raise ArchiveError("Some reversals point at postings that are not in the archive.")
        SpendPosting.objects.bulk_create(build(r, targets[r["reverses"]]) for r in ready)
        pending = [r for r in pending if r["reverses"] not in targets]
