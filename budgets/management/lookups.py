"""What the year-cycle commands look up by code: a fund, a year, an organisation (CommandError if
there is none), and a service's refusal turned into the command's error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import CommandError
from django.db.models import Model, QuerySet

from budgets.models import FinancialYear, PooledFund
from gmhsc.errors import ApplicationError
from localities.actors import command_actor
from localities.models import Organisation

RowT = TypeVar("RowT", bound=Model)
T = TypeVar("T")


def fund_named(code: str) -> PooledFund:
    fund = PooledFund.objects.select_related("host").filter(code=code).first()
    if fund is None:
        raise CommandError(f"There is no fund {code}.")
    return fund


def year_named(code: str) -> FinancialYear:
    year = FinancialYear.objects.filter(code=code).first()
    if year is None:
        raise CommandError(f"There is no financial year {code}; open it with open_financial_year.")
    return year


def organisation_named(code: str) -> Organisation:
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        raise CommandError(f"There is no organisation {code}.")
    return org


def first_or_error(rows: QuerySet[RowT], message: str) -> RowT:
    """The first of `rows`, or the command stops with `message`."""
    row = rows.first()
    if row is None:
        raise CommandError(message)
    return row


@contextmanager
def refusal_as_command_error() -> Iterator[None]:
    """A service's refusal (ApplicationError) ends the command with its message, no traceback."""
    try:
        yield
    except ApplicationError as exc:
        raise CommandError(exc.message) from exc


def fund_year_call(options: dict[str, Any], service: Callable[..., T]) -> tuple[PooledFund, T]:
    """`service` for the --fund's --year, by --user, with --reason; a refusal ends the command."""
    fund = fund_named(options["fund"])
    with refusal_as_command_error():
        done = service(
            actor=command_actor(options.get("user")),
            fund=fund,
            year=year_named(options["year"]),
            reason=options["reason"],
        )
    return fund, done
