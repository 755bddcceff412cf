"""The financial year cycle's planning pages: budget setting (roll forward and the comparison),
contributions and receipts, savings plans, and a fund's years side by side.

Each page works without JavaScript: forms post and come back to the page (POST-redirect-GET), with
problems beside the field and in an error summary, and nothing saved when any is refused.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from budgets import history, rules
from budgets.models import (
    BudgetLine,
    BudgetSetting,
    Contribution,
    FinancialYear,
    PooledFund,
    SavingsScheme,
    ServiceArea,
)
from budgets.models.savings import PLANNED_FIELDS
from budgets.planning import selectors as planning_selectors
from budgets.planning import year_selectors
from budgets.planning.services import receipts as receipt_services
from budgets.planning.services import savings as savings_services
from budgets.planning.services.funds import budget_status, year_closed
from budgets.planning.services.roll_forward import fund_roll_forward
from budgets.planning.views.funds import get_context, get_fund
from budgets.selectors import funds_visible_to
from gmhsc.errors import ApplicationError, NotAllowed
from gmhsc.money import typed_amount
from localities.actors import actor_of
from localities.models import Organisation

ROWS_PER_PAGE = 100
MONTHS = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar")


def _year_named(code: str | None) -> FinancialYear | None:
    return FinancialYear.objects.filter(code=code or "").first()


def _fund_year(request: HttpRequest, fund: PooledFund) -> FinancialYear:
    """The year of the fund's reporting context (the one asked for with ?year=, else the default
    rule in budgets.context)."""
    return get_context(request, fund).year


def _back(name: str, fund: PooledFund, year: FinancialYear) -> str:
    return f"{reverse(name, args=[fund.pk])}?{urlencode({'year': year.code})}"


def _field_error(errors: dict[str, str], exc: ApplicationError, default: str) -> None:
    errors[exc.field_or(default)] = exc.message


# ---- budget setting -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def budget_setting(request: HttpRequest, pk: int) -> HttpResponse:
    """Budget setting for next year: the host's finance officer rolls the fund forward with
    uplift and efficiency rates; everyone who may see the fund reads the comparison."""
    fund = get_fund(request, pk)
    user: Any = request.user
    can_set = bool(rules.acts_for_host_finance(user, fund))
    wanted = request.GET.get("year")
    if wanted:
        code, year = wanted, _year_named(wanted)
    else:
        code, year = year_selectors.next_budget_year(fund)
    errors: dict[str, str] = {}
    data: Any = {}
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied("Only the host's finance officer can set the budget.")
        if year is None:
            raise Http404("That financial year is not open.")
        data = request.POST
        try:
            result = fund_roll_forward(
                actor=actor_of(request),
                fund=fund,
                year=year,
                uplift_pct=data.get("uplift_pct"),
                efficiency_pct=data.get("efficiency_pct"),
                service_areas=_area_rates(data),
                contribution_uplift_pct=data.get("contribution_uplift_pct"),
                partner_uplifts={
                    key.removeprefix("partner-"): value
                    for key, value in data.items()
                    if key.startswith("partner-") and value.strip()
                },
                replace_draft=data.get("replace_draft") == "yes",
                reason=data.get("reason", ""),
            )
        except ApplicationError as exc:
            _field_error(errors, exc, "uplift_pct")
        else:
            messages.success(
                request,
                f"{fund.code}'s {year.code} draft budget is set from {result.setting.from_year.code}: "
                f"{result.setting.lines_carried:,} lines carried, {len(result.dropped):,} items "
                "dropped.",
            )
            return redirect(_back("budgets:budget-setting", fund, year))
    context: dict[str, Any] = {
        "fund": fund,
        "code": code,
        "year": year,
        "can_set": can_set,
        "errors": errors,
        "data": data,
    }
    if year is not None:
        comparison = year_selectors.budget_setting_comparison(fund, year)
        page = Paginator(comparison.rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        setting: BudgetSetting | None = comparison.setting
        from_year = comparison.from_year
        source_lines = BudgetLine.objects.filter(fund=fund, year=from_year) if from_year else None
        area_codes = (
            sorted(set(source_lines.values_list("service_area__code", flat=True)))
            if source_lines is not None
            else []
        )
        rates = (
            {r.service_area.code: r for r in setting.rates.select_related("service_area")}
            if setting is not None
            else {}
        )
        partner_rates = setting.contribution_rates if setting is not None else {}
        context.update(
            dropped=[
                {**d, "amount": Decimal(d["amount"])} for d in (setting.dropped if setting else [])
            ],
            rolled_contributions=[
                {**c, "prior": Decimal(c["prior"]), "new": Decimal(c["new"])}
                for c in (setting.contributions if setting else [])
            ],
            comparison=comparison,
            totals=comparison.totals,
            page=page,
            setting=setting,
            from_year=from_year,
            status=budget_status(fund, year),
            draft_lines=BudgetLine.objects.filter(fund=fund, year=year).count(),
            areas=[
                {
                    "code": area.code,
                    "name": area.name,
                    "uplift": _posted(
                        data, f"area-{area.code}-uplift", rates.get(area.code), "uplift_pct"
                    ),
                    "efficiency": _posted(
                        data, f"area-{area.code}-efficiency", rates.get(area.code), "efficiency_pct"
                    ),
                }
                for area in ServiceArea.objects.filter(code__in=area_codes).order_by("code")
            ],
            partners=[
                {
                    "code": c.partner.code,
                    "name": c.partner.name,
                    "amount": c.amount,
                    "uplift": data.get(
                        f"partner-{c.partner.code}", partner_rates.get(c.partner.code, "")
                    ),
                }
                for c in Contribution.objects.filter(fund=fund, year=from_year)
                .select_related("partner")
                .order_by("partner__code")
            ]
            if from_year is not None
            else [],
            uplift_pct=data.get("uplift_pct", setting.uplift_pct if setting else ""),
            efficiency_pct=data.get("efficiency_pct", setting.efficiency_pct if setting else ""),
            contribution_uplift_pct=data.get(
                "contribution_uplift_pct", setting.contribution_uplift_pct if setting else ""
            ),
            query=urlencode({"year": year.code}),
        )
    return render(request, "budgets/budget_setting.html", context)


def _posted(data: Any, key: str, rate: Any, attribute: str) -> Any:
    if key in data:
        return data[key]
    return getattr(rate, attribute) if rate is not None else ""


def _area_rates(data: Any) -> dict[str, dict[str, str]]:
    """area-<code>-uplift / area-<code>-efficiency fields; an area with both blank keeps the
    fund-wide rates."""
    out: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        if not key.startswith("area-"):
            continue
        code, _, kind = key.removeprefix("area-").rpartition("-")
        if kind not in ("uplift", "efficiency") or not code:
            continue
        out.setdefault(code, {})[f"{kind}_pct"] = value
    return {code: rates for code, rates in out.items() if any(v.strip() for v in rates.values())}


# ---- contributions and receipts ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fund_contributions(request: HttpRequest, pk: int) -> HttpResponse:
    """Each partner's contribution, instalments (paid, late, overdue) and receipts; the host's
    finance officer records a receipt."""
    fund = get_fund(request, pk)
    year = _fund_year(request, fund)
    user: Any = request.user
    can_record = bool(rules.acts_for_host_finance(user, fund)) and not year_closed(fund, year)
    errors: dict[str, str] = {}
    data: Any = {}
    if request.method == "POST":
        if not rules.acts_for_host_finance(user, fund):
            raise PermissionDenied("Only the host's finance officer records receipts.")
        data = request.POST
        contribution = planning_selectors.partner_contribution(fund, year, data.get("partner", ""))
        if contribution is None:
            errors["partner"] = "Choose the partner that paid."
        else:
            try:
                receipt_services.receipt_record(
                    actor=actor_of(request),
                    contribution=contribution,
                    amount=typed_amount(data.get("amount", "")),
                    received_on=_date_from(data, "received_on"),
                    reference=data.get("reference", ""),
                )
            except ApplicationError as exc:
                _field_error(errors, exc, "amount")
            else:
                messages.success(
                    request, f"Receipt from {contribution.partner.name} recorded for {year.code}."
                )
                return redirect(_back("budgets:fund-contributions", fund, year))
    statuses = year_selectors.contribution_statuses(fund, year)
    return render(
        request,
        "budgets/fund_contributions.html",
        {
            "fund": fund,
            "year": year,
            "statuses": statuses,
            "as_at": year_selectors.as_at_date(fund, year),
            "can_record": can_record,
            "closed": year_closed(fund, year),
            "errors": errors,
            "data": data,
            "received": {p: data.get(f"received_on-{p}", "") for p in ("day", "month", "year")},
        },
    )


def _date_from(data: Any, name: str) -> Any:
    """A GOV.UK date input (name-day, name-month, name-year) as YYYY-MM-DD text, or the raw value."""
    parts = [data.get(f"{name}-{p}", "").strip() for p in ("year", "month", "day")]
    if any(parts):
        try:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise ApplicationError(
                "Enter the date received as day, month and year, for example 14 7 2017.",
                extra={"field": name},
            ) from None
    return data.get(name, "")


# ---- savings ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fund_savings(request: HttpRequest, pk: int) -> HttpResponse:
    """The fund's savings schemes for the year with their delivery RAG; partners add schemes."""
    fund = get_fund(request, pk)
    year = _fund_year(request, fund)
    user: Any = request.user
    actor = actor_of(request)
    errors: dict[str, str] = {}
    data: Any = {}
    leads = _possible_leads(user, fund, year)
    if request.method == "POST":
        data = request.POST
        lead = leads.get(data.get("lead_commissioner", ""))
        if not leads:
            raise PermissionDenied(
                "Only partners' commissioners or the host's finance officer add schemes."
            )
        if lead is None:
            errors["lead_commissioner"] = "Choose the organisation that leads the scheme."
        else:
            codes = [
                c.strip() for c in data.get("lines", "").replace(",", " ").split() if c.strip()
            ]
            try:
                lines = savings_services.scheme_lines_named(fund, year, codes)
            except ApplicationError as exc:
                errors["lines"] = exc.message
            else:
                try:
                    scheme = savings_services.savings_scheme_create(
                        actor=actor,
                        fund=fund,
                        year=year,
                        code=data.get("code", ""),
                        name=data.get("name", ""),
                        lead_commissioner=lead,
                        lines=lines,
                        planned=[typed_amount(data.get(f, "") or "0") for f in PLANNED_FIELDS],
                        commentary=data.get("commentary", ""),
                    )
                except ApplicationError as exc:
                    _field_error(errors, exc, "code")
                else:
                    messages.success(request, f"Savings scheme {scheme.code} added.")
                    return redirect("budgets:savings-scheme", pk=scheme.pk)
    summary = year_selectors.savings_summary(fund, year)
    return render(
        request,
        "budgets/fund_savings.html",
        {
            "fund": fund,
            "year": year,
            "summary": summary,
            "leads": sorted(leads.values(), key=lambda o: o.name),
            "months": list(zip(PLANNED_FIELDS, MONTHS, strict=True)),
            "can_add": bool(leads) and not year_closed(fund, year),
            "errors": errors,
            "data": data,
        },
    )


def _possible_leads(user: Any, fund: PooledFund, year: FinancialYear) -> dict[str, Organisation]:
    """Organisations the user may add a scheme for: any partner (host's finance officer,
    administrator), else their own organisation when it is a partner."""
    partners = {
        o.code: o
        for o in Organisation.objects.filter(contributions__fund=fund, contributions__year=year)
    }
    partners.setdefault(fund.host.code, fund.host)
    return {
        code: org
        for code, org in partners.items()
        if savings_services.may_keep_scheme(user, fund, org)
    }


@login_required
@require_http_methods(["GET", "POST"])
def savings_scheme(request: HttpRequest, pk: int) -> HttpResponse:
    """One scheme: planned against delivered by month, its RAG, the lead records a month's
    delivery, the forecast for the year and commentary; its history."""
    scheme = (
        SavingsScheme.objects.select_related("fund__host", "year", "lead_commissioner")
        .filter(fund__in=funds_visible_to(request.user))
        .filter(pk=pk)
        .first()
    )
    if scheme is None:
        raise Http404("Savings scheme not found")
    fund, year = scheme.fund, scheme.year
    user: Any = request.user
    can_keep = savings_services.may_keep_scheme(user, fund, scheme.lead_commissioner)
    errors: dict[str, str] = {}
    data: Any = {}
    if request.method == "POST":
        if not can_keep:
            raise PermissionDenied(
                "Only the scheme's lead or the host's finance officer change it."
            )
        data = request.POST
        try:
            if data.get("action") == "forecast":
                savings_services.savings_scheme_update(
                    actor=actor_of(request),
                    scheme=scheme,
                    forecast_delivery=typed_amount(data.get("forecast_delivery", "")),
                    clear_forecast=not data.get("forecast_delivery", "").strip(),
                    commentary=data.get("commentary", ""),
                    reason="Forecast and commentary updated",
                )
                done = "Forecast and commentary saved."
            else:
                recorded = savings_services.savings_delivery_record(
                    actor=actor_of(request),
                    scheme=scheme,
                    month=data.get("month", ""),
                    amount=typed_amount(data.get("amount", "")),
                    commentary=data.get("delivery_commentary", ""),
                )
                done = f"Saving delivered in M{recorded.month:02d} recorded."
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except ApplicationError as exc:
            _field_error(errors, exc, "amount")
        else:
            messages.success(request, done)
            return redirect("budgets:savings-scheme", pk=scheme.pk)
    summary = year_selectors.savings_summary(fund, year)
    shown = next(r for r in summary.schemes if r.scheme.pk == scheme.pk)
    delivered = shown.deliveries
    months = [
        {
            "number": n,
            "name": MONTHS[n - 1],
            "planned": scheme.planned[n - 1],
            "delivered": delivered.get(n),
        }
        for n in range(1, 13)
    ]
    return render(
        request,
        "budgets/savings_scheme.html",
        {
            "fund": fund,
            "year": year,
            "scheme": scheme,
            "row": shown,
            "months": months,
            "can_keep": can_keep and not year_closed(fund, year),
            "history": history.object_history(scheme),
            "errors": errors,
            "data": data,
        },
    )


# ---- across years ----------------------------------------------------------------------------------


@login_required
@require_safe
def fund_years(request: HttpRequest, pk: int) -> HttpResponse:
    """The fund's years side by side: budget, outturn, variance and the partners' shares."""
    fund = get_fund(request, pk)
    years = year_selectors.fund_years(fund)
    partners = sorted({name for y in years for name, _ in y.shares})
    rows = [
        {"figures": y, "shares": [dict(y.shares).get(name) for name in partners]} for y in years
    ]
    return render(
        request,
        "budgets/fund_years.html",
        {"fund": fund, "rows": rows, "partners": partners},
    )
