"""What the year-cycle commands look up by code: a fund, a year, an organisation (CommandError if
there is none), and a service's refusal turned into the command's error."""

from __future__ import annotations

from django.core.management.base import CommandError

from budgets.models import FinancialYear, PooledFund
from localities.models import Organisation


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
