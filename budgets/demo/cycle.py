"""The demo's financial year cycle, on top of the 2016/17 demo year:

- 2016/17 runs to year end: lighter spend for M7..M12 (one invoice per line a month), every month
  closed, year-end accruals in M13, each partner's four instalments received (a few late), then the
  year closed and settled under each fund's agreement and its underspend choice;
- 2017/18 is set in February 2017 by rolling each fund forward (uplift 1.9%, efficiency 1.0%,
  service areas with their own rates, contributions +1.5%), approved, its shares fixed, with savings
  schemes (QIPP / cost improvement) and their delivery to M6, spend and closed months to M6, and
  receipts for the first two quarters (one partner's second instalment late and part paid, one not
  yet paid);
- 2018/19 is opened and LP-MANCHESTER and LP-BOLTON have it rolled forward, in draft.

Money moves through the services where a person would act (roll forward, year close, savings,
M13 accruals, approvals). Bulk history is loaded in bulk, as the other demo modules do: spend for
M7..M12 and for 2017/18, month closes (their frozen reports fill in after the server starts:
budgets.demo.reports.fill_in) and 2016/17's receipts. Deterministic (random.Random) and idempotent:
a second run finds GM-POOL's 2017/18 budget setting and changes nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from budgets.ledger.services.postings import spend_post
from budgets.models import (
    BudgetLine,
    BudgetSetting,
    Contribution,
    ContributionReceipt,
    FinancialYear,
    Forecast,
    FundBudget,
    FundPeriod,
    Period,
    PooledFund,
    RiskShareAgreement,
    SpendPosting,
)
from budgets.models.lines import MONTH_FIELDS
from budgets.outbox import mark_stale
from budgets.planning.services import funds as fund_services
from budgets.planning.services.receipts import receipt_record
from budgets.planning.services.roll_forward import fund_roll_forward
from budgets.planning.services.savings import savings_delivery_record, savings_scheme_create
from budgets.planning.services.years import financial_year_open
from budgets.reports.year_end import close_and_settle, financial_year_close
from localities import roles
from localities.models import User

SEED = 20170401
YEAR, NEXT, AFTER = "2016/17", "2017/18", "2018/19"
DRAFTED = ("LP-BOLTON", "LP-MANCHESTER")
# The agreements' underspend choices (domain.md 1.4), one of each among the funds with officers.
UNDERSPEND = {
    "GM-POOL": RiskShareAgreement.Underspend.RETURN_PRO_RATA,
    "LP-MANCHESTER": RiskShareAgreement.Underspend.CARRY_FORWARD,
    "LP-BOLTON": RiskShareAgreement.Underspend.RETAIN,
}
# How each fund's second half of 2016/17 runs against its phased budget: a mix of over- and
# underspends (LP-MANCHESTER's underspend is carried into 2017/18, LP-BOLTON's retained).
SECOND_HALF = {
    "GM-POOL": Decimal("1.02"),
    "LP-MANCHESTER": Decimal("0.93"),
    "LP-BOLTON": Decimal("0.94"),
    "BCF-MAN": Decimal("0.95"),
}
OTHERS = (Decimal("0.95"), Decimal("1.03"))
UPLIFT, EFFICIENCY, CONTRIBUTIONS = "1.90", "1.00", "1.50"
AREA_RATES = {
    "AC.NEL": {"uplift_pct": "2.50", "efficiency_pct": "1.50"},
    "ASC.HOME": {"uplift_pct": "3.00", "efficiency_pct": "0.50"},
    "ASC.RES": {"uplift_pct": "2.75", "efficiency_pct": "2.00"},
    "PC.PRESC": {"uplift_pct": "4.00", "efficiency_pct": "2.50"},
}
SCHEMES = [
    ("QIPP-01", "Reduce non-elective admissions from care homes", "AC.NEL"),
    ("QIPP-02", "Prescribing: switch to best-value biosimilars", "PC.PRESC"),
    ("CIP-03", "Home care: outcome-based commissioning", "ASC.HOME"),
    ("CIP-04", "Residential care: placements at the standard rate", "ASC.RES"),
    ("QIPP-05", "Community nursing: skill mix review", "CC.CHS"),
]


def _officer(fund: PooledFund) -> User | None:
    return (
        User.objects.filter(organisation_id=fund.host_id, groups__name=roles.FINANCE_OFFICER)
        .order_by("username")
        .first()
    )


def _admin() -> User:
    return User.objects.filter(groups__name=roles.ADMINISTRATOR).order_by("pk")[:1].get()


def _moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def seed() -> Iterator[str]:
    if BudgetSetting.objects.filter(fund__code="GM-POOL", year__code=NEXT).exists():
        yield "year cycle demo: already loaded"
        return
    year = FinancialYear.objects.filter(code=YEAR).first()
    if year is None or not BudgetLine.objects.filter(year=year).exists():
        yield f"year cycle demo: no {YEAR} budget lines yet; nothing loaded"
        return
    rng = random.Random(SEED)
    admin = _admin()
    funds = list(
        PooledFund.objects.filter(budgets__year=year).select_related("host").order_by("code")
    )
    officers = {fund.pk: _officer(fund) for fund in funds}

    def acting(fund: PooledFund) -> User:
        return officers[fund.pk] or admin

    for code, choice in UNDERSPEND.items():
        RiskShareAgreement.objects.filter(fund__code=code, year=year).update(underspend=choice)
    posted = _spend(rng, funds, year, range(7, 13), "DM")
    _close_months(funds, year, range(1, 13), acting)
    accruals = sum(_accruals(fund, year, acting(fund)) for fund in funds)
    received = _receipts_in_full(rng, year, acting)
    yield (
        f"year cycle demo: {YEAR} M7-M12 {posted:,} postings, months closed, {accruals} year-end "
        f"accruals in M13, {received} receipts"
    )

    financial_year_open(actor=admin, code=AFTER, reason="Demo: budget setting for 2018/19")
    next_year = financial_year_open(actor=admin, code=NEXT)[0]
    carried = 0
    for fund in funds:
        result = fund_roll_forward(
            actor=acting(fund),
            fund=fund,
            year=next_year,
            uplift_pct=UPLIFT,
            efficiency_pct=EFFICIENCY,
            service_areas=_area_rates(fund, year),
            contribution_uplift_pct=CONTRIBUTIONS,
            reason="Budget-setting round, January 2017 (Joint Commissioning Board 28 February)",
        )
        carried += result.setting.lines_carried
        _approve(fund, next_year, acting(fund), admin)
    yield f"year cycle demo: {NEXT} rolled forward for {len(funds)} funds ({carried:,} lines), approved"

    closes = []
    for fund in funds:
        officer = officers[fund.pk]
        reason = "Year-end close after the external audit"
        if officer is not None:
            closes.append(financial_year_close(actor=officer, fund=fund, year=year, reason=reason))
        else:
            closes.append(close_and_settle(actor=admin, fund=fund, year=year, reason=reason))
    over = sum(1 for c in closes if c.variance > 0)
    yield f"year cycle demo: {YEAR} closed and settled for {len(closes)} funds ({over} overspent)"

    schemes = _savings(rng, funds, next_year, officers, admin)
    posted = _spend(rng, funds, next_year, range(1, 7), "DN")
    forecasts = _forecasts(rng, funds, next_year)
    _close_months(funds, next_year, range(1, 7), acting)
    receipts = _receipts_to_q2(next_year, acting)
    yield (
        f"year cycle demo: {NEXT} {schemes} savings schemes, M1-M6 {posted:,} postings and "
        f"{forecasts} forecasts, months closed to M6, {receipts} receipts"
    )

    after = FinancialYear.objects.get(code=AFTER)
    for fund in [f for f in funds if f.code in DRAFTED]:
        fund_roll_forward(
            actor=acting(fund),
            fund=fund,
            year=after,
            uplift_pct="2.10",
            efficiency_pct="1.50",
            contribution_uplift_pct="1.80",
            reason="First draft for 2018/19",
        )
    yield f"year cycle demo: {AFTER} opened; {', '.join(DRAFTED)} rolled forward in draft"


def _area_rates(fund: PooledFund, year: FinancialYear) -> dict[str, dict[str, str]]:
    present = set(
        BudgetLine.objects.filter(fund=fund, year=year).values_list("service_area__code", flat=True)
    )
    return {code: rates for code, rates in AREA_RATES.items() if code in present}


def _poster(line: dict[str, Any], contributors: dict[int, set[int]], hosts: dict[int, int]) -> int:
    """The lead commissioner posts its line's spend when it contributes, else the host."""
    lead = line["lead_commissioner_id"]
    return lead if lead in contributors[line["fund_id"]] else hosts[line["fund_id"]]


def _spend(
    rng: random.Random, funds: list[PooledFund], year: FinancialYear, months: range, prefix: str
) -> int:
    """One invoice per line a month: the phased budget, give or take, a few lines well over or
    under; inserted in bulk and marked for the recompute."""
    periods = {p.number: p for p in Period.objects.filter(year=year, number__in=list(months))}
    contributors: dict[int, set[int]] = defaultdict(set)
    for fund_id, partner_id in Contribution.objects.filter(year=year).values_list(
        "fund_id", "partner_id"
    ):
        contributors[fund_id].add(partner_id)
    hosts = {f.pk: f.host_id for f in funds}
    lines = BudgetLine.objects.filter(fund__in=funds, year=year).values(
        "id", "fund_id", "lead_commissioner_id", "name", *MONTH_FIELDS
    )
    bias = {
        f.pk: SECOND_HALF.get(f.code, OTHERS[i % 2]) if year.code == YEAR else Decimal(1)
        for i, f in enumerate(funds)
    }
    rows = []
    for line in lines.order_by("fund_id", "code"):
        drift = bias[line["fund_id"]] * rng.choice([94, 97, 100, 100, 103, 106]) / 100
        poster = _poster(line, contributors, hosts)
        for n in months:
            budget = line[MONTH_FIELDS[n - 1]]
            if budget <= 0:
                continue
            period = periods[n]
            amount = (budget * drift * Decimal(rng.randrange(94, 107)) / 100).quantize(
                Decimal("0.01")
            )
            rows.append(
                SpendPosting(
                    organisation_id=poster,
                    document_number=f"{prefix}{n:02d}-{line['id']}",
                    line_number=1,
                    posting_date=period.end_date - timedelta(days=rng.randrange(0, 20)),
                    period=period,
                    fund_id=line["fund_id"],
                    budget_line_id=line["id"],
                    amount=amount,
                    supplier="Monthly provider invoice",
                    description=f"{line['name'][:80]}: {period.month_name} services",
                )
            )
    SpendPosting.objects.bulk_create(rows, batch_size=2000)
    for fund in funds:
        mark_stale(fund_id=fund.pk, year_id=year.pk, reason="demo spend loaded")
    return len(rows)


def _close_months(funds: list[PooledFund], year: FinancialYear, months: range, acting: Any) -> None:
    """Month-end closes, each on the seventh day after the month ended. Their frozen reports are
    made after the server starts (budgets.demo.reports.fill_in)."""
    periods = list(Period.objects.filter(year=year, number__in=list(months)))
    FundPeriod.objects.bulk_create(
        [
            FundPeriod(
                fund=fund,
                period=period,
                status=FundPeriod.Status.CLOSED,
                changed_by=acting(fund),
                changed_at=_moment(period.end_date + timedelta(days=7)),
                reason="Month-end close",
            )
            for fund in funds
            for period in periods
        ],
        ignore_conflicts=True,
    )


def _accruals(fund: PooledFund, year: FinancialYear, actor: User) -> int:
    """Year-end adjustments in M13, posted by the host: an accrual for March care invoiced in
    April on the fund's three largest host-led lines."""
    lines = list(
        BudgetLine.objects.filter(fund=fund, year=year, lead_commissioner_id=fund.host_id)
        .order_by("-current_budget", "code")
        .values_list("id", "current_budget")[:3]
    )
    if not lines:
        return 0
    rows = [
        {
            "document_number": f"YE-ACR-{fund.code}",
            "line_number": n,
            "posting_date": year.end_date,
            "period": f"{year.code}-M13",
            "amount": (budget * Decimal("0.012")).quantize(Decimal("0.01")),
            "budget_line": line_id,
            "description": "Year-end accrual: March activity invoiced in April",
            "is_accrual": True,
        }
        for n, (line_id, budget) in enumerate(lines, start=1)
    ]
    return spend_post(actor=actor, organisation=fund.host, rows=rows).posted


def _receipts_in_full(rng: random.Random, year: FinancialYear, acting: Any) -> int:
    """Every 2016/17 instalment received, on or a few days after its due date; a few late."""
    receipts = []
    contributions = list(
        Contribution.objects.filter(year=year).select_related("fund__host", "partner")
    )
    for c in contributions:
        for n, instalment in enumerate(c.instalments.order_by("due_date"), start=1):
            days = rng.randrange(0, 6) if rng.random() > 0.06 else rng.randrange(20, 45)
            receipts.append(
                ContributionReceipt(
                    contribution=c,
                    received_on=instalment.due_date + timedelta(days=days),
                    amount=instalment.amount,
                    reference=f"BACS {c.partner.code} {year.code} Q{n}",
                    recorded_by=acting(c.fund),
                )
            )
    ContributionReceipt.objects.bulk_create(receipts, batch_size=1000)
    for c in contributions:
        fund_services.write_instalments(c)
    return len(receipts)


def _approve(fund: PooledFund, year: FinancialYear, actor: User, admin: User) -> None:
    """Submitted by the host's commissioner, approved by the host's finance officer (the demo's
    administrator for hosts without either), shares fixed."""
    # Nobody approves what they submitted: the host's commissioner submits.
    submitter = (
        User.objects.filter(organisation_id=fund.host_id, groups__name=roles.COMMISSIONER)
        .order_by("pk")
        .first()
    )
    if actor != admin and submitter is not None:
        fund_services.fund_budget_submit(actor=submitter, fund=fund, year=year)
        fund_services.fund_budget_approve(actor=actor, fund=fund, year=year)
    else:
        FundBudget.objects.filter(fund=fund, year=year).update(
            status=FundBudget.Status.APPROVED,
            submitted_by=admin,
            submitted_at=_moment(date(2017, 2, 28), 16),
            approved_by=admin,
            approved_at=_moment(date(2017, 2, 28), 16),
        )
    fund_services.contributions_fix_shares(actor=actor, fund=fund, year=year)


def _savings(
    rng: random.Random,
    funds: list[PooledFund],
    year: FinancialYear,
    officers: dict[int, User | None],
    admin: User,
) -> int:
    """Schemes that deliver about four fifths of the efficiency each fund's budget assumes, with
    their delivery to M6: most on plan, some slipping."""
    count = 0
    for fund in funds:
        actor = officers[fund.pk] or admin
        efficiency = sum(
            fund.budget_settings.get(year=year).lines.values_list("efficiency", flat=True),
            Decimal("0.00"),
        )
        lines_by_area: dict[str, list[BudgetLine]] = defaultdict(list)
        for line in (
            BudgetLine.objects.filter(fund=fund, year=year)
            .select_related("service_area", "lead_commissioner")
            .order_by("-current_budget")
        ):
            lines_by_area[line.service_area.code].append(line)
        schemes = [s for s in SCHEMES if lines_by_area.get(s[2])][
            : 5 if fund.code == "GM-POOL" else 3
        ]
        if not schemes:
            continue
        share = (efficiency * Decimal("0.8") / len(schemes)).quantize(Decimal("0.01"))
        for code, name, area in schemes:
            lines = lines_by_area[area][:3]
            monthly = (share / 12).quantize(Decimal("0.01"))
            planned = [monthly] * 11 + [share - monthly * 11]
            scheme = savings_scheme_create(
                actor=actor,
                fund=fund,
                year=year,
                code=code,
                name=name,
                lead_commissioner=lines[0].lead_commissioner,
                lines=lines,
                planned=planned,
                commentary="Agreed at the Joint Commissioning Board, 28 February 2017.",
            )
            rate = rng.choice([Decimal("1.00"), Decimal("0.97"), Decimal("0.90"), Decimal("0.70")])
            for month in range(1, 7):
                savings_delivery_record(
                    actor=actor,
                    scheme=scheme,
                    month=month,
                    amount=(planned[month - 1] * rate).quantize(Decimal("0.01")),
                    commentary="" if rate >= Decimal("0.97") else "Slower than planned.",
                )
            count += 1
    return count


def _forecasts(rng: random.Random, funds: list[PooledFund], year: FinancialYear) -> int:
    """M6 forecasts with commentary on about one line in ten."""
    period = Period.objects.get(year=year, number=6)
    author = User.objects.filter(username="finance.gm").first()
    rows = []
    for line in BudgetLine.objects.filter(fund__in=funds, year=year).order_by("fund_id", "code"):
        if rng.random() >= 0.1:
            continue
        drift = Decimal(rng.randrange(-50, 80)) / 1000
        rows.append(
            Forecast(
                line=line,
                period=period,
                amount=(line.current_budget * (1 + drift)).quantize(Decimal("0.01")),
                commentary=(
                    "Activity above plan; recovery plan agreed with providers."
                    if drift > 0
                    else "Vacancies and slippage; underspend expected to continue."
                ),
                updated_by=author,
            )
        )
    Forecast.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _receipts_to_q2(year: FinancialYear, acting: Any) -> int:
    """2017/18's first two instalments, through the receipts service. Manchester CCG pays its
    second instalment late and only in part; NHS England's second for GM-POOL is still unpaid."""
    count = 0
    for c in Contribution.objects.filter(year=year).select_related("fund__host", "partner", "year"):
        instalments = list(c.instalments.order_by("due_date")[:2])
        for n, instalment in enumerate(instalments, start=1):
            amount, day = instalment.amount, instalment.due_date + timedelta(days=2)
            if n == 2 and c.fund.code == "LP-MANCHESTER" and c.partner.code == "14L":
                amount, day = (instalment.amount / 2).quantize(Decimal("0.01")), date(2017, 8, 14)
            if n == 2 and c.fund.code == "GM-POOL" and c.partner.code == "X24":
                continue
            if amount <= 0:
                continue
            receipt_record(
                actor=acting(c.fund),
                contribution=c,
                amount=amount,
                received_on=day,
                reference=f"BACS {c.partner.code} {year.code} Q{n}",
            )
            count += 1
    return count
