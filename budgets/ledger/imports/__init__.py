"""Ledger file imports. `service` is the way in (start, run, preview, post); `reading` reads the
plain gmhsc CSV and profile files; `python_engine` and `sql_engine` check and post; `results`
writes what they found on the LedgerImport."""

from budgets.ledger.imports.reading import HEADER, OPTIONAL, HeaderError, check_header
from budgets.ledger.imports.results import ERRORS_SHOWN, TERMINAL, error_file, summary_total
from budgets.ledger.imports.service import (
    check_again,
    import_ledger_file,
    post_import,
    run_import,
    start_import,
)

__all__ = [
    "ERRORS_SHOWN",
    "HEADER",
    "OPTIONAL",
    "TERMINAL",
    "HeaderError",
    "check_again",
    "check_header",
    "error_file",
    "import_ledger_file",
    "post_import",
    "run_import",
    "start_import",
    "summary_total",
]
