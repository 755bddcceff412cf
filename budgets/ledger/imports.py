"""Ledger CSV import: every row checked before anything is posted; all or nothing; re-import safe.

    organisation,document_number,line_number,posting_date,cost_centre,expense_code,amount,supplier,
    description[,budget_line][,period][,is_accrual]

UTF-8 with or without a byte-order mark, up to settings.GMHSC_MAX_UPLOAD_ROWS rows. A row's budget
line comes from the organisation's ledger mapping (cost centre + expense code, in the financial year
of the row's period or posting date) unless the optional `budget_line` column names a line code.

Two engines, one set of rules and messages (budgets.ledger.services.postings.MESSAGES):
- PostgreSQL: COPY into a temporary staging table; one statement trims, parses and resolves
  every row (hash joins to small tables of dates, mappings, line codes and periods) and flags
  the rows that break a rule; messages are worked out only for those rows; duplicates are ruled
  out by a unique index on the staged rows; then one INSERT ... SELECT (ON CONFLICT DO NOTHING
  only if a posting of the same key was committed meanwhile).
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

from budgets.ledger.services import postings as ledger_rules
from budgets.ledger.services.postings import (
    AMOUNT_PATTERN,
    MESSAGES,
    RowChecker,
    RowFieldError,
    insert_checked,
    lock_organisation,
    message,
    partner_fund_ids,
    require_poster,
    summarise,
)
from budgets.models import BudgetLine, FinancialYear, LedgerImport, LedgerMapping
from budgets.models.reference import YEAR_END_PERIOD
from budgets.outbox import mark_stale_from_sql
from gmhsc.background import enqueue_on_commit
from gmhsc.errors import ApplicationError
from gmhsc.money import format_money
from gmhsc.uploads import UploadRefused, check_upload
from localities.actors import Actor
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
    actor: Actor,
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
        enqueue_on_commit("budgets.tasks.import_ledger", imp.pk)
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
    actor: Actor,
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
        text = f"Posted {_rows(posted)}; the file's {_rows(rows)} total {format_money(total, pence=True)}."
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


def _longer_than(expr: str, limit: int) -> str:
    """More than `limit` characters; the byte length (free to read) settles almost every value."""
    return f"(octet_length({expr}) > {int(limit)} AND length({expr}) > {int(limit)})"


def _long_date(expr: str) -> str:
    return f"to_char({expr}, 'FMDD FMMonth YYYY')"


_TRUE = "('1','true','yes','y','t')"
_FALSE = "('','0','false','no','n','f')"
# Every temporary table of the SQL engine (session-local; dropped before and after each import).
_DROP_TEMP = (
    "DROP TABLE IF EXISTS ledger_stage, ledger_res, ledger_err, ledger_bad, ledger_bad_rows, "
    "ledger_periods, ledger_years, ledger_days, ledger_all_days, ledger_map, ledger_codes"
)


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
        cursor.execute(_DROP_TEMP)
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
                mark_stale_from_sql(
                    "SELECT fund_id, year_id, line_id, period_number FROM ledger_res "
                    "WHERE NOT existing",
                    reason="spend posted",
                )
        timings["commit"] = _lap()
        if error_count:
            _reject_from_table(imp, cursor, error_count, rows)
            return
        cursor.execute(_SUMMARY_SQL)
        summary = [
            {"fund": f, "period": p, "rows": int(n), "posted": int(new), "amount": str(total)}
            for f, p, n, new, total in cursor.fetchall()
        ]
        cursor.execute(_DROP_TEMP)
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
    cursor.execute(_DROP_TEMP)
    _finish_rejected(imp, errors, rows_checked=rows, count=error_count, bad_rows=bad_rows)


def _build_lookups(cursor: Any, org_id: int, partner_funds: list[int]) -> None:
    """Small temporary tables the resolving statement joins to, each read once by hash."""
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
    # The days of the financial years: a small hash table, so a million dates parse quickly. Any
    # other date is a problem; only then are all the dates the engines accept needed (to say
    # whether it is a date at all).
    _create_days(cursor, "ledger_days", "SELECT min(start_date), max(end_date) FROM ledger_years")
    # The organisation's mappings with each line's fund, and the partner funds' line codes.
    cursor.execute(
        """
        CREATE TEMP TABLE ledger_map AS
        SELECT m.year_id, m.cost_centre AS cc, m.expense_code AS ec, l.id AS line_id, l.fund_id
        FROM budgets_ledgermapping m JOIN budgets_budgetline l ON l.id = m.budget_line_id
        WHERE m.organisation_id = %s
        """,
        [org_id],
    )
    cursor.execute(
        """
        CREATE TEMP TABLE ledger_codes AS
        SELECT year_id, code, count(*) AS n_lines, min(id) AS line_id, min(fund_id) AS fund_id
        FROM budgets_budgetline WHERE fund_id = ANY(%s) GROUP BY year_id, code
        """,
        [partner_funds],
    )
    cursor.execute("ANALYZE ledger_periods, ledger_years, ledger_map, ledger_codes")


def _create_days(cursor: Any, table: str, span: str) -> None:
    """Every date from the first to the last day `span` (SQL, one row) gives, as text in both
    accepted forms, with its financial year and the period of its month: a join with it refuses
    2016-02-30 without an exception and finds each date's year and period."""
    cursor.execute(
        f"""
        CREATE TEMP TABLE {table} AS
        WITH span (first, last) AS ({span}),
        days AS (
          SELECT d::date AS d FROM span, generate_series(span.first, span.last, '1 day') d
        )
        SELECT t.txt, t.d, y.id AS year_id, p.id AS period_id, p.number AS period_number
        FROM (
          SELECT to_char(d, 'YYYY-MM-DD') AS txt, d FROM days
          UNION ALL
          SELECT to_char(d, 'DD/MM/YYYY'), d FROM days
        ) t
        LEFT JOIN ledger_years y ON t.d BETWEEN y.start_date AND y.end_date
        LEFT JOIN ledger_periods p
          ON p.year_id = y.id AND p.number = mod(extract(month FROM t.d)::int + 8, 12) + 1
         AND t.d BETWEEN p.start_date AND p.end_date
        """  # noqa: S608 (constants only)
    )
    cursor.execute(f"ANALYZE {table}")


def _resolved_select(org_id: int, *, labels: bool) -> str:
    """Every staged row trimmed and parsed once, with its organisation, year, period, line (by
    mapping or code), fund and "already posted". `labels` adds the codes and dates only the
    messages need, and reads only the rows listed in ledger_bad_rows."""
    t = _trim
    amount_ok = f"a.amt_text ~ '^{AMOUNT_PATTERN}$' AND length(a.amt_text) <= 60"
    source = (
        "ledger_bad_rows k JOIN ledger_stage s ON s.n + 1 = k.row_no"
        if labels
        else "ledger_stage s"
    )
    label_columns = (
        ", ly.code AS year_code, ly.start_date AS year_start, ly.end_date AS year_end, "
        "l.code AS line_label, f.code AS fund_code"
        if labels
        else ""
    )
    # Rows with a problem are read against every date the engines accept, so that a date
    # outside the financial years is named as such.
    days = "ledger_all_days" if labels else "ledger_days"
    label_joins = (
        """
        LEFT JOIN ledger_years ly ON ly.id = r.year_id
        LEFT JOIN budgets_budgetline l ON l.id = r.line_id
        LEFT JOIN budgets_pooledfund f ON f.id = r.fund_id
        """
        if labels
        else ""
    )
    # The OFFSET 0 fences keep the trimmed and parsed values from being worked out again inside
    # the joins. A line number is 1 to 9 digits (LINE_NUMBER_RE; ltrim costs a third of a regex).
    return f"""
        SELECT r.*{label_columns}
        FROM (
          SELECT c.*,
                 coalesce(c.given_period_id, c.date_period_id) AS period_id,
                 coalesce(c.given_period_number, c.date_period_number) AS period_number
          FROM (
            SELECT b.*, o.id AS org_id,
                   pp.id AS given_period_id, pp.number AS given_period_number,
                   coalesce(pp.year_id, b.date_year_id) AS year_id,
                   m.line_id AS mapped_line_id, lc.n_lines,
                   CASE WHEN b.line_code IS NULL THEN m.line_id
                        WHEN lc.n_lines = 1 THEN lc.line_id END AS line_id,
                   CASE WHEN b.line_code IS NULL THEN m.fund_id
                        WHEN lc.n_lines = 1 THEN lc.fund_id END AS fund_id,
                   sp.id IS NOT NULL AS existing
            FROM (
              SELECT a.*,
                CASE WHEN octet_length(a.ln_text) <= 9 AND ltrim(a.ln_text, '0123456789') = ''
                      AND a.ln_text::int >= 1
                     THEN a.ln_text::int END AS line_no,
                dd.d AS posting_date, dd.year_id AS date_year_id,
                dd.period_id AS date_period_id, dd.period_number AS date_period_number,
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
                FROM {source}
                OFFSET 0
              ) a
              LEFT JOIN {days} dd ON dd.txt = a.date_text
              OFFSET 0
            ) b
            LEFT JOIN localities_organisation o ON o.code = b.org_code
            LEFT JOIN ledger_periods pp ON pp.code = b.period_code
            LEFT JOIN ledger_map m
              ON b.line_code IS NULL AND m.year_id = coalesce(pp.year_id, b.date_year_id)
             AND m.cc = coalesce(b.cc, '') AND m.ec = coalesce(b.ec, '')
            LEFT JOIN ledger_codes lc
              ON b.line_code IS NOT NULL AND lc.year_id = coalesce(pp.year_id, b.date_year_id)
             AND lc.code = b.line_code
            LEFT JOIN budgets_spendposting sp
              ON sp.organisation_id = {int(org_id)} AND sp.document_number = b.doc
             AND sp.line_number = b.line_no
          ) c
        ) r
        {label_joins}
    """  # noqa: S608 (constants, ints and _literal() text only)


# What the checks, the insert, the summary and the stale marks read of each row.
_RESOLVED_COLUMNS = (
    "r.row_no, r.org_id, r.doc, r.line_no, r.posting_date, r.period_id, r.period_number, "
    "r.given_period_id, r.year_id, r.line_id, r.fund_id, r.amount_raw, r.supplier, "
    "r.description, r.accrual_text, r.existing"
)


def _checks(org_id: int, partner_funds: list[int]) -> list[tuple[str, str, str]]:
    """(field, condition, message) per rule, in the order problems are listed. Conditions read
    only columns of _resolved_select(labels=False); messages may read the labels too. Every good
    row is tested against every condition, so each puts its cheap test first."""
    org_code = _literal(_org_code(org_id))
    funds_array = "ARRAY[" + ",".join(str(int(f)) for f in partner_funds) + "]::bigint[]"
    return [
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
            _longer_than("r.doc", ledger_rules.LIMITS["document_number"]),
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
            "scale(r.amount_raw) > 2 AND r.amount_raw <> round(r.amount_raw, 2)",
            sql_message("amount_places", value="r.amt_text"),
        ),
        (
            "amount",
            "abs(r.amount_raw) >= 1e16 AND r.amount_raw = round(r.amount_raw, 2)",
            sql_message("amount_large", value="r.amt_text"),
        ),
        (
            "supplier",
            _longer_than("r.supplier", ledger_rules.LIMITS["supplier"]),
            sql_message("too_long", limit=str(ledger_rules.LIMITS["supplier"])),
        ),
        (
            "description",
            _longer_than("r.description", ledger_rules.LIMITS["description"]),
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
            # The date must fall in the year of the period given (the line's year); a date's own
            # year comes from the same table of financial years.
            "posting_date",
            (
                "r.line_id IS NOT NULL AND r.given_period_id IS NOT NULL "
                "AND r.posting_date IS NOT NULL AND r.date_year_id IS DISTINCT FROM r.year_id"
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


def _build_resolved(cursor: Any, org_id: int, partner_funds: list[int]) -> None:
    """ledger_res: one row per staged row with its parsed values, resolved line and period, and
    whether any rule fails (`bad`); ledger_err: every problem found, as (row, field, message)."""
    _build_lookups(cursor, org_id, partner_funds)
    timings["lookups"] = _lap()
    checks = _checks(org_id, partner_funds)
    bad = " OR ".join(f"({condition})" for _field, condition, _expr in checks)
    resolved = _resolved_select(org_id, labels=False)
    columns = f"{_RESOLVED_COLUMNS}, ({bad}) IS TRUE AS bad"
    cursor.execute(f"CREATE TEMP TABLE ledger_res AS SELECT {columns} FROM ({resolved}) r")  # noqa: S608
    timings["resolve"] = _lap()
    # Messages only for the rows with a problem (usually none), one rule at a time, with the
    # labels they quote.
    cursor.execute("CREATE TEMP TABLE ledger_bad_rows AS SELECT row_no FROM ledger_res WHERE bad")
    bad_rows = cursor.rowcount
    if bad_rows:
        first, last = ledger_rules.DATE_YEARS
        _create_days(
            cursor, "ledger_all_days", f"SELECT '{first:04d}-01-01'::date, '{last:04d}-12-31'::date"
        )
        cursor.execute(f"CREATE TEMP TABLE ledger_bad AS {_resolved_select(org_id, labels=True)}")
        selects = [
            _ERROR_SELECT.format(field=_literal(field), expr=expr, condition=condition)
            for field, condition, expr in checks
        ]
        cursor.execute("CREATE TEMP TABLE ledger_err AS " + " UNION ALL ".join(selects))
        cursor.execute("DROP TABLE ledger_bad, ledger_all_days")
        cursor.execute("SELECT count(DISTINCT row_no) FROM ledger_err")
        if cursor.fetchone()[0] != bad_rows:
            # Each rule's condition is part of `bad`, so this cannot happen; if it ever did, no
            # row may be posted without its problem being named.
            raise RuntimeError("ledger import: rows failed the checks without a message")
    else:
        cursor.execute("CREATE TEMP TABLE ledger_err (row_no bigint, field text, message text)")
    cursor.execute("DROP TABLE ledger_bad_rows")
    timings["checks"] = _lap()
    _duplicate_errors(cursor)
    timings["duplicates"] = _lap()
    cursor.execute(_closed_errors_sql())
    timings["closed"] = _lap()


_POSTABLE = "NOT bad AND line_id IS NOT NULL AND period_id IS NOT NULL"


def _duplicate_errors(cursor: Any) -> None:
    """The same document and line twice among otherwise good rows: every row after the first,
    naming the first. A unique index on the good rows proves there are none (the usual case)
    in about half the time a grouping takes; only when it fails are the rows looked for."""
    try:
        with transaction.atomic():
            cursor.execute(
                # Byte order: the same equality, and the sort compares with memcmp.
                "CREATE UNIQUE INDEX ledger_res_key ON ledger_res "
                f'(doc COLLATE "C", line_no) WHERE {_POSTABLE}'
            )
        return
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
    cursor.execute(
        f"""
        INSERT INTO ledger_err (row_no, field, message)
        SELECT r.row_no, 'document_number',
               {sql_message("duplicate", document="r.doc", line="r.line_no", row="g.first_row")}
        FROM (
          SELECT doc, line_no, min(row_no) AS first_row
          FROM ledger_res
          WHERE {_POSTABLE}
          GROUP BY doc, line_no HAVING count(*) > 1
        ) g
        JOIN ledger_res r ON r.doc = g.doc AND r.line_no = g.line_no AND r.row_no > g.first_row
        WHERE NOT r.bad
        """  # noqa: S608 (constants, ints and _literal() text only)
    )


def _closed_errors_sql() -> str:
    """Rows not yet posted, into a period closed for the line's fund (not duplicates, no other
    problem); and rows into M13 (year-end adjustments) before M12 is closed for the fund or from
    an organisation other than its host (Calendar.year_end_problem's rule)."""
    field = "CASE WHEN r.given_period_id IS NULL THEN 'posting_date' ELSE 'period' END"
    early = sql_message("year_end_early", period="p.code", previous="p12.code", fund="f.code")
    return f"""
        INSERT INTO ledger_err (row_no, field, message)
        SELECT r.row_no, {field},
               {sql_message("period_closed", period="p.code", fund="f.code")}
        FROM ledger_res r
        JOIN budgets_fundperiod fp
          ON fp.fund_id = r.fund_id AND fp.period_id = r.period_id AND fp.status = 'closed'
        JOIN ledger_periods p ON p.id = r.period_id
        JOIN budgets_pooledfund f ON f.id = r.fund_id
        WHERE NOT r.existing AND NOT r.bad AND r.line_id IS NOT NULL
          AND r.row_no NOT IN (SELECT row_no FROM ledger_err)
        UNION ALL
        SELECT r.row_no, {field},
               CASE WHEN m12.id IS NULL THEN {early}
                    ELSE {sql_message("year_end_host", period="p.code", fund="f.code")} END
        FROM ledger_res r
        JOIN ledger_periods p ON p.id = r.period_id AND p.number = {YEAR_END_PERIOD}
        JOIN ledger_periods p12 ON p12.year_id = p.year_id AND p12.number = 12
        JOIN budgets_pooledfund f ON f.id = r.fund_id
        LEFT JOIN budgets_fundperiod m12
          ON m12.fund_id = r.fund_id AND m12.period_id = p12.id AND m12.status = 'closed'
        WHERE NOT r.existing AND NOT r.bad AND r.line_id IS NOT NULL
          AND r.row_no NOT IN (SELECT row_no FROM ledger_err)
          AND NOT EXISTS (
            SELECT 1 FROM budgets_fundperiod fp
            WHERE fp.fund_id = r.fund_id AND fp.period_id = r.period_id AND fp.status = 'closed'
          )
          AND (m12.id IS NULL OR r.org_id <> f.host_id)
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

# Rows, new rows and amount per fund and period: grouped by ids first, then labelled. Every amount
# passed the two-decimal-places check, so rounding the sum once gives the same pounds and pence.
_SUMMARY_SQL = """
    SELECT f.code, p.code, g.n, g.new, g.total
    FROM (
      SELECT fund_id, period_id, count(*) AS n, count(*) FILTER (WHERE NOT existing) AS new,
             round(sum(amount_raw), 2) AS total
      FROM ledger_res GROUP BY fund_id, period_id
    ) g
    LEFT JOIN budgets_pooledfund f ON f.id = g.fund_id
    LEFT JOIN ledger_periods p ON p.id = g.period_id
    ORDER BY f.code, p.code
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
