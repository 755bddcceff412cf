"""One check for every upload: size, type (by name *and* content) and, for tables, the number of rows.

Views and API endpoints call `check_upload()` before handing a file to a service. It raises
`gmhsc.errors.ApplicationError` (400) with a message written for the person uploading.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from gmhsc.errors import ApplicationError

# What a file of each kind must start with. CSV is text: checked by decoding instead.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "xlsx": (b"PK\x03\x04",),
    "docx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
}
_OOXML_MARKER = {"xlsx": "xl/", "docx": "word/", "pptx": "ppt/"}
TEXT_TYPES = {"csv", "txt", "tsv"}
_LABELS = {"csv": "CSV", "xlsx": "Excel (.xlsx)", "pdf": "PDF", "docx": "Word (.docx)"}


class UploadRefused(ApplicationError):
    code = "upload_refused"


@dataclass(frozen=True)
class UploadInfo:
    kind: str
    size: int
    rows: int | None


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _size(file: Any) -> int:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    handle: IO[bytes] = file
    position = handle.tell()
    handle.seek(0, io.SEEK_END)
    end = handle.tell()
    handle.seek(position)
    return end


@contextmanager
def csv_text(handle: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    """An uploaded CSV as text (UTF-8, a BOM allowed) while the block reads it: a file that is not
    UTF-8, or not CSV, is refused saying what to do. The byte handle stays open."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield text
    except UnicodeDecodeError as exc:
        raise UploadRefused(
            "The file is not a UTF-8 CSV file. Save it as 'CSV UTF-8' and upload it again."
        ) from exc
    except csv.Error as exc:
        raise UploadRefused(f"The CSV file could not be read: {exc}.") from exc
    finally:
        text.detach()


def _count_csv_rows(handle: IO[bytes], limit: int | None) -> int:
    """Data rows (excluding the header) of a CSV; stops counting once past `limit`."""
    with csv_text(handle) as text:
        rows = -1  # the header row
        for rows, _row in enumerate(csv.reader(text)):
            if limit is not None and rows > limit:
                break
        return max(rows, 0)


def _count_xlsx_rows(handle: IO[bytes]) -> int:
    from openpyxl import load_workbook

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:
        raise UploadRefused("The Excel file could not be opened; it may be damaged.") from exc
    try:
        sheet = book.worksheets[0]
        return max((sheet.max_row or 1) - 1, 0)
    finally:
        book.close()


def _utf16_text(head: bytes) -> bool:
    """UTF-16 text with a byte-order mark (Excel's "Unicode text"): its zero bytes are text."""
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    try:
        # Incremental: a character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def check_upload(
    file: Any,
    *,
    max_bytes: int,
    allowed_types: list[str] | tuple[str, ...] | set[str],
    max_rows: int | None = None,
) -> UploadInfo:
    """Refuse a file that is too large, of a type not allowed, or (CSV/XLSX) with too many rows.

    `allowed_types` are file extensions without the dot, e.g. ["csv", "xlsx"]. The content must
    match the extension (a renamed .exe is refused). The file is left positioned at its start.
    """
    allowed = {t.lower().lstrip(".") for t in allowed_types}
    name = getattr(file, "name", "") or ""
    kind = PurePath(name).suffix.lower().lstrip(".")
    kind = "jpg" if kind == "jpeg" else kind
    labels = ", ".join(_LABELS.get(t, t.upper()) for t in sorted(allowed))
    if kind not in allowed:
        shown = PurePath(name).name or "The file"
        raise UploadRefused(f"{shown} is not an allowed file type. Upload one of: {labels}.")

    size = _size(file)
    if size == 0:
        raise UploadRefused("The file is empty.")
    if size > max_bytes:
        raise UploadRefused(
            f"The file is {_human_bytes(size)}; the largest allowed is {_human_bytes(max_bytes)}."
        )

    handle: IO[bytes] = file
    handle.seek(0)
    head = handle.read(8192)
    handle.seek(0)
    if isinstance(head, str):
        raise UploadRefused("The upload must be sent as a file, not as text.")

    if kind in TEXT_TYPES:
        if b"\x00" in head and not _utf16_text(head):
            raise UploadRefused(f"The file is not a {_LABELS.get(kind, kind.upper())} text file.")
    elif kind in _MAGIC and not head.startswith(_MAGIC[kind]):
        raise UploadRefused(f"The file's content is not {_LABELS.get(kind, kind.upper())}.")
    if kind in _OOXML_MARKER:
        try:
            with zipfile.ZipFile(handle) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise UploadRefused(f"The {_LABELS[kind]} file is damaged.") from exc
        finally:
            handle.seek(0)
        if not any(n.startswith(_OOXML_MARKER[kind]) for n in names):
            raise UploadRefused(f"The file's content is not {_LABELS[kind]}.")

    rows: int | None = None
    if max_rows is not None and kind in {"csv", "tsv", "xlsx"}:
        rows = _count_xlsx_rows(handle) if kind == "xlsx" else _count_csv_rows(handle, max_rows)
        handle.seek(0)
        if rows > max_rows:
            raise UploadRefused(
                f"The file has more than {max_rows:,} rows; split it into files of at most "
                f"{max_rows:,} rows."
            )
        if rows == 0:
            raise UploadRefused("The file has a header row but no data rows.")
    return UploadInfo(kind=kind, size=size, rows=rows)
