"""Fund archive: one fund's year as CSV files plus a manifest with SHA-256 checksums, and back.

`export_archive(fund, year, out_dir)` writes everything needed to rebuild the fund's figures in an
empty database: the reference rows it points at (organisations, localities, service areas, the
year and its periods, the people named in it), the fund, its budget and period statuses,
contributions and instalments, the risk-share agreement, budget lines with phasing, adjustments,
virements, forecasts, ledger mappings, spend postings (reversals included) and commitments.
Every reference is written as a natural key (codes, usernames), never a database id.

`import_archive(in_dir)` verifies every checksum and the control totals first, refuses a fund that
already exists, then writes everything in one transaction and marks the fund stale so the
recompute engine rebuilds its figures. People who do not exist are created inactive, without a
usable password ("archived user"): the records keep who did what.

`fingerprint(fund, year)` is what must match after a round trip: lines, phasing, forecasts,
commitments, actuals per line and period and, when the recompute engine and the variance report
exist, the variance report of every period.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

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
    Period,
    PooledFund,
    RiskShareAgreement,
    ServiceArea,
    SpendPosting,
    Virement,
)
from budgets.models.fields import MoneySum
from budgets.models.lines import MONTH_FIELDS
from gmhsc.errors import ApplicationError, Conflict
from localities.actors import Actor

FORMAT = "gmhsc-fund-archive"
VERSION = 1
MANIFEST = "manifest.json"


class ArchiveError(ApplicationError):
    code = "archive_invalid"


# ---- small codecs -------------------------------------------------------------------------------


def _s(value: Any) -> str:
    """One CSV cell: '' for None, ISO dates, plain Decimals, JSON for dicts and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _dec(text: str) -> Decimal | None:
    return Decimal(text) if text != "" else None


def _bool(text: str) -> bool:
    return text == "true"


def _date(text: str) -> date | None:
    return parse_date(text) if text else None


def _dt(text: str) -> datetime | None:
    return parse_datetime(text) if text else None


def _req_date(text: str) -> date:
    value = _date(text)
    if value is None:
        raise ArchiveError(f"A required date is missing or not a date: {text!r}.")
    return value


def _req_dt(text: str) -> datetime:
    value = _dt(text)
    if value is None:
        raise ArchiveError(f"A required time is missing or not a time: {text!r}.")
    return value


def _money_sum(value: Any) -> Decimal:
    """A database SUM in pounds and pence (exact NUMERIC on PostgreSQL; SQLite sums in binary)."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _user(user: Any) -> str:
    return user.username if user is not None else ""


def _period_code(period: Period) -> str:
    return f"{period.year.code}-M{period.number:02d}"


def _posting_key(posting: SpendPosting | None) -> str:
    if posting is None:
        return ""
    return f"{posting.organisation.code}|{posting.document_number}|{posting.line_number}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _commitment_model() -> type[models.Model] | None:
    try:
        return apps.get_model("budgets", "LineCommitment")
    except LookupError:
        return None


# ---- export -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[str]
    rows: Callable[[PooledFund, FinancialYear], Iterable[list[Any]]]


def _lines(fund: PooledFund, year: FinancialYear) -> models.QuerySet[BudgetLine]:
    return BudgetLine.objects.filter(fund=fund, year=year).select_related(
        "service_area", "locality", "lead_commissioner", "updated_by"
    )


def _postings(fund: PooledFund, year: FinancialYear) -> models.QuerySet[SpendPosting]:
    return (
        SpendPosting.objects.filter(fund=fund, budget_line__year=year)
        .select_related(
            "organisation", "period__year", "budget_line", "created_by", "reverses__organisation"
        )
        .order_by("id")
    )


def _organisations(fund: PooledFund, year: FinancialYear) -> list[Any]:
    from localities.models import Organisation

    codes = {fund.host.code}
    codes |= set(
        Contribution.objects.filter(fund=fund, year=year).values_list("partner__code", flat=True)
    )
    codes |= set(_lines(fund, year).values_list("lead_commissioner__code", flat=True))
    codes |= set(_postings(fund, year).values_list("organisation__code", flat=True).distinct())
    codes |= set(
        LedgerMapping.objects.filter(budget_line__fund=fund, year=year).values_list(
            "organisation__code", flat=True
        )
    )
    codes |= {u.organisation.code for u in _people(fund, year) if u.organisation_id}
    return list(
        Organisation.objects.filter(code__in=codes).prefetch_related("localities").order_by("code")
    )


def _localities(fund: PooledFund, year: FinancialYear) -> list[Any]:
    from localities.models import Locality

    ids = {fund.locality_id} | set(_lines(fund, year).values_list("locality_id", flat=True))
    for org in _organisations(fund, year):
        ids |= {loc.pk for loc in org.localities.all()}
    return list(Locality.objects.filter(pk__in=[i for i in ids if i]).order_by("gss_code"))


def _service_areas(fund: PooledFund, year: FinancialYear) -> list[ServiceArea]:
    ids = set(_lines(fund, year).values_list("service_area_id", flat=True))
    areas = {a.pk: a for a in ServiceArea.objects.filter(pk__in=ids).select_related("parent")}
    for area in list(areas.values()):
        if area.parent_id and area.parent_id not in areas:
            areas[area.parent_id] = area.parent  # type: ignore[assignment]
    return sorted(areas.values(), key=lambda a: (a.parent_id is not None, a.code))


def _people(fund: PooledFund, year: FinancialYear) -> list[Any]:
    user_model = get_user_model()
    ids: set[int] = set()
    for budget in FundBudget.objects.filter(fund=fund, year=year):
        ids |= {budget.submitted_by_id or 0, budget.approved_by_id or 0}
    ids |= set(
        FundPeriod.objects.filter(fund=fund, period__year=year).values_list(
            "changed_by_id", flat=True
        )
    )
    ids |= set(_lines(fund, year).values_list("updated_by_id", flat=True))
    ids |= set(
        BudgetAdjustment.objects.filter(line__fund=fund, line__year=year).values_list(
            "created_by_id", flat=True
        )
    )
    for field in ("requested_by_id", "decided_by_id"):
        ids |= set(
            Virement.objects.filter(fund=fund, from_line__year=year).values_list(field, flat=True)
        )
    ids |= set(
        Forecast.objects.filter(line__fund=fund, line__year=year).values_list(
            "updated_by_id", flat=True
        )
    )
    ids |= set(_postings(fund, year).values_list("created_by_id", flat=True).distinct())
    return list(
        user_model.objects.filter(pk__in=[i for i in ids if i])
        .select_related("organisation")
        .order_by("username")
    )


def _tables() -> list[Table]:
    tables = [
        Table(
            "localities",
            [
                "gss_code",
                "name",
                "old_la_code",
                "population_mid2011",
                "population_mid2015",
                "population_mid2015_verified",
                "need_index",
                "cost_index",
            ],
            lambda f, y: (
                [
                    lo.gss_code,
                    lo.name,
                    lo.old_la_code,
                    lo.population_mid2011,
                    lo.population_mid2015,
                    lo.population_mid2015_verified,
                    lo.need_index,
                    lo.cost_index,
                ]
                for lo in _localities(f, y)
            ),
        ),
        Table(
            "organisations",
            [
                "code",
                "code_system",
                "name",
                "short_name",
                "kind",
                "localities",
                "valid_from",
                "valid_to",
                "verified",
                "notes",
            ],
            lambda f, y: (
                [
                    o.code,
                    o.code_system,
                    o.name,
                    o.short_name,
                    o.kind,
                    ";".join(sorted(lo.gss_code for lo in o.localities.all())),
                    o.valid_from,
                    o.valid_to,
                    o.verified,
                    o.notes,
                ]
                for o in _organisations(f, y)
            ),
        ),
        Table(
            "people",
            ["username", "first_name", "last_name", "email", "organisation"],
            lambda f, y: (
                [
                    u.username,
                    u.first_name,
                    u.last_name,
                    u.email,
                    u.organisation.code if u.organisation_id else "",
                ]
                for u in _people(f, y)
            ),
        ),
        Table(
            "service_areas",
            ["code", "name", "parent", "maps_to"],
            lambda f, y: (
                [a.code, a.name, a.parent.code if a.parent is not None else "", a.maps_to]
                for a in _service_areas(f, y)
            ),
        ),
        Table(
            "periods",
            ["year", "year_start", "year_end", "number", "start_date", "end_date"],
            lambda f, y: (
                [y.code, y.start_date, y.end_date, p.number, p.start_date, p.end_date]
                for p in Period.objects.filter(year=y).order_by("number")
            ),
        ),
        Table(
            "fund",
            [
                "code",
                "name",
                "scope",
                "locality",
                "arrangement",
                "host",
                "is_bcf",
                "rag_amber_pct",
                "rag_red_pct",
                "rag_floor",
                "officer_virement_limit",
            ],
            lambda f, y: [
                [
                    f.code,
                    f.name,
                    f.scope,
                    f.locality.gss_code if f.locality is not None else "",
                    f.arrangement,
                    f.host.code,
                    f.is_bcf,
                    f.rag_amber_pct,
                    f.rag_red_pct,
                    f.rag_floor,
                    f.officer_virement_limit,
                ]
            ],
        ),
        Table(
            "fund_budget",
            ["status", "submitted_by", "submitted_at", "approved_by", "approved_at"],
            lambda f, y: (
                [
                    b.status,
                    _user(b.submitted_by),
                    b.submitted_at,
                    _user(b.approved_by),
                    b.approved_at,
                ]
                for b in FundBudget.objects.filter(fund=f, year=y)
            ),
        ),
        Table(
            "fund_periods",
            ["period", "status", "changed_by", "changed_at", "reason"],
            lambda f, y: (
                [_period_code(fp.period), fp.status, _user(fp.changed_by), fp.changed_at, fp.reason]
                for fp in FundPeriod.objects.filter(fund=f, period__year=y)
                .select_related("period__year", "changed_by")
                .order_by("period__number")
            ),
        ),
        Table(
            "contributions",
            ["partner", "amount", "share", "shares_fixed_at"],
            lambda f, y: (
                [c.partner.code, c.amount, c.share, c.shares_fixed_at]
                for c in Contribution.objects.filter(fund=f, year=y)
                .select_related("partner")
                .order_by("partner__code")
            ),
        ),
        Table(
            "contribution_instalments",
            ["partner", "due_date", "amount", "paid_on"],
            lambda f, y: (
                [i.contribution.partner.code, i.due_date, i.amount, i.paid_on]
                for i in ContributionInstalment.objects.filter(
                    contribution__fund=f, contribution__year=y
                )
                .select_related("contribution__partner")
                .order_by("contribution__partner__code", "due_date", "id")
            ),
        ),
        Table(
            "risk_share",
            ["rule", "parameters", "agreed_on", "notes"],
            lambda f, y: (
                [r.rule, r.parameters, r.agreed_on, r.notes]
                for r in RiskShareAgreement.objects.filter(fund=f, year=y)
            ),
        ),
        Table(
            "budget_lines",
            [
                "code",
                "name",
                "service_area",
                "locality",
                "lead_commissioner",
                "recurrent",
                "original_budget",
                "changes",
                "current_budget",
                "phasing_method",
                *MONTH_FIELDS,
                "version",
                "updated_by",
            ],
            lambda f, y: (
                [
                    ln.code,
                    ln.name,
                    ln.service_area.code,
                    ln.locality.gss_code if ln.locality is not None else "",
                    ln.lead_commissioner.code,
                    ln.recurrent,
                    ln.original_budget,
                    ln.changes,
                    ln.current_budget,
                    ln.phasing_method,
                    *(getattr(ln, m) for m in MONTH_FIELDS),
                    ln.version,
                    _user(ln.updated_by),
                ]
                for ln in _lines(f, y).order_by("code")
            ),
        ),
        Table(
            "budget_adjustments",
            ["line", "period", "amount", "recurrent", "reason", "created_by", "created_at"],
            lambda f, y: (
                [
                    a.line.code,
                    _period_code(a.period),
                    a.amount,
                    a.recurrent,
                    a.reason,
                    _user(a.created_by),
                    a.created_at,
                ]
                for a in BudgetAdjustment.objects.filter(line__fund=f, line__year=y)
                .select_related("line", "period__year", "created_by")
                .order_by("created_at", "id")
            ),
        ),
        Table(
            "virements",
            [
                "from_line",
                "to_line",
                "period",
                "amount",
                "recurrent",
                "reason",
                "status",
                "requested_by",
                "requested_at",
                "decided_by",
                "decided_at",
                "decision_note",
                "approval_reference",
                "applied_at",
            ],
            lambda f, y: (
                [
                    v.from_line.code,
                    v.to_line.code,
                    _period_code(v.period),
                    v.amount,
                    v.recurrent,
                    v.reason,
                    v.status,
                    _user(v.requested_by),
                    v.requested_at,
                    _user(v.decided_by),
                    v.decided_at,
                    v.decision_note,
                    v.approval_reference,
                    v.applied_at,
                ]
                for v in Virement.objects.filter(fund=f, from_line__year=y)
                .select_related(
                    "from_line", "to_line", "period__year", "requested_by", "decided_by"
                )
                .order_by("requested_at", "id")
            ),
        ),
        Table(
            "forecasts",
            ["line", "period", "amount", "commentary", "updated_by", "updated_at"],
            lambda f, y: (
                [
                    fc.line.code,
                    _period_code(fc.period),
                    fc.amount,
                    fc.commentary,
                    _user(fc.updated_by),
                    fc.updated_at,
                ]
                for fc in Forecast.objects.filter(line__fund=f, line__year=y)
                .select_related("line", "period__year", "updated_by")
                .order_by("line__code", "period__number")
            ),
        ),
        Table(
            "ledger_mappings",
            ["organisation", "cost_centre", "expense_code", "budget_line"],
            lambda f, y: (
                [m.organisation.code, m.cost_centre, m.expense_code, m.budget_line.code]
                for m in LedgerMapping.objects.filter(budget_line__fund=f, year=y)
                .select_related("organisation", "budget_line")
                .order_by("organisation__code", "cost_centre", "expense_code")
            ),
        ),
        Table(
            "spend_postings",
            [
                "organisation",
                "document_number",
                "line_number",
                "posting_date",
                "period",
                "budget_line",
                "amount",
                "supplier",
                "description",
                "is_accrual",
                "reverses",
                "created_by",
                "created_at",
            ],
            lambda f, y: (
                [
                    p.organisation.code,
                    p.document_number,
                    p.line_number,
                    p.posting_date,
                    _period_code(p.period),
                    p.budget_line.code,
                    p.amount,
                    p.supplier,
                    p.description,
                    p.is_accrual,
                    _posting_key(p.reverses),
                    _user(p.created_by),
                    p.created_at,
                ]
                for p in _postings(f, y).iterator(chunk_size=5000)
            ),
        ),
    ]
    commitment = _commitment_model()
    if commitment is not None:
        tables.append(
            Table(
                "line_commitments",
                ["line", "period_number", "amount", "source_ref"],
                lambda f, y: (
                    [c.line.code, c.period_number, c.amount, c.source_ref]
                    for c in commitment.objects.filter(line__fund=f, line__year=y)  # type: ignore[attr-defined]
                    .select_related("line")
                    .order_by("line__code", "period_number", "source_ref")
                ),
            )
        )
    return tables


def control_totals(fund: PooledFund, year: FinancialYear) -> dict[str, str]:
    lines = _lines(fund, year)
    postings = SpendPosting.objects.filter(fund=fund, budget_line__year=year)
    return {
        "budget_lines": str(lines.count()),
        "current_budget": _s(_money_sum(lines.aggregate(t=MoneySum("current_budget"))["t"])),
        "spend_postings": str(postings.count()),
        "spend_amount": _s(_money_sum(postings.aggregate(t=MoneySum("amount"))["t"])),
    }


def export_archive(*, fund: PooledFund, year: FinancialYear, out_dir: Path) -> dict[str, Any]:
    """Write the archive into `out_dir` (created; must be empty). Returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ArchiveError(f"{out_dir} is not empty; write the archive into an empty folder.")
    files: dict[str, dict[str, Any]] = {}
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic():  # one consistent read (REPEATABLE READ on PostgreSQL)
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for table in _tables():
            path = out_dir / f"{table.name}.csv"
            count = 0
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(table.columns)
                for row in table.rows(fund, year):
                    writer.writerow([_s(v) for v in row])
                    count += 1
            files[path.name] = {
                "sha256": _sha256(path),
                "rows": count,
                "bytes": path.stat().st_size,
            }
        totals = control_totals(fund, year)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "fund": fund.code,
        "year": year.code,
        "created_at": timezone.now().isoformat(),
        "files": files,
        "totals": totals,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


# ---- import -------------------------------------------------------------------------------------


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
        if _sha256(file) != meta["sha256"]:
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
    from localities.models import Locality, Organisation

    manifest = read_manifest(in_dir)
    if PooledFund.objects.filter(code=manifest["fund"]).exists():
        raise Conflict(
            f"Fund {manifest['fund']} already exists here; restore into an empty database."
        )
    user_model = get_user_model()
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
                    "population_mid2015_verified": _bool(row["population_mid2015_verified"]),
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
                    "valid_from": _date(row["valid_from"]),
                    "valid_to": _date(row["valid_to"]),
                    "verified": _bool(row["verified"]),
                    "notes": row["notes"],
                },
            )
            if created and row["localities"]:
                org.localities.set([localities[c] for c in row["localities"].split(";")])
        orgs = {o.code: o for o in Organisation.objects.all()}
        for row in _rows(in_dir, "people"):
            if not user_model.objects.filter(username=row["username"]).exists():
                person = user_model(
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
            for u in user_model.objects.filter(
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
                    "start_date": _date(row["year_start"]),
                    "end_date": _date(row["year_end"]),
                },
            )
            Period.objects.get_or_create(
                year=year,
                number=int(row["number"]),
                defaults={
                    "start_date": _date(row["start_date"]),
                    "end_date": _date(row["end_date"]),
                },
            )
        if year is None:
            year = FinancialYear.objects.get(code=manifest["year"])
        periods = {
            _period_code(p): p for p in Period.objects.filter(year=year).select_related("year")
        }

        (row,) = list(_rows(in_dir, "fund"))
        fund = PooledFund(
            code=row["code"],
            name=row["name"],
            scope=row["scope"],
            locality=localities.get(row["locality"]),
            arrangement=row["arrangement"],
            host=orgs[row["host"]],
            is_bcf=_bool(row["is_bcf"]),
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
                submitted_at=_dt(row["submitted_at"]),
                approved_by=who(row["approved_by"]),
                approved_at=_dt(row["approved_at"]),
            )
        for row in _rows(in_dir, "fund_periods"):
            FundPeriod.objects.create(
                fund=fund,
                period=periods[row["period"]],
                status=row["status"],
                changed_by=who(row["changed_by"]),
                changed_at=_dt(row["changed_at"]),
                reason=row["reason"],
            )
        contributions = {}
        for row in _rows(in_dir, "contributions"):
            contributions[row["partner"]] = Contribution.objects.create(
                fund=fund,
                year=year,
                partner=orgs[row["partner"]],
                amount=Decimal(row["amount"]),
                share=_dec(row["share"]),
                shares_fixed_at=_dt(row["shares_fixed_at"]),
            )
        ContributionInstalment.objects.bulk_create(
            ContributionInstalment(
                contribution=contributions[row["partner"]],
                due_date=_req_date(row["due_date"]),
                amount=Decimal(row["amount"]),
                paid_on=_date(row["paid_on"]),
            )
            for row in _rows(in_dir, "contribution_instalments")
        )
        for row in _rows(in_dir, "risk_share"):
            RiskShareAgreement.objects.create(
                fund=fund,
                year=year,
                rule=row["rule"],
                parameters=json.loads(row["parameters"]) if row["parameters"] else {},
                agreed_on=_date(row["agreed_on"]),
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
                recurrent=_bool(row["recurrent"]),
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
                recurrent=_bool(row["recurrent"]),
                reason=row["reason"],
                created_by=who(row["created_by"]),
                created_at=_req_dt(row["created_at"]),
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
                recurrent=_bool(row["recurrent"]),
                reason=row["reason"],
                status=row["status"],
                requested_by=who(row["requested_by"]),
                requested_at=_req_dt(row["requested_at"]),
                decided_by=who(row["decided_by"]),
                decided_at=_dt(row["decided_at"]),
                decision_note=row["decision_note"],
                approval_reference=row["approval_reference"],
                applied_at=_dt(row["applied_at"]),
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
                updated_at=_dt(row["updated_at"]) or now,
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
        commitment = _commitment_model()
        if commitment is not None:
            commitment.objects.bulk_create(  # type: ignore[attr-defined]
                commitment(
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
        from budgets.outbox import mark_stale

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
            posting_date=_req_date(row["posting_date"]),
            period=periods[row["period"]],
            fund=fund,
            budget_line=lines[row["budget_line"]],
            amount=Decimal(row["amount"]),
            supplier=row["supplier"],
            description=row["description"],
            is_accrual=_bool(row["is_accrual"]),
            reverses=reverses,
            created_by=who(row["created_by"]),
            created_at=_dt(row["created_at"]) or timezone.now(),
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


# ---- what must survive a round trip -------------------------------------------------------------


def fingerprint(fund: PooledFund, year: FinancialYear) -> dict[str, Any]:
    """Everything the variance report is computed from, plus the report itself when available."""
    lines = {
        ln.code: {
            "current_budget": _s(ln.current_budget),
            "original_budget": _s(ln.original_budget),
            "changes": _s(ln.changes),
            "phasing": [_s(getattr(ln, m)) for m in MONTH_FIELDS],
            "service_area": ln.service_area.code,
            "lead_commissioner": ln.lead_commissioner.code,
        }
        for ln in _lines(fund, year)
    }
    actuals = {
        f"{r['budget_line__code']}|{r['period__number']}": _s(_money_sum(r["total"]))
        for r in SpendPosting.objects.filter(fund=fund, budget_line__year=year)
        .values("budget_line__code", "period__number")
        .annotate(total=MoneySum("amount"))
    }
    forecasts = {
        f"{f.line.code}|{f.period.number}": _s(f.amount)
        for f in Forecast.objects.filter(line__fund=fund, line__year=year).select_related(
            "line", "period"
        )
    }
    result: dict[str, Any] = {
        "totals": control_totals(fund, year),
        "lines": lines,
        "actuals": actuals,
        "forecasts": forecasts,
        "periods_closed": sorted(
            fp.period.number
            for fp in FundPeriod.objects.filter(
                fund=fund, period__year=year, status="closed"
            ).select_related("period")
        ),
        "variance_reports": variance_reports(fund, year),
    }
    return result


def variance_reports(fund: PooledFund, year: FinancialYear) -> dict[str, Any]:
    """Each period's variance report as plain data."""
    from budgets.figures.recompute import recompute_fund_now
    from budgets.reports.variance import compute_variance_report

    recompute_fund_now(fund, full=True)  # every line, whatever marks are (or are not) waiting
    reports = {}
    for period in Period.objects.filter(year=year, number__lte=12).order_by("number"):
        report = compute_variance_report(fund=fund, period=period)
        reports[str(period.number)] = _plain_report(report)
    return reports


_VOLATILE = {
    "computed_at",
    "generated_at",
    "freshness",
    "figures_as_at",
    "pending",
    "as_at",
    "source",
}


def _plain_report(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain_report(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _VOLATILE and not f.name.endswith("_id") and f.name != "id"
        }
    if isinstance(value, dict):
        return {str(k): _plain_report(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list | tuple):
        return [_plain_report(v) for v in value]
    if isinstance(value, Decimal | date | datetime):
        return _s(value)
    if isinstance(value, models.Model):
        return str(value)
    return value
