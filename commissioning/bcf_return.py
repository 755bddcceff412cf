"""The Better Care Fund quarterly return: computed once into dataclasses of Decimals, then laid out
as an XLSX with the national template's "Income and expenditure" and "Metrics" tabs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from budgets.models import Contribution, FinancialYear, PooledFund
from commissioning.models import BCF_METRICS, BcfMetric, BcfScheme
from gmhsc.money import ZERO, split_largest_remainder
from gmhsc.spreadsheets import neutralise_workbook

MONEY_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class IncomeRow:
    source: str
    annual: Decimal
    quarters: list[Decimal]  # planned income per quarter, largest-remainder split of the year


@dataclass(frozen=True)
class SchemeRow:
    code: str
    name: str
    scheme_type: str
    lead_commissioner: str
    provider_type: str
    area_of_spend: str
    funding_source: str
    planned: Decimal
    actuals: list[Decimal | None]  # None for quarters after the return's quarter

    @property
    def actual_to_date(self) -> Decimal:
        return sum((a for a in self.actuals if a is not None), ZERO)


@dataclass(frozen=True)
class MetricRow:
    code: str
    description: str
    unit: str
    plans: list[Decimal | None]
    actuals: list[Decimal | None]


@dataclass(frozen=True)
class BcfReturn:
    fund_code: str
    hwb: str
    year: str
    quarter: int
    income: list[IncomeRow]
    schemes: list[SchemeRow]
    metrics: list[MetricRow]

    @property
    def income_total(self) -> Decimal:
        return sum((r.annual for r in self.income), ZERO)

    @property
    def income_to_date(self) -> Decimal:
        return sum((sum(r.quarters[: self.quarter], ZERO) for r in self.income), ZERO)

    @property
    def planned_total(self) -> Decimal:
        return sum((r.planned for r in self.schemes), ZERO)

    @property
    def actual_total(self) -> Decimal:
        return sum((r.actual_to_date for r in self.schemes), ZERO)


def compute(fund: PooledFund, year: FinancialYear, quarter: int) -> BcfReturn:
    income = [
        IncomeRow(
            source=c.partner.name,
            annual=c.amount,
            quarters=split_largest_remainder(c.amount, [1, 1, 1, 1]),
        )
        for c in Contribution.objects.filter(fund=fund, year=year)
        .select_related("partner")
        .order_by("partner__name")
    ]
    schemes = []
    for s in BcfScheme.objects.filter(fund=fund, year=year).order_by("code"):
        quarters = [s.actual_q1, s.actual_q2, s.actual_q3, s.actual_q4]
        schemes.append(
            SchemeRow(
                code=s.code,
                name=s.name,
                scheme_type=s.get_scheme_type_display(),
                lead_commissioner=s.get_lead_commissioner_display(),
                provider_type=s.get_provider_type_display(),
                area_of_spend=s.get_area_of_spend_display(),
                funding_source=s.get_funding_source_display(),
                planned=s.planned_spend,
                actuals=[a if q <= quarter else None for q, a in enumerate(quarters, start=1)],
            )
        )
    by_code: dict[str, dict[int, BcfMetric]] = {}
    for m in BcfMetric.objects.filter(fund=fund, year=year):
        by_code.setdefault(m.code, {})[m.quarter] = m
    metrics = []
    for code, (description, unit) in BCF_METRICS.items():
        cells = by_code.get(code, {})
        local = next((m.local_definition for m in cells.values() if m.local_definition), "")
        metrics.append(
            MetricRow(
                code=code,
                description=f"{description}: {local}" if local else description,
                unit=unit,
                plans=[cells[q].plan if q in cells else None for q in range(1, 5)],
                actuals=[
                    cells[q].actual if q in cells and q <= quarter else None for q in range(1, 5)
                ],
            )
        )
    return BcfReturn(
        fund_code=fund.code,
        hwb=fund.locality.name if fund.locality else fund.name,
        year=year.code,
        quarter=quarter,
        income=income,
        schemes=schemes,
        metrics=metrics,
    )


def _header(ws: object, row: int, values: list[str]) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=value)  # type: ignore[attr-defined]
        cell.font = Font(bold=True)


def _money_cell(ws: object, row: int, col: int, value: Decimal | None) -> None:
    cell = ws.cell(row=row, column=col, value=value)  # type: ignore[attr-defined]
    cell.number_format = MONEY_FORMAT


def render_xlsx(ret: BcfReturn) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Income and expenditure"
    ws["A1"] = "Better Care Fund quarterly return: income and expenditure"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"], ws["B2"] = "Health and Wellbeing Board", ret.hwb
    ws["A3"], ws["B3"] = "Year", ret.year
    ws["A4"], ws["B4"] = "Quarter", f"Q{ret.quarter}"
    ws["A5"], ws["B5"] = "Pooled fund", ret.fund_code
    row = 7
    ws.cell(row=row, column=1, value="Income").font = Font(bold=True, size=12)
    row += 1
    _header(ws, row, ["Source of funding", "Annual plan", "Q1", "Q2", "Q3", "Q4", "Year to date"])
    for r in ret.income:
        row += 1
        ws.cell(row=row, column=1, value=r.source)
        _money_cell(ws, row, 2, r.annual)
        for q, amount in enumerate(r.quarters, start=1):
            _money_cell(ws, row, 2 + q, amount if q <= ret.quarter else None)
        _money_cell(ws, row, 7, sum(r.quarters[: ret.quarter], ZERO))
    row += 1
    ws.cell(row=row, column=1, value="Total income").font = Font(bold=True)
    _money_cell(ws, row, 2, ret.income_total)
    _money_cell(ws, row, 7, ret.income_to_date)
    row += 2
    ws.cell(row=row, column=1, value="Expenditure").font = Font(bold=True, size=12)
    row += 1
    _header(
        ws,
        row,
        [
            "Scheme",
            "Scheme name",
            "Scheme type",
            "Lead commissioner",
            "Provider type",
            "Area of spend",
            "Source of funding",
            "Planned spend",
            "Q1 actual",
            "Q2 actual",
            "Q3 actual",
            "Q4 actual",
            "Actual to date",
        ],
    )
    for s in ret.schemes:
        row += 1
        for col, value in enumerate(
            [
                s.code,
                s.name,
                s.scheme_type,
                s.lead_commissioner,
                s.provider_type,
                s.area_of_spend,
                s.funding_source,
            ],
            start=1,
        ):
            ws.cell(row=row, column=col, value=value)
        _money_cell(ws, row, 8, s.planned)
        for q, actual in enumerate(s.actuals, start=1):
            _money_cell(ws, row, 8 + q, actual)
        _money_cell(ws, row, 13, s.actual_to_date)
    row += 1
    ws.cell(row=row, column=1, value="Total expenditure").font = Font(bold=True)
    _money_cell(ws, row, 8, ret.planned_total)
    _money_cell(ws, row, 13, ret.actual_total)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 36

    ms = wb.create_sheet("Metrics")
    ms["A1"] = "Better Care Fund quarterly return: supporting metrics"
    ms["A1"].font = Font(bold=True, size=14)
    ms["A2"], ms["B2"] = "Health and Wellbeing Board", ret.hwb
    ms["A3"], ms["B3"] = "Year", ret.year
    ms["A4"], ms["B4"] = "Quarter", f"Q{ret.quarter}"
    head = ["Metric", "Description", "Unit"]
    for q in range(1, 5):
        head += [f"Q{q} plan", f"Q{q} actual"]
    _header(ms, 6, head)
    for i, m in enumerate(ret.metrics, start=7):
        ms.cell(row=i, column=1, value=m.code)
        ms.cell(row=i, column=2, value=m.description)
        ms.cell(row=i, column=3, value=m.unit)
        for q in range(4):
            ms.cell(row=i, column=4 + 2 * q, value=m.plans[q])
            ms.cell(row=i, column=5 + 2 * q, value=m.actuals[q])
    ms.column_dimensions["B"].width = 60
    neutralise_workbook(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
