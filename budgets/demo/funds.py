"""Demo funds for 2016/17: the GM-wide pool, ten locality pools and Manchester's BCF pool.

Deterministic (random.Random with a fixed seed) and idempotent: a second run finds GM-POOL's
2016/17 lines and changes nothing. Lines, contributions and forecasts are bulk-loaded, so they
carry no simple-history rows (a demo load is not an audited change); the virements and
adjustments go through the real services so their history, re-phasing and stale marks are real.

Also loads 2015/16 lines with a year of posted actuals for LP-BOLTON and LP-MANCHESTER, so
"last year's pattern" phasing has data (document numbers start with the fund code, e.g.
LP-BOLTON/ASC.HOME-01/04; budgets.demo.spend need not post 2015/16). Later years come from the
year cycle itself (budgets.demo.cycle): 2017/18 is rolled forward from 2016/17, not loaded.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from budgets.models import (
    BudgetLine,
    Contribution,
    ContributionInstalment,
    FinancialYear,
    Forecast,
    FundBudget,
    Period,
    PooledFund,
    RiskShareAgreement,
    ServiceArea,
    SpendPosting,
)
from budgets.models.lines import MONTH_FIELDS
from budgets.planning import phasing
from budgets.planning.services.adjustments import adjustment_create
from budgets.planning.services.funds import quarter_dates
from budgets.planning.services.virements import virement_approve, virement_request
from budgets.seed import seed_service_areas, seed_years
from gmhsc.money import ZERO, split_largest_remainder
from localities import roles
from localities.models import Locality, Organisation, User

SEED = 20160401
YEAR = "2016/17"
PREVIOUS = "2015/16"
GM_HOST = "E47000001"
NHS_ENGLAND = "X24"
GM_LINES_PER_AREA = 6
LP_LINES_PER_AREA = 8
LAST_YEAR_FUNDS = ("LP-BOLTON", "LP-MANCHESTER")
COUNCIL_LED = ("PH", "ASC", "TRF", "OTH")
# Acute and urgent care peak in winter.
SEASONAL_AREAS = {"AC.NEL", "AC.AMB", "CC.DISCH", "CC.INT", "PC.OOH"}
QUARTERLY = [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
SUFFIXES = [
    "core contract",
    "north",
    "south",
    "central",
    "growth",
    "pilot",
    "winter",
    "extended",
    "prevention",
    "recovery",
]


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A round-ish amount in pounds (to the £100) between low and high."""
    return Decimal(rng.randrange(low // 100, high // 100) * 100) + Decimal("0.00")


def _ccgs_for(locality: Locality, year_start: Any) -> list[Organisation]:
    return [
        org
        for org in locality.organisations.filter(kind=Organisation.Kind.CCG).order_by("code")
        if (org.valid_from is None or org.valid_from <= year_start)
        and (org.valid_to is None or org.valid_to >= year_start)
    ]


def _council_for(locality: Locality) -> Organisation:
    return Organisation.objects.get(code=locality.gss_code)


def _slug(locality: Locality) -> str:
    return locality.name.upper().replace(" ", "-")


class _Builder:
    """Collects unsaved lines for one fund-year, then phases and bulk-inserts them."""

    def __init__(self, rng: random.Random, fund: PooledFund, year: FinancialYear) -> None:
        self.rng, self.fund, self.year = rng, fund, year
        self.lines: list[BudgetLine] = []

    def add(
        self,
        *,
        code: str,
        name: str,
        area: ServiceArea,
        lead: Organisation,
        locality: Locality | None,
        amount: Decimal,
        last_year: list[Decimal] | None = None,
    ) -> None:
        roll = self.rng.random()
        if last_year is not None and roll < 0.4:
            method = phasing.LAST_YEAR
        elif area.code in SEASONAL_AREAS:
            method = phasing.SEASONAL
        elif roll < 0.12:
            method = phasing.CUSTOM
        elif roll < 0.22:
            method = phasing.SEASONAL
        else:
            method = phasing.FLAT
        custom = split_largest_remainder(amount, QUARTERLY) if method == phasing.CUSTOM else None
        phased = phasing.phase_explained(amount, method, custom=custom, last_year=last_year)
        line = BudgetLine(
            fund=self.fund,
            year=self.year,
            code=code,
            name=name[:200],
            service_area=area,
            locality=locality,
            lead_commissioner=lead,
            recurrent=self.rng.random() < 0.85,
            original_budget=amount,
            changes=ZERO,
            current_budget=amount,
            phasing_method=phased.method,
        )
        for field, part in zip(MONTH_FIELDS, phased.parts, strict=True):
            setattr(line, field, part)
        self.lines.append(line)

    def save(self) -> list[BudgetLine]:
        BudgetLine.objects.bulk_create(self.lines, batch_size=500)
        return list(BudgetLine.objects.filter(fund=self.fund, year=self.year).order_by("code"))


def _fund(code: str, **fields: Any) -> PooledFund:
    fund, _ = PooledFund.objects.get_or_create(code=code, defaults=fields)
    return fund


def _contributions(
    fund: PooledFund, year: FinancialYear, amounts: dict[Organisation, Decimal], *, fix: bool = True
) -> None:
    """Contributions with quarterly instalments; shares fixed at the start of the year unless the
    year's budget is still being set (`fix=False`)."""
    partners = sorted(amounts, key=lambda o: o.code)
    units = split_largest_remainder(Decimal("1000000.00"), [amounts[p] for p in partners])
    fixed_at = datetime(year.start_date.year, 4, 1, 8, 0, tzinfo=UTC)
    rows = [
        Contribution(
            fund=fund,
            year=year,
            partner=partner,
            amount=amounts[partner],
            share=(unit / Decimal(1000000)).quantize(Decimal("0.00000001")) if fix else None,
            shares_fixed_at=fixed_at if fix else None,
        )
        for partner, unit in zip(partners, units, strict=True)
    ]
    Contribution.objects.bulk_create(rows)
    instalments = []
    for contribution in Contribution.objects.filter(fund=fund, year=year):
        parts = split_largest_remainder(contribution.amount, [1, 1, 1, 1])
        for due, part in zip(quarter_dates(year), parts, strict=True):
            instalments.append(
                ContributionInstalment(contribution=contribution, due_date=due, amount=part)
            )
    ContributionInstalment.objects.bulk_create(instalments)


def _contribution_amounts(lines: list[BudgetLine]) -> dict[Organisation, Decimal]:
    totals: dict[Organisation, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        totals[line.lead_commissioner] += line.current_budget
    return dict(totals)


def _approve(fund: PooledFund, year: FinancialYear, approver: User | None) -> None:
    """Submitted by a partner's commissioner, approved by the host's finance officer: nobody
    approves their own request, in the demo history too."""
    moment = datetime(year.start_date.year - 1, 2, 28, 16, 0, tzinfo=UTC)
    partners = [fund.host_id, *fund.contributions.values_list("partner_id", flat=True)]
    candidates = User.objects.filter(
        groups__name=roles.COMMISSIONER, organisation_id__in=partners
    ).order_by("username")
    if approver is not None:
        candidates = candidates.exclude(pk=approver.pk)
    submitter = candidates.first()
    FundBudget.objects.update_or_create(
        fund=fund,
        year=year,
        defaults={
            "status": FundBudget.Status.APPROVED,
            "submitted_by": submitter,
            "submitted_at": moment,
            "approved_by": approver,
            "approved_at": moment,
        },
    )


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _finance_officer(username: str) -> User | None:
    """The demo finance officer who signs a fund's budget off; None for the councils the demo
    gives no finance officer (their budgets are recorded as approved without a name)."""
    return User.objects.filter(username=username).first() if username else None


def _risk_share(
    fund: PooledFund, year: FinancialYear, rule: str, parameters: dict[str, Any]
) -> None:
    RiskShareAgreement.objects.get_or_create(
        fund=fund,
        year=year,
        defaults={
            "rule": rule,
            "parameters": parameters,
            "agreed_on": year.start_date.replace(month=3),
            "notes": "Section 75 agreement, schedule 3 (risk share).",
        },
    )


def _fixed_split(council: Organisation, ccgs: list[Organisation]) -> dict[str, Any]:
    """Council 50%, the CCGs share 50% equally (to the penny of a percent)."""
    parts = split_largest_remainder(Decimal("50.00"), [1] * len(ccgs))
    percentages = {council.code: "50.00"}
    percentages.update({ccg.code: str(part) for ccg, part in zip(ccgs, parts, strict=True)})
    return {"percentages": percentages}


def _areas() -> list[ServiceArea]:
    return list(
        ServiceArea.objects.filter(parent__isnull=False).select_related("parent").order_by("code")
    )


def _lead_for(
    area: ServiceArea, council: Organisation, ccgs: list[Organisation], n: int
) -> Organisation:
    if area.parent is not None and area.parent.code in COUNCIL_LED:
        return council
    return ccgs[n % len(ccgs)]


def _seed_gm_pool(
    rng: random.Random, year: FinancialYear, localities: list[Locality]
) -> PooledFund:
    host = Organisation.objects.get(code=GM_HOST)
    nhse = Organisation.objects.get(code=NHS_ENGLAND)
    fund = _fund(
        "GM-POOL",
        name="Greater Manchester health and social care pooled fund",
        scope=PooledFund.Scope.GM,
        arrangement=PooledFund.Arrangement.POOLED,
        host=host,
        officer_virement_limit=Decimal("500000.00"),
        rag_floor=Decimal("50000.00"),
    )
    builder = _Builder(rng, fund, year)
    for locality in localities:
        council = _council_for(locality)
        ccgs = _ccgs_for(locality, year.start_date)
        for area in _areas():
            for n in range(GM_LINES_PER_AREA):
                lead = _lead_for(area, council, ccgs, n)
                if area.code == "AC.SPEC" and n == 0:
                    lead = nhse  # specialised commissioning stays with NHS England
                builder.add(
                    code=f"GM-{locality.old_la_code}-{area.code}-{n + 1:02d}",
                    name=f"{locality.name}: {area.name} ({SUFFIXES[n % len(SUFFIXES)]})",
                    area=area,
                    lead=lead,
                    locality=locality,
                    amount=_money(rng, 150_000, 6_000_000),
                )
    lines = builder.save()
    _contributions(fund, year, _contribution_amounts(lines))
    _risk_share(fund, year, RiskShareAgreement.Rule.PRO_RATA, {"cap_at_contribution": True})
    _approve(fund, year, _user("finance.gm"))
    return fund


def _last_year_actuals(
    rng: random.Random, fund: PooledFund, previous: FinancialYear, lines: list[BudgetLine]
) -> dict[str, list[Decimal]]:
    """Post a year of monthly actuals for the 2015/16 lines; return each code's monthly pattern."""
    periods = {p.number: p for p in Period.objects.filter(year=previous, number__lte=12)}
    postings = []
    patterns: dict[str, list[Decimal]] = {}
    for line in lines:
        weights = [
            (
                phasing.SEASONAL_TEMPLATE[i]
                if line.service_area.code in SEASONAL_AREAS
                else Decimal(1)
            )
            * Decimal(rng.randrange(90, 111))
            / 100
            for i in range(12)
        ]
        outturn = line.current_budget * Decimal(rng.randrange(94, 107)) / 100
        months = split_largest_remainder(outturn.quantize(Decimal("0.01")), weights)
        patterns[line.code] = months
        for number, amount in enumerate(months, start=1):
            period = periods[number]
            postings.append(
                SpendPosting(
                    organisation_id=line.lead_commissioner_id,
                    document_number=f"{fund.code}/{line.code}/{number:02d}",
                    line_number=1,
                    posting_date=period.end_date,
                    period=period,
                    fund=fund,
                    budget_line=line,
                    amount=amount,
                    supplier="Various providers (monthly summary)",
                    description=f"{previous.code} actuals, {period.month_name}",
                )
            )
    SpendPosting.objects.bulk_create(postings, batch_size=1000)
    return patterns


def _seed_locality_pool(
    rng: random.Random,
    year: FinancialYear,
    previous: FinancialYear,
    locality: Locality,
    rule_index: int,
) -> PooledFund:
    council = _council_for(locality)
    ccgs = _ccgs_for(locality, year.start_date)
    fund = _fund(
        f"LP-{_slug(locality)}",
        name=f"{locality.name} locality pooled budget",
        scope=PooledFund.Scope.LOCALITY,
        locality=locality,
        arrangement=PooledFund.Arrangement.POOLED
        if rule_index % 3
        else PooledFund.Arrangement.ALIGNED,
        host=council,
    )
    patterns: dict[str, list[Decimal]] = {}
    if fund.code in LAST_YEAR_FUNDS:
        last = _Builder(rng, fund, previous)
        for area in _areas():
            for n in range(LP_LINES_PER_AREA):
                last.add(
                    code=f"{area.code}-{n + 1:02d}",
                    name=f"{area.name} ({SUFFIXES[n % len(SUFFIXES)]})",
                    area=area,
                    lead=_lead_for(area, council, ccgs, n),
                    locality=locality,
                    amount=_money(rng, 40_000, 1_500_000),
                )
        previous_lines = last.save()
        _contributions(fund, previous, _contribution_amounts(previous_lines))
        _approve(fund, previous, _finance_officer(_finance_user(council)))
        patterns = _last_year_actuals(rng, fund, previous, previous_lines)
    builder = _Builder(rng, fund, year)
    for area in _areas():
        for n in range(LP_LINES_PER_AREA):
            code = f"{area.code}-{n + 1:02d}"
            builder.add(
                code=code,
                name=f"{area.name} ({SUFFIXES[n % len(SUFFIXES)]})",
                area=area,
                lead=_lead_for(area, council, ccgs, n),
                locality=locality,
                amount=_money(rng, 40_000, 1_600_000),
                last_year=patterns.get(code),
            )
    lines = builder.save()
    _contributions(fund, year, _contribution_amounts(lines))
    rules = [
        (RiskShareAgreement.Rule.OWN_RISK, {}),
        (RiskShareAgreement.Rule.FIXED, _fixed_split(council, ccgs)),
        (
            RiskShareAgreement.Rule.THRESHOLD,
            {"host_first_pct": "2.00", "then": "pro_rata", "cap_at_contribution": False},
        ),
        (RiskShareAgreement.Rule.PRO_RATA, {"cap_at_contribution": False}),
    ]
    rule, params = rules[rule_index % len(rules)]
    _risk_share(fund, year, rule, params)
    _approve(fund, year, _finance_officer(_finance_user(council)))
    return fund


def _finance_user(council: Organisation) -> str:
    return {"E08000003": "finance.manchester", "E08000001": "finance.bolton"}.get(council.code, "")


def _seed_bcf(rng: random.Random, year: FinancialYear) -> PooledFund:
    manchester = Locality.objects.get(gss_code="E08000003")
    council = _council_for(manchester)
    ccgs = _ccgs_for(manchester, year.start_date)
    fund = _fund(
        "BCF-MAN",
        name="Manchester Better Care Fund",
        scope=PooledFund.Scope.LOCALITY,
        locality=manchester,
        host=council,
        is_bcf=True,
        officer_virement_limit=Decimal("100000.00"),
    )
    builder = _Builder(rng, fund, year)
    areas = {a.code: a for a in _areas()}
    schemes = [
        ("CC.INT", "Integrated neighbourhood teams"),
        ("CC.DISCH", "Discharge to assess"),
        ("ASC.REAB", "Reablement"),
        ("ASC.EQUIP", "Disabled Facilities Grant"),
        ("ASC.CARER", "Carers' breaks"),
        ("CC.CHS", "Community nursing protection"),
        ("MH.DEM", "Dementia support"),
        ("ASC.HOME", "Protection of adult social care"),
    ]
    for i, (area_code, title) in enumerate(schemes):
        for n in range(5):
            area = areas[area_code]
            builder.add(
                code=f"BCF-{i + 1:02d}-{n + 1}",
                name=f"{title} ({SUFFIXES[n]})",
                area=area,
                lead=_lead_for(area, council, ccgs, n + i),
                locality=manchester,
                amount=_money(rng, 200_000, 2_500_000),
            )
    lines = builder.save()
    _contributions(fund, year, _contribution_amounts(lines))
    _risk_share(fund, year, RiskShareAgreement.Rule.FIXED, _fixed_split(council, ccgs))
    _approve(fund, year, _user("finance.manchester"))
    return fund


def _forecasts(rng: random.Random, funds: list[PooledFund], year: FinancialYear) -> int:
    """Forecasts for M1..M6 on about one line in eight, with commentary when they move."""
    periods = {p.number: p for p in Period.objects.filter(year=year, number__lte=6)}
    author = _user("finance.gm")
    rows = []
    for fund in funds:
        lines = list(BudgetLine.objects.filter(fund=fund, year=year).order_by("code"))
        for line in lines:
            if rng.random() >= 0.125:
                continue
            drift = Decimal(rng.randrange(-60, 90)) / 1000  # -6% .. +9% by M6
            for number in range(1, 7):
                share = drift * number / 6
                amount = (line.current_budget * (1 + share)).quantize(Decimal("0.01"))
                pct = abs(share * 100)
                if pct >= fund.rag_amber_pct:
                    commentary = (
                        "Demand above plan; recovery actions agreed with providers."
                        if share > 0
                        else "Slippage on recruitment; underspend expected to continue."
                    )
                else:
                    commentary = "On track." if number == 6 else ""
                rows.append(
                    Forecast(
                        line=line,
                        period=periods[number],
                        amount=amount,
                        commentary=commentary,
                        updated_by=author,
                    )
                )
    Forecast.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _pick(fund: PooledFund, year: FinancialYear, **filters: Any) -> list[BudgetLine]:
    return list(
        BudgetLine.objects.filter(fund=fund, year=year, **filters)
        .select_related("fund", "year", "lead_commissioner")
        .order_by("-current_budget", "code")
    )


def _changes(year: FinancialYear) -> Iterator[str]:
    """A few virements (one awaiting the board) and adjustments, through the real services."""
    comm_mcr, fin_gm = _user("comm.manchester"), _user("finance.gm")
    comm_central, fin_mcr = _user("comm.centralmcr"), _user("finance.manchester")
    comm_bolton = _user("comm.bolton")
    if not all([comm_mcr, fin_gm, comm_central, fin_mcr, comm_bolton]):
        yield "budgets demo: demo users missing, so no virements or adjustments"
        return
    gm = PooledFund.objects.get(code="GM-POOL")
    mcr_council = _pick(
        gm, year, lead_commissioner__code="E08000003", service_area__parent__code="ASC"
    )
    v1 = virement_request(
        actor=comm_mcr,
        from_line=mcr_council[0],
        to_line=mcr_council[1],
        amount=Decimal("150000.00"),
        recurrent=True,
        reason="Shift from residential placements to home care, per the ASC market plan.",
    )
    virement_approve(actor=fin_gm, virement=v1, note="Within officer delegation; agreed at JCE.")
    virement_request(
        actor=comm_mcr,
        from_line=mcr_council[2],
        to_line=mcr_council[3],
        amount=Decimal("1200000.00"),
        recurrent=True,
        reason="Recurrent investment in reablement from the residential care budget.",
    )
    lp_mcr = PooledFund.objects.get(code="LP-MANCHESTER")
    central = _pick(lp_mcr, year, lead_commissioner__code="00W")
    v3 = virement_request(
        actor=comm_central,
        from_line=central[0],
        to_line=central[1],
        amount=Decimal("85000.00"),
        recurrent=False,
        reason="One-off winter capacity.",
    )
    virement_approve(actor=fin_mcr, virement=v3, note="Agreed.")
    bolton = PooledFund.objects.get(code="LP-BOLTON")
    bolton_ccg = _pick(bolton, year, lead_commissioner__code="00T")
    virement_request(
        actor=comm_bolton,
        from_line=bolton_ccg[0],
        to_line=bolton_ccg[1],
        amount=Decimal("40000.00"),
        recurrent=False,
        reason="Extra community nursing over the bank holidays.",
    )
    ph = _pick(gm, year, lead_commissioner__code="E08000003", service_area__parent__code="PH")
    adjustment_create(
        actor=fin_gm,
        line=ph[0],
        amount=Decimal("-250000.00"),
        reason="In-year reduction to the public health grant.",
        recurrent=True,
    )
    adjustment_create(
        actor=fin_mcr,
        line=central[2],
        amount=Decimal("75000.00"),
        reason="Winter pressures funding received from NHS England.",
    )
    yield "budgets demo: 4 virements (1 awaiting board, 1 requested), 2 adjustments"


def seed() -> Iterator[str]:
    if BudgetLine.objects.filter(fund__code="GM-POOL", year__code=YEAR).exists():
        yield "budgets demo: already loaded"
        return
    if not Locality.objects.exists():
        yield "budgets demo: no reference data (run seed_reference first)"
        return
    seed_years()
    if not ServiceArea.objects.exists():
        seed_service_areas()
    rng = random.Random(SEED)
    with transaction.atomic():
        year = FinancialYear.objects.get(code=YEAR)
        previous = FinancialYear.objects.get(code=PREVIOUS)
        localities = list(Locality.objects.order_by("gss_code"))
        funds = [_seed_gm_pool(rng, year, localities)]
        for index, locality in enumerate(localities):
            funds.append(_seed_locality_pool(rng, year, previous, locality, index))
        funds.append(_seed_bcf(rng, year))
        forecast_count = _forecasts(rng, funds, year)
        messages = list(_changes(year))
    total = BudgetLine.objects.filter(year=year).count()
    yield f"budgets demo: {len(funds)} funds, {total} lines for {YEAR}, {forecast_count} forecasts"
    yield f"budgets demo: {PREVIOUS} lines and actuals for {', '.join(LAST_YEAR_FUNDS)}"
    yield from messages
