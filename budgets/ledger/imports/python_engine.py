"""The Python import engine: every row through RowChecker (budgets.ledger.posting_rules), then the
checked rows inserted in bulk. Used where there is no PostgreSQL (SQLite in development and
tests), and held equal to the COPY engine by the posting rules' parity test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from budgets.ledger.formats import PLAIN
from budgets.ledger.imports import reading
from budgets.ledger.imports.results import (
    PROGRESS_EVERY,
    Found,
    finish_posted,
    finish_previewed,
    finish_rejected,
    progress,
    top_cost_centres,
    unmapped_list,
)
from budgets.ledger.mapping_rules import LinesByMapping
from budgets.ledger.posting_rules import message, partner_fund_ids
from budgets.ledger.profiles import ProfileSpec
from budgets.ledger.row_checker import RowChecker, summarise, summarise_lines
from budgets.ledger.services.postings import insert_checked, lock_organisation
from budgets.models import LedgerImport
from gmhsc.uploads import UploadRefused


def too_many_rows_text() -> str:
    limit = settings.GMHSC_MAX_UPLOAD_ROWS
    return f"The file has more than {limit:,} rows; split it into files of at most {limit:,} rows."


def _plain_rows(
    handle: IO[bytes], columns: list[str], checker: RowChecker
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, values, found in reading.plain_records(handle, columns):
        if values is None:
            checker.error(number, "row", message("columns", found=found, expected=len(columns)))
            continue
        yield number, values


def _profile_rows(
    table: reading.Table, spec: ProfileSpec, imp: LedgerImport, checker: RowChecker
) -> Iterator[tuple[int, dict[str, Any]]]:
    project = reading.Projection(spec, table.columns, imp.organisation.code)
    for number, cells in table.rows:
        yield number, project(cells)
    for problem in table.problems:
        checker.error(problem["row"], problem["field"], problem["message"])


def run(
    imp: LedgerImport,
    handle: IO[bytes],
    *,
    columns: list[str] | None = None,
    spec: ProfileSpec | None = None,
    expected: str | None = None,
) -> None:
    """Check (and unless a dry run, post) one import. `columns`: the plain CSV's header; `spec`:
    the import profile. `expected`: the fingerprint of the preview being posted."""
    organisation = imp.organisation
    leave = imp.outside_pools == "leave"
    checker = RowChecker(
        organisation,
        lines=LinesByMapping(organisation, partner_fund_ids(organisation)),
        dialect=spec.dialect if spec is not None else PLAIN,
        leave_outside=leave,
    )
    if spec is not None:
        table = reading.open_table(handle, spec)
        rows: Iterator[tuple[int, dict[str, Any]]] = _profile_rows(table, spec, imp, checker)
    else:
        assert columns is not None
        rows = _plain_rows(handle, columns, checker)
    count = 0
    for number, values in rows:
        count += 1
        checker.check(number, values)
        if count % PROGRESS_EVERY == 0:
            progress(imp, rows_checked=count)
    progress(imp, rows_checked=count, rows_total=count)
    if count > settings.GMHSC_MAX_UPLOAD_ROWS:
        raise UploadRefused(too_many_rows_text())
    if count == 0:
        raise UploadRefused("The file has a header row but no data rows.")
    with transaction.atomic():
        lock_organisation(organisation)
        checker.finish()
        found = Found(
            rows=count,
            summary=summarise(checker.rows),
            by_line=summarise_lines(checker.rows) if imp.dry_run or expected else None,
            outside_rows=checker.outside.rows,
            outside_amount=checker.outside.amount,
            outside_top=top_cost_centres(checker.outside.by_cost_centre),
            unmapped=unmapped_list(checker.unmapped.pairs),
        )
        errors = checker.errors
        changed = expected is not None and found.fingerprint() != expected
        if errors or imp.dry_run or changed:
            transaction.set_rollback(True)
        else:
            progress(imp, status=LedgerImport.Status.POSTING)
            insert_checked(
                actor=imp.uploaded_by,
                organisation=organisation,
                rows=checker.rows,
                ledger_import=imp,
                return_postings=False,
            )
    if errors:
        finish_rejected(imp, errors, rows_checked=count, found=found)
    elif imp.dry_run or changed:
        if changed:
            imp.dry_run = True
        finish_previewed(imp, found, changed=changed)
    else:
        posted = sum(1 for r in checker.rows if not r.already_posted)
        finish_posted(imp, found=found, posted=posted)
