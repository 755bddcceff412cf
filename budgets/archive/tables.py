"""The tables of a fund archive: one CSV file each, its columns, and the rows of a fund's year."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from budgets.archive.codec import posting_key, username
from budgets.archive.scope import (
    fund_lines,
    fund_postings,
    localities_named,
    organisations_named,
    people_named,
    service_areas_named,
)
from budgets.models import (
    BudgetAdjustment,
    Contribution,
    ContributionInstalment,
    FinancialYear,
    Forecast,
    FundBudget,
    FundPeriod,
    LedgerMapping,
    LineCommitment,
    Period,
    PooledFund,
    RiskShareAgreement,
    Virement,
)
from budgets.models.lines import MONTH_FIELDS


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[str]
    rows: Callable[[PooledFund, FinancialYear], Iterable[list[Any]]]


TABLES: tuple[Table, ...] = (
    Table(
        "localities",
        [
            "gss_code",
            "name",
            "old_la_code",
            "population_mid2011",
            "population_mid2015",
            "population_mid2015_verified",
            "need_index",
            "cost_index",
        ],
        lambda f, y: (
            [
                lo.gss_code,
                lo.name,
                lo.old_la_code,
                lo.population_mid2011,
                lo.population_mid2015,
                lo.population_mid2015_verified,
                lo.need_index,
                lo.cost_index,
            ]
            for lo in localities_named(f, y)
        ),
    ),
    Table(
        "organisations",
        [
            "code",
            "code_system",
            "name",
            "short_name",
            "kind",
            "localities",
            "valid_from",
            "valid_to",
            "verified",
            "notes",
        ],
        lambda f, y: (
            [
                o.code,
                o.code_system,
                o.name,
                o.short_name,
                o.kind,
                ";".join(sorted(lo.gss_code for lo in o.localities.all())),
                o.valid_from,
                o.valid_to,
                o.verified,
                o.notes,
            ]
            for o in organisations_named(f, y)
        ),
    ),
    Table(
        "people",
        ["username", "first_name", "last_name", "email", "organisation"],
        lambda f, y: (
            [
                u.username,
                u.first_name,
                u.last_name,
                u.email,
                u.organisation.code if u.organisation is not None else "",
            ]
            for u in people_named(f, y)
        ),
    ),
    Table(
        "service_areas",
        ["code", "name", "parent", "maps_to"],
        lambda f, y: (
            [a.code, a.name, a.parent.code if a.parent is not None else "", a.maps_to]
            for a in service_areas_named(f, y)
        ),
    ),
    Table(
        "periods",
        ["year", "year_start", "year_end", "number", "start_date", "end_date"],
        lambda f, y: (
            [y.code, y.start_date, y.end_date, p.number, p.start_date, p.end_date]
            for p in Period.objects.filter(year=y).order_by("number")
        ),
    ),
    Table(
        "fund",
        [
            "code",
            "name",
            "scope",
            "locality",
            "arrangement",
            "host",
            "is_bcf",
            "rag_amber_pct",
            "rag_red_pct",
            "rag_floor",
            "officer_virement_limit",
        ],
        lambda f, y: [
            [
                f.code,
                f.name,
                f.scope,
                f.locality.gss_code if f.locality is not None else "",
                f.arrangement,
                f.host.code,
                f.is_bcf,
                f.rag_amber_pct,
                f.rag_red_pct,
                f.rag_floor,
                f.officer_virement_limit,
            ]
        ],
    ),
    Table(
        "fund_budget",
        ["status", "submitted_by", "submitted_at", "approved_by", "approved_at"],
        lambda f, y: (
            [
                b.status,
                username(b.submitted_by),
                b.submitted_at,
                username(b.approved_by),
                b.approved_at,
            ]
            for b in FundBudget.objects.filter(fund=f, year=y)
        ),
    ),
    Table(
        "fund_periods",
        ["period", "status", "changed_by", "changed_at", "reason"],
        lambda f, y: (
            [fp.period.code, fp.status, username(fp.changed_by), fp.changed_at, fp.reason]
            for fp in FundPeriod.objects.filter(fund=f, period__year=y)
            .select_related("period__year", "changed_by")
            .order_by("period__number")
        ),
    ),
    Table(
        "contributions",
        ["partner", "amount", "share", "shares_fixed_at"],
        lambda f, y: (
            [c.partner.code, c.amount, c.share, c.shares_fixed_at]
            for c in Contribution.objects.filter(fund=f, year=y)
            .select_related("partner")
            .order_by("partner__code")
        ),
    ),
    Table(
        "contribution_instalments",
        ["partner", "due_date", "amount", "paid_on"],
        lambda f, y: (
            [i.contribution.partner.code, i.due_date, i.amount, i.paid_on]
            for i in ContributionInstalment.objects.filter(
                contribution__fund=f, contribution__year=y
            )
            .select_related("contribution__partner")
            .order_by("contribution__partner__code", "due_date", "id")
        ),
    ),
    Table(
        "risk_share",
        ["rule", "parameters", "agreed_on", "notes"],
        lambda f, y: (
            [r.rule, r.parameters, r.agreed_on, r.notes]
            for r in RiskShareAgreement.objects.filter(fund=f, year=y)
        ),
    ),
    Table(
        "budget_lines",
        [
            "code",
            "name",
            "service_area",
            "locality",
            "lead_commissioner",
            "recurrent",
            "original_budget",
            "changes",
            "current_budget",
            "phasing_method",
            *MONTH_FIELDS,
            "version",
            "updated_by",
        ],
        lambda f, y: (
            [
                ln.code,
                ln.name,
                ln.service_area.code,
                ln.locality.gss_code if ln.locality is not None else "",
                ln.lead_commissioner.code,
                ln.recurrent,
                ln.original_budget,
                ln.changes,
                ln.current_budget,
                ln.phasing_method,
                *(getattr(ln, m) for m in MONTH_FIELDS),
                ln.version,
                username(ln.updated_by),
            ]
            for ln in fund_lines(f, y).order_by("code")
        ),
    ),
    Table(
        "budget_adjustments",
        ["line", "period", "amount", "recurrent", "reason", "created_by", "created_at"],
        lambda f, y: (
            [
                a.line.code,
                a.period.code,
                a.amount,
                a.recurrent,
                a.reason,
                username(a.created_by),
                a.created_at,
            ]
            for a in BudgetAdjustment.objects.filter(line__fund=f, line__year=y)
            .select_related("line", "period__year", "created_by")
            .order_by("created_at", "id")
        ),
    ),
    Table(
        "virements",
        [
            "from_line",
            "to_line",
            "period",
            "amount",
            "recurrent",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "approval_reference",
            "applied_at",
        ],
        lambda f, y: (
            [
                v.from_line.code,
                v.to_line.code,
                v.period.code,
                v.amount,
                v.recurrent,
                v.reason,
                v.status,
                username(v.requested_by),
                v.requested_at,
                username(v.decided_by),
                v.decided_at,
                v.decision_note,
                v.approval_reference,
                v.applied_at,
            ]
            for v in Virement.objects.filter(fund=f, from_line__year=y)
            .select_related("from_line", "to_line", "period__year", "requested_by", "decided_by")
            .order_by("requested_at", "id")
        ),
    ),
    Table(
        "forecasts",
        ["line", "period", "amount", "commentary", "updated_by", "updated_at"],
        lambda f, y: (
            [
                fc.line.code,
                fc.period.code,
                fc.amount,
                fc.commentary,
                username(fc.updated_by),
                fc.updated_at,
            ]
            for fc in Forecast.objects.filter(line__fund=f, line__year=y)
            .select_related("line", "period__year", "updated_by")
            .order_by("line__code", "period__number")
        ),
    ),
    Table(
        "ledger_mappings",
        ["organisation", "cost_centre", "expense_code", "budget_line"],
        lambda f, y: (
            [m.organisation.code, m.cost_centre, m.expense_code, m.budget_line.code]
            for m in LedgerMapping.objects.filter(budget_line__fund=f, year=y)
            .select_related("organisation", "budget_line")
            .order_by("organisation__code", "cost_centre", "expense_code")
        ),
    ),
    Table(
        "spend_postings",
        [
            "organisation",
            "document_number",
            "line_number",
            "posting_date",
            "period",
            "budget_line",
            "amount",
            "supplier",
            "description",
            "is_accrual",
            "reverses",
            "created_by",
            "created_at",
        ],
        lambda f, y: (
            [
                p.organisation.code,
                p.document_number,
                p.line_number,
                p.posting_date,
                p.period.code,
                p.budget_line.code,
                p.amount,
                p.supplier,
                p.description,
                p.is_accrual,
                posting_key(p.reverses),
                username(p.created_by),
                p.created_at,
            ]
            for p in fund_postings(f, y).iterator(chunk_size=5000)
        ),
    ),
    Table(
        "line_commitments",
        ["line", "period_number", "amount", "source_ref"],
        lambda f, y: (
            [c.line.code, c.period_number, c.amount, c.source_ref]
            for c in LineCommitment.objects.filter(line__fund=f, line__year=y)
            .select_related("line")
            .order_by("line__code", "period_number", "source_ref")
        ),
    ),
)
