"""Ledger file imports: check the upload, store it, then check every row before anything is
posted (all or nothing); or only preview what would be posted, and post exactly that later.

A file is the plain gmhsc ledger CSV, or any partner's export read through an import profile.
Re-importing is safe: the natural key (organisation, document, line) is posted at most once, and
a file already imported in full is recognised by its SHA-256. Files of
settings.GMHSC_IMPORT_ASYNC_ROWS rows or more run as the Celery task
"budgets.tasks.import_ledger"; the LedgerImport row carries progress, problems, summary and preview.

On PostgreSQL the COPY engine checks and posts set-based; elsewhere the Python engine does it row
by row. Both apply budgets.ledger.posting_rules.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import connection
from django.utils import timezone

from budgets.ledger.imports import python_engine, reading, sql_engine
from budgets.ledger.imports.results import TERMINAL, finish, finish_rejected, progress
from budgets.ledger.imports.sql_engine import StepCallback
from budgets.ledger.profiles import ProfileSpec
from budgets.ledger.services.postings import require_poster
from budgets.models import ImportProfile, LedgerImport
from gmhsc.background import enqueue_on_commit
from gmhsc.errors import ApplicationError, Conflict
from gmhsc.uploads import UploadRefused, check_upload
from localities.actors import Actor
from localities.models import Organisation

logger = logging.getLogger(__name__)
OUTSIDE_CHOICES = ("refuse", "leave")


def _sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


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


def _refuse_non_utf8_start(upload: Any) -> None:
    upload.seek(0)
    head = upload.read(65536)
    upload.seek(0)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the chunk's end
            raise UploadRefused(
                "The file is not a UTF-8 CSV file. Save it as 'CSV UTF-8' and upload it again, "
                "or choose an import profile for your ledger's export."
            ) from None


def _estimate(upload: Any, spec: ProfileSpec | None) -> int:
    """Rows, near enough to choose between running now and queueing a task (the engine counts)."""
    if spec is not None and spec.file_type == "xlsx":
        from openpyxl import load_workbook

        upload.seek(0)
        try:
            book = load_workbook(upload, read_only=True)
        except Exception as exc:
            raise UploadRefused("The Excel file could not be opened; it may be damaged.") from exc
        try:
            sheet = book[spec.sheet] if spec.sheet in book.sheetnames else book.worksheets[0]
            rows = max((sheet.max_row or 0) - spec.header_row, 0)
        finally:
            book.close()
            upload.seek(0)
        return rows
    lines = _data_lines(upload)
    return max(lines - (spec.header_row - 1 + spec.footer_rows if spec else 0), 0)


def _outside(choice: str | None, spec: ProfileSpec | None) -> str:
    if choice in (None, ""):
        return spec.outside_pools if spec is not None else "refuse"
    if choice not in OUTSIDE_CHOICES:
        raise ApplicationError(
            f"'{choice}' is not a choice for rows outside the pools: use leave or refuse.",
            extra={"field": "outside_pools"},
        )
    return str(choice)


def start_import(
    *,
    actor: Actor,
    organisation: Organisation,
    upload: Any,
    original_name: str = "",
    run_now: bool | None = None,
    recheck: bool = False,
    profile: ImportProfile | None = None,
    outside_pools: str | None = None,
    dry_run: bool = False,
) -> LedgerImport:
    """Check the file (size, type, text, rows), store it and run or enqueue the import.

    Refuses an empty, binary, oversized or over-long file with UploadRefused before anything is
    stored. run_now None: small files run at once, large ones (GMHSC_IMPORT_ASYNC_ROWS) as a task.
    `profile`: how to read the file (None: the plain gmhsc CSV). `dry_run`: check and preview
    only; `post_import` posts it later.
    """
    require_poster(actor, organisation)
    spec = profile_spec(profile) if profile is not None else None
    if (
        spec is not None
        and profile is not None
        and profile.organisation_id
        not in (
            None,
            organisation.pk,
        )
    ):
        raise ApplicationError(
            f"The import profile {profile.name} belongs to another organisation.",
            extra={"field": "profile"},
        )
    allowed = ["xlsx"] if spec is not None and spec.file_type == "xlsx" else ["csv"]
    if spec is not None and spec.file_type == "csv":
        allowed += ["txt", "tsv"]
    check_upload(upload, max_bytes=settings.GMHSC_MAX_UPLOAD_BYTES, allowed_types=allowed)
    if spec is None:
        _refuse_non_utf8_start(upload)
    estimate = _estimate(upload, spec)
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
        profile=profile,
        outside_pools=_outside(outside_pools, spec),
        dry_run=dry_run,
    )
    upload.seek(0)
    imp.file.save(name, File(upload, name=name), save=False)
    imp.save()
    _run_or_queue(imp, run_now, recheck=recheck)
    return imp


def _run_or_queue(imp: LedgerImport, run_now: bool | None, *, recheck: bool = False) -> None:
    if run_now is None:
        run_now = imp.rows_total < settings.GMHSC_IMPORT_ASYNC_ROWS
    if run_now:
        run_import(imp.pk, recheck=recheck)
        imp.refresh_from_db()
    else:
        enqueue_on_commit("budgets.tasks.import_ledger", imp.pk)


def import_ledger_file(
    *,
    actor: Actor,
    organisation: Organisation,
    path: str | Path,
    run_now: bool = True,
    recheck: bool = False,
    profile: ImportProfile | None = None,
    outside_pools: str | None = None,
    dry_run: bool = False,
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
            profile=profile,
            outside_pools=outside_pools,
            dry_run=dry_run,
        )


def _require_preview(actor: Actor, imp: LedgerImport) -> None:
    require_poster(actor, imp.organisation)
    if imp.status != LedgerImport.Status.PREVIEWED:
        raise Conflict(
            f"Import {imp.pk} is {imp.get_status_display().lower()}, not a checked preview; "
            "upload the file again to preview it."
        )


def post_import(
    *, actor: Actor, ledger_import: LedgerImport, run_now: bool | None = None
) -> LedgerImport:
    """Post exactly what the preview showed: the file is checked again (closed months too), and if
    it would now post anything else, nothing is posted and the new preview is shown instead."""
    imp = ledger_import
    _require_preview(actor, imp)
    if imp.error_count:
        raise ApplicationError(
            f"The preview found {imp.error_count:,} problems; correct them before posting.",
            extra={"field": "file"},
        )
    updated = LedgerImport.objects.filter(pk=imp.pk, status=LedgerImport.Status.PREVIEWED).update(
        status=LedgerImport.Status.PENDING, dry_run=False, uploaded_by=actor, finished_at=None
    )
    if not updated:
        raise Conflict(f"Import {imp.pk} is already being posted.")
    imp.refresh_from_db()
    _run_or_queue(imp, run_now)
    return imp


def check_again(
    *, actor: Actor, ledger_import: LedgerImport, run_now: bool | None = None
) -> LedgerImport:
    """Preview the stored file again (after mapping what was unmapped)."""
    imp = ledger_import
    _require_preview(actor, imp)
    LedgerImport.objects.filter(pk=imp.pk).update(
        status=LedgerImport.Status.PENDING, dry_run=True, finished_at=None, preview={}
    )
    imp.refresh_from_db()
    _run_or_queue(imp, run_now)
    return imp


def profile_spec(profile: ImportProfile) -> ProfileSpec:
    return ProfileSpec.from_data(profile.spec, name=profile.name)


# ---- running an import ----------------------------------------------------------------------------


def run_import(
    import_id: int,
    *,
    engine: str | None = None,
    recheck: bool = False,
    on_step: StepCallback | None = None,
) -> LedgerImport:
    """Check and post (or preview) one stored import. Safe to run again: a finished import is
    left alone, and a re-run posts only rows not yet posted (the natural key is unique).

    The same file (same SHA-256, read the same way) already imported in full for the organisation
    posts nothing without checking every row again - its rows are posted and postings are never
    deleted - unless `recheck` or a preview. `on_step(name, seconds)` hears how long each step of
    the COPY engine took."""
    imp = LedgerImport.objects.select_related("organisation", "uploaded_by", "profile").get(
        pk=import_id
    )
    if imp.status in TERMINAL:
        return imp
    if not recheck and not imp.dry_run and _same_file_already_posted(imp):
        imp.refresh_from_db()
        return imp
    expected = None if imp.dry_run else (imp.preview or {}).get("fingerprint")
    progress(imp, status=LedgerImport.Status.CHECKING, rows_checked=0, rows_posted=0)
    if engine is None:
        engine = "sql" if connection.vendor == "postgresql" else "python"
    try:
        spec = profile_spec(imp.profile) if imp.profile is not None else None
        with imp.file.open("rb") as handle:
            columns = None
            if spec is None:
                columns = reading.check_header(reading.read_plain_header(handle))
            else:
                reading.check_sample(handle, spec)
            if engine == "sql":
                sql_engine.run(
                    imp, handle, columns=columns, spec=spec, expected=expected, on_step=on_step
                )
            else:
                python_engine.run(imp, handle, columns=columns, spec=spec, expected=expected)
    except reading.HeaderError as exc:
        finish_rejected(imp, [{"row": exc.row, "field": exc.field, "message": exc.message}])
    except UploadRefused as exc:
        finish(imp, LedgerImport.Status.FAILED, message=exc.message)
    except ApplicationError as exc:  # a profile that no longer reads (edited since)
        finish(imp, LedgerImport.Status.FAILED, message=exc.message)
    except Exception:
        logger.exception("ledger import %s failed", imp.pk)
        finish(
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
            profile_id=imp.profile_id,
            outside_pools=imp.outside_pools,
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
    posted = (
        f"{rows - earlier.rows_outside:,} rows to post"
        if earlier.rows_outside
        else f"{rows:,} rows"
    )
    finish(
        imp,
        LedgerImport.Status.NOTHING_NEW,
        rows_total=rows,
        rows_checked=rows,
        rows_posted=0,
        rows_already_posted=earlier.rows_total - earlier.rows_outside,
        rows_outside=earlier.rows_outside,
        amount_outside=earlier.amount_outside,
        summary=[{**entry, "posted": 0} for entry in earlier.summary or []],
        errors=[],
        error_count=0,
        message=(
            f"Already imported: this file was imported on {when:%-d %B %Y at %H:%M} "
            f"(import {earlier.pk}) and all its {posted} are posted, so nothing new was posted."
        ),
    )
    return True
