"""factory-boy factories for budgets. Each helper appends its own section below its heading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

import factory

from budgets.models import (
    BudgetLine,
    Contribution,
    FinancialYear,
    FundBudget,
    PooledFund,
    ServiceArea,
)
from budgets.seed import seed_years
from gmhsc.money import split_largest_remainder
from localities import roles
from localities.models import Organisation
from tests.factories import OrganisationFactory, UserFactory

# ---- funds, contributions, budget lines ----------------------------------------------------------


def make_year(code: str = "2016/17") -> FinancialYear:
    """A financial year with its 13 periods (idempotent)."""
    seed_years([code])
    return FinancialYear.objects.get(code=code)


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n}.SUB")
    name = factory.Sequence(lambda n: f"Test service area {n}")


class PooledFundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PooledFund
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"F{n:03d}")
    name = factory.Sequence(lambda n: f"Test pooled fund {n}")
    scope = PooledFund.Scope.LOCALITY
    host = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.COUNCIL)


class ContributionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contribution

    fund = factory.SubFactory(PooledFundFactory)
    year = factory.LazyFunction(make_year)
    partner = factory.SubFactory(OrganisationFactory)
    amount = Decimal("100000.00")


class FundBudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundBudget
        django_get_or_create = ("fund", "year")

    fund = factory.SubFactory(PooledFundFactory)
    year = factory.LazyFunction(make_year)
    status = FundBudget.Status.DRAFT


class BudgetLineFactory(factory.django.DjangoModelFactory):
    """A line phased flat; pass original_budget (and changes) and the phasing follows."""

    class Meta:
        model = BudgetLine

    fund = factory.SubFactory(PooledFundFactory)
    year = factory.LazyFunction(make_year)
    code = factory.Sequence(lambda n: f"L{n:04d}")
    name = factory.Sequence(lambda n: f"Budget line {n}")
    service_area = factory.SubFactory(ServiceAreaFactory)
    lead_commissioner = factory.LazyAttribute(lambda o: o.fund.host)
    original_budget = Decimal("120000.00")
    changes = Decimal("0.00")
    current_budget = factory.LazyAttribute(lambda o: o.original_budget + o.changes)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> BudgetLine:
        if "m01" not in kwargs:
            parts = split_largest_remainder(kwargs["current_budget"], [1] * 12)
            for n, part in enumerate(parts, start=1):
                kwargs[f"m{n:02d}"] = part
        return super()._create(model_class, *args, **kwargs)


@dataclass
class BudgetWorld:
    """A locality pool hosted by a council with a CCG partner, people on each side and an outsider."""

    year: FinancialYear
    fund: PooledFund
    host: Organisation
    ccg: Organisation
    outsider: Organisation
    area: ServiceArea
    comm_host: Any
    comm_ccg: Any
    comm_outsider: Any
    fin_host: Any
    fin_ccg: Any
    fin_outsider: Any
    admin: Any
    host_line: BudgetLine
    ccg_line: BudgetLine


def budget_world(*, status: str = FundBudget.Status.DRAFT) -> BudgetWorld:
    year = make_year("2016/17")
    make_year("2015/16")
    host = OrganisationFactory(code="TCOUNCIL", name="Test Council", kind=Organisation.Kind.COUNCIL)
    ccg = OrganisationFactory(code="TCCG", name="Test CCG", kind=Organisation.Kind.CCG)
    outsider = OrganisationFactory(code="TOTHER", name="Other CCG", kind=Organisation.Kind.CCG)
    fund = PooledFundFactory(
        code="LP-TEST",
        name="Test locality pool",
        host=host,
        officer_virement_limit=Decimal("50000.00"),
    )
    ContributionFactory(fund=fund, year=year, partner=host, amount=Decimal("600000.00"))
    ContributionFactory(fund=fund, year=year, partner=ccg, amount=Decimal("400000.00"))
    FundBudgetFactory(fund=fund, year=year, status=status)
    area = ServiceAreaFactory(code="ASC.HOME", name="Home care")

    def user(name: str, role: str, org: Organisation) -> Any:
        return UserFactory(
            username=name,
            first_name=name.title(),
            last_name="Tester",
            roles=[role],
            organisation=org,
        )

    return BudgetWorld(
        year=year,
        fund=fund,
        host=host,
        ccg=ccg,
        outsider=outsider,
        area=area,
        comm_host=user("commhost", roles.COMMISSIONER, host),
        comm_ccg=user("commccg", roles.COMMISSIONER, ccg),
        comm_outsider=user("commother", roles.COMMISSIONER, outsider),
        fin_host=user("finhost", roles.FINANCE_OFFICER, host),
        fin_ccg=user("finccg", roles.FINANCE_OFFICER, ccg),
        fin_outsider=user("finother", roles.FINANCE_OFFICER, outsider),
        admin=user("admin1", roles.ADMINISTRATOR, outsider),
        host_line=BudgetLineFactory(
            fund=fund,
            year=year,
            code="HC01",
            name="Home care",
            service_area=area,
            lead_commissioner=host,
            original_budget=Decimal("120000.00"),
        ),
        ccg_line=BudgetLineFactory(
            fund=fund,
            year=year,
            code="CH01",
            name="Community health",
            service_area=area,
            lead_commissioner=ccg,
            original_budget=Decimal("60000.00"),
        ),
    )


def fund_line(w: BudgetWorld, code: str, budget: str, **fields: Any) -> BudgetLine:
    """Another line of w's fund in w's year, phased flat, in w's service area and led by the host
    (unless `fields` say otherwise), with `budget` its original budget."""
    defaults = {"service_area": w.area, "lead_commissioner": w.host}
    return BudgetLineFactory(
        fund=w.fund,
        year=w.year,
        code=code,
        original_budget=Decimal(budget),
        **{**defaults, **fields},
    )


def approved_virement(w: BudgetWorld, **request: Any) -> Any:
    """A virement (virement_request's from_line, to_line, amount, reason and, one-off unless
    said, recurrent) requested by the host's commissioner and approved by its finance officer
    (nobody approves their own request)."""
    from budgets.planning.services.virements import virement_approve, virement_request

    virement = virement_request(actor=w.comm_host, **{"recurrent": False, **request})
    return virement_approve(actor=w.fin_host, virement=virement)


# ---- reports -------------------------------------------------------------------------------------


def synthetic_variance_report(lines: int = 6, *, grouping: str = "service_area") -> Any:
    """A VarianceReport built straight from numbers (no database), for renderer tests and benches.

    Lines cycle over 3 service areas, 2 localities (and GM-wide) and 2 lead commissioners.
    """
    from datetime import UTC, datetime

    from budgets.reports.variance import ReportRow, RiskShareEntry, VarianceReport
    from gmhsc.money import percentage

    areas = [
        ("ASC", "Adult social care", "ASC.HOME", "Home care"),
        ("ASC", "Adult social care", "ASC.RES", "Residential care"),
        ("PH", "Public health", "PH.SEX", "Sexual health"),
    ]
    rows = []
    for i in range(lines):
        parent_code, parent, code, name = areas[i % 3]
        current = Decimal(120000 + 1000 * i) + Decimal("0.45")
        ytd_budget = (current / 2).quantize(Decimal("0.01"))
        ytd_actual = ytd_budget + Decimal(500 * (i % 5) - 1000) + Decimal("0.10")
        fot = current + Decimal(2000 * (i % 4) - 3000)
        rows.append(
            ReportRow(
                line_id=i + 1,
                line_code=f"L{i:05d}",
                line_name=f"Line {i}",
                service_area_code=code,
                service_area=name,
                service_area_parent_code=parent_code,
                service_area_parent=parent,
                locality=["Bolton", "Manchester", ""][i % 3],
                lead_commissioner_code=["E08000001", "00T"][i % 2],
                lead_commissioner=["Bolton Council", "Bolton CCG"][i % 2],
                original_budget=current - Decimal(1000 * (i % 2)),
                changes=Decimal(1000 * (i % 2)),
                current_budget=current,
                ytd_budget=ytd_budget,
                ytd_actual=ytd_actual,
                ytd_variance=ytd_actual - ytd_budget,
                ytd_variance_pct=percentage(ytd_actual - ytd_budget, ytd_budget),
                commitments=Decimal(250 * (i % 3)),
                forecast_outturn=fot,
                forecast_variance=fot - current,
                forecast_variance_pct=percentage(fot - current, current),
                movement=Decimal(100 * (i % 3) - 100),
                rag=["green", "amber", "red"][i % 3],
                adverse_favourable="adverse" if fot > current else "favourable",
                commentary="" if i % 3 == 0 else f"Comment {i}",
            )
        )
    report = VarianceReport(
        fund_id=1,
        fund_code="SYN",
        fund_name="Synthetic fund",
        host="Bolton Council",
        year_code="2016/17",
        period_id=6,
        period_code="2016/17-M06",
        period_number=6,
        period_end="2016-09-30",
        as_at=datetime(2016, 10, 3, 13, 2, tzinfo=UTC),
        pending=0,
        closed=False,
        source="live",
        snapshot_run=None,
        snapshot_checksum="",
        rag_amber_pct=Decimal("2.00"),
        rag_red_pct=Decimal("5.00"),
        rag_floor=Decimal("0.00"),
        rows=rows,
        risk_share=[
            RiskShareEntry(
                "E08000001", "Bolton Council", "forecast", "pro_rata", Decimal("600.00")
            ),
            RiskShareEntry("00T", "Bolton CCG", "forecast", "pro_rata", Decimal("400.00")),
        ],
        risk_share_rule="Pro rata to contributions",
        fair_share=[],
        fair_share_note="No fair-share allocation has been run.",
    )
    return report.regroup(grouping)


def make_posting(
    *,
    organisation: Any,
    line: Any,
    document: str,
    amount: str,
    line_number: int = 1,
    period_number: int = 6,
    supplier: str = "Acme Care Ltd",
    description: str = "Home care services",
    is_accrual: bool = False,
    reverses: Any = None,
) -> Any:
    """A spend posting written directly (transparency tests read postings, not snapshots)."""
    from budgets.models import Period, SpendPosting

    period = Period.objects.get(year=line.year, number=period_number)
    return SpendPosting.objects.create(
        organisation=organisation,
        document_number=document,
        line_number=line_number,
        posting_date=period.end_date,
        period=period,
        fund=line.fund,
        budget_line=line,
        amount=Decimal(amount),
        supplier=supplier,
        description=description,
        is_accrual=is_accrual,
        reverses=reverses,
    )


def small_variance_fund() -> BudgetWorld:
    """The hand-computed fund of tests/budgets/test_report_variance.py, built through the services
    (a virement and a forecast, postings with an accrual and a reversal, commitments, the recompute).

    Callers in `db` tests wrap it in django_capture_on_commit_callbacks(execute=True).
    """
    from budgets.ledger.services import postings as ledger
    from budgets.models import Period, SpendPosting
    from budgets.planning.services.commitments import commitments_replace
    from budgets.planning.services.forecasts import forecast_set

    d = Decimal
    w = budget_world(status=FundBudget.Status.APPROVED)
    periods = {p.number: p for p in Period.objects.filter(year=w.year)}
    approved_virement(
        w,
        from_line=w.host_line,
        to_line=w.ccg_line,
        amount=d("12000.00"),
        reason="Move home care to community health",
    )

    def row(
        doc: str,
        n: int,
        amount: str,
        line: BudgetLine,
        supplier: str,
        text: str,
        accrual: bool = False,
    ) -> dict[str, Any]:
        return {
            "document_number": doc,
            "line_number": 1,
            "posting_date": periods[n].end_date,
            "amount": d(amount),
            "budget_line": line,
            "supplier": supplier,
            "description": text,
            "is_accrual": accrual,
        }

    host_rows = [
        row(f"H-{n:02d}", n, "9500.00", w.host_line, "Acme Care Ltd", f"Home care M{n}")
        for n in range(1, 7)
    ]
    host_rows.append(
        row("H-ERR", 2, "5000.00", w.host_line, "Wrong Ltd", "Posted to the wrong line")
    )
    host_rows.append(
        row(
            "H-ACC6",
            6,
            "2000.00",
            w.host_line,
            "Acme Care Ltd",
            "September care not yet invoiced",
            accrual=True,
        )
    )
    ledger.spend_post(actor=w.fin_host, organisation=w.host, rows=host_rows)
    ledger.spend_post(
        actor=w.fin_ccg,
        organisation=w.ccg,
        rows=[
            row(f"C-{n:02d}", n, "5500.00", w.ccg_line, "Community Trust", f"Community health M{n}")
            for n in range(1, 7)
        ],
    )
    error = SpendPosting.objects.get(organisation=w.host, document_number="H-ERR")
    ledger.spend_reverse(actor=w.fin_host, posting=error, reason="Wrong line", period=periods[3])
    forecast_set(
        actor=w.fin_host,
        line=w.host_line,
        period=periods[6],
        amount=d("115000.00"),
        commentary="Winter pressures; recovery plan agreed",
    )
    commitments_replace(
        actor=w.fin_host,
        source_ref="PO-1",
        rows={w.host_line.pk: {7: d("1000.00"), 8: d("1000.00")}},
    )
    return w


def close_months(fund: Any, year: Any, through: int) -> None:
    """Months 1..through closed for the fund, written directly (no frozen report)."""
    from budgets.models import FundPeriod, Period

    for period in Period.objects.filter(year=year, number__lte=through):
        FundPeriod.objects.update_or_create(
            fund=fund, period=period, defaults={"status": FundPeriod.Status.CLOSED}
        )


def context_world(*, extra_lines: int = 0) -> BudgetWorld:
    """The demo's shape for the reporting context: 2016/17 approved with £10,000 of spend on
    HC01 in each of M1..M6 and M1..M5 closed; 2017/18 a draft with three lines and no spend.
    `extra_lines`: more 2016/17 lines (P000, P001, ...) to page through. Recomputed in full."""
    from budgets.figures.recompute import recompute_fund_now

    w = budget_world(status=FundBudget.Status.APPROVED)
    w.next_year = make_year("2017/18")
    FundBudgetFactory(fund=w.fund, year=w.next_year, status=FundBudget.Status.DRAFT)
    w.next_lines = [
        BudgetLineFactory(
            fund=w.fund,
            year=w.next_year,
            code=f"N{n:02d}",
            name=f"Next year line {n}",
            service_area=w.area,
            lead_commissioner=w.host,
            original_budget=Decimal("200000.00"),
        )
        for n in range(3)
    ]
    for n in range(extra_lines):
        BudgetLineFactory(
            fund=w.fund,
            year=w.year,
            code=f"P{n:03d}",
            service_area=w.area,
            original_budget=Decimal("1000.00") * (n + 1),
        )
    for month in range(1, 7):
        make_posting(
            organisation=w.host,
            line=w.host_line,
            document=f"INV-{month}",
            amount="10000.00",
            period_number=month,
        )
    close_months(w.fund, w.year, 5)
    recompute_fund_now(w.fund, full=True)
    return w


def line_variance(line: Any, period_number: int, **values: Any) -> Any:
    """A LineVariance row as the recompute engine writes it (money columns default to 0.00), for
    tests that pin the report on figures chosen by hand."""
    from datetime import UTC, datetime

    from budgets.models import LineVariance
    from budgets.models.figures import MONEY_COLUMNS

    row: dict[str, Any] = dict.fromkeys(MONEY_COLUMNS, Decimal("0.00"))
    row.update(
        ytd_variance_pct=None,
        forecast_variance_pct=None,
        rag="green",
        adverse_favourable="",
        computed_at=datetime(2016, 10, 3, 13, 2, tzinfo=UTC),
    )
    row.update(values)
    return LineVariance.objects.create(
        fund_id=line.fund_id, year_id=line.year_id, line=line, period_number=period_number, **row
    )


# ---- ledger mappings, postings and imports -------------------------------------------------------

LEDGER_HEADER = (
    "organisation,document_number,line_number,posting_date,cost_centre,expense_code,amount,"
    "supplier,description"
)


class LedgerMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "budgets.LedgerMapping"

    organisation = factory.SubFactory(OrganisationFactory)
    year = factory.LazyFunction(make_year)
    cost_centre = factory.Sequence(lambda n: f"CC{n:04d}")
    expense_code = "E5100"
    budget_line = factory.SubFactory(BudgetLineFactory)


def mapping(w: BudgetWorld, cost_centre: str, expense_code: str, line: Any, **fields: Any) -> Any:
    """The host's mapping (unless `organisation` is given) in w's year of a cost centre and
    expense code to `line`."""
    return LedgerMappingFactory(
        **{"organisation": w.host, **fields},
        year=w.year,
        cost_centre=cost_centre,
        expense_code=expense_code,
        budget_line=line,
    )


def ledger_world(*, status: str = FundBudget.Status.APPROVED) -> BudgetWorld:
    """budget_world plus the host's mappings CC100/E5100 -> host_line and CC200/E5200 -> ccg_line,
    and the CCG's mapping CC300/E5300 -> ccg_line."""
    w = budget_world(status=status)
    mapping(w, "CC100", "E5100", w.host_line)
    mapping(w, "CC200", "E5200", w.ccg_line)
    mapping(w, "CC300", "E5300", w.ccg_line, organisation=w.ccg)
    return w


def posted_rows(**filters: Any) -> list[tuple[Any, ...]]:
    """The spend postings matching `filters`, sorted, each as (document number, line number,
    posting date, period code, line code, amount, supplier, description, is accrual)."""
    from budgets.models import SpendPosting

    row = attrgetter(
        *[
            "document_number",
            "line_number",
            "posting_date",
            "period.code",
            "budget_line.code",
            "amount",
            "supplier",
            "description",
            "is_accrual",
        ]
    )
    postings = SpendPosting.objects.filter(**filters).select_related("period__year", "budget_line")
    return sorted(row(p) for p in postings)


def assert_rejected(imp: Any, row: int, field: str, message: str) -> None:
    """The ledger import was rejected with exactly this one error and no spend was posted."""
    from budgets.models import SpendPosting

    assert imp.status == "rejected", (imp.status, imp.errors)
    assert imp.errors == [{"row": row, "field": field, "message": message}], imp.errors
    assert SpendPosting.objects.count() == 0


# An import profile's columns for a ledger export headed Doc, Date, Amount, CC, EC (what every
# profile must name), and the optional text columns headed Supplier and Description.
PROFILE_COLUMNS = {
    "document_number": "Doc",
    "posting_date": "Date",
    "amount": "Amount",
    "cost_centre": "CC",
    "expense_code": "EC",
}
PROFILE_TEXT_COLUMNS = {"supplier": "Supplier", "description": "Description"}


def profile_spec(name: str, *, text: bool = False, **settings: Any) -> dict[str, Any]:
    """An import profile's settings (as exported): PROFILE_COLUMNS (with PROFILE_TEXT_COLUMNS if
    `text`), lines numbered in file order; `settings` add to or replace these."""
    columns = {**PROFILE_COLUMNS, **(PROFILE_TEXT_COLUMNS if text else {})}
    return {"name": name, "line_numbers": "number_in_file_order", "columns": columns, **settings}


def ledger_csv(rows: list[str], *, header: str = LEDGER_HEADER, bom: bool = False) -> bytes:
    text = "\n".join([header, *rows]) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


# ---- the financial year cycle ---------------------------------------------------------------------


def spend_every_month(w: BudgetWorld, host_month: str, ccg_month: str) -> None:
    """budget_world's two lines spend the same each month M1..M12 (documents H1.., C1..)."""
    for n in range(1, 13):
        make_posting(
            organisation=w.host,
            line=w.host_line,
            document=f"H{n}",
            amount=host_month,
            period_number=n,
        )
        make_posting(
            organisation=w.ccg, line=w.ccg_line, document=f"C{n}", amount=ccg_month, period_number=n
        )


def year_cycle_world() -> BudgetWorld:
    """budget_world approved, each contribution's instalments written and a pro-rata risk share:
    a year that can be spent, received, closed and settled."""
    from budgets.models import RiskShareAgreement
    from budgets.planning.services.funds import write_instalments

    w = budget_world(status=FundBudget.Status.APPROVED)
    for contribution in Contribution.objects.filter(fund=w.fund, year=w.year):
        write_instalments(contribution)
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="pro_rata")
    return w


def close_months_at(w: BudgetWorld, through: int, closed_at: Callable[[int], Any]) -> None:
    """Months 1..through of w's year closed at closed_at(month number) by the host's finance
    officer for "Month-end close", the rows written directly (no frozen report, no files)."""
    from budgets.models import FundPeriod, Period

    FundPeriod.objects.bulk_create(
        FundPeriod(
            fund=w.fund,
            period=Period.objects.get(year=w.year, number=n),
            status="closed",
            changed_by=w.fin_host,
            changed_at=closed_at(n),
            reason="Month-end close",
        )
        for n in range(1, through + 1)
    )


def close_months_by_service(
    w: BudgetWorld, through: int = 12, *, files: bool = False, **options: Any
) -> None:
    """Months 1..through of w's year closed by the host's finance officer (period_close, without
    the month's files unless `files`; `options` such as today= go to period_close)."""
    from budgets.models import Period
    from budgets.planning.services.periods import period_close

    for n in range(1, through + 1):
        period_close(
            actor=w.fin_host,
            fund=w.fund,
            period=Period.objects.get(year=w.year, number=n),
            files=files,
            **options,
        )
