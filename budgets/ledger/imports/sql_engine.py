"""The COPY import engine (PostgreSQL): a million rows checked and posted set-based.

COPY puts the file into a temporary staging table: the plain CSV and a clean profile CSV as their
own bytes (WIN1252 recoded by PostgreSQL; only the header and title rows above it, and the totals
rows and blank lines at the end, are cut off), anything else (XLSX, UTF-16, blank rows inside,
ragged rows) as the rows budgets.ledger.imports.reading gives. One statement then reads every row
the way the profile says (trimmed; dates through a table of the financial years' days written in
the file's format; ledger amounts cleaned; lines numbered), resolves it (hash joins to small tables
of dates, mapped pairs, line codes and periods) and flags the rows that break a rule of
budgets.ledger.posting_rules.ROW_RULES; messages are worked out only for those rows. Duplicates
are ruled out by a unique index on the staged rows; then one INSERT ... SELECT (ON CONFLICT DO
NOTHING only if a posting of the same key was committed meanwhile).

Each step reports its time to `on_step` (the benchmark passes one; otherwise the times are logged).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Callable
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction

from budgets.ledger.imports import python_engine, reading
from budgets.ledger.imports.python_engine import too_many_rows_text
from budgets.ledger.imports.results import (
    ERRORS_SHOWN,
    Found,
    error_file_name,
    finish_posted,
    finish_previewed,
    finish_rejected,
    progress,
)
from budgets.ledger.imports.sql_statements import (
    CLOSED_NOW,
    DROP_TEMP,
    INSERT_SQL,
    SKIP_POSTED,
    UNIQUE_VIOLATION,
    Source,
    build_resolved,
    closed_errors_sql,
    found_summary,
    literal,
    unmapped_pairs,
)
from budgets.ledger.posting_rules import message, partner_fund_ids
from budgets.ledger.profiles import ProfileSpec
from budgets.ledger.services.postings import lock_organisation
from budgets.models import LedgerImport
from budgets.outbox import mark_stale_from_sql
from gmhsc.spreadsheets import csv_writer
from gmhsc.uploads import UploadRefused

logger = logging.getLogger(__name__)

StepCallback = Callable[[str, float], None]
# ---- running ----------------------------------------------------------------------------------------


class Steps:
    """Times each step of one import and hands it to the callback (or the log)."""

    def __init__(self, on_step: StepCallback | None) -> None:
        self.on_step = on_step
        self.times: dict[str, float] = {}
        self.mark = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        elapsed, self.mark = round(now - self.mark, 3), now
        self.times[name] = elapsed
        if self.on_step is not None:
            self.on_step(name, elapsed)


def run(
    imp: LedgerImport,
    handle: IO[bytes],
    *,
    columns: list[str] | None = None,
    spec: ProfileSpec | None = None,
    expected: str | None = None,
    on_step: StepCallback | None = None,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # compiling these one-off queries would cost seconds
        # The date table's hash (12 MB) and the summary's grouping stay in memory.
        cursor.execute("SET work_mem = '32MB'")
    steps = Steps(on_step)
    try:
        _run(imp, handle, columns=columns, spec=spec, expected=expected, steps=steps)
    finally:
        if not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("RESET jit")
                    cursor.execute("RESET work_mem")
            except DatabaseError:
                logger.warning("could not reset settings after ledger import %s", imp.pk)
    logger.info("ledger import %s: %s rows, steps %s", imp.pk, imp.rows_total, steps.times)


class TextScan:
    """What the file's bytes allow, read while COPY streams them: a control character anywhere
    (C0 but tab, LF and CR; DEL; C1 as UTF-8), and a tab or a quote (a quoted cell may hold a
    line break). Regular expressions over every row's text cost about a second per million rows,
    so the text cleaner's SQL checks (posting_rules.Rule.scan) run only when the bytes show a row
    could break them. Only for UTF-8 bytes; any other encoding runs every check."""

    # Deleting bytes is a C loop; a regular expression with a character class is ten times slower.
    _C0 = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
    _C1 = re.compile(rb"\xc2[\x80-\x9f]")

    def __init__(self) -> None:
        self.controls = False
        self.line_breaks = False
        self._tail = b""

    @classmethod
    def everything(cls) -> TextScan:
        scan = cls()
        scan.controls = scan.line_breaks = True
        return scan

    def feed(self, chunk: bytes) -> None:
        if not self.controls:
            data = self._tail + chunk  # a two-byte C1 character may straddle two chunks
            self.controls = len(chunk.translate(None, self._C0)) != len(chunk) or bool(
                self._C1.search(data)
            )
        self.line_breaks = self.line_breaks or b"\t" in chunk or b'"' in chunk
        self._tail = chunk[-1:]

    @property
    def scans(self) -> frozenset[str]:
        return frozenset(
            name
            for name, found in (("controls", self.controls), ("line_breaks", self.line_breaks))
            if found
        )


def _copy_plain(cursor: Any, handle: IO[bytes], columns: list[str], scan: TextScan) -> Source:
    names = ", ".join(f"{c} text" for c in reading.HEADER + reading.OPTIONAL)
    cursor.execute(
        f"CREATE TEMP TABLE ledger_stage (n bigint GENERATED ALWAYS AS IDENTITY, {names})"
    )
    handle.seek(0)
    with (
        transaction.atomic(),
        cursor.cursor.copy(
            f"COPY ledger_stage ({', '.join(columns)}) FROM STDIN "
            "WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
        ) as copy,
    ):
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            copy.write(chunk)
            scan.feed(chunk)
    return Source.plain(columns)


def _copy_profile(
    cursor: Any, handle: IO[bytes], spec: ProfileSpec, imp: LedgerImport
) -> tuple[Source, list[dict[str, Any]]]:
    """Stage a profile's file: its own bytes when COPY can read them, else its rows. Returns the
    source and the rows refused for their shape (ragged)."""
    import psycopg

    table = reading.open_table(handle, spec)
    width = len(table.header)
    cells = ", ".join(f"c{i} text" for i in range(1, width + 1))
    cursor.execute(
        f"CREATE TEMP TABLE ledger_stage (n bigint GENERATED ALWAYS AS IDENTITY, row_no bigint, "
        f"{cells})"
    )
    names = ", ".join(f"c{i}" for i in range(1, width + 1))
    size = _size(handle)
    span = reading.raw_byte_range(handle, spec, table.encoding, size)
    org_code = imp.organisation.code
    if span is not None:
        start, end = span
        delimiter = literal(spec.delimiter_char).replace("\t", "\\t")
        delimiter = f"E{delimiter}" if "\\" in delimiter else delimiter
        try:
            with (
                transaction.atomic(),
                cursor.cursor.copy(
                    f"COPY ledger_stage ({names}) FROM STDIN WITH (FORMAT csv, DELIMITER "
                    f"{delimiter}, ENCODING '{reading.PG_ENCODINGS[table.encoding]}')"
                ) as copy,
            ):
                handle.seek(start)
                left = end - start
                while left > 0:
                    chunk = handle.read(min(1 << 20, left))
                    if not chunk:
                        break
                    copy.write(chunk)
                    left -= len(chunk)
            return Source.profile(
                spec, table.columns.index, width, org_code, f"{spec.header_row} + s.n"
            ), []
        except (psycopg.errors.BadCopyFileFormat, psycopg.DataError) as exc:
            # Rows that need reshaping (blank or ragged rows, bad bytes): stage them row by row.
            logger.info("COPY read import %s row by row: %s", imp.pk, exc)
            handle.seek(0)
            table = reading.open_table(handle, spec)
    with (
        transaction.atomic(),
        cursor.cursor.copy(
            f"COPY ledger_stage (row_no, {names}) FROM STDIN WITH (FORMAT csv)"
        ) as copy,
    ):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        batch: list[list[Any]] = []
        for number, row in table.rows:
            batch.append([number, *row])
            if len(batch) >= 10_000:
                writer.writerows(batch)
                copy.write(out.getvalue().encode("utf-8"))
                out.seek(0)
                out.truncate()
                batch.clear()
        writer.writerows(batch)
        copy.write(out.getvalue().encode("utf-8"))
    return Source.profile(spec, table.columns.index, width, org_code, "s.row_no"), table.problems


def _size(handle: IO[bytes]) -> int:
    position = handle.tell()
    handle.seek(0, io.SEEK_END)
    end = handle.tell()
    handle.seek(position)
    return end


def _run(
    imp: LedgerImport,
    handle: IO[bytes],
    *,
    columns: list[str] | None,
    spec: ProfileSpec | None,
    expected: str | None,
    steps: Steps,
) -> None:
    import psycopg

    organisation = imp.organisation
    org_id = organisation.pk
    partner_funds = sorted(partner_fund_ids(organisation)) or [0]
    leave = imp.outside_pools == "leave"
    with connection.cursor() as cursor:
        # Staging lives in session-local temporary tables (no WAL); give them room in memory.
        # (Takes effect only before the session's first temporary table.)
        cursor.execute("SET temp_buffers = '256MB'")
        cursor.execute(DROP_TEMP)
        structure: list[dict[str, Any]] = []
        scan = TextScan()
        try:
            if spec is None:
                assert columns is not None
                source = _copy_plain(cursor, handle, columns, scan)
            else:
                # A profile's file may be in another encoding or restaged row by row: every
                # text check runs.
                scan = TextScan.everything()
                source, structure = _copy_profile(cursor, handle, spec, imp)
        except (
            psycopg.errors.BadCopyFileFormat,
            psycopg.errors.CharacterNotInRepertoire,
            psycopg.errors.UntranslatableCharacter,
            psycopg.DataError,
        ) as exc:
            logger.info("COPY refused ledger import %s: %s", imp.pk, exc)
            cursor.execute(DROP_TEMP)
            if _holds_nul(handle):
                # COPY cannot stage the NUL character. Such a file is checked row by row by the
                # Python engine, which applies the same rules and names every problem (the NUL
                # cells among them) as this engine would.
                handle.seek(0)
                python_engine.run(imp, handle, columns=columns, spec=spec, expected=expected)
                return
            # Ragged rows: let the Python reader name every such row.
            handle.seek(0)
            assert columns is not None
            _report_structure(imp, handle, columns)
            return
        # The planner's row estimates for the joins below (a fresh temporary table has none).
        cursor.execute("ANALYZE ledger_stage")
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'ledger_stage'::regclass")
        staged = int(cursor.fetchone()[0])
        steps("copy")
        progress(imp, rows_total=max(staged, 0))
        if staged > settings.GMHSC_MAX_UPLOAD_ROWS:
            cursor.execute(DROP_TEMP)
            raise UploadRefused(too_many_rows_text())
        rows, bad_rows = build_resolved(
            cursor, source, organisation, partner_funds, leave, steps, scan.scans
        )
        progress(imp, rows_total=rows, rows_checked=rows)
        if rows > settings.GMHSC_MAX_UPLOAD_ROWS:
            cursor.execute(DROP_TEMP)
            raise UploadRefused(too_many_rows_text())
        if rows == 0 and not structure:
            cursor.execute(DROP_TEMP)
            raise UploadRefused("The file has a header row but no data rows.")
        if structure:
            cursor.executemany(
                "INSERT INTO ledger_err (row_no, field, message) VALUES (%s, %s, %s)",
                [(p["row"], p["field"], p["message"]) for p in structure],
            )
        cursor.execute("SELECT count(*) FROM ledger_err")
        error_count = int(cursor.fetchone()[0])
        found = found_summary(cursor, rows, leave, by_line=imp.dry_run or expected is not None)
        if error_count:
            if bad_rows:
                found.unmapped = unmapped_pairs(cursor, leave=leave)
            _reject_from_table(imp, cursor, error_count, rows, found)
            return
        steps("summary")
        changed = expected is not None and found.fingerprint() != expected
        if imp.dry_run or changed:
            cursor.execute(DROP_TEMP)
            if changed:
                imp.dry_run = True
            finish_previewed(imp, found, changed=changed)
            return
        posted = 0
        with transaction.atomic():
            lock_organisation(organisation)
            cursor.execute(CLOSED_NOW)
            if cursor.fetchone()[0]:
                # A period closed while the rows were checked, or rows go to M13: check the closed
                # rules again under the lock.
                cursor.execute("DELETE FROM ledger_err")
                cursor.execute(closed_errors_sql())
                cursor.execute("SELECT count(*) FROM ledger_err")
                error_count = int(cursor.fetchone()[0])
            if not error_count:
                progress(imp, status=LedgerImport.Status.POSTING)
                params = [imp.pk, imp.uploaded_by_id, org_id]
                try:
                    # A plain INSERT: every row was checked as not yet posted, and postings are
                    # serialised per organisation, so a conflict means one was posted while the
                    # rows were checked. Only then is the slower ON CONFLICT form needed.
                    with transaction.atomic():
                        cursor.execute(INSERT_SQL, params)
                except IntegrityError as exc:
                    if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                        raise
                    logger.info("ledger import %s: posted meanwhile, skipping those rows", imp.pk)
                    cursor.execute(INSERT_SQL + SKIP_POSTED, params)
                posted = max(cursor.rowcount, 0)
                steps("insert")
                mark_stale_from_sql(
                    "SELECT fund_id, year_id, line_id, period_number FROM ledger_res "
                    "WHERE NOT existing AND line_id IS NOT NULL",
                    reason="spend posted",
                )
        steps("commit")
        if error_count:
            _reject_from_table(imp, cursor, error_count, rows, found)
            return
        cursor.execute(DROP_TEMP)
    finish_posted(imp, found=found, posted=posted)


def _holds_nul(handle: IO[bytes]) -> bool:
    handle.seek(0)
    return any(b"\x00" in chunk for chunk in iter(lambda: handle.read(1 << 20), b""))


def _report_structure(imp: LedgerImport, handle: IO[bytes], columns: list[str]) -> None:
    """What made COPY refuse the file: rows with the wrong number of columns."""
    errors: list[dict[str, Any]] = []
    rows = 0
    for number, values, found in reading.plain_records(handle, columns):
        rows += 1
        if values is None:
            errors.append(
                {
                    "row": number,
                    "field": "row",
                    "message": message("columns", found=found, expected=len(columns)),
                }
            )
    if not errors:
        raise UploadRefused("The CSV file could not be read; check its quoting.")
    finish_rejected(imp, errors, rows_checked=rows)


def _reject_from_table(
    imp: LedgerImport, cursor: Any, error_count: int, rows: int, found: Found
) -> None:
    cursor.execute(
        'SELECT row_no, field, message FROM ledger_err ORDER BY row_no, field COLLATE "C", message'
    )
    errors: list[dict[str, Any]] = []
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(["row", "column", "problem"])
    while batch := cursor.fetchmany(10_000):
        for row_no, field_name, text in batch:
            writer.writerow([row_no, field_name, text])
            if len(errors) < ERRORS_SHOWN:
                errors.append({"row": int(row_no), "field": field_name, "message": text})
    name = error_file_name(imp)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(out.getvalue().encode("utf-8")))
    cursor.execute("SELECT count(DISTINCT row_no) FROM ledger_err")
    bad_rows = int(cursor.fetchone()[0])
    cursor.execute(DROP_TEMP)
    finish_rejected(
        imp, errors, rows_checked=rows, count=error_count, bad_rows=bad_rows, found=found
    )
