"""How a ledger file writes dates and amounts: its *dialect*. PLAIN is the gmhsc CSV (ISO or
DD/MM/YYYY dates, plain amounts); an import profile chooses one of DATE_FORMATS and reads ledger
amounts (a pound sign, thousands commas, negatives in brackets or with a trailing minus, or
separate debit and credit columns).

Each format is data that both import engines read: a date format is a Python pattern and the
PostgreSQL to_char templates that write the same texts; the ledger amount pattern is one regular
expression that Python and PostgreSQL both match. The posting rules' parity test holds them equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

AMOUNT_PATTERN = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)"
AMOUNT_RE = re.compile(AMOUNT_PATTERN)
DATE_YEARS = (1900, 2199)  # dates outside these years are "not a date" (both import engines)

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its serial 60 is the 29 February 1900 it invents)


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a date. `pattern` (Python) and `sql` (PostgreSQL to_char templates, one
    per spelling it accepts) describe the same set of texts: the COPY engine joins the text to a
    table of every day written each `sql` way; RowChecker matches `pattern`."""

    key: str
    label: str
    pattern: str  # groups in `order`
    order: str  # "ymd", "dmy", "mdy", "dMy" (month name), "n" (Excel serial)
    sql: tuple[str, ...] = ()
    two_digit_year: bool = False  # YY: 50-99 are 1950-1999, 00-49 are 2000-2049
    lower: bool = False  # compared in lower case (month names)

    def parse(self, text: str) -> date | None:
        match = re.fullmatch(self.pattern, text.lower() if self.lower else text)
        if match is None:
            return None
        if self.order == "n":
            day = EXCEL_EPOCH + timedelta(days=int(match[1]))
            return day if DATE_YEARS[0] <= day.year <= DATE_YEARS[1] else None
        parts = dict(zip(self.order, match.groups(), strict=True))
        if "M" in parts and parts["M"] not in MONTHS:
            return None
        month = MONTHS.index(parts["M"]) + 1 if "M" in parts else int(parts["m"])
        year = int(parts["y"])
        if self.two_digit_year:
            year += 2000 if year < 50 else 1900
        if not DATE_YEARS[0] <= year <= DATE_YEARS[1]:
            return None
        try:
            return date(year, month, int(parts["d"]))
        except ValueError:
            return None

    def write(self, day: date) -> str:
        """The date as this format writes it (for spreadsheet cells that hold real dates)."""
        if self.order == "n":
            return str((day - EXCEL_EPOCH).days)
        month = MONTHS[day.month - 1].title()
        return {
            "YYYY-MM-DD": f"{day:%Y-%m-%d}",
            "DD/MM/YYYY": f"{day:%d/%m/%Y}",
            "DD.MM.YYYY": f"{day:%d.%m.%Y}",
            "M/D/YYYY": f"{day.month}/{day.day}/{day.year}",
            "DD-Mon-YY": f"{day.day:02d}-{month}-{day.year % 100:02d}",
            "DD-Mon-YYYY": f"{day.day:02d}-{month}-{day.year}",
            "ISO": f"{day:%Y-%m-%d}",
            "UK": f"{day:%d/%m/%Y}",
        }[self.key]


_D, _M = "([0-9]{1,2})", "([a-z]{3})"
DATE_FORMATS: dict[str, DateFormat] = {
    f.key: f
    for f in (
        # The plain gmhsc CSV: exactly these two, with leading zeros.
        DateFormat("ISO", "YYYY-MM-DD", r"([0-9]{4})-([0-9]{2})-([0-9]{2})", "ymd", ("YYYY-MM-DD",)),
        DateFormat("UK", "DD/MM/YYYY", r"([0-9]{2})/([0-9]{2})/([0-9]{4})", "dmy", ("DD/MM/YYYY",)),
        # Import profiles: day and month with or without a leading zero.
        DateFormat("YYYY-MM-DD", "YYYY-MM-DD", r"([0-9]{4})-([0-9]{2})-([0-9]{2})", "ymd",
                   ("YYYY-MM-DD",)),
        DateFormat("DD/MM/YYYY", "DD/MM/YYYY", rf"{_D}/{_D}/([0-9]{{4}})", "dmy",
                   ("DD/MM/YYYY", "FMDD/FMMM/YYYY", "FMDD/MM/YYYY", "DD/FMMM/YYYY")),
        DateFormat("DD.MM.YYYY", "DD.MM.YYYY", rf"{_D}[.]{_D}[.]([0-9]{{4}})", "dmy",
                   ("DD.MM.YYYY", "FMDD.FMMM.YYYY", "FMDD.MM.YYYY", "DD.FMMM.YYYY")),
        DateFormat("M/D/YYYY", "M/D/YYYY", rf"{_D}/{_D}/([0-9]{{4}})", "mdy",
                   ("MM/DD/YYYY", "FMMM/FMDD/YYYY", "FMMM/DD/YYYY", "MM/FMDD/YYYY")),
        DateFormat("DD-Mon-YY", "DD-Mon-YY", rf"{_D}-{_M}-([0-9]{{2}})", "dMy",
                   ("DD-Mon-YY", "FMDD-Mon-YY"), two_digit_year=True, lower=True),
        DateFormat("DD-Mon-YYYY", "DD-Mon-YYYY", rf"{_D}-{_M}-([0-9]{{4}})", "dMy",
                   ("DD-Mon-YYYY", "FMDD-Mon-YYYY"), lower=True),
        DateFormat("Excel", "an Excel date number like 42643", r"([1-9][0-9]{0,5})", "n"),
    )
}  # fmt: skip
PROFILE_DATE_FORMATS = [k for k in DATE_FORMATS if k not in ("ISO", "UK")]

# Ledger amounts: a pound sign (and a space), thousands commas, and a negative written -12.00,
# £-12.00, 12.00- or (12.00). Each form is one pattern that Python (re.fullmatch) and PostgreSQL
# (~, anchored) both test, and whether it is negative; the amount is the text with the marks
# taken out (LEDGER_MARKS). Patterns without captures keep PostgreSQL's matching fast.
_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?:[.][0-9]*)?|[0-9]+(?:[.][0-9]*)?|[.][0-9]+)"
LEDGER_AMOUNT_FORMS: tuple[tuple[str, bool], ...] = (
    (rf"[+]?(?:£ ?)?{_NUMBER}", False),
    (rf"-(?:£ ?)?{_NUMBER}", True),
    (rf"(?:£ ?)?-{_NUMBER}", True),
    (rf"(?:£ ?)?{_NUMBER}-", True),
    (rf"[(](?:£ ?)?{_NUMBER}[)]", True),
)
LEDGER_MARKS = "+-£ ,()"
_LEDGER_FORMS = [(re.compile(pattern), negative) for pattern, negative in LEDGER_AMOUNT_FORMS]
_DROP_MARKS = str.maketrans("", "", LEDGER_MARKS)
ZERO_AMOUNT_PATTERN = r"[-+]?0*[.]?0*"
NOT_AMOUNTS = ("", "-", "+", ".")
LEDGER_AMOUNT_HINT = " (write amounts like 1234.56, £1,234.56, (1,234.56) or 1,234.56-)"


def clean_ledger_amount(text: str) -> str:
    """'£1,234.56' -> '1234.56', '(12.00)' and '12.00-' -> '-12.00', '+5' -> '5'. Anything else
    is returned as it is (and then refused as not a number, quoting what the file holds). The
    first form takes plain positive numbers too, so most amounts are settled by one match."""
    for pattern, negative in _LEDGER_FORMS:
        if pattern.fullmatch(text):
            return ("-" if negative else "") + text.translate(_DROP_MARKS)
    return text


def negate_amount(text: str) -> str:
    """A credit column's amount as a signed amount; text that is not a plain number as it is."""
    if not AMOUNT_RE.fullmatch(text):
        return text
    if text.startswith("-"):
        return text[1:]
    return "-" + text.lstrip("+")


def is_zero_amount(text: str) -> bool:
    """'0', '0.00', '-0', '.0': a debit or credit column's empty value."""
    return re.fullmatch(ZERO_AMOUNT_PATTERN, text) is not None and text not in NOT_AMOUNTS


@dataclass(frozen=True)
class Dialect:
    """How a file writes dates and amounts. PLAIN is the gmhsc CSV; an import profile gives its
    own date format and ledger amounts (optionally in separate debit and credit columns)."""

    date_formats: tuple[str, ...]
    ledger_amounts: bool = False
    debit_credit: bool = False

    @property
    def date_label(self) -> str:
        return " or ".join(DATE_FORMATS[k].label for k in self.date_formats)

    @property
    def amount_hint(self) -> str:
        return LEDGER_AMOUNT_HINT if self.ledger_amounts else ""

    def parse_date(self, text: str) -> date | None:
        for key in self.date_formats:
            day = DATE_FORMATS[key].parse(text)
            if day is not None:
                return day
        return None

    def amount_text(self, raw: str | None) -> str | None:
        return clean_ledger_amount(raw) if raw is not None and self.ledger_amounts else raw

    def debit_credit_amount(self, debit: str | None, credit: str | None) -> str | None:
        """The row's amount from a debit and a credit column (blank or zero: not given)."""
        d = None if debit is None else clean_ledger_amount(debit)
        c = None if credit is None else clean_ledger_amount(credit)
        if d is not None and c is not None:
            if is_zero_amount(c):
                return d
            if is_zero_amount(d):
                return negate_amount(c)
            return None  # both: refused (amount_both)
        if c is not None:
            return negate_amount(c)
        return d


PLAIN = Dialect(date_formats=("ISO", "UK"))
