"""Budget upload: a CSV of draft lines for one fund and year. Every row is checked first; one bad
row means nothing is written and every problem is reported (row number, field, problem).

Header, exactly: line_code,name,service_area,locality,lead_commissioner,annual_budget,phasing
followed by m01..m12 (the month columns are filled only on custom-phased rows and may be left out
of the header altogether when no row is custom).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db import transaction

from budgets import rules
from budgets.models import BudgetLine, Contribution, FinancialYear, PooledFund, ServiceArea
from budgets.outbox import mark_stale
from budgets.planning import phasing
from budgets.planning.services.funds import require_draft, require_view
from budgets.planning.services.lines import _apply_phasing, _create, _phase
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed, RowErrors
from gmhsc.money import ZERO, MoneyError, to_money
from gmhsc.text import problem as text_problem
from localities import roles
from localities.actors import Actor
from localities.models import Locality, Organisation

BASE_HEADER = [
    "line_code",
    "name",
    "service_area",
    "locality",
    "lead_commissioner",
    "annual_budget",
    "phasing",
]
MONTH_HEADER = [f"m{n:02d}" for n in range(1, 13)]
FULL_HEADER = BASE_HEADER + MONTH_HEADER
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class BudgetImportResult:
    fund: str
    year: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    total: Decimal = ZERO
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "year": self.year,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "total": str(self.total),
            "notes": self.notes,
        }


@dataclass
class _Row:
    number: int
    code: str
    name: str
    service_area: ServiceArea
    locality: Locality | None
    lead: Organisation
    amount: Decimal
    method: str
    custom: list[Decimal] | None


def _read_text(file: IO[bytes] | None, path: str | Path | None) -> str:
    if path is not None:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise ApplicationError(
                f"The file is {size:,} bytes; a budget upload may be at most 20 MB."
            )
        raw = Path(path).read_bytes()
    elif file is not None:
        raw = file.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ApplicationError(
                "The file is larger than 20 MB; a budget upload may be at most 20 MB."
            )
    else:
        raise ApplicationError("No file was given.")
    if not raw.strip():
        raise ApplicationError("The file is empty.")
    if b"\x00" in raw[:4096]:
        raise ApplicationError("This is not a CSV text file.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError("The file is not UTF-8 text; save it as CSV UTF-8.") from None


def _lookups(fund: PooledFund) -> dict[str, Any]:
    partners = set(Contribution.objects.filter(fund=fund).values_list("partner__code", flat=True))
    partners.add(fund.host.code)
    return {
        "areas": {a.code: a for a in ServiceArea.objects.all()},
        "localities_code": {loc.gss_code: loc for loc in Locality.objects.all()},
        "localities_name": {loc.name.lower(): loc for loc in Locality.objects.all()},
        "orgs": {o.code: o for o in Organisation.objects.filter(code__in=partners)},
        "partners": partners,
    }


def _text_ok(bad: Callable[[str, str], None], name: str, value: str, *, longest: int) -> bool:
    """A required text cell: safe, not empty, not longer than the column (else `bad` says so)."""
    problem = text_problem(value)
    if problem:
        bad(name, str(problem))
    elif not value:
        bad(name, "is empty")
    elif len(value) > longest:
        bad(name, f"is longer than {longest} characters")
    else:
        return True
    return False


def parse_rows(text: str, fund: PooledFund) -> list[_Row]:
    """Check every row; raise RowErrors listing every problem, or return the parsed rows."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if header not in (BASE_HEADER, FULL_HEADER):
        raise RowErrors(
            "The header is not the budget upload header.",
            [{"row": 1, "field": "header", "message": f"expected {','.join(FULL_HEADER)}"}],
        )
    has_months = header == FULL_HEADER
    found = _lookups(fund)
    errors: list[dict[str, Any]] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}

    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append(
                {
                    "row": number,
                    "field": "row",
                    "message": f"has {len(values)} columns, expected {len(header)}",
                }
            )
            continue
        cell = {name: value.strip() for name, value in zip(header, values, strict=True)}

        def bad(name: str, message: str, number: int = number) -> None:
            errors.append({"row": number, "field": name, "message": message})

        code = cell["line_code"]
        if _text_ok(bad, "line_code", code, longest=30):
            if code in seen:
                bad("line_code", f"{code} is already on row {seen[code]}")
            else:
                seen[code] = number
        name = cell["name"]
        _text_ok(bad, "name", name, longest=200)
        area = found["areas"].get(cell["service_area"])
        if area is None:
            bad("service_area", f"unknown service area '{cell['service_area']}'")
        locality = None
        if cell["locality"]:
            locality = found["localities_code"].get(cell["locality"]) or found[
                "localities_name"
            ].get(cell["locality"].lower())
            if locality is None:
                bad("locality", f"unknown locality '{cell['locality']}'")
        lead = found["orgs"].get(cell["lead_commissioner"])
        if lead is None:
            bad(
                "lead_commissioner",
                f"'{cell['lead_commissioner']}' is not a partner organisation of {fund.code}",
            )
        amount = None
        try:
            amount = to_money(cell["annual_budget"])
        except MoneyError as exc:
            bad("annual_budget", str(exc))
        method = cell["phasing"] or phasing.FLAT
        if method not in phasing.METHODS:
            bad("phasing", f"'{method}' is not one of {', '.join(phasing.METHODS)}")
        months = [cell.get(m, "") for m in MONTH_HEADER] if has_months else [""] * 12
        custom: list[Decimal] | None = None
        if method == phasing.CUSTOM:
            custom = []
            for month_name, value in zip(MONTH_HEADER, months, strict=True):
                try:
                    custom.append(to_money(value))
                except MoneyError as exc:
                    bad(month_name, str(exc))
            if len(custom) == 12 and amount is not None and sum(custom, ZERO) != amount:
                bad("phasing", f"m01..m12 add up to {sum(custom, ZERO)}, not {amount}")
        elif any(months):
            bad("phasing", "month values are only for custom phasing")
        if area is not None and lead is not None and amount is not None:
            rows.append(_Row(number, code, name, area, locality, lead, amount, method, custom))
    if not errors and not rows:
        raise ApplicationError("The file has a header but no lines.")
    if errors:
        plural = "problem" if len(errors) == 1 else "problems"
        raise RowErrors(f"{len(errors)} {plural} found; nothing was imported.", errors)
    return rows


def _require_importer(actor: Actor, fund: PooledFund, rows: list[_Row]) -> None:
    if rules.acts_for_host_finance(actor, fund):
        return
    if roles.has_role(actor, roles.COMMISSIONER):
        others = [r for r in rows if r.lead.pk != actor.organisation_id]
        if not others:
            return
        raise RowErrors(
            "You can upload only lines your organisation leads; nothing was imported.",
            [
                {
                    "row": r.number,
                    "field": "lead_commissioner",
                    "message": f"{r.lead.code} is not your organisation",
                }
                for r in others
            ],
        )
    raise NotAllowed("Only the host's finance officer or a commissioner can upload a budget.")


def import_budget_file(
    *,
    actor: Actor,
    fund: PooledFund,
    year: FinancialYear,
    file: IO[bytes] | None = None,
    path: str | Path | None = None,
) -> BudgetImportResult:
    """Create or update the draft lines in the file, all or nothing."""
    require_view(actor, fund)
    rows = parse_rows(_read_text(file, path), fund)
    _require_importer(actor, fund, rows)
    result = BudgetImportResult(fund=fund.code, year=year.code, rows=len(rows))
    with transaction.atomic():
        require_draft(fund, year)
        existing = {
            line.code: line
            for line in BudgetLine.objects.select_for_update().filter(
                fund=fund, year=year, code__in=[r.code for r in rows]
            )
        }
        for row in rows:
            line = existing.get(row.code)
            if line is None:
                _, note = _create(
                    actor=actor,
                    fund=fund,
                    year=year,
                    code=row.code,
                    name=row.name,
                    service_area=row.service_area,
                    lead_commissioner=row.lead,
                    locality=row.locality,
                    recurrent=True,
                    annual_budget=row.amount,
                    phasing_method=row.method,
                    custom=row.custom,
                    reason="Budget upload",
                )
                result.created += 1
            else:
                phased = _phase(
                    row.amount, row.method, custom=row.custom, fund=fund, year=year, code=row.code
                )
                note = phased.note
                line.name = row.name
                line.service_area = row.service_area
                line.locality = row.locality
                line.lead_commissioner = row.lead
                line.original_budget = line.current_budget = row.amount
                line.changes = ZERO
                line.phasing_method = phased.method
                _apply_phasing(line, phased.parts)
                line.version += 1
                line.updated_by = actor
                audit(line, actor=actor, reason="; ".join(p for p in ("Budget upload", note) if p))
                line.save()
                result.updated += 1
            if note:
                result.notes.append(f"Row {row.number} ({row.code}): {note}")
            result.total += row.amount
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="budget upload")
    return result
