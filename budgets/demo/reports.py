"""Demo month-end: close M1..M5 of 2016/17 for every demo fund whose host has a demo finance officer,
through the real period_close service, so frozen snapshots exist for each month and the latest
closed month (M5) has its CSV, XLSX and PDF. Earlier months' files are made when asked for (the
GM-wide pool's PDF takes about a minute on SQLite; five of them would make `make run` slow).

Idempotent: months already closed are skipped; the report task freezes one snapshot per close
and makes each file once. M6 is left open so a finance officer can close it in the demo.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from budgets.models import ExportJob, FundBudget, FundPeriod, Period, PooledFund, ReportSnapshot
from budgets.planning.services.periods import period_close
from budgets.reports.month_close import close_month_reports
from localities import roles
from localities.models import User

YEAR = "2016/17"
CLOSE_THROUGH = 5


def _finance_officer(fund: PooledFund) -> User | None:
    return (
        User.objects.filter(organisation_id=fund.host_id, groups__name=roles.FINANCE_OFFICER)
        .order_by("username")
        .first()
    )


def seed() -> Iterator[str]:
    funds = PooledFund.objects.filter(
        budgets__year__code=YEAR, budgets__status=FundBudget.Status.APPROVED
    ).order_by("code")
    periods = list(
        Period.objects.select_related("year")
        .filter(year__code=YEAR, number__lte=CLOSE_THROUGH)
        .order_by("number")
    )
    closed = skipped = 0
    for fund in funds:
        officer = _finance_officer(fund)
        if officer is None:
            skipped += 1
            continue
        for period in periods:
            status = FundPeriod.objects.filter(fund=fund, period=period).first()
            if status is None or status.status != FundPeriod.Status.CLOSED:
                with transaction.atomic():
                    period_close(
                        actor=officer,
                        fund=fund,
                        period=period,
                        reason="Demo month-end close",
                        files=period.number == CLOSE_THROUGH,
                    )
                closed += 1
            else:
                # An earlier run closed it; make sure its snapshot (and M5's files) exist.
                close_month_reports(
                    fund_id=fund.pk,
                    period_id=period.pk,
                    files=period.number == CLOSE_THROUGH,
                    wait_for_figures=False,
                )
    snapshots = ReportSnapshot.objects.filter(period__year__code=YEAR).count()
    files = ExportJob.objects.filter(
        source=ExportJob.Source.PERIOD_CLOSE, status=ExportJob.Status.DONE
    ).count()
    yield (
        f"month-end close: {closed} months closed (M1..M{CLOSE_THROUGH}), "
        f"{snapshots} frozen snapshots, {files} report files"
        + (f"; {skipped} funds skipped (no host finance officer)" if skipped else "")
    )
