"""The COPY engine's statements: how a staged row is read (a Source: the SQL for each field of
the plain CSV or of a profile's columns), the small lookup tables, the one statement that reads,
resolves and checks every row against budgets.ledger.posting_rules.ROW_RULES, duplicates and
closed periods, and the summaries. budgets.ledger.imports.sql_engine runs them.

Everything put into SQL text here is a constant, an int, or text quoted by `literal()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from budgets.ledger.formats import (
    AMOUNT_PATTERN,
    DATE_FORMATS,
    DATE_YEARS,
    LEDGER_AMOUNT_FORMS,
    LEDGER_MARKS,
    NOT_AMOUNTS,
    PLAIN,
    ZERO_AMOUNT_PATTERN,
    Dialect,
)
from budgets.ledger.imports.results import Found, top_cost_centres
from budgets.ledger.mapping_rules import RuleBook
from budgets.ledger.posting_rules import (
    FALSE_WORDS,
    MESSAGES,
    ROW_RULES,
    TRUE_WORDS,
)
from budgets.ledger.profiles import ProfileSpec
from budgets.models import LedgerMapping
from budgets.models.reference import YEAR_END_PERIOD
from gmhsc.money import MAX_AMOUNT_TEXT
from localities.models import Organisation

UNIQUE_VIOLATION = "23505"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Every temporary table of the SQL engine (session-local; dropped before and after each import).
DROP_TEMP = (
    "DROP TABLE IF EXISTS ledger_stage, ledger_res, ledger_err, ledger_bad, ledger_bad_rows, "
    "ledger_periods, ledger_years, ledger_days, ledger_all_days, ledger_map, ledger_codes, "
    "ledger_docs, ledger_lines"
)
_FIELDS = (
    "org_code",
    "doc",
    "ln_text",
    "date_text",
    "cc",
    "ec",
    "amt_src",
    "debit_text",
    "credit_text",
    "supplier",
    "description",
    "line_code",
    "period_code",
    "accrual_text",
)


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_message(key: str, **exprs: str) -> str:
    """MESSAGES[key] as a SQL expression: each {name} becomes the SQL expression exprs[name]."""
    parts: list[str] = []
    template = MESSAGES[key]
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(literal(template[position : match.start()]))
        parts.append(f"({exprs[match[1]]})::text")
        position = match.end()
    if position < len(template):
        parts.append(literal(template[position:]))
    return "concat(" + ", ".join(parts) + ")"


def _trim(expr: str) -> str:
    """Blanks trimmed; empty (quoted or not) becomes NULL, as Python's reader sees ''."""
    return f"nullif(btrim({expr}, E' \\t\\r\\n'), '')"


def _in(words: tuple[str, ...]) -> str:
    return "(" + ",".join(literal(w) for w in words) + ")"


def _anchored(pattern: str) -> str:
    return literal(f"^(?:{pattern})$")


_PLAIN_AMOUNT = f"~ {_anchored(AMOUNT_PATTERN)}"


def _clean_amount(x: str) -> str:
    """formats.clean_ledger_amount in SQL, for the column expression x."""
    forms = " ".join(
        f"WHEN {x} ~ {_anchored(pattern)} THEN "
        f"{literal('-') + ' || ' if negative else ''}translate({x}, {literal(LEDGER_MARKS)}, '')"
        for pattern, negative in LEDGER_AMOUNT_FORMS
    )
    return f"CASE {forms} ELSE {x} END"


def _negate(x: str) -> str:
    return (
        f"CASE WHEN NOT ({x} {_PLAIN_AMOUNT}) THEN {x} WHEN left({x}, 1) = '-' THEN substr({x}, 2) "
        f"ELSE '-' || ltrim({x}, '+') END"
    )


def _is_zero(x: str) -> str:
    return f"({x} ~ {_anchored(ZERO_AMOUNT_PATTERN)} AND {x} NOT IN {_in(NOT_AMOUNTS)})"


def _debit_credit(d: str, c: str) -> str:
    """posting_rules.Dialect.debit_credit_amount in SQL over cleaned debit d and credit c."""
    return (
        f"CASE WHEN {d} IS NOT NULL AND {c} IS NOT NULL THEN "
        f"CASE WHEN {_is_zero(c)} THEN {d} WHEN {_is_zero(d)} THEN {_negate(c)} END "
        f"WHEN {c} IS NOT NULL THEN {_negate(c)} ELSE {d} END"
    )


# ---- where the rows come from ---------------------------------------------------------------------


def _read_columns(column: Callable[[str], str]) -> dict[str, str]:
    """The raw fields both kinds of file read from a column of the same name (`column`: the SQL
    for a named column of the staged row)."""
    return {
        "doc": column("document_number"),
        "ln_text": column("line_number"),
        "date_text": column("posting_date"),
        "cc": column("cost_centre"),
        "ec": column("expense_code"),
        "amt_src": column("amount"),
        "supplier": column("supplier"),
        "period_code": column("period"),
        "accrual_text": column("is_accrual"),
    }


@dataclass
class Source:
    """The staged file: the SQL for each raw field of a row, and how rows are numbered."""

    exprs: dict[str, str]  # _FIELDS -> SQL over the staging row s
    row_no: str  # SQL: the row's number in the file
    dialect: Dialect = PLAIN
    numbered: bool = False  # line numbers: each document's rows in file order
    apart: bool = False  # numbered, and some document's rows are not together (ledger_lines)
    not_blank: str = ""  # SQL condition leaving out blank rows (profiles)

    @classmethod
    def plain(cls, columns: list[str]) -> Source:
        def column(name: str) -> str:
            return _trim(f"s.{name}") if name in columns else "NULL::text"

        exprs = {
            **_read_columns(column),
            "org_code": column("organisation"),
            "debit_text": "NULL::text",
            "credit_text": "NULL::text",
            "description": "coalesce(s.description, '')",
            "line_code": column("budget_line"),
        }
        return cls(exprs=exprs, row_no="s.n + 1")

    @classmethod
    def profile(
        cls, spec: ProfileSpec, index: dict[str, int], width: int, org_code: str, row_no: str
    ) -> Source:
        def column(name: str) -> str:
            if name in index:
                return _trim(f"s.c{index[name] + 1}")
            if spec.constants.get(name):
                return _trim(literal(spec.constants[name]))
            return "NULL::text"

        description = (
            f"coalesce(s.c{index['description'] + 1}, '')"
            if "description" in index
            else literal(spec.constants.get("description", ""))
        )
        exprs = {
            **_read_columns(column),
            "org_code": literal(org_code),
            "debit_text": column("debit"),
            "credit_text": column("credit"),
            "description": description,
            "line_code": "NULL::text",
        }
        cells = " OR ".join(f"btrim(s.c{i}, E' \\t\\r\\n') <> ''" for i in range(1, width + 1))
        return cls(
            exprs=exprs,
            row_no=row_no,
            dialect=spec.dialect,
            numbered=spec.numbers_lines,
            not_blank=f"({cells})",
        )


# ---- lookups --------------------------------------------------------------------------------------


def _build_lookups(
    cursor: Any, source: Source, organisation: Organisation, partner_funds: list[int]
) -> None:
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
    _create_days(
        cursor,
        "ledger_days",
        "SELECT min(start_date), max(end_date) FROM ledger_years",
        source.dialect,
    )
    _build_mappings(cursor, source, organisation)
    cursor.execute(
        """
        CREATE TEMP TABLE ledger_codes AS
        SELECT year_id, code, count(*) AS n_lines, min(id) AS line_id, min(fund_id) AS fund_id
        FROM budgets_budgetline WHERE fund_id = ANY(%s) GROUP BY year_id, code
        """,
        [partner_funds],
    )
    cursor.execute("ANALYZE ledger_periods, ledger_years, ledger_map, ledger_codes")


def _build_mappings(cursor: Any, source: Source, organisation: Organisation) -> None:
    """ledger_map: (year, cost centre, expense code) -> line and fund. Exact pairs straight from
    the mappings; when the organisation has mapping rules, every distinct pair of the file is
    resolved once by the same RuleBook the Python engine asks."""
    cursor.execute(
        "CREATE TEMP TABLE ledger_map (year_id bigint, cc text, ec text, line_id bigint, "
        "fund_id bigint)"
    )
    mappings = LedgerMapping.objects.filter(organisation=organisation)
    rules = mappings.exclude(
        cost_centre_match=LedgerMapping.Match.EXACT, expense_code_match=LedgerMapping.Match.EXACT
    )
    if not rules.exists():
        cursor.execute(
            """
            INSERT INTO ledger_map
            SELECT m.year_id, m.cost_centre, m.expense_code, l.id, l.fund_id
            FROM budgets_ledgermapping m JOIN budgets_budgetline l ON l.id = m.budget_line_id
            WHERE m.organisation_id = %s
            """,
            [organisation.pk],
        )
        return
    by_year: dict[int, list[LedgerMapping]] = {}
    for mapping in mappings.select_related("budget_line"):
        by_year.setdefault(mapping.year_id, []).append(mapping)
    books = {year_id: RuleBook(items) for year_id, items in by_year.items()}
    cc, ec = source.exprs["cc"], source.exprs["ec"]
    cursor.execute(
        f"SELECT DISTINCT coalesce({cc}, ''), coalesce({ec}, '') FROM ledger_stage s"  # noqa: S608
    )
    pairs = cursor.fetchall()
    rows = []
    for year_id, book in books.items():
        for cost_centre, expense_code in pairs:
            found = book.find(cost_centre, expense_code)
            if found is not None:
                line = found.budget_line
                rows.append((year_id, cost_centre, expense_code, line.pk, line.fund_id))
    with cursor.cursor.copy("COPY ledger_map FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _number_lines(cursor: Any, source: Source) -> None:
    """Line numbers for a profile that numbers each document's lines in file order, without
    sorting the file: ledger_docs has each document's first and last row and its count (a hash
    aggregate); where a document's rows are together (as exports keep them) its lines are
    numbered from its first row; ledger_lines numbers the rest, in file order."""
    doc = f"coalesce({source.exprs['doc']}, '')"
    where = f"WHERE {source.not_blank}" if source.not_blank else ""
    cursor.execute(
        f"""
        CREATE TEMP TABLE ledger_docs AS
        SELECT doc, min(n) AS first_n, max(n) AS last_n, count(*) AS n_rows
        FROM (SELECT s.n, {doc} AS doc FROM ledger_stage s {where}) x
        GROUP BY doc
        """  # noqa: S608 (constants only)
    )
    cursor.execute("SELECT EXISTS (SELECT 1 FROM ledger_docs WHERE last_n - first_n + 1 <> n_rows)")
    # Usually every document's rows are together: then ledger_lines stays empty, unread.
    source.apart = bool(cursor.fetchone()[0])
    conditions = [source.not_blank or "true", "true" if source.apart else "false"]
    cursor.execute(
        f"""
        CREATE TEMP TABLE ledger_lines AS
        SELECT x.n, row_number() OVER (PARTITION BY x.doc COLLATE "C" ORDER BY x.n) AS ln
        FROM (SELECT s.n, {doc} AS doc FROM ledger_stage s WHERE {" AND ".join(conditions)}) x
        JOIN ledger_docs d ON d.doc = x.doc AND d.last_n - d.first_n + 1 <> d.n_rows
        """  # noqa: S608 (constants only)
    )
    cursor.execute("ANALYZE ledger_docs, ledger_lines")


def _create_days(cursor: Any, table: str, span: str, dialect: Dialect) -> None:
    """Every date from the first to the last day `span` (SQL, one row) gives, as text in each way
    the dialect writes dates, with its financial year and the period of its month: a join with it
    refuses 2016-02-30 without an exception and finds each date's year and period."""
    texts = []
    for key in dialect.date_formats:
        fmt = DATE_FORMATS[key]
        days = "days"
        if fmt.two_digit_year:
            days = "(SELECT d FROM days WHERE d BETWEEN '1950-01-01' AND '2049-12-31') dd"
        if fmt.order == "n":
            texts.append(f"SELECT (d - DATE '1899-12-30')::text AS txt, d FROM {days}")  # noqa: S608
            continue
        for template in fmt.sql:
            text = f"to_char(d, {literal(template)})"
            texts.append(
                f"SELECT {'lower(' + text + ')' if fmt.lower else text} AS txt, d FROM {days}"  # noqa: S608
            )
    cursor.execute(
        f"""
        CREATE TEMP TABLE {table} AS
        WITH span (first, last) AS ({span}),
        days AS (
          SELECT d::date AS d FROM span, generate_series(span.first, span.last, '1 day') d
        )
        SELECT t.txt, t.d, y.id AS year_id, p.id AS period_id, p.number AS period_number
        FROM (SELECT DISTINCT txt, d FROM ({" UNION ALL ".join(texts)}) u) t
        LEFT JOIN ledger_years y ON t.d BETWEEN y.start_date AND y.end_date
        LEFT JOIN ledger_periods p
          ON p.year_id = y.id AND p.number = mod(extract(month FROM t.d)::int + 8, 12) + 1
         AND t.d BETWEEN p.start_date AND p.end_date
        """  # noqa: S608 (constants only)
    )
    cursor.execute(f"ANALYZE {table}")


# ---- resolving and checking -----------------------------------------------------------------------


def _resolved_select(source: Source, org_id: int, *, labels: bool, leave: bool) -> str:
    """Every staged row read and parsed once, with its organisation, year, period, line (by
    mapping or code), fund and "already posted". `labels` adds the codes and dates only the
    messages need, and reads only the rows listed in ledger_bad_rows."""
    e = source.exprs
    dialect = source.dialect
    fields = ",\n".join(f"{e[name]} AS {name}" for name in _FIELDS if name != "ln_text")
    if source.numbered and labels:
        line_number = "lr.line_no::text"
    elif source.numbered:
        # Each document's rows in file order (number_lines): from its first row, or where its
        # rows are not together, from ledger_lines.
        line_number = (
            "(coalesce(ll.ln, s.n - d.first_n + 1))::text"
            if source.apart
            else "(s.n - d.first_n + 1)::text"
        )
    else:
        line_number = e["ln_text"]
    if labels:
        source_sql = f"ledger_bad_rows k JOIN ledger_stage s ON {source.row_no} = k.row_no" + (
            " JOIN ledger_res lr ON lr.row_no = k.row_no" if source.numbered else ""
        )
    elif source.numbered:
        source_sql = (
            f"ledger_stage s LEFT JOIN ledger_docs d ON d.doc = coalesce({e['doc']}, '') "
            + ("LEFT JOIN ledger_lines ll ON ll.n = s.n" if source.apart else "")
        )
    else:
        source_sql = "ledger_stage s"
    where = f"WHERE {source.not_blank}" if source.not_blank else ""
    if dialect.debit_credit:
        amount = _debit_credit(_clean_amount("a0.debit_text"), _clean_amount("a0.credit_text"))
    elif dialect.ledger_amounts:
        amount = _clean_amount("a0.amt_src")
    else:
        amount = "a0.amt_src"
    lower = any(DATE_FORMATS[k].lower for k in dialect.date_formats)
    date_key = "lower(a.date_text)" if lower else "a.date_text"
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
    outside = (
        "(c.line_code IS NULL AND c.year_id IS NOT NULL AND c.mapped_line_id IS NULL)"
        if leave
        else "false"
    )
    amount_ok = f"a.amt_text {_PLAIN_AMOUNT} AND length(a.amt_text) <= {MAX_AMOUNT_TEXT}"
    # The OFFSET 0 fences keep the trimmed and parsed values from being worked out again inside
    # the joins. A line number is 1 to 9 digits (LINE_NUMBER_RE; ltrim costs a third of a regex).
    return f"""
        SELECT r.*{label_columns}
        FROM (
          SELECT c.*,
                 coalesce(c.given_period_id, c.date_period_id) AS period_id,
                 coalesce(c.given_period_number, c.date_period_number) AS period_number,
                 {outside} AS outside
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
                SELECT a0.*, {amount} AS amt_text
                FROM (
                  SELECT {source.row_no} AS row_no,
                         {line_number} AS ln_text,
                         {fields}
                  FROM {source_sql}
                  {where}
                  OFFSET 0
                ) a0
                OFFSET 0
              ) a
              LEFT JOIN {days} dd ON dd.txt = {date_key}
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
    """  # noqa: S608 (constants, ints and literal() text only)


# What the checks, the insert, the summary and the stale marks read of each row.
_RESOLVED_COLUMNS = (
    "r.row_no, r.org_id, r.doc, r.line_no, r.posting_date, r.period_id, r.period_number, "
    "r.given_period_id, r.year_id, r.line_id, r.fund_id, r.amount_raw, r.supplier, "
    "r.description, r.accrual_text, r.existing, r.outside"
)


# What a file's bytes may hold that some rules look for (posting_rules.Rule.scan).
ALL_SCANS = frozenset({"controls", "line_breaks"})


def _checks(
    organisation: Organisation,
    partner_funds: list[int],
    source: Source,
    leave: bool,
    scans: frozenset[str] = ALL_SCANS,
) -> list[tuple[str, str, str]]:
    """(field, condition, message) of every rule that applies to a file's rows, from ROW_RULES.
    Conditions read only columns of _resolved_select(labels=False); messages may read the labels
    too. A rule with a `scan` is left out unless the file's bytes allow it (`scans`)."""
    params = {
        "org_id": str(int(organisation.pk)),
        "org_code": literal(organisation.code),
        "funds": "ARRAY[" + ",".join(str(int(f)) for f in partner_funds) + "]::bigint[]",
        "leave_outside": "true" if leave else "false",
        "date_label": literal(source.dialect.date_label),
        "amount_hint": literal(source.dialect.amount_hint),
    }
    checks = []
    for rule in ROW_RULES:
        if rule.sql is None or (rule.scan and rule.scan not in scans):
            continue
        values = {k: v.format(**params) for k, v in rule.sql_values.items()}
        checks.append((rule.field, rule.sql.format(**params), sql_message(rule.message, **values)))
    return checks


def build_resolved(
    cursor: Any,
    source: Source,
    organisation: Organisation,
    partner_funds: list[int],
    leave: bool,
    steps: Callable[[str], None],
    scans: frozenset[str] = ALL_SCANS,
) -> tuple[int, int]:
    """ledger_res: one row per staged row with its parsed values, resolved line and period, and
    whether any rule fails (`bad`); ledger_err: every problem found, as (row, field, message);
    ledger_bad: the rows with a problem, with the labels their messages quote. Returns the number
    of rows and of rows with a problem."""
    org_id = organisation.pk
    _build_lookups(cursor, source, organisation, partner_funds)
    if source.numbered:
        _number_lines(cursor, source)
    steps("lookups")
    checks = _checks(organisation, partner_funds, source, leave, scans)
    bad = " OR ".join(f"({condition})" for _field, condition, _expr in checks)
    resolved = _resolved_select(source, org_id, labels=False, leave=leave)
    columns = f"{_RESOLVED_COLUMNS}, ({bad}) IS TRUE AS bad"
    if leave:
        columns += ", r.cc"
    cursor.execute(f"CREATE TEMP TABLE ledger_res AS SELECT {columns} FROM ({resolved}) r")  # noqa: S608
    rows = max(cursor.rowcount, 0)
    steps("resolve")
    # Messages only for the rows with a problem (usually none), one rule at a time, with the
    # labels they quote.
    cursor.execute("CREATE TEMP TABLE ledger_bad_rows AS SELECT row_no FROM ledger_res WHERE bad")
    bad_rows = cursor.rowcount
    if bad_rows:
        first, last = DATE_YEARS
        _create_days(
            cursor,
            "ledger_all_days",
            f"SELECT '{first:04d}-01-01'::date, '{last:04d}-12-31'::date",
            source.dialect,
        )
        cursor.execute(
            "CREATE TEMP TABLE ledger_bad AS "
            + _resolved_select(source, org_id, labels=True, leave=leave)
        )
        selects = [
            _ERROR_SELECT.format(field=literal(field), expr=expr, condition=condition)
            for field, condition, expr in checks
        ]
        cursor.execute("CREATE TEMP TABLE ledger_err AS " + " UNION ALL ".join(selects))
        cursor.execute("DROP TABLE ledger_all_days")
        cursor.execute("SELECT count(DISTINCT row_no) FROM ledger_err")
        if cursor.fetchone()[0] != bad_rows:
            # Each rule's condition is part of `bad`, so this cannot happen; if it ever did, no
            # row may be posted without its problem being named.
            raise RuntimeError("ledger import: rows failed the checks without a message")
    else:
        cursor.execute("CREATE TEMP TABLE ledger_err (row_no bigint, field text, message text)")
    cursor.execute("DROP TABLE ledger_bad_rows")
    steps("checks")
    _duplicate_errors(cursor)
    steps("duplicates")
    cursor.execute(closed_errors_sql())
    steps("closed")
    return rows, bad_rows


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
        """  # noqa: S608 (constants only)
    )


def closed_errors_sql() -> str:
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
    """  # noqa: S608 (constants and ints only)


# One check's problems: constants, ints and literal()-quoted text only.
_ERROR_SELECT = (
    "SELECT r.row_no, {field}::text AS field, {expr} AS message FROM ledger_bad r WHERE {condition}"
)

# Under the organisation's lock, just before the insert: whether the closed-period rules must be
# checked again, because a row goes to a period that is closed now (closed since the checks) or to
# M13, which takes rows only while M12 is closed (M12 may have been reopened since).
CLOSED_NOW = f"""
    SELECT EXISTS (
      SELECT 1 FROM (
        SELECT DISTINCT fund_id, period_id, period_number FROM ledger_res
        WHERE NOT existing AND NOT outside
      ) u
      LEFT JOIN budgets_fundperiod fp
        ON fp.fund_id = u.fund_id AND fp.period_id = u.period_id AND fp.status = 'closed'
      WHERE fp.id IS NOT NULL OR u.period_number = {YEAR_END_PERIOD}
    )
"""  # noqa: S608 (constants only)

INSERT_SQL = f"""
    INSERT INTO budgets_spendposting
      (organisation_id, document_number, line_number, posting_date, period_id, fund_id,
       budget_line_id, amount, supplier, description, is_accrual, ledger_import_id,
       created_by_id, created_at, reverses_id)
    SELECT r.org_id, r.doc, r.line_no, r.posting_date, r.period_id, r.fund_id,
           r.line_id, round(r.amount_raw, 2), coalesce(r.supplier, ''), r.description,
           coalesce(lower(r.accrual_text) IN {_in(TRUE_WORDS)}, false), %s, %s, now(), NULL
    FROM ledger_res r
    WHERE NOT r.existing AND r.org_id = %s AND NOT r.outside
"""  # noqa: S608 (constants only)
SKIP_POSTED = "ON CONFLICT (organisation_id, document_number, line_number) DO NOTHING"
assert "" in FALSE_WORDS  # an empty accrual flag is "no", as coalesce(..., false) reads it

# Rows, new rows and amount per fund and period: grouped by ids first, then labelled. Every amount
# passed the two-decimal-places check, so rounding the sum once gives the same pounds and pence.
_SUMMARY_SQL = """
    SELECT f.code, p.code, g.n, g.new, g.total
    FROM (
      SELECT fund_id, period_id, count(*) AS n, count(*) FILTER (WHERE NOT existing) AS new,
             round(sum(amount_raw), 2) AS total
      FROM ledger_res WHERE NOT bad AND NOT outside GROUP BY fund_id, period_id
    ) g
    LEFT JOIN budgets_pooledfund f ON f.id = g.fund_id
    LEFT JOIN ledger_periods p ON p.id = g.period_id
    ORDER BY f.code COLLATE "C", p.code COLLATE "C"
"""
_BY_LINE_SQL = """
    SELECT f.code, l.code, l.name, p.code, g.n, g.new, g.total
    FROM (
      SELECT line_id, period_id, count(*) AS n, count(*) FILTER (WHERE NOT existing) AS new,
             round(sum(amount_raw), 2) AS total
      FROM ledger_res WHERE NOT bad AND NOT outside GROUP BY line_id, period_id
    ) g
    JOIN budgets_budgetline l ON l.id = g.line_id
    JOIN budgets_pooledfund f ON f.id = l.fund_id
    JOIN ledger_periods p ON p.id = g.period_id
    ORDER BY f.code COLLATE "C", l.code COLLATE "C", p.code COLLATE "C"
"""


def found_summary(cursor: Any, rows: int, leave: bool, *, by_line: bool) -> Found:
    cursor.execute(_SUMMARY_SQL)
    found = Found(
        rows=rows,
        summary=[
            {"fund": f, "period": p, "rows": int(n), "posted": int(new), "amount": str(total)}
            for f, p, n, new, total in cursor.fetchall()
        ],
    )
    if by_line:
        cursor.execute(_BY_LINE_SQL)
        found.by_line = [
            {
                "fund": f,
                "line": line,
                "line_name": name,
                "period": p,
                "rows": int(n),
                "new": int(new),
                "amount": str(total),
            }
            for f, line, name, p, n, new, total in cursor.fetchall()
        ]
    if leave:
        cursor.execute(
            "SELECT coalesce(cc, ''), count(*), sum(amount_raw) FROM ledger_res "
            "WHERE outside AND NOT bad GROUP BY 1"
        )
        penny = Decimal("0.01")
        by_cc: dict[str, list[Any]] = {
            cc: [int(n), Decimal(total).quantize(penny)] for cc, n, total in cursor.fetchall()
        }
        found.outside_rows = sum(int(v[0]) for v in by_cc.values())
        found.outside_amount = sum((v[1] for v in by_cc.values()), Decimal("0.00"))
        found.outside_top = top_cost_centres(by_cc)
    return found


def unmapped_pairs(cursor: Any, *, leave: bool) -> list[dict[str, Any]]:
    """Pairs no mapping covers, refused (not left out), with their rows and amount: rows with a
    problem only, so read from ledger_bad."""
    rule = next(r for r in ROW_RULES if r.key == "no_mapping")
    assert rule.sql is not None
    condition = rule.sql.format(leave_outside="true" if leave else "false")
    cursor.execute(
        f"""
        SELECT y, cc, ec, count(*), round(coalesce(sum(amount_raw), 0), 2)
        FROM (
          SELECT r.year_code AS y, coalesce(r.cc, '') AS cc, coalesce(r.ec, '') AS ec,
                 r.amount_raw
          FROM ledger_bad r WHERE {condition}
        ) u
        GROUP BY y, cc, ec ORDER BY y COLLATE "C", cc COLLATE "C", ec COLLATE "C"
        """  # noqa: S608 (constants only)
    )
    return [
        {"year": y, "cost_centre": cc, "expense_code": ec, "rows": int(n), "amount": str(total)}
        for y, cc, ec, n, total in cursor.fetchall()
    ]
