"""Mapping rules: which budget line a ledger's (cost centre, expense code) pair goes to.

A mapping gives each of the two codes as exact (`C02733`), a prefix (`C027*`), a range
(`5140-5199`: numeric when both ends are digits, else alphabetic between ends of the same length)
or any code (`*`). A pair goes to the most specific rule that matches it: exact before range
before prefix before any, deciding on the cost centre first, then the expense code. Two rules of
the same precedence that could both match one pair are ambiguous, and the second is refused when
saved, naming the first (`overlaps`).

Pure rules over the stored mappings; the services in budgets.ledger.services.mappings save them,
and both import engines ask a RuleBook (the COPY engine once per distinct pair in the file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from budgets.ledger.posting_rules import LineSource, Resolved
from budgets.models import BudgetLine, LedgerMapping
from localities.models import Organisation

Match = LedgerMapping.Match
RANK = {Match.EXACT: 0, Match.RANGE: 1, Match.PREFIX: 2, Match.ANY: 3}
MAX_CODE = 30
_NUMERIC_RANGE = re.compile(r"([0-9]+)-([0-9]+)")
_ALPHA_RANGE = re.compile(r"([^\s*-]+)-([^\s*-]+)")


class PatternError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class CodePattern:
    """One code of a rule: how it matches, and the text it is stored as."""

    kind: str
    text: str  # as stored: "C02733", "C027*", "5140-5199", "*"
    low: str = ""  # exact: the code; prefix: the stem; range: the low end
    high: str = ""
    numeric: bool = False

    def matches(self, code: str) -> bool:
        if self.kind == Match.EXACT:
            return code == self.low
        if self.kind == Match.PREFIX:
            return code.startswith(self.low)
        if self.kind == Match.ANY:
            return True
        if self.numeric:
            return (
                code.isascii() and code.isdigit() and int(self.low) <= int(code) <= int(self.high)
            )
        return len(code) == len(self.low) and self.low <= code <= self.high

    def overlaps(self, other: CodePattern) -> bool:
        """Could one code match both? (Patterns of the same kind.)"""
        if self.kind == Match.ANY:
            return True
        if self.kind == Match.EXACT:
            return self.low == other.low
        if self.kind == Match.PREFIX:
            return self.low.startswith(other.low) or other.low.startswith(self.low)
        if self.numeric and other.numeric:
            return int(self.low) <= int(other.high) and int(other.low) <= int(self.high)
        if not self.numeric and not other.numeric:
            return (
                len(self.low) == len(other.low)
                and self.low <= other.high
                and other.low <= self.high
            )
        # An alphabetic range may hold codes of digits only (its low end starts at or before
        # '9'); then it is treated as overlapping any numeric range.
        alphabetic = other if self.numeric else self
        return alphabetic.low[:1] <= "9"

    def describe(self) -> str:
        if self.kind == Match.EXACT:
            return self.low
        if self.kind == Match.PREFIX:
            return f"starting {self.low}"
        if self.kind == Match.RANGE:
            return f"from {self.low} to {self.high}"
        return "any"


def parse_pattern(text: str, kind: str | None = None, *, label: str = "code") -> CodePattern:
    """A code as a finance officer writes it. Without `kind` it is read from the text: `*` is any
    code, a trailing `*` a prefix, `LOW-HIGH` a range (when it is one), anything else exact."""
    value = (text or "").strip()
    if kind is None:
        kind = _infer(value)
    if kind == Match.ANY:
        return CodePattern(Match.ANY, "*")
    if not value or value == "*":
        raise PatternError(f"Enter the {label} (or choose 'any code').")
    if len(value) > MAX_CODE:
        raise PatternError(f"The {label} is longer than {MAX_CODE} characters.")
    if kind == Match.EXACT:
        if "*" in value:
            raise PatternError(
                f"The {label} {value} has a '*'; to match every code starting "
                f"{value.rstrip('*')}, choose 'starting with'."
            )
        return CodePattern(Match.EXACT, value, low=value)
    if kind == Match.PREFIX:
        stem = value.rstrip("*")
        if not stem or "*" in stem:
            raise PatternError(
                f"Write the start of the {label} with at most one '*' at the end, like C027*."
            )
        return CodePattern(Match.PREFIX, stem + "*", low=stem)
    if kind == Match.RANGE:
        return _range(value, label)
    raise PatternError(f"'{kind}' is not a way to match a {label}.")


def _infer(value: str) -> str:
    if value == "*":
        return Match.ANY
    if value.endswith("*") and len(value) > 1:
        return Match.PREFIX
    numeric = _NUMERIC_RANGE.fullmatch(value)
    if numeric and int(numeric[1]) <= int(numeric[2]):
        return Match.RANGE
    alpha = _ALPHA_RANGE.fullmatch(value)
    if alpha and len(alpha[1]) == len(alpha[2]) and alpha[1] < alpha[2]:
        return Match.RANGE
    return Match.EXACT


def _range(value: str, label: str) -> CodePattern:
    numeric = _NUMERIC_RANGE.fullmatch(value)
    if numeric:
        low, high = numeric[1], numeric[2]
        if int(low) > int(high):
            raise PatternError(f"The {label} range {value} starts above where it ends.")
        return CodePattern(Match.RANGE, value, low=low, high=high, numeric=True)
    alpha = _ALPHA_RANGE.fullmatch(value)
    if alpha is None:
        raise PatternError(f"Write the {label} range as LOW-HIGH, like 5140-5199 or C000-C099.")
    low, high = alpha[1], alpha[2]
    if len(low) != len(high):
        raise PatternError(
            f"The ends of the {label} range {value} have different lengths; an alphabetic range "
            "compares codes of the same length, like C000-C099."
        )
    if low > high:
        raise PatternError(f"The {label} range {value} starts after where it ends.")
    return CodePattern(Match.RANGE, value, low=low, high=high)


@dataclass(frozen=True)
class Rule:
    """A mapping read as a rule."""

    mapping: LedgerMapping
    cost_centre: CodePattern
    expense_code: CodePattern

    @property
    def rank(self) -> tuple[int, int]:
        return RANK[Match(self.cost_centre.kind)], RANK[Match(self.expense_code.kind)]

    def matches(self, cost_centre: str, expense_code: str) -> bool:
        return self.cost_centre.matches(cost_centre) and self.expense_code.matches(expense_code)

    def describe(self) -> str:
        return describe(self.cost_centre, self.expense_code)


def describe(cost_centre: CodePattern, expense_code: CodePattern) -> str:
    """'cost centre starting C027, expense code any' in words."""
    return f"cost centre {cost_centre.describe()}, expense code {expense_code.describe()}"


def rule_of(mapping: LedgerMapping) -> Rule:
    return Rule(
        mapping,
        parse_pattern(mapping.cost_centre, mapping.cost_centre_match),
        parse_pattern(mapping.expense_code, mapping.expense_code_match),
    )


def overlapping(new: Rule, others: Iterable[Rule]) -> Rule | None:
    """The first other rule of the same precedence that could match a pair `new` matches."""
    for other in others:
        if other.mapping.pk is not None and other.mapping.pk == new.mapping.pk:
            continue
        if other.rank != new.rank:
            continue
        if new.cost_centre.overlaps(other.cost_centre) and new.expense_code.overlaps(
            other.expense_code
        ):
            return other
    return None


class RuleBook:
    """One organisation's mappings for one year: which rule, and so which line, a pair goes to."""

    def __init__(self, mappings: Iterable[LedgerMapping]) -> None:
        self.exact: dict[tuple[str, str], LedgerMapping] = {}
        rules: list[Rule] = []
        for mapping in mappings:
            if mapping.is_rule:
                rules.append(rule_of(mapping))
            else:
                self.exact[(mapping.cost_centre, mapping.expense_code)] = mapping
        self.rules = sorted(rules, key=lambda r: (r.rank, r.mapping.pk or 0))
        self._found: dict[tuple[str, str], Rule | LedgerMapping | None] = {}

    @property
    def has_rules(self) -> bool:
        return bool(self.rules)

    def find(self, cost_centre: str, expense_code: str) -> LedgerMapping | None:
        found = self.which(cost_centre, expense_code)
        return found.mapping if isinstance(found, Rule) else found

    def which(self, cost_centre: str, expense_code: str) -> Rule | LedgerMapping | None:
        """The exact mapping, else the most specific rule that matches, else None."""
        key = (cost_centre, expense_code)
        if key in self._found:
            return self._found[key]
        found: Rule | LedgerMapping | None = self.exact.get(key)
        if found is None:
            found = next((r for r in self.rules if r.matches(cost_centre, expense_code)), None)
        self._found[key] = found
        return found


class LinesByMapping(LineSource):
    """A ledger file's rows: the `budget_line` code if given (a line of a partner fund in the
    row's year), else the organisation's mapping rules for the row's year."""

    def __init__(self, organisation: Organisation, partner_funds: Iterable[int]) -> None:
        self.organisation = organisation
        self.partner_funds = set(partner_funds)
        self._books: dict[int, RuleBook] = {}
        self._codes: dict[tuple[int, str], list[BudgetLine]] | None = None

    def book(self, year_id: int) -> RuleBook:
        if year_id not in self._books:
            self._books[year_id] = RuleBook(
                LedgerMapping.objects.filter(
                    organisation=self.organisation, year_id=year_id
                ).select_related("budget_line__fund", "budget_line__year")
            )
        return self._books[year_id]

    def _lines_by_code(self) -> dict[tuple[int, str], list[BudgetLine]]:
        if self._codes is None:
            self._codes = {}
            for line in BudgetLine.objects.filter(fund_id__in=self.partner_funds).select_related(
                "fund", "year"
            ):
                self._codes.setdefault((line.year_id, line.code), []).append(line)
        return self._codes

    def resolve(self, r: Resolved) -> None:
        if r.year is None:
            return
        if r.line_code is not None:
            found = self._lines_by_code().get((r.year.pk, r.line_code), [])
            r.n_lines = len(found) or None
            r.line = found[0] if len(found) == 1 else None
            return
        mapping = self.book(r.year.pk).find(r.cc or "", r.ec or "")
        if mapping is not None:
            r.mapped_line = r.line = mapping.budget_line
