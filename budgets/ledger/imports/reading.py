"""Reading a ledger file: the plain gmhsc CSV, or any partner's export through an import profile.

For a profile this finds the encoding (a byte-order mark, else UTF-8 if the file is UTF-8, else
Windows-1252, unless the profile sets one), reads CSV with the profile's delimiter or the XLSX
sheet, finds the header row (and says where it is when the profile's row is wrong), leaves out
blank rows, the title rows above the header and the totals rows the profile leaves off the end,
ignores extra empty trailing columns, and gives each data row with its row number in the file
(the number a spreadsheet shows). `project` turns a row into the values the posting rules read.

Both engines read rows from here: the Python engine row by row, the COPY engine as the file's own
bytes when they need no reshaping (`raw_byte_range`), else as these rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from budgets.ledger.formats import (
    AMOUNT_RE,
    DATE_FORMATS,
    PROFILE_DATE_FORMATS,
    clean_ledger_amount,
)
from budgets.ledger.posting_rules import STRIP, message
from budgets.ledger.profiles import DELIMITERS, Columns, ProfileSpec, header_score
from gmhsc.errors import ApplicationError
from gmhsc.uploads import UploadRefused, csv_text

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
HEADER_SEARCH_ROWS = 30
CODECS = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "windows-1252": "cp1252"}
# PostgreSQL's names for the encodings COPY reads itself (UTF-16 is recoded to UTF-8 first).
PG_ENCODINGS = {"utf-8-sig": "UTF8", "cp1252": "WIN1252"}


class HeaderError(ApplicationError):
    code = "bad_header"

    def __init__(self, text: str, *, row: int = 1, field_name: str = "header") -> None:
        super().__init__(text)
        self.row = row
        self.field = field_name


# ---- the plain gmhsc CSV --------------------------------------------------------------------------


def expected_header_text() -> str:
    return ",".join(HEADER) + " (then any of " + ",".join(OPTIONAL) + ")"


def check_header(fields: list[str]) -> list[str]:
    """The columns of a good header, or HeaderError saying what is wrong."""
    names = [f.strip(STRIP) for f in fields]
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


def read_plain_header(handle: IO[bytes]) -> list[str]:
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


def plain_records(
    handle: IO[bytes], columns: list[str]
) -> Iterator[tuple[int, dict[str, str] | None, int]]:
    """(row number, values, cells) of each data row of a plain CSV; values None: a ragged row."""
    with csv_text(handle) as text:
        reader = csv.reader(text)
        next(reader, None)
        for number, record in enumerate(reader, start=2):
            if len(record) != len(columns):
                yield number, None, len(record)
            else:
                yield number, dict(zip(columns, record, strict=True)), len(record)


# ---- files read through a profile -----------------------------------------------------------------


def detect_encoding(head: bytes, setting: str = "auto") -> str:
    """The Python codec for a text file: the profile's, else from a byte-order mark, else UTF-8
    when the start of the file is UTF-8, else Windows-1252 (what Excel saves as 'CSV')."""
    if setting != "auto":
        return CODECS[setting]
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if sample and sample.count(b"\x00") * 3 > len(sample):
        # UTF-16 without a byte-order mark: every other byte of Latin text is zero.
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            return "cp1252"
    return "utf-8-sig"


def encoding_label(codec: str) -> str:
    return {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}.get(codec, "UTF-16")


def _cell_text(value: Any, spec: ProfileSpec) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return DATE_FORMATS[spec.date_format].write(value.date())
    if isinstance(value, date):
        return DATE_FORMATS[spec.date_format].write(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # A spreadsheet keeps 1234.56 as the nearest binary fraction; its shortest repr is
        # what was typed. Sums can carry an error in the 15th digit: within a millionth of a
        # penny, that is the penny.
        try:
            exact = Decimal(repr(value))
        except InvalidOperation:
            return repr(value)
        pennies = exact.quantize(Decimal("0.01"))
        return str(pennies) if abs(exact - pennies) < Decimal("1e-8") else str(exact)
    return str(value)


@dataclass
class Table:
    """A file opened through a profile: its header and its data rows."""

    header_row: int
    header: list[str]
    columns: Columns
    rows: Iterator[tuple[int, list[str]]]
    problems: list[dict[str, Any]] = field(default_factory=list)  # ragged rows
    encoding: str = ""
    rows_read: int = 0


def _text_records(handle: IO[bytes], spec: ProfileSpec, encoding: str) -> Iterator[list[str]]:
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        yield from csv.reader(text, delimiter=spec.delimiter_char)
    except UnicodeDecodeError:
        label = encoding_label(encoding)
        other = "Windows-1252" if label == "UTF-8" else "UTF-8"
        raise UploadRefused(
            f"The file is not {label} text throughout. Set the profile's encoding to {other} "
            "(or the encoding the file was saved in) and upload it again."
        ) from None
    except csv.Error as exc:
        raise UploadRefused(f"The file could not be read: {exc}.") from None
    finally:
        with contextlib.suppress(ValueError):  # the file was closed before this was let go
            text.detach()


def _xlsx_records(handle: IO[bytes], spec: ProfileSpec) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:
        raise UploadRefused("The Excel file could not be opened; it may be damaged.") from exc
    try:
        if spec.sheet:
            if spec.sheet not in book.sheetnames:
                raise UploadRefused(
                    f"The workbook has no sheet '{spec.sheet}' (it has "
                    f"{', '.join(book.sheetnames)}). Change the profile's sheet name."
                )
            sheet: Any = book[spec.sheet]
        else:
            sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v, spec) for v in values]
    finally:
        book.close()


def records(handle: IO[bytes], spec: ProfileSpec) -> tuple[Iterator[list[str]], str]:
    """Every record of the file (title rows, header, data, totals), as text cells."""
    handle.seek(0)
    if spec.file_type == "xlsx":
        return _xlsx_records(handle, spec), "xlsx"
    head = handle.read(65536)
    handle.seek(0)
    encoding = detect_encoding(head, spec.encoding)
    return _text_records(handle, spec, encoding), encoding


def _blank(cells: list[str]) -> bool:
    return not any(c.strip() for c in cells)


def open_table(handle: IO[bytes], spec: ProfileSpec) -> Table:
    """Find the header (at the profile's row, or say where it is) and iterate the data rows."""
    source, encoding = records(handle, spec)
    before: list[list[str]] = []
    for cells in source:
        before.append(cells)
        if len(before) >= max(spec.header_row, HEADER_SEARCH_ROWS):
            break
    if len(before) < spec.header_row:
        raise HeaderError(
            f"The file has {len(before)} rows; the profile says its header is row "
            f"{spec.header_row}.",
            row=spec.header_row,
        )
    header = [c.strip() for c in before[spec.header_row - 1]]
    columns = Columns.find(spec, header)
    wanted = [name for name in spec.columns if name not in columns.index]
    if wanted:
        _refuse_header(spec, before, header, columns)
    width = len(header)
    while width and not header[width - 1]:
        width -= 1  # empty trailing header cells: extra columns, ignored
    table = Table(
        header_row=spec.header_row,
        header=header[:width],
        columns=columns,
        rows=iter(()),
        encoding=encoding,
    )
    table.rows = _data_rows(table, spec, before[spec.header_row :], source, width)
    return table


def _refuse_header(
    spec: ProfileSpec, before: list[list[str]], header: list[str], columns: Columns
) -> None:
    best_row, best = 0, len(columns.index)
    for number, cells in enumerate(before, start=1):
        score = header_score(spec, [c.strip() for c in cells])
        if score > best:
            best_row, best = number, score
    missing = [name for name in spec.columns if name not in columns.index]
    names = ", ".join(f"'{spec.columns[n][0]}' ({n})" for n in missing)
    if best_row and best_row != spec.header_row:
        raise HeaderError(
            f"Row {spec.header_row} is not the header: the columns the profile names are on row "
            f"{best_row}. Set the profile's header row to {best_row}.",
            row=spec.header_row,
        )
    found = ", ".join(f"'{h}'" for h in header if h) or "nothing"
    raise HeaderError(
        f"The header (row {spec.header_row}) has no column {names}; it has {found}. Choose "
        "the file's columns for these fields in the profile, or check the header row.",
        row=spec.header_row,
    )


def _data_rows(
    table: Table,
    spec: ProfileSpec,
    buffered: list[list[str]],
    source: Iterator[list[str]],
    width: int,
) -> Iterator[tuple[int, list[str]]]:
    """Data rows after the header, each `width` cells: blank rows left out, extra empty trailing
    cells dropped, short rows padded; the last `footer_rows` non-blank rows left off."""
    held: deque[tuple[int, list[str]]] = deque()
    number = spec.header_row

    def rows_after_header() -> Iterator[list[str]]:
        yield from buffered
        yield from source

    for cells in rows_after_header():
        number += 1
        if _blank(cells):
            continue
        if len(cells) > width:
            extra = cells[width:]
            if any(c.strip() for c in extra):
                table.problems.append(
                    {
                        "row": number,
                        "field": "row",
                        "message": message(
                            "columns",
                            found=width + len(extra) - _trailing_blanks(extra),
                            expected=width,
                        ),
                    }
                )
                continue
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        held.append((number, cells))
        if len(held) > spec.footer_rows:
            table.rows_read += 1
            yield held.popleft()


def _trailing_blanks(cells: list[str]) -> int:
    count = 0
    for cell in reversed(cells):
        if cell.strip():
            break
        count += 1
    return count


# ---- a row's values -------------------------------------------------------------------------------


class Projection:
    """Turns a profile's row (cells by the file's columns) into the values the posting rules read
    (the plain CSV's field names, plus debit and credit); numbers each document's lines in file
    order when the profile says so."""

    def __init__(self, spec: ProfileSpec, columns: Columns, organisation_code: str) -> None:
        self.spec = spec
        self.index = columns.index
        self.organisation_code = organisation_code
        self._lines: dict[str | None, int] = {}

    def __call__(self, cells: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {"organisation": self.organisation_code}
        for name, position in self.index.items():
            values[name] = cells[position]
        values.update(self.spec.constants)
        if self.spec.numbers_lines:
            document = values.get("document_number")
            key = document.strip(STRIP) or None if isinstance(document, str) else None
            self._lines[key] = self._lines.get(key, 0) + 1
            values["line_number"] = str(self._lines[key])
        return values


def raw_byte_range(
    handle: IO[bytes], spec: ProfileSpec, encoding: str, size: int
) -> tuple[int, int] | None:
    """Where the data rows of a CSV start and end in the file's bytes, so COPY can read them
    as they are: after the header row, before the rows the profile leaves off and any blank lines
    at the end. None when the file needs reshaping first (not a byte encoding PostgreSQL reads,
    or lines ending in a lone CR)."""
    if spec.file_type != "csv" or encoding not in PG_ENCODINGS:
        return None
    handle.seek(0)
    head = handle.read(1 << 20)
    handle.seek(0)
    if b"\r" in head.replace(b"\r\n", b""):
        return None
    start = 3 if head.startswith(codecs.BOM_UTF8) else 0
    lines = head[start:].split(b"\n")
    reader = csv.reader(
        (line.decode(encoding.replace("-sig", ""), "replace") + "\n" for line in lines),
        delimiter=spec.delimiter_char,
    )
    consumed = 0
    try:
        for _ in range(spec.header_row):
            next(reader)
            consumed = reader.line_num
    except (StopIteration, csv.Error):
        return None
    if consumed >= len(lines):
        return None
    offset = start + sum(len(line) + 1 for line in lines[:consumed])
    end = _data_end(handle, size, spec.footer_rows)
    return (offset, end) if end is not None and end > offset else None


def _data_end(handle: IO[bytes], size: int, footer_rows: int) -> int | None:
    """The byte offset after the last data row: blank lines at the end and `footer_rows`
    non-blank lines before them are left off."""
    tail_start = max(size - (1 << 16), 0)
    handle.seek(tail_start)
    tail = handle.read()
    handle.seek(0)
    end = len(tail)
    to_drop = footer_rows
    while end > 0:
        cut = tail.rfind(b"\n", 0, end - 1 if tail[end - 1 : end] == b"\n" else end)
        line = tail[cut + 1 : end]
        if not line.strip(b" \t\r\n,;|\x00"):
            end = cut + 1
            if cut < 0:
                return None
            continue
        if to_drop == 0:
            break
        to_drop -= 1
        if cut < 0:
            return None
        end = cut + 1
    if end == 0:
        return None
    return tail_start + end


SAMPLE_ROWS = 50


def check_sample(handle: IO[bytes], spec: ProfileSpec) -> None:
    """Refuse a profile that cannot read this file at all, with one message that says what
    to change, rather than a problem on every row: a date format that matches none of the first
    rows' dates, an amount column holding no amounts."""
    table = open_table(handle, spec)
    rows = [cells for _number, cells in itertools.islice(table.rows, SAMPLE_ROWS)]
    handle.seek(0)
    index = table.columns.index
    dialect = spec.dialect
    dates = [c[index["posting_date"]].strip(STRIP) for c in rows if "posting_date" in index]
    dates = [d for d in dates if d]
    if dates and not any(dialect.parse_date(d) for d in dates):
        fits = [
            DATE_FORMATS[k].label
            for k in PROFILE_DATE_FORMATS
            if DATE_FORMATS[k].parse(dates[0].lower() if DATE_FORMATS[k].lower else dates[0])
        ]
        hint = f" ('{dates[0]}' is {' or '.join(fits)})" if fits else ""
        raise HeaderError(
            f"None of the dates in column '{table.columns.column_name('posting_date')}' (like "
            f"'{dates[0]}') is in the profile's date format {dialect.date_label}. Change the "
            f"profile's date format{hint}.",
            row=spec.header_row,
            field_name="posting_date",
        )
    names = ["debit", "credit"] if dialect.debit_credit else ["amount"]
    amounts = [c[index[name]].strip(STRIP) for c in rows for name in names if name in index]
    amounts = [a for a in amounts if a]
    if amounts and not any(AMOUNT_RE.fullmatch(clean_ledger_amount(a)) for a in amounts):
        columns = " and ".join(f"'{table.columns.column_name(n)}'" for n in names)
        raise HeaderError(
            f"Column {columns} holds no amounts (like '{amounts[0]}'). Choose the file's column "
            "that holds the amounts in the profile.",
            row=spec.header_row,
            field_name=names[0],
        )


# ---- a sample, for building a profile -----------------------------------------------------------

SAMPLE_SHOWN = 20


@dataclass
class Sample:
    """The start of a file: its header and first rows, and how it was read."""

    encoding: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    sheets: list[str] = field(default_factory=list)

    def first_values(self, count: int = 3) -> list[tuple[str, list[str]]]:
        """Each column's name with its first non-blank values."""
        return [
            (name, [r[i] for r in self.rows if i < len(r) and r[i].strip()][:count])
            for i, name in enumerate(self.header)
        ]


def guess_delimiter(line: str) -> str:
    """The delimiter a header line uses most (comma when none is used)."""
    counts = {key: line.count(char) for key, char in DELIMITERS.items()}
    best = max(counts, key=lambda key: counts[key])
    return best if counts[best] else "comma"


def read_sample(handle: IO[bytes], spec: ProfileSpec) -> Sample:
    """The header row and the first rows of a file, read the way `spec` says (a delimiter of ""
    is guessed from the header row)."""
    sheets: list[str] = []
    if spec.file_type == "xlsx":
        from openpyxl import load_workbook

        handle.seek(0)
        try:
            book = load_workbook(handle, read_only=True)
            sheets = list(book.sheetnames)
            book.close()
        except Exception as exc:
            raise UploadRefused("The Excel file could not be opened; it may be damaged.") from exc
    elif not spec.delimiter:
        handle.seek(0)
        head = handle.read(65536)
        text = head.decode(detect_encoding(head, spec.encoding).replace("-sig", ""), "replace")
        lines = text.lstrip("\ufeff").splitlines()
        line = lines[spec.header_row - 1] if len(lines) >= spec.header_row else ""
        spec = replace(spec, delimiter=guess_delimiter(line))
    source, encoding = records(handle, spec)
    header: list[str] = []
    rows: list[list[str]] = []
    for number, cells in enumerate(source, start=1):
        if number < spec.header_row:
            continue
        if number == spec.header_row:
            header = [c.strip() for c in cells]
            continue
        if not _blank(cells):
            rows.append(cells)
        if len(rows) >= SAMPLE_SHOWN:
            break
    handle.seek(0)
    while header and not header[-1]:
        header.pop()
    return Sample(
        encoding=encoding, delimiter=spec.delimiter, header=header, rows=rows, sheets=sheets
    )
