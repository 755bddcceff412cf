"""Ledger CSV import: every row checked before anything is posted; all or nothing; re-import safe.

    organisation,document_number,line_number,posting_date,cost_centre,expense_code,amount,supplier,
    description[,budget_line][,period][,is_accrual]

UTF-8 with or without a byte-order mark, up to settings.GMHSC_MAX_UPLOAD_ROWS rows. A row's budget
line comes from the organisation's ledger mapping (cost centre + expense code, in the financial year
of the row's period or posting date) unless the optional `budget_line` column names a line code.

Two engines, one set of rules and messages (budgets.services.ledger.MESSAGES):
- PostgreSQL: COPY into a temporary staging table, set-based checks in SQL (joins to mappings,
  lines, periods and fund periods; duplicates by window), every problem collected per row, then one
  INSERT ... SELECT ... ON CONFLICT DO NOTHING.
- Anything else (SQLite in development and tests): the same checks row by row in Python.

Files of settings.GMHSC_IMPORT_ASYNC_ROWS rows or more run as the Celery task
"budgets.tasks.import_ledger"; the LedgerImport row carries progress, errors and the summary.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from budgets.models import BudgetLine, FinancialYear, LedgerImport, LedgerMapping
from budgets.services import ledger as ledger_rules
from budgets.services.ledger import (
    AMOUNT_PATTERN,
    MESSAGES,
    RowChecker,
    RowFieldError,
    insert_checked,
    lock_organisation,
    message,
    partner_fund_ids,
    require_poster,
    stale_after_posting,
    summarise,
)
from gmhsc.errors import ApplicationError
from gmhsc.uploads import UploadRefused, check_upload
from localities.models import Organisation

logger = logging.getLogger(__name__)

HEADER = [
    "organisation",
    "document_number",
    "line_number",
    "posting_date",
    "cost_centre",
    "expense_code",
    "amount",
    "supplier",
    "description",
]
OPTIONAL = ["budget_line", "period", "is_accrual"]
ERRORS_SHOWN = 1000
PROGRESS_EVERY = 10_000
TERMINAL = {
    LedgerImport.Status.POSTED,
    LedgerImport.Status.NOTHING_NEW,
    LedgerImport.Status.REJECTED,
    LedgerImport.Status.FAILED,
}


# Seconds per step of the last SQL-engine run in this process (for the benchmark and the logs).
LAST_TIMINGS: dict[str, float] = {}
timings = LAST_TIMINGS
_mark = [0.0]


def _lap() -> float:
    now = time.perf_counter()
    elapsed, _mark[0] = now - _mark[0], now
    return round(elapsed, 3)


class HeaderError(ApplicationError):
    code = "bad_header"


# ---- starting an import ---------------------------------------------------------------------------


def expected_header_text() -> str:
    return ",".join(HEADER) + " (then any of " + ",".join(OPTIONAL) + ")"


def check_header(fields: list[str]) -> list[str]:
    """The columns of a good header, or HeaderError saying what is wrong."""
    names = [f.strip(ledger_rules.STRIP) for f in fields]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
    if not any(names):
        raise HeaderError(f"The first row must be the header: {expected_header_text()}.")
    if names[: len(HEADER)] != HEADER:
        found = ",".join(names[: len(HEADER) + len(OPTIONAL)])
        missing = [h for h in HEADER if h not in names]
        detail = f"missing {', '.join(missing)}" if missing else "columns out of order"
        raise HeaderError(
            f"The header is wrong ({detail}). Expected {expected_header_text()}; found {found}."
        )
    extra = names[len(HEADER) :]
    unknown = [n for n in extra if n not in OPTIONAL]
    if unknown or len(set(extra)) != len(extra):
        raise HeaderError(
            f"The header has unexpected columns ({', '.join(unknown) or 'repeated'}). "
            f"Expected {expected_header_text()}."
        )
    return names


def _sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def start_import(
    *,
    actor: Any,
    organisation: Organisation,
    upload: Any,
    original_name: str = "",
    run_now: bool | None = None,
    recheck: bool = False,
) -> LedgerImport:
    """Check the file (size, type, text, rows), store it and run or enqueue the import.

    Refuses an empty, binary, oversized or over-long file with UploadRefused before anything is
    stored. run_now None: small files run at once, large ones (GMHSC_IMPORT_ASYNC_ROWS) as a task.
    """
    require_poster(actor, organisation)
    check_upload(upload, max_bytes=settings.GMHSC_MAX_UPLOAD_BYTES, allowed_types=["csv"])
    _refuse_non_utf8_start(upload)
    # The exact count (and the row limit) comes from the engine; lines are enough to choose
    # between running now and queueing a task.
    estimate = _data_lines(upload)
    if estimate == 0:
        raise UploadRefused("The file has a header row but no data rows.")
    name = Path(original_name or getattr(upload, "name", "") or "ledger.csv").name
    imp = LedgerImport(
        organisation=organisation,
        uploaded_by=actor,
        original_name=name[:255],
        sha256=_sha256(upload),
        rows_total=estimate,
        status=LedgerImport.Status.PENDING,
    )
    upload.seek(0)
    imp.file.save(name, File(upload, name=name), save=False)
    imp.save()
    if run_now is None:
        run_now = imp.rows_total < settings.GMHSC_IMPORT_ASYNC_ROWS
    if run_now:
        run_import(imp.pk, recheck=recheck)
        imp.refresh_from_db()
    else:
        from budgets.ledger_tasks import import_ledger

        pk = imp.pk
        transaction.on_commit(lambda: import_ledger.delay(pk))
    return imp


def _data_lines(upload: Any) -> int:
    upload.seek(0)
    newlines = 0
    last = b""
    for chunk in iter(lambda: upload.read(1 << 20), b""):
        newlines += chunk.count(b"\n")
        last = chunk
    upload.seek(0)
    lines = newlines + (1 if last and not last.endswith(b"\n") else 0)
    return max(lines - 1, 0)


def _too_many_rows_text() -> str:
    limit = settings.GMHSC_MAX_UPLOAD_ROWS
    return f"The file has more than {limit:,} rows; split it into files of at most {limit:,} rows."


def _refuse_non_utf8_start(upload: Any) -> None:
    upload.seek(0)
    head = upload.read(65536)
    upload.seek(0)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the chunk's end
            raise UploadRefused(
                "The file is not a UTF-8 CSV file. Save it as 'CSV UTF-8' and upload it again."
            ) from None


def import_ledger_file(
    *,
    actor: Any,
    organisation: Organisation,
    path: str | Path,
    run_now: bool = True,
    recheck: bool = False,
) -> LedgerImport:
    """The command-line import (`manage.py import_ledger FILE --organisation CODE`)."""
    path = Path(path)
    if not path.exists():
        raise UploadRefused(f"{path} does not exist.")
    with path.open("rb") as handle:
        return start_import(
            actor=actor,
            organisation=organisation,
            upload=File(handle, name=path.name),
            original_name=path.name,
            run_now=run_now,
            recheck=recheck,
        )


# ---- running an import ----------------------------------------------------------------------------


def _progress(imp: LedgerImport, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(imp, name, value)
    LedgerImport.objects.filter(pk=imp.pk).update(**fields)


def run_import(import_id: int, *, engine: str | None = None, recheck: bool = False) -> LedgerImport:
    """Check and post one stored import. Safe to run again: a finished import is left alone, and
    a re-run posts only rows not yet posted (the natural key is unique).

    The same file (same SHA-256) already imported in full for the organisation posts nothing
    without checking every row again - its rows are posted and postings are never deleted -
    unless `recheck`."""
    imp = LedgerImport.objects.select_related("organisation", "uploaded_by").get(pk=import_id)
    if imp.status in TERMINAL:
        return imp
    if not recheck and _same_file_already_posted(imp):
        imp.refresh_from_db()
        return imp
    _progress(imp, status=LedgerImport.Status.CHECKING, rows_checked=0, rows_posted=0)
    if engine is None:
        engine = "sql" if connection.vendor == "postgresql" else "python"
    try:
        with imp.file.open("rb") as handle:
            header = _read_header(handle)
            columns = check_header(header)
            if engine == "sql":
                _run_sql(imp, handle, columns)
            else:
                _run_python(imp, handle, columns)
    except HeaderError as exc:
        _finish_rejected(imp, [{"row": 1, "field": "header", "message": exc.message}])
    except UploadRefused as exc:
        _finish(imp, LedgerImport.Status.FAILED, message=exc.message)
    except Exception:
        logger.exception("ledger import %s failed", imp.pk)
        _finish(
            imp,
            LedgerImport.Status.FAILED,
            message="The import failed unexpectedly; nothing was posted. Upload the file again.",
        )
        raise
    imp.refresh_from_db()
    return imp


def _same_file_already_posted(imp: LedgerImport) -> bool:
    if not imp.sha256:
        return False
    earlier = (
        LedgerImport.objects.filter(
            organisation_id=imp.organisation_id,
            sha256=imp.sha256,
            status__in=[LedgerImport.Status.POSTED, LedgerImport.Status.NOTHING_NEW],
        )
        .exclude(pk=imp.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if earlier is None:
        return False
    rows = earlier.rows_total
    when = timezone.localtime(earlier.finished_at or earlier.created_at)
    _finish(
        imp,
        LedgerImport.Status.NOTHING_NEW,
        rows_total=rows,
        rows_checked=rows,
        rows_posted=0,
        rows_already_posted=rows,
        summary=[{**entry, "posted": 0} for entry in earlier.summary or []],
        errors=[],
        error_count=0,
        message=(
            f"Already imported: this file was imported on {when:%-d %B %Y at %H:%M} "
            f"(import {earlier.pk}) and all its {rows:,} rows are posted, so nothing new was "
            "posted."
        ),
    )
    return True


def _read_header(handle: IO[bytes]) -> list[str]:
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        first = next(csv.reader(text), [])
    except UnicodeDecodeError:
        raise UploadRefused("The file is not a UTF-8 CSV file.") from None
    except csv.Error as exc:
        raise HeaderError(f"The header could not be read: {exc}.") from None
    finally:
        text.detach()
    handle.seek(0)
    return first


def _finish(imp: LedgerImport, status: str, **fields: Any) -> None:
    _progress(imp, status=status, finished_at=timezone.now(), **fields)


def error_file_name(imp: LedgerImport) -> str:
    return f"ledger-imports/errors/import-{imp.pk}-errors.csv"


def errors_csv_rows(errors: list[dict[str, Any]]) -> Iterator[list[Any]]:
    yield ["row", "column", "problem"]
    for e in errors:
        yield [e["row"], e["field"], e["message"]]


def _write_error_file(imp: LedgerImport, rows: Iterator[list[Any]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_neutralise(v) for v in row])
    name = error_file_name(imp)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(out.getvalue().encode("utf-8")))


def _neutralise(value: Any) -> Any:
    """Spreadsheet formula injection: a cell starting =, +, -, @ is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def error_file(imp: LedgerImport) -> bytes:
    """Every problem of a rejected import as CSV (row, column, problem)."""
    name = error_file_name(imp)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in errors_csv_rows(imp.errors or []):
        writer.writerow([_neutralise(v) for v in row])
    return out.getvalue().encode("utf-8")


def _finish_rejected(
    imp: LedgerImport,
    errors: list[dict[str, Any]],
    *,
    rows_checked: int | None = None,
    count: int | None = None,
    bad_rows: int | None = None,
) -> None:
    """Rejected: nothing posted. `errors` are all the problems (Python engine, header) or the
    first ERRORS_SHOWN with `count` and `bad_rows` given (SQL engine, error file already written)."""
    if count is None:
        _write_error_file(imp, errors_csv_rows(errors))
        count = len(errors)
        bad_rows = len({e["row"] for e in errors})
    bad_rows = bad_rows or 0
    text = (
        f"{count:,} problem{'s' if count != 1 else ''} found in {bad_rows:,} "
        f"row{'s' if bad_rows != 1 else ''}; nothing was posted. Correct the file and upload it "
        "again."
    )
    fields: dict[str, Any] = {
        "errors": errors[:ERRORS_SHOWN],
        "error_count": count,
        "message": text,
        "rows_posted": 0,
    }
    if rows_checked is not None:
        fields["rows_checked"] = rows_checked
    _finish(imp, LedgerImport.Status.REJECTED, **fields)


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def _finish_posted(
    imp: LedgerImport, *, rows: int, posted: int, summary: list[dict[str, Any]]
) -> None:
    already = rows - posted
    if posted == 0:
        status = LedgerImport.Status.NOTHING_NEW
        text = f"Already imported: all {rows:,} rows were posted before, so nothing new was posted."
    else:
        status = LedgerImport.Status.POSTED
        total = sum((Decimal(s["amount"]) for s in summary), Decimal("0.00"))
        text = f"Posted {_rows(posted)}; the file's {_rows(rows)} total £{total:,.2f}."
        if already:
            text += (
                f" {_rows(already)} {'was' if already == 1 else 'were'} already posted and skipped."
            )
    _finish(
        imp,
        status,
        rows_checked=rows,
        rows_posted=posted,
        rows_already_posted=already,
        rows_total=rows,
        summary=summary,
        errors=[],
        error_count=0,
        message=text,
    )


# ---- the Python engine ----------------------------------------------------------------------------


class CsvLines:
    """Finds a row's budget line: the `budget_line` code if given, else the ledger mapping."""

    def __init__(self, organisation: Organisation) -> None:
        self.mappings: dict[tuple[int, str, str], BudgetLine] = {
            (m.year_id, m.cost_centre, m.expense_code): m.budget_line
            for m in LedgerMapping.objects.filter(organisation=organisation).select_related(
                "budget_line__fund", "budget_line__year"
            )
        }
        self.partner_funds = partner_fund_ids(organisation)
        self._codes: dict[tuple[int, str], list[BudgetLine]] | None = None

    def _lines_by_code(self) -> dict[tuple[int, str], list[BudgetLine]]:
        if self._codes is None:
            self._codes = {}
            for line in BudgetLine.objects.filter(fund_id__in=self.partner_funds).select_related(
                "fund", "year"
            ):
                self._codes.setdefault((line.year_id, line.code), []).append(line)
        return self._codes

    def __call__(self, values: dict[str, Any], year: FinancialYear | None) -> BudgetLine | None:
        if year is None:
            return None
        code = (values.get("budget_line") or "").strip(ledger_rules.STRIP)
        if code:
            found = self._lines_by_code().get((year.pk, code), [])
            if not found:
                raise RowFieldError("budget_line", message("line_unknown", value=code))
            if len(found) > 1:
                raise RowFieldError("budget_line", message("line_ambiguous", value=code))
            return found[0]
        cost_centre = (values.get("cost_centre") or "").strip(ledger_rules.STRIP)
        expense_code = (values.get("expense_code") or "").strip(ledger_rules.STRIP)
        line = self.mappings.get((year.pk, cost_centre, expense_code))
        if line is None:
            raise RowFieldError(
                "cost_centre",
                message(
                    "no_mapping",
                    cost_centre=cost_centre,
                    expense_code=expense_code,
                    year=year.code,
                ),
            )
        return line


def _run_python(imp: LedgerImport, handle: IO[bytes], columns: list[str]) -> None:
    organisation = imp.organisation
    org_ids = dict(Organisation.objects.values_list("code", "pk"))
    checker = RowChecker(organisation)
    resolve = CsvLines(organisation)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    next(reader, None)
    rows = 0
    try:
        for number, record in enumerate(reader, start=2):
            rows += 1
            if len(record) != len(columns):
                checker.error(
                    number, "row", message("columns", found=len(record), expected=len(columns))
                )
                continue
            values = dict(zip(columns, record, strict=True))
            failed = _check_organisation(checker, number, values, organisation, org_ids)
            checker.check(number, values, resolve, failed=failed)
            if rows % PROGRESS_EVERY == 0:
                _progress(imp, rows_checked=rows)
    except UnicodeDecodeError:
        raise UploadRefused(
            "The file is not a UTF-8 CSV file. Save it as 'CSV UTF-8' and upload it again."
        ) from None
    except csv.Error as exc:
        raise UploadRefused(f"The CSV file could not be read: {exc}.") from None
    finally:
        text.detach()
    _progress(imp, rows_checked=rows, rows_total=rows)
    if rows > settings.GMHSC_MAX_UPLOAD_ROWS:
        raise UploadRefused(_too_many_rows_text())
    if rows == 0:
        raise UploadRefused("The file has a header row but no data rows.")
    with transaction.atomic():
        lock_organisation(organisation)
        checker.finish()
        if checker.errors:
            transaction.set_rollback(True)
            errors = checker.errors
        else:
            errors = []
            _progress(imp, status=LedgerImport.Status.POSTING)
            insert_checked(
                actor=imp.uploaded_by,
                organisation=organisation,
                rows=checker.rows,
                ledger_import=imp,
                return_postings=False,
            )
    if errors:
        _finish_rejected(imp, errors, rows_checked=rows)
        return
    posted = sum(1 for r in checker.rows if not r.already_posted)
    _finish_posted(imp, rows=rows, posted=posted, summary=summarise(checker.rows))


def _check_organisation(
    checker: RowChecker,
    number: int,
    values: dict[str, Any],
    organisation: Organisation,
    org_ids: dict[str, int],
) -> bool:
    code = (values.get("organisation") or "").strip(ledger_rules.STRIP)
    if not code:
        checker.error(number, "organisation", message("required"))
        return True
    if code not in org_ids:
        checker.error(number, "organisation", message("org_unknown", value=code))
        return True
    if org_ids[code] != organisation.pk:
        checker.error(
            number, "organisation", message("org_other", value=code, expected=organisation.code)
        )
        return True
    return False


# ---- the PostgreSQL engine ------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_message(key: str, **exprs: str) -> str:
    """MESSAGES[key] as a SQL expression: each {name} becomes the SQL expression exprs[name]."""
    parts: list[str] = []
    template = MESSAGES[key]
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(_literal(template[position : match.start()]))
        parts.append(f"({exprs[match[1]]})::text")
        position = match.end()
    if position < len(template):
        parts.append(_literal(template[position:]))
    return "concat(" + ", ".join(parts) + ")"


def _trim(expr: str) -> str:
    """Blanks trimmed; empty (quoted or not) becomes NULL, as Python's reader sees ''."""
    return f"nullif(btrim({expr}, E' \\t\\r\\n'), '')"


def _long_date(expr: str) -> str:
    return f"to_char({expr}, 'FMDD FMMonth YYYY')"


_TRUE = "('1','true','yes','y','t')"
_FALSE = "('','0','false','no','n','f')"


def _run_sql(imp: LedgerImport, handle: IO[bytes], columns: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # compiling these one-off queries would cost seconds
        # The date table's hash (12 MB) and the summary's grouping stay in memory.
        cursor.execute("SET work_mem = '32MB'")
    try:
        _run_sql_steps(imp, handle, columns)
    finally:
        if not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("RESET jit")
                    cursor.execute("RESET work_mem")
            except DatabaseError:
                logger.warning("could not reset settings after ledger import %s", imp.pk)


def _run_sql_steps(imp: LedgerImport, handle: IO[bytes], columns: list[str]) -> None:
    import psycopg

    organisation = imp.organisation
    org_id = organisation.pk
    partner_funds = sorted(partner_fund_ids(organisation)) or [0]
    LAST_TIMINGS.clear()
    _lap()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor, for COPY
        # Staging lives in session-local temporary tables (no WAL); give them room in memory.
        # (Takes effect only before the session's first temporary table.)
        cursor.execute("SET temp_buffers = '256MB'")
        cursor.execute(
            "DROP TABLE IF EXISTS ledger_stage, ledger_res, ledger_err, ledger_bad, ledger_periods, "
            "ledger_years, ledger_days"
        )
        names = ", ".join(f"{c} text" for c in HEADER + OPTIONAL)
        cursor.execute(
            f"CREATE TEMP TABLE ledger_stage (n bigint GENERATED ALWAYS AS IDENTITY, {names})"
        )
        handle.seek(0)
        try:
            with (
                transaction.atomic(),
                raw.copy(
                    f"COPY ledger_stage ({', '.join(columns)}) FROM STDIN "
                    "WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
                ) as copy,
            ):
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    copy.write(chunk)
        except (
            psycopg.errors.BadCopyFileFormat,
            psycopg.errors.CharacterNotInRepertoire,
            psycopg.errors.UntranslatableCharacter,
            psycopg.DataError,
        ) as exc:
            # Ragged rows or bad bytes: let the Python reader name every such row.
            logger.info("COPY refused ledger import %s: %s", imp.pk, exc)
            handle.seek(0)
            _report_structure(imp, handle, columns)
            return
        rows = max(raw.rowcount, 0)
        # The planner's row estimates for the joins below (a fresh temporary table has none).
        cursor.execute("ANALYZE ledger_stage")
        timings["copy"] = _lap()
        _progress(imp, rows_total=rows)
        if rows > settings.GMHSC_MAX_UPLOAD_ROWS:
            cursor.execute("DROP TABLE IF EXISTS ledger_stage")
            raise UploadRefused(_too_many_rows_text())
        _build_resolved(cursor, org_id, partner_funds)
        _progress(imp, rows_checked=rows)
        cursor.execute("SELECT count(*) FROM ledger_err")
        error_count = int(cursor.fetchone()[0])
        if error_count:
            _reject_from_table(imp, cursor, error_count, rows)
            return
        with transaction.atomic():
            lock_organisation(organisation)
            cursor.execute(_CLOSED_NOW)
            if cursor.fetchone()[0]:
                # A period closed while the rows were checked: check the closed rule again.
                cursor.execute("DELETE FROM ledger_err")
                cursor.execute(_closed_errors_sql())
                cursor.execute("SELECT count(*) FROM ledger_err")
                error_count = int(cursor.fetchone()[0])
            if not error_count:
                _progress(imp, status=LedgerImport.Status.POSTING)
                params = [imp.pk, imp.uploaded_by_id, org_id]
                try:
                    # A plain INSERT: every row was checked as not yet posted, and postings are
                    # serialised per organisation, so a conflict means one was posted while the
                    # rows were checked. Only then is the slower ON CONFLICT form needed (its
                    # speculative insertion cost 13.5 s against 10.4 s for a million rows).
                    with transaction.atomic():
                        cursor.execute(_INSERT_SQL, params)
                except IntegrityError as exc:
                    if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                        raise
                    logger.info("ledger import %s: posted meanwhile, skipping those rows", imp.pk)
                    cursor.execute(_INSERT_SQL + _SKIP_POSTED, params)
                posted = max(cursor.rowcount, 0)
                timings["insert"] = _lap()
                cursor.execute(
                    "SELECT DISTINCT fund_id, line_year_id, line_id, period_number FROM ledger_res "
                    "WHERE NOT existing"
                )
                stale_after_posting(tuple(r) for r in cursor.fetchall())
        timings["commit"] = _lap()
        if error_count:
            _reject_from_table(imp, cursor, error_count, rows)
            return
        cursor.execute(_SUMMARY_SQL)
        summary = [
            {"fund": f, "period": p, "rows": int(n), "posted": int(new), "amount": str(total)}
            for f, p, n, new, total in cursor.fetchall()
        ]
        cursor.execute("DROP TABLE IF EXISTS ledger_stage, ledger_res, ledger_err")
        timings["summary"] = _lap()
    logger.info("ledger import %s: %s rows, steps %s", imp.pk, rows, LAST_TIMINGS)
    _finish_posted(imp, rows=rows, posted=posted, summary=summary)


def _report_structure(imp: LedgerImport, handle: IO[bytes], columns: list[str]) -> None:
    errors: list[dict[str, Any]] = []
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    rows = 0
    try:
        reader = csv.reader(text)
        next(reader, None)
        for number, record in enumerate(reader, start=2):
            rows += 1
            if len(record) != len(columns):
                errors.append(
                    {
                        "row": number,
                        "field": "row",
                        "message": message("columns", found=len(record), expected=len(columns)),
                    }
                )
    except UnicodeDecodeError:
        raise UploadRefused(
            "The file is not a UTF-8 CSV file. Save it as 'CSV UTF-8' and upload it again."
        ) from None
    except csv.Error as exc:
        raise UploadRefused(f"The CSV file could not be read: {exc}.") from None
    finally:
        text.detach()
    if not errors:
        raise UploadRefused("The CSV file could not be read; check its quoting.")
    _finish_rejected(imp, errors, rows_checked=rows)


def _reject_from_table(imp: LedgerImport, cursor: Any, error_count: int, rows: int) -> None:
    cursor.execute("SELECT row_no, field, message FROM ledger_err ORDER BY row_no, field, message")
    errors: list[dict[str, Any]] = []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "column", "problem"])
    while batch := cursor.fetchmany(10_000):
        for row_no, field_name, text in batch:
            writer.writerow([row_no, field_name, _neutralise(text)])
            if len(errors) < ERRORS_SHOWN:
                errors.append({"row": int(row_no), "field": field_name, "message": text})
    name = error_file_name(imp)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(out.getvalue().encode("utf-8")))
    cursor.execute("SELECT count(DISTINCT row_no) FROM ledger_err")
    bad_rows = int(cursor.fetchone()[0])
    cursor.execute("DROP TABLE IF EXISTS ledger_stage, ledger_res, ledger_err")
    _finish_rejected(imp, errors, rows_checked=rows, count=error_count, bad_rows=bad_rows)


def _build_resolved(cursor: Any, org_id: int, partner_funds: list[int]) -> None:
    """ledger_res: one row per staged row with parsed values, the resolved line and period, and
    the flags the checks need; ledger_err: every problem found, as (row, field, message)."""
    cursor.execute(
        """
        CREATE TEMP TABLE ledger_periods AS
        SELECT p.id, y.code || '-M' || lpad(p.number::text, 2, '0') AS code, p.year_id, p.number,
               p.start_date, p.end_date
        FROM budgets_period p JOIN budgets_financialyear y ON y.id = p.year_id
        """
    )
    cursor.execute(
        "CREATE TEMP TABLE ledger_years AS SELECT id, code, start_date, end_date "
        "FROM budgets_financialyear"
    )
    # Every valid date as text in both accepted forms, with its financial year: one hash join
    # parses a million dates, refuses 2016-02-30 without an exception and finds each one's year.
    first, last = ledger_rules.DATE_YEARS
    cursor.execute(
        f"""
        CREATE TEMP TABLE ledger_days AS
        SELECT t.txt, t.d, y.id AS year_id
        FROM (
          SELECT to_char(d, 'YYYY-MM-DD') AS txt, d::date AS d
          FROM generate_series('{first:04d}-01-01'::date, '{last:04d}-12-31'::date, '1 day') d
          UNION ALL
          SELECT to_char(d, 'DD/MM/YYYY'), d::date
          FROM generate_series('{first:04d}-01-01'::date, '{last:04d}-12-31'::date, '1 day') d
        ) t
        LEFT JOIN ledger_years y ON t.d BETWEEN y.start_date AND y.end_date
        """  # noqa: S608 (constants, ints and _literal() text only)
    )
    cursor.execute("ANALYZE ledger_days, ledger_periods, ledger_years")
    org_code = _literal(_org_code(org_id))
    funds_array = "ARRAY[" + ",".join(str(int(f)) for f in partner_funds) + "]::bigint[]"
    checks = [
        ("organisation", "r.org_code IS NULL", sql_message("required")),
        (
            "organisation",
            "r.org_code IS NOT NULL AND r.org_id IS NULL",
            sql_message("org_unknown", value="r.org_code"),
        ),
        (
            "organisation",
            f"r.org_id <> {int(org_id)}",
            sql_message("org_other", value="r.org_code", expected=org_code),
        ),
        ("document_number", "r.doc IS NULL", sql_message("required")),
        (
            "document_number",
            f"length(r.doc) > {ledger_rules.LIMITS['document_number']}",
            sql_message("too_long", limit=str(ledger_rules.LIMITS["document_number"])),
        ),
        ("line_number", "r.ln_text IS NULL", sql_message("required")),
        (
            "line_number",
            "r.ln_text IS NOT NULL AND r.line_no IS NULL",
            sql_message("line_number", value="r.ln_text"),
        ),
        ("posting_date", "r.date_text IS NULL", sql_message("required")),
        (
            "posting_date",
            "r.date_text IS NOT NULL AND r.posting_date IS NULL",
            sql_message("date", value="r.date_text"),
        ),
        ("amount", "r.amt_text IS NULL", sql_message("amount_empty")),
        (
            "amount",
            "r.amt_text IS NOT NULL AND r.amount_raw IS NULL",
            sql_message("amount_nan", value="r.amt_text"),
        ),
        (
            "amount",
            "r.amount_raw <> round(r.amount_raw, 2)",
            sql_message("amount_places", value="r.amt_text"),
        ),
        (
            "amount",
            "r.amount_raw = round(r.amount_raw, 2) AND abs(r.amount_raw) >= 1e16",
            sql_message("amount_large", value="r.amt_text"),
        ),
        (
            "supplier",
            f"length(r.supplier) > {ledger_rules.LIMITS['supplier']}",
            sql_message("too_long", limit=str(ledger_rules.LIMITS["supplier"])),
        ),
        (
            "description",
            f"length(r.description) > {ledger_rules.LIMITS['description']}",
            sql_message("too_long", limit=str(ledger_rules.LIMITS["description"])),
        ),
        (
            "is_accrual",
            (f"lower(r.accrual_text) NOT IN {_TRUE} AND lower(r.accrual_text) NOT IN {_FALSE}"),
            sql_message("accrual", value="r.accrual_text"),
        ),
        (
            "period",
            "r.period_code IS NOT NULL AND r.given_period_id IS NULL",
            sql_message("period_unknown", value="r.period_code"),
        ),
        (
            "posting_date",
            ("r.given_period_id IS NULL AND r.posting_date IS NOT NULL AND r.year_id IS NULL"),
            sql_message("no_year", value="to_char(r.posting_date, 'YYYY-MM-DD')"),
        ),
        (
            "budget_line",
            ("r.line_code IS NOT NULL AND r.year_id IS NOT NULL AND r.n_lines IS NULL"),
            sql_message("line_unknown", value="r.line_code"),
        ),
        ("budget_line", "r.n_lines > 1", sql_message("line_ambiguous", value="r.line_code")),
        (
            "cost_centre",
            ("r.line_code IS NULL AND r.year_id IS NOT NULL AND r.mapped_line_id IS NULL"),
            sql_message(
                "no_mapping",
                cost_centre="coalesce(r.cc, '')",
                expense_code="coalesce(r.ec, '')",
                year="r.year_code",
            ),
        ),
        (
            "budget_line",
            f"r.line_id IS NOT NULL AND NOT (r.fund_id = ANY({funds_array}))",
            sql_message(
                "line_not_partner", value="r.line_label", fund="r.fund_code", organisation=org_code
            ),
        ),
        (
            "posting_date",
            (
                "r.line_id IS NOT NULL AND r.given_period_id IS NOT NULL "
                "AND r.posting_date IS NOT NULL "
                "AND r.posting_date NOT BETWEEN r.year_start AND r.year_end"
            ),
            sql_message(
                "outside_year",
                value="to_char(r.posting_date, 'YYYY-MM-DD')",
                year="r.year_code",
                start=_long_date("r.year_start"),
                end=_long_date("r.year_end"),
            ),
        ),
    ]
    bad = " OR ".join(f"({condition})" for _field, condition, _expr in checks)
    t = _trim
    amount_ok = f"a.amt_text ~ '^{AMOUNT_PATTERN}$' AND length(a.amt_text) <= 60"
    # One pass: trim and parse every value once (the OFFSET 0 fence keeps the parsed values from
    # being re-evaluated inside the joins), then resolve organisation, year, period, line (mapping
    # or code), fund and "already posted".
    cursor.execute(
        f"""
        CREATE TEMP TABLE ledger_res AS
        WITH b AS (
          SELECT a.*,
            CASE WHEN a.ln_text ~ '^[0-9]{{1,9}}$' AND a.ln_text::int >= 1
                 THEN a.ln_text::int END AS line_no,
            dd.d AS posting_date, dd.year_id AS date_year_id,
            CASE WHEN {amount_ok} THEN a.amt_text::numeric END AS amount_raw
          FROM (
            SELECT s.n + 1 AS row_no,
                   {t("s.organisation")} AS org_code,
                   {t("s.document_number")} AS doc,
                   {t("s.line_number")} AS ln_text,
                   {t("s.posting_date")} AS date_text,
                   {t("s.cost_centre")} AS cc,
                   {t("s.expense_code")} AS ec,
                   {t("s.amount")} AS amt_text,
                   {t("s.supplier")} AS supplier,
                   coalesce(s.description, '') AS description,
                   {t("s.budget_line")} AS line_code,
                   {t("s.period")} AS period_code,
                   {t("s.is_accrual")} AS accrual_text
            FROM ledger_stage s
            OFFSET 0
          ) a
          LEFT JOIN ledger_days dd ON dd.txt = a.date_text
          OFFSET 0
        ),
        c AS (
          SELECT b.*, o.id AS org_id, pp.id AS given_period_id,
                 coalesce(pp.year_id, b.date_year_id) AS year_id
          FROM b
          LEFT JOIN localities_organisation o ON o.code = b.org_code
          LEFT JOIN ledger_periods pp ON pp.code = b.period_code
        ),
        d AS (
          SELECT c.*, m.budget_line_id AS mapped_line_id, lc.n_lines,
                 CASE WHEN c.line_code IS NULL THEN m.budget_line_id
                      WHEN lc.n_lines = 1 THEN lc.line_id END AS line_id
          FROM c
          LEFT JOIN budgets_ledgermapping m
            ON c.line_code IS NULL AND m.organisation_id = {int(org_id)} AND m.year_id = c.year_id
           AND m.cost_centre = coalesce(c.cc, '') AND m.expense_code = coalesce(c.ec, '')
          LEFT JOIN (
            SELECT year_id, code, count(*) AS n_lines, min(id) AS line_id
            FROM budgets_budgetline WHERE fund_id = ANY(%s) GROUP BY year_id, code
          ) lc ON c.line_code IS NOT NULL AND lc.year_id = c.year_id AND lc.code = c.line_code
        )
        SELECT r.*, ({bad}) IS TRUE AS bad
        FROM (
        SELECT d.*,
               l.fund_id, l.year_id AS line_year_id, l.code AS line_label, f.code AS fund_code,
               coalesce(d.given_period_id, pm.id) AS period_id,
               coalesce(pg.number, pm.number) AS period_number,
               coalesce(pg.code, pm.code) AS period_label,
               sp.id IS NOT NULL AS existing,
               ly.code AS year_code, ly.start_date AS year_start, ly.end_date AS year_end
        FROM d
        LEFT JOIN budgets_budgetline l ON l.id = d.line_id
        LEFT JOIN budgets_pooledfund f ON f.id = l.fund_id
        LEFT JOIN ledger_years ly ON ly.id = d.year_id
        LEFT JOIN ledger_periods pg ON pg.id = d.given_period_id
        LEFT JOIN ledger_periods pm
          ON d.given_period_id IS NULL AND pm.year_id = l.year_id
         AND pm.number = mod(extract(month FROM d.posting_date)::int + 8, 12) + 1
         AND d.posting_date BETWEEN pm.start_date AND pm.end_date
        LEFT JOIN budgets_spendposting sp
          ON sp.organisation_id = {int(org_id)} AND sp.document_number = d.doc
         AND sp.line_number = d.line_no
        ) r
        """,  # noqa: S608 (constants, ints and _literal() text only)
        [partner_funds],
    )
    timings["resolve"] = _lap()
    # Messages only for the rows with a problem (usually none), one check at a time.
    cursor.execute("CREATE TEMP TABLE ledger_bad AS SELECT * FROM ledger_res WHERE bad")
    selects = [
        _ERROR_SELECT.format(field=_literal(field), expr=expr, condition=condition)
        for field, condition, expr in checks
    ]
    cursor.execute("CREATE TEMP TABLE ledger_err AS " + " UNION ALL ".join(selects))
    cursor.execute("DROP TABLE ledger_bad")
    timings["checks"] = _lap()
    # Duplicates among otherwise good rows, naming the first row with that document and line.
    cursor.execute(
        f"""
        INSERT INTO ledger_err (row_no, field, message)
        SELECT r.row_no, 'document_number',
               {sql_message("duplicate", document="r.doc", line="r.line_no", row="g.first_row")}
        FROM (
          SELECT doc, line_no, min(row_no) AS first_row
          FROM ledger_res
          WHERE NOT bad AND line_id IS NOT NULL AND period_id IS NOT NULL
          GROUP BY doc, line_no HAVING count(*) > 1
        ) g
        JOIN ledger_res r ON r.doc = g.doc AND r.line_no = g.line_no AND r.row_no > g.first_row
        WHERE NOT r.bad
        """  # noqa: S608 (constants, ints and _literal() text only)
    )
    timings["duplicates"] = _lap()
    cursor.execute(_closed_errors_sql())
    timings["closed"] = _lap()


def _closed_errors_sql() -> str:
    """Rows not yet posted, into a period closed for the line's fund (not duplicates, no other
    problem)."""
    return f"""
        INSERT INTO ledger_err (row_no, field, message)
        SELECT r.row_no,
               CASE WHEN r.given_period_id IS NULL THEN 'posting_date' ELSE 'period' END,
               {sql_message("period_closed", period="r.period_label", fund="r.fund_code")}
        FROM ledger_res r
        JOIN budgets_fundperiod fp
          ON fp.fund_id = r.fund_id AND fp.period_id = r.period_id AND fp.status = 'closed'
        WHERE NOT r.existing AND NOT r.bad AND r.line_id IS NOT NULL
          AND r.row_no NOT IN (SELECT row_no FROM ledger_err)
    """  # noqa: S608 (constants, ints and _literal() text only)


# One check's problems: constants, ints and _literal()-quoted text only.
_ERROR_SELECT = (
    "SELECT r.row_no, {field}::text AS field, {expr} AS message FROM ledger_bad r WHERE {condition}"
)

_CLOSED_NOW = """
    SELECT EXISTS (
      SELECT 1 FROM (SELECT DISTINCT fund_id, period_id FROM ledger_res WHERE NOT existing) u
      JOIN budgets_fundperiod fp
        ON fp.fund_id = u.fund_id AND fp.period_id = u.period_id AND fp.status = 'closed'
    )
"""

_INSERT_SQL = """
    INSERT INTO budgets_spendposting
      (organisation_id, document_number, line_number, posting_date, period_id, fund_id,
       budget_line_id, amount, supplier, description, is_accrual, ledger_import_id,
       created_by_id, created_at, reverses_id)
    SELECT r.org_id, r.doc, r.line_no, r.posting_date, r.period_id, r.fund_id,
           r.line_id, round(r.amount_raw, 2), coalesce(r.supplier, ''), r.description,
           coalesce(lower(r.accrual_text) IN ('1','true','yes','y','t'), false), %s, %s, now(), NULL
    FROM ledger_res r
    WHERE NOT r.existing AND r.org_id = %s
"""
_SKIP_POSTED = "ON CONFLICT (organisation_id, document_number, line_number) DO NOTHING"
UNIQUE_VIOLATION = "23505"

_SUMMARY_SQL = """
    SELECT r.fund_code, r.period_label, count(*), count(*) FILTER (WHERE NOT r.existing),
           sum(round(r.amount_raw, 2))
    FROM ledger_res r
    GROUP BY r.fund_code, r.period_label
    ORDER BY r.fund_code, r.period_label
"""


def _org_code(org_id: int) -> str:
    return str(Organisation.objects.values_list("code", flat=True).get(pk=org_id))


# ---- reading results ------------------------------------------------------------------------------


def summary_total(imp: LedgerImport) -> Decimal:
    return sum((Decimal(s["amount"]) for s in imp.summary or []), Decimal("0.00"))


__all__ = [
    "HEADER",
    "OPTIONAL",
    "check_header",
    "error_file",
    "import_ledger_file",
    "run_import",
    "start_import",
]
