"""Import profiles: how one partner's ledger export is read, as data.

A profile names the file type (CSV or XLSX, and the sheet), the encoding (detected, or set), the
delimiter, the header row and the rows to leave off the end (totals), and maps the file's own
column names to gmhsc's fields, with the date format and how amounts are written. A profile is
data, never code: no expressions or regular expressions, only choices from the lists below, so a
profile shared as JSON between teams can do nothing but read columns.

`ProfileSpec.from_data` checks a profile's shape and says what to change; `Columns.find` matches
it to a file's header (names compared without case or extra spaces; a field may list several
names, for exports whose wording changes between months).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from budgets.ledger.formats import DATE_FORMATS, PROFILE_DATE_FORMATS, Dialect
from budgets.ledger.posting_rules import LIMITS
from gmhsc.errors import ApplicationError
from gmhsc.text import TextError, clean_text

FORMAT_NAME = "gmhsc-import-profile"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "import_profiles"

FILE_TYPES = {"csv": "CSV or text file", "xlsx": "Excel workbook (.xlsx)"}
ENCODINGS = {
    "auto": "Detect it (UTF-8, UTF-16 with a byte-order mark, else Windows-1252)",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16 (Excel's 'Unicode text')",
    "windows-1252": "Windows-1252 (ANSI)",
}
DELIMITERS = {"comma": ",", "tab": "\t", "semicolon": ";", "pipe": "|"}
DELIMITER_LABELS = {"comma": "Comma", "tab": "Tab", "semicolon": "Semicolon", "pipe": "Pipe (|)"}
OUTSIDE_POOLS = {"refuse": "Refuse the file", "leave": "Leave them out (outside the pooled funds)"}

# gmhsc's fields a profile can fill, in the order pages list them, with what they are.
FIELDS: dict[str, str] = {
    "document_number": "Document number (invoice or transaction number)",
    "line_number": "Line number within the document",
    "posting_date": "Posting date",
    "amount": "Amount",
    "debit": "Debit amount",
    "credit": "Credit amount",
    "cost_centre": "Cost centre (or department, expense area)",
    "expense_code": "Expense code (or expense type, merchant category)",
    "supplier": "Supplier (beneficiary)",
    "description": "Description (summary of purpose)",
    "period": "Period (like 2016/17-M06)",
    "is_accrual": "Accrual flag (yes or no)",
}
# Fields a constant may fill instead of a column (the same value on every row).
CONSTANT_FIELDS = ("cost_centre", "expense_code", "supplier", "description", "period", "is_accrual")
MAX_HEADER_ROW = 100
MAX_FOOTER_ROWS = 100
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
_KEYS = {
    "format",
    "version",
    "name",
    "title",
    "file_type",
    "sheet",
    "encoding",
    "delimiter",
    "header_row",
    "footer_rows",
    "columns",
    "line_numbers",
    "date_format",
    "amounts",
    "constants",
    "outside_pools",
}


class ProfileError(ApplicationError):
    """A profile that cannot be used: `problems` says, field by field, what to change."""

    code = "bad_profile"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        text = "; ".join(p["message"] for p in problems)
        super().__init__(
            f"The import profile cannot be saved: {text}",
            extra={"field": problems[0]["field"], "problems": problems},
        )
        self.problems = problems


def normalise_name(name: str) -> str:
    """Column names compare without case, surrounding spaces or repeated inner spaces."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    title: str = ""
    file_type: str = "csv"
    sheet: str = ""
    encoding: str = "auto"
    delimiter: str = "comma"
    header_row: int = 1
    footer_rows: int = 0
    columns: dict[str, list[str]] = field(default_factory=dict)
    line_numbers: str = "column"  # or "number_in_file_order"
    date_format: str = "DD/MM/YYYY"
    amounts: str = "amount"  # or "debit_credit"
    constants: dict[str, str] = field(default_factory=dict)
    outside_pools: str = "refuse"

    @property
    def dialect(self) -> Dialect:
        return Dialect(
            date_formats=(self.date_format,),
            ledger_amounts=True,
            debit_credit=self.amounts == "debit_credit",
        )

    @property
    def delimiter_char(self) -> str:
        return DELIMITERS[self.delimiter]

    @property
    def numbers_lines(self) -> bool:
        return self.line_numbers == "number_in_file_order"

    def fields_used(self) -> list[str]:
        """The fields this profile reads from columns, in FIELDS order."""
        return [f for f in FIELDS if self.columns.get(f)]

    def to_data(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "title": self.title,
            "file_type": self.file_type,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header_row": self.header_row,
            "footer_rows": self.footer_rows,
            "columns": {f: list(self.columns[f]) for f in FIELDS if self.columns.get(f)},
            "line_numbers": self.line_numbers,
            "date_format": self.date_format,
            "amounts": self.amounts,
            "constants": {f: self.constants[f] for f in CONSTANT_FIELDS if self.constants.get(f)},
            "outside_pools": self.outside_pools,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_data(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_data(cls, data: Any, *, name: str | None = None) -> ProfileSpec:
        """A checked profile, or ProfileError listing every problem with what to change."""
        problems: list[dict[str, str]] = []

        def problem(where: str, text: str) -> None:
            problems.append({"field": where, "message": text})

        if not isinstance(data, dict):
            raise ProfileError([{"field": "profile", "message": "a profile is a JSON object"}])
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            problem("profile", f"it has settings gmhsc does not know ({', '.join(unknown)})")
        if data.get("format", FORMAT_NAME) != FORMAT_NAME:
            problem("format", f"'format' must be {FORMAT_NAME}")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            problem("version", f"this gmhsc reads version {FORMAT_VERSION} of import profiles")
        chosen = str(name if name is not None else data.get("name", "")).strip()
        if not _NAME.fullmatch(chosen):
            problem(
                "name",
                "give the profile a name of lower-case letters, digits and hyphens, like "
                "council-oracle-monthly",
            )
        title = _text(data.get("title", ""), "title", problem)
        if len(title) > 200:
            problem("title", "the title is longer than 200 characters")
        file_type = _choice(data, "file_type", "csv", FILE_TYPES, problem, "file type")
        encoding = _choice(data, "encoding", "auto", ENCODINGS, problem, "encoding")
        delimiter = _choice(data, "delimiter", "comma", DELIMITERS, problem, "delimiter")
        date_format = _choice(
            data, "date_format", "DD/MM/YYYY", dict.fromkeys(PROFILE_DATE_FORMATS), problem,
            "date format",
        )  # fmt: skip
        line_numbers = _choice(
            data,
            "line_numbers",
            "column",
            {"column": "", "number_in_file_order": ""},
            problem,
            "way to find line numbers",
        )
        amounts = _choice(
            data, "amounts", "amount", {"amount": "", "debit_credit": ""}, problem,
            "way to find amounts",
        )  # fmt: skip
        outside = _choice(data, "outside_pools", "refuse", OUTSIDE_POOLS, problem, "choice")
        header_row = _whole(data, "header_row", 1, 1, MAX_HEADER_ROW, problem, "header row")
        footer_rows = _whole(
            data, "footer_rows", 0, 0, MAX_FOOTER_ROWS, problem, "number of rows to leave off"
        )
        sheet = _text(data.get("sheet", ""), "sheet", problem)
        columns = _columns(data.get("columns", {}), problem)
        constants = _constants(data.get("constants", {}), problem)
        spec = cls(
            name=chosen,
            title=title,
            file_type=file_type,
            sheet=sheet if file_type == "xlsx" else "",
            encoding=encoding,
            delimiter=delimiter,
            header_row=header_row,
            footer_rows=footer_rows,
            columns=columns,
            line_numbers=line_numbers,
            date_format=date_format,
            amounts=amounts,
            constants=constants,
            outside_pools=outside,
        )
        if not problems:
            _check_fields(spec, problem)
        if problems:
            raise ProfileError(problems)
        return spec

    @classmethod
    def from_json(cls, text: str | bytes, *, name: str | None = None) -> ProfileSpec:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileError(
                [{"field": "file", "message": f"the file is not JSON ({exc})"}]
            ) from None
        return cls.from_data(data, name=name)


def _text(value: Any, key: str, problem: Any) -> str:
    """Text through the one text cleaner: no NUL or control characters, nothing but text."""
    try:
        return clean_text(value)
    except TextError as exc:
        problem(key, f"the {key.replace('_', ' ')} {exc}")
        return ""


def _choice(
    data: dict[str, Any], key: str, default: str, allowed: dict[str, Any], problem: Any, label: str
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        problem(key, f"'{value}' is not a {label} gmhsc reads; choose one of {', '.join(allowed)}")
        return default
    return str(value)


def _whole(
    data: dict[str, Any], key: str, default: int, low: int, high: int, problem: Any, label: str
) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problem(key, f"the {label} must be a whole number from {low} to {high}")
        return default
    return value


def _columns(raw: Any, problem: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        problem("columns", "'columns' maps gmhsc's fields to the file's column names")
        return {}
    columns: dict[str, list[str]] = {}
    for name, value in raw.items():
        if name not in FIELDS:
            problem("columns", f"'{name}' is not a field gmhsc reads ({', '.join(FIELDS)})")
            continue
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problem(name, f"the column for {name} is a name, or a list of names")
            continue
        cleaned = [" ".join(_text(n, name, problem).split()) for n in names if n.strip()]
        if any(len(n) > 200 for n in cleaned):
            problem(name, f"a column name for {name} is longer than 200 characters")
            continue
        if cleaned:
            columns[name] = cleaned
    return columns


def _constants(raw: Any, problem: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        problem("constants", "'constants' maps fields to the value every row takes")
        return {}
    constants: dict[str, str] = {}
    for name, value in raw.items():
        if name not in CONSTANT_FIELDS:
            problem(
                "constants",
                f"{name} cannot be a constant (only {', '.join(CONSTANT_FIELDS)})",
            )
            continue
        # A constant may be written as a whole number (a period, say): it is read as text.
        is_number = isinstance(value, int) and not isinstance(value, bool)
        text = _text(str(value) if is_number else value, name, problem)
        limit = LIMITS.get(name, 40)
        if len(text) > limit:
            problem(name, f"the constant for {name} is longer than {limit} characters")
            continue
        if text:
            constants[name] = text
    return constants


def _check_fields(spec: ProfileSpec, problem: Any) -> None:
    """Required fields mapped, no column used for two fields, no field given twice."""
    columns, constants = spec.columns, spec.constants
    for name in CONSTANT_FIELDS:
        if columns.get(name) and constants.get(name):
            problem(name, f"{name} has both a column and a constant; keep one of them")
    required = ["document_number", "posting_date"]
    if spec.amounts == "debit_credit":
        required += ["debit", "credit"]
        if columns.get("amount"):
            problem("amount", "amounts come from the debit and credit columns; unmap amount")
    else:
        required.append("amount")
        for name in ("debit", "credit"):
            if columns.get(name):
                problem(name, f"{name} is mapped but amounts come from one amount column")
    if spec.numbers_lines:
        if columns.get("line_number"):
            problem(
                "line_number",
                "line numbers are numbered in file order, so the line number column is not "
                "used; unmap it or read line numbers from the column",
            )
    else:
        required.append("line_number")
    for name in required:
        if not columns.get(name):
            hint = (
                " (or choose to number the lines of each document in file order)"
                if name == "line_number"
                else ""
            )
            problem(name, f"choose the file's column for {FIELDS[name].lower()}{hint}")
    for name in ("cost_centre", "expense_code"):
        if not columns.get(name) and not constants.get(name):
            problem(
                name, f"choose the file's column for {FIELDS[name].lower()}, or give a constant"
            )
    seen: dict[str, str] = {}
    for name, names in columns.items():
        for column in names:
            key = normalise_name(column)
            if key in seen and seen[key] != name:
                problem(
                    name,
                    f"column '{column}' is chosen for both {seen[key]} and {name}; choose a "
                    "different column for one of them",
                )
            seen.setdefault(key, name)
    if spec.date_format not in DATE_FORMATS:  # pragma: no cover - _choice refused it
        problem("date_format", "choose a date format")


@dataclass(frozen=True)
class Columns:
    """A profile matched to a file's header: each field's column index (0-based)."""

    index: dict[str, int]
    header: list[str]

    @classmethod
    def find(cls, spec: ProfileSpec, header: list[str]) -> Columns:
        names = {normalise_name(h): i for i, h in reversed(list(enumerate(header))) if h.strip()}
        index: dict[str, int] = {}
        for name, wanted in spec.columns.items():
            for column in wanted:
                if normalise_name(column) in names:
                    index[name] = names[normalise_name(column)]
                    break
        return cls(index=index, header=header)

    def missing(self, spec: ProfileSpec) -> list[str]:
        return [name for name in spec.columns if name not in self.index]

    def column_name(self, name: str) -> str:
        return self.header[self.index[name]].strip() if name in self.index else name


def header_score(spec: ProfileSpec, row: list[str]) -> int:
    """How many of the profile's fields a row names: the header is the row naming the most."""
    return len(Columns.find(spec, row).index)


def shipped_profiles() -> list[ProfileSpec]:
    """The profiles that ship with gmhsc (budgets/data/import_profiles/*.json)."""
    return [
        ProfileSpec.from_json(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED_DIR.glob("*.json"))
    ]
