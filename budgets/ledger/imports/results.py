"""What an import found and did, written on its LedgerImport: progress, the problems (also as a CSV
file), the summary by fund and period, and the preview (rows to post by line, rows outside the
pooled funds, unmapped pairs) that "Post" compares with before it posts."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from budgets.models import LedgerImport
from gmhsc.money import format_money

ERRORS_SHOWN = 1000
PROGRESS_EVERY = 10_000
PREVIEW_LINES_SHOWN = 2000
TOP_COST_CENTRES = 10
TERMINAL = {
    LedgerImport.Status.POSTED,
    LedgerImport.Status.NOTHING_NEW,
    LedgerImport.Status.REJECTED,
    LedgerImport.Status.FAILED,
    LedgerImport.Status.PREVIEWED,
}


@dataclass
class Found:
    """What checking a file found, whichever engine checked it."""

    rows: int = 0  # data rows read
    summary: list[dict[str, Any]] = field(default_factory=list)  # by fund and period
    by_line: list[dict[str, Any]] | None = None  # by fund, line and period (previews)
    outside_rows: int = 0
    outside_amount: Decimal = Decimal("0.00")
    outside_top: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def to_post(self) -> int:
        return sum(int(s["rows"]) for s in self.summary)

    @property
    def new(self) -> int:
        return sum(int(s["posted"]) for s in self.summary)

    def fingerprint(self) -> str:
        """What posting would do: every (fund, line, period) with its rows, new rows and amount,
        and the rows left out. "Post" posts only if this is what the preview showed."""
        body = json.dumps(
            [self.by_line or [], self.outside_rows, str(self.outside_amount)],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def preview(self) -> dict[str, Any]:
        lines = self.by_line or []
        return {
            "rows_read": self.rows,
            "rows_to_post": self.to_post,
            "rows_new": self.new,
            "by_line": lines[:PREVIEW_LINES_SHOWN],
            "by_line_count": len(lines),
            "outside": {
                "rows": self.outside_rows,
                "amount": str(self.outside_amount),
                "top_cost_centres": self.outside_top,
            },
            "unmapped": self.unmapped,
            "fingerprint": self.fingerprint(),
        }


def top_cost_centres(by_cost_centre: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cost centres with the most left-out spend (by size), with rows and amount."""
    ranked = sorted(by_cost_centre.items(), key=lambda kv: (-abs(kv[1][1]), kv[0]))
    return [
        {"cost_centre": cc, "rows": int(n), "amount": str(amount)}
        for cc, (n, amount) in ranked[:TOP_COST_CENTRES]
    ]


def unmapped_list(pairs: dict[tuple[str, str, str], list[Any]]) -> list[dict[str, Any]]:
    return [
        {"year": y, "cost_centre": cc, "expense_code": ec, "rows": int(n), "amount": str(amount)}
        for (y, cc, ec), (n, amount) in sorted(pairs.items())
    ]


def progress(imp: LedgerImport, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(imp, name, value)
    LedgerImport.objects.filter(pk=imp.pk).update(**fields)


def finish(imp: LedgerImport, status: str, **fields: Any) -> None:
    progress(imp, status=status, finished_at=timezone.now(), **fields)


# ---- problems -------------------------------------------------------------------------------------


def error_file_name(imp: LedgerImport) -> str:
    return f"ledger-imports/errors/import-{imp.pk}-errors.csv"


def errors_csv_rows(errors: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    yield ["row", "column", "problem"]
    for e in errors:
        yield [e["row"], e["field"], e["message"]]


def neutralise(value: Any) -> Any:
    """Spreadsheet formula injection: a cell starting =, +, -, @ is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_error_file(imp: LedgerImport, rows: Iterable[list[Any]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    name = error_file_name(imp)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(out.getvalue().encode("utf-8")))


def error_file(imp: LedgerImport) -> bytes:
    """Every problem of a rejected import as CSV (row, column, problem)."""
    name = error_file_name(imp)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in errors_csv_rows(imp.errors or []):
        writer.writerow([neutralise(v) for v in row])
    return out.getvalue().encode("utf-8")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def finish_rejected(
    imp: LedgerImport,
    errors: list[dict[str, Any]],
    *,
    rows_checked: int | None = None,
    count: int | None = None,
    bad_rows: int | None = None,
    found: Found | None = None,
) -> None:
    """Problems found: nothing posted. `errors` are all the problems (Python engine, header) or
    the first ERRORS_SHOWN with `count` and `bad_rows` given (SQL engine, error file already
    written). A preview (dry run) keeps its preview so unmapped pairs can be mapped in place."""
    if count is None:
        write_error_file(imp, errors_csv_rows(errors))
        count = len(errors)
        bad_rows = len({e["row"] for e in errors})
    bad_rows = bad_rows or 0
    text = f"{_plural(count, 'problem')} found in {_plural(bad_rows, 'row')}; nothing was posted."
    if not imp.dry_run:
        text += " Correct the file and upload it again."
    elif found is not None and found.unmapped:
        text += " Map the unmapped pairs below and check again, or correct the file."
    fields: dict[str, Any] = {
        "errors": errors[:ERRORS_SHOWN],
        "error_count": count,
        "message": text,
        "rows_posted": 0,
    }
    if rows_checked is not None:
        fields["rows_checked"] = rows_checked
    if found is not None:
        fields["preview"] = found.preview()
        fields["rows_outside"] = found.outside_rows
        fields["amount_outside"] = found.outside_amount
    status = LedgerImport.Status.PREVIEWED if imp.dry_run else LedgerImport.Status.REJECTED
    finish(imp, status, **fields)


def _outside_text(found: Found) -> str:
    if not found.outside_rows:
        return ""
    return (
        f" {_plural(found.outside_rows, 'row')} ({format_money(found.outside_amount, pence=True)}) "
        f"{'was' if found.outside_rows == 1 else 'were'} left out as outside the pooled funds."
    )


def finish_previewed(imp: LedgerImport, found: Found, *, changed: bool = False) -> None:
    """Checked, nothing posted: what "Post" would post."""
    total = sum((Decimal(s["amount"]) for s in found.summary), Decimal("0.00"))
    already = found.to_post - found.new
    text = (
        f"Ready to post {_plural(found.new, 'row')} ({format_money(total, pence=True)} in all "
        f"{_plural(found.to_post, 'row')} to post)."
    )
    if already:
        text += f" {_plural(already, 'row')} {'is' if already == 1 else 'are'} already posted."
    text += _outside_text(found) + " Nothing is posted until you post it."
    if changed:
        text = (
            "The file would now post differently from the preview (mappings or months changed "
            "since), so nothing was posted. This is the new preview: check it and post again. "
            + text
        )
    finish(
        imp,
        LedgerImport.Status.PREVIEWED,
        dry_run=True,
        rows_total=found.rows,
        rows_checked=found.rows,
        rows_posted=0,
        rows_already_posted=already,
        summary=found.summary,
        preview=found.preview(),
        rows_outside=found.outside_rows,
        amount_outside=found.outside_amount,
        errors=[],
        error_count=0,
        message=text,
    )


def finish_posted(imp: LedgerImport, *, found: Found, posted: int) -> None:
    rows = found.to_post
    already = rows - posted
    if posted == 0:
        status = LedgerImport.Status.NOTHING_NEW
        text = f"Already imported: all {rows:,} rows were posted before, so nothing new was posted."
    else:
        status = LedgerImport.Status.POSTED
        total = sum((Decimal(s["amount"]) for s in found.summary), Decimal("0.00"))
        text = (
            f"Posted {_plural(posted, 'row')}; the file's {_plural(rows, 'row')}"
            f"{' to post' if found.outside_rows else ''} total {format_money(total, pence=True)}."
        )
        if already:
            text += (
                f" {_plural(already, 'row')} {'was' if already == 1 else 'were'} already posted "
                "and skipped."
            )
    text += _outside_text(found)
    fields: dict[str, Any] = {
        "rows_checked": found.rows,
        "rows_posted": posted,
        "rows_already_posted": already,
        "rows_total": found.rows,
        "summary": found.summary,
        "rows_outside": found.outside_rows,
        "amount_outside": found.outside_amount,
        "errors": [],
        "error_count": 0,
        "message": text,
    }
    if found.outside_rows or found.by_line is not None:
        fields["preview"] = found.preview()
    finish(imp, status, **fields)


def summary_total(imp: LedgerImport) -> Decimal:
    return sum((Decimal(s["amount"]) for s in imp.summary or []), Decimal("0.00"))
