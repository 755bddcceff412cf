"""Budget lines pages: the lines table with inline editing, and a line's detail page.

Every form works as a plain POST-redirect-GET; with HTMX (request.htmx) the same views answer
with the fragment to swap in, and tell the page to refresh its totals (HX-Trigger: linesChanged).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from budgets import history, rules, selectors
from budgets.context import CONTEXT_PARAMS, ReportingContext, reporting_context
from budgets.freshness import fund_freshness
from budgets.models import (
    BudgetLine,
    FinancialYear,
    FundBudget,
    LineVariance,
    PooledFund,
    SpendPosting,
)
from budgets.models.lines import MONTH_FIELDS
from budgets.planning import phasing, year_selectors
from budgets.planning import selectors as planning_selectors
from budgets.planning.forms import ForecastForm, LineEditForm, PhasingForm, RephaseForm
from budgets.planning.services import forecasts as forecast_services
from budgets.planning.services import lines as line_services
from budgets.planning.services.adjustments import adjustment_create
from budgets.planning.services.funds import budget_status
from budgets.planning.views.funds import get_context, get_fund
from budgets.rag import Rag
from gmhsc.errors import ApplicationError, NotFound, StaleVersion
from gmhsc.money import ZERO, format_money, typed_amount
from localities import roles
from localities.actors import actor_of

LINES_PER_PAGE = 50
POSTINGS_PER_PAGE = 25
FILTERS = ("service_area", "locality", "lead", "rag", "sort")
RAG_CHOICES = tuple((rag.value, rag.label) for rag in (Rag.RED, Rag.AMBER, Rag.GREEN))
MONTH_NAMES = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar")
TRIGGER = "linesChanged"
# The lines table fragment's cache lifetime; its key changes with every change to what it shows, so
# this only bounds how long a renamed service area, locality or organisation takes to appear.
TABLE_CACHE_SECONDS = 300


# ---- helpers --------------------------------------------------------------------------------------


def get_line(request: HttpRequest, pk: int) -> BudgetLine:
    try:
        return line_services.get_line_for(actor_of(request), pk)
    except NotFound:
        raise Http404("Budget line not found") from None


def _is_htmx(request: HttpRequest) -> bool:
    """django-htmx sets request.htmx (HtmxDetails, truthy for HTMX requests)."""
    return bool(getattr(request, "htmx", False))


@functools.cache
def _lines_base() -> str:
    """'/budgets/lines/': reversed once, so a table of 50 rows does not reverse 150 URLs."""
    return reverse("budgets:line-detail", args=[1]).removesuffix("1/")


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "").strip() for key in FILTERS}


def _rag_period(ctx: ReportingContext) -> int | None:
    """The month whose RAG the table shows: the context's, none before the year has started."""
    return ctx.period_number if ctx.started else None


def _context_query(url: str) -> str:
    """The reporting context (`year`, `period`) carried by a page address, as a query string."""
    params = parse_qs(urlsplit(url).query)
    return urlencode({k: params[k][0] for k in CONTEXT_PARAMS if params.get(k)})


def _request_context_query(request: HttpRequest) -> str:
    """The reporting context (`year`, `period`) the request carries, as a query string."""
    return urlencode({k: request.GET[k] for k in CONTEXT_PARAMS if request.GET.get(k)})


def _line_url(request: HttpRequest, line: BudgetLine, anchor: str = "") -> str:
    """The line's page in the reporting context the request carries."""
    query = _request_context_query(request)
    url = reverse("budgets:line-detail", args=[line.pk])
    return f"{url}{'?' + query if query else ''}{anchor}"


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _filtered_lines(
    request: HttpRequest,
    fund: PooledFund,
    year: FinancialYear,
    filters: dict[str, str],
    **shown: Any,
) -> QuerySet[Any]:
    """The fund's lines the user may see, through the table's filters (`shown`: the RAG month
    and, for the table itself, the sort)."""
    return planning_selectors.line_table(
        request.user,
        fund,
        year,
        service_area=filters["service_area"],
        locality=filters["locality"],
        lead=filters["lead"],
        rag=filters["rag"],
        fund_checked=True,
        **shown,
    )


def _editable(user: Any, line: BudgetLine, status: str | None = None) -> bool:
    status = status or budget_status(line.fund, line.year)
    return status == "draft" and bool(rules.can_edit_line(user, line))


# ---- lines table ----------------------------------------------------------------------------------


@login_required
def line_table(request: HttpRequest, pk: int) -> HttpResponse:
    fund = get_fund(request, pk)
    ctx = get_context(request, fund)
    year = ctx.year
    filters = _filters(request)
    rag_period = _rag_period(ctx)
    lines = _filtered_lines(
        request, fund, year, filters, rag_period=rag_period, sort=filters["sort"] or "code"
    )
    totals = planning_selectors.line_table_totals(lines)
    paginator = Paginator(lines, LINES_PER_PAGE)
    paginator.count = totals["count"]  # type: ignore[misc]  # the totals query already counted
    page = paginator.get_page(request.GET.get("page"))
    status = ctx.budget_status
    user: Any = request.user
    can_edit = status == "draft" and roles.has_role(user, roles.COMMISSIONER)
    query = {k: v for k, v in filters.items() if v}
    query_with_context = {**query, **ctx.params}
    freshness = fund_freshness(fund, year)
    can_edit_org_id = user.organisation_id if can_edit else None
    context = {
        "freshness": freshness,
        # The table, filters and pagination are cached as one rendered fragment under everything
        # they show: the request's filters and page, what this user may edit, the lines' versions
        # and the figures' as-at time. Any save, recompute or pending change gives a new key.
        "table_key": _cache_key(
            request.get_full_path(),
            fund.pk,
            year.pk,
            ctx.period_code,
            ctx.closed,
            ctx.started,
            status,
            can_edit_org_id,
            rag_period,
            totals,
            freshness.computed_at,
            freshness.pending,
        ),
        "fund": fund,
        "year": year,
        "ctx": ctx,
        "page": page,
        "filters": filters,
        "query": urlencode(query_with_context),
        "switcher_keep": [(k, v) for k, v in query.items() if k != "rag"],
        "totals": totals,
        "budget_status": status,
        "can_edit_org_id": can_edit_org_id,
        "rag_period": rag_period,
        "table_seconds": TABLE_CACHE_SECONDS,
        **planning_selectors.line_filter_choices(fund, year),
        "rag_choices": RAG_CHOICES,
        "sorts": _sort_links(filters, ctx.params),
        "here": request.get_full_path(),
        "here_q": quote(request.get_full_path(), safe=""),
        "lines_base": _lines_base(),
        "ctx_query": ctx.query,
    }
    return render(request, "budgets/line_table.html", context)


def _cache_key(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _sort_links(filters: dict[str, str], context: dict[str, str]) -> dict[str, dict[str, str]]:
    """For each sortable column: the query that sorts by it (toggling direction) and aria-sort,
    keeping the filters and the reporting context."""
    current = filters["sort"] or "code"
    base = {**{k: v for k, v in filters.items() if v and k != "sort"}, **context}
    links = {}
    for key in planning_selectors.LINE_SORTS:
        if current == key:
            aria, target = "ascending", f"-{key}"
        elif current == f"-{key}":
            aria, target = "descending", key
        else:
            aria, target = "none", key
        links[key] = {"query": urlencode({**base, "sort": target}), "aria": aria}
    return links


@login_required
def line_table_totals(request: HttpRequest, pk: int) -> HttpResponse:
    """The totals fragments of the lines table, re-fetched by HTMX after an inline save."""
    fund = get_fund(request, pk)
    ctx = get_context(request, fund)
    year = ctx.year
    filters = _filters(request)
    lines = _filtered_lines(
        request, fund, year, filters, rag_period=_rag_period(ctx) if filters["rag"] else None
    )
    template = (
        "budgets/partials/lines_tfoot.html"
        if request.GET.get("part") == "tfoot"
        else "budgets/partials/lines_summary.html"
    )
    context = {
        "fund": fund,
        "year": year,
        "ctx": ctx,
        "totals": planning_selectors.line_table_totals(lines),
        "fund_totals": planning_selectors.fund_line_totals(fund, year),
        "query": urlencode({**{k: v for k, v in filters.items() if v}, **ctx.params}),
    }
    return render(request, template, context)


# ---- inline edit of a line (table row) ------------------------------------------------------------


def _row_context(request: HttpRequest, line: BudgetLine, **extra: Any) -> dict[str, Any]:
    """One row of the lines table, in the reporting context of the table it sits in (`next`)."""
    user: Any = request.user
    here = _safe_next(request, reverse("budgets:line-table", args=[line.fund_id]))
    ctx = reporting_context(
        line.fund, year=line.year, period=parse_qs(urlsplit(here).query).get("period", [""])[0]
    )
    rag_period = _rag_period(ctx)
    line.rag = (  # type: ignore[attr-defined]  # as the table's rows are annotated
        LineVariance.objects.filter(line=line, period_number=rag_period)
        .values_list("rag", flat=True)
        .first()
        if rag_period
        else None
    )
    return {
        "rag_period": rag_period,
        "line": line,
        "fund": line.fund,
        "can_edit_org_id": user.organisation_id if _editable(user, line) else None,
        "here": here,
        "here_q": quote(here, safe=""),
        "lines_base": _lines_base(),
        "ctx_query": _context_query(here),
        **extra,
    }


@login_required
def line_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One row of the lines table (HTMX 'Cancel' puts it back)."""
    line = get_line(request, pk)
    return render(request, "budgets/partials/line_row.html", _row_context(request, line))


@login_required
def line_edit(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_line(request, pk)
    user: Any = request.user
    if not rules.can_edit_line(user, line):
        raise Http404("Budget line not found")
    back = _safe_next(request, reverse("budgets:line-table", args=[line.fund_id]))
    conflict = ""
    if request.method == "POST":
        form = LineEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                line = line_services.line_update(
                    actor=user,
                    line=line,
                    expected_version=data["version"],
                    reason=data["reason"] or "Edited in the lines table",
                    name=data["name"],
                    annual_budget=data["annual_budget"],
                    recurrent=data["recurrent"],
                )
            except StaleVersion as exc:
                conflict = exc.message
                line = get_line(request, pk)
                form = LineEditForm(initial=LineEditForm.initial_for(line))
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                if _is_htmx(request):
                    response = render(
                        request,
                        "budgets/partials/line_row.html",
                        _row_context(request, line, saved=True),
                    )
                    response["HX-Trigger"] = TRIGGER
                    return response
                messages.success(request, f"Line {line.code} was saved.")
                return redirect(back)
    else:
        form = LineEditForm(initial=LineEditForm.initial_for(line))
    context = _row_context(request, line, form=form, conflict=conflict, back=back)
    if _is_htmx(request):
        return render(request, "budgets/partials/line_row_form.html", context)
    return render(request, "budgets/line_edit.html", context)


# ---- line detail ----------------------------------------------------------------------------------


def _money_context(
    request: HttpRequest, line: BudgetLine, status: str | None = None, **extra: Any
) -> dict[str, Any]:
    user: Any = request.user
    status = status or budget_status(line.fund, line.year)
    editable = _editable(user, line, status)
    months = [
        {"name": name, "field": field, "value": getattr(line, field)}
        for name, field in zip(MONTH_NAMES, MONTH_FIELDS, strict=True)
    ]
    context: dict[str, Any] = {
        "line": line,
        "months": months,
        "budget_status": status,
        "editable": editable,
        "ctx_query": _request_context_query(request),
        **extra,
    }
    if editable:
        context.setdefault("phasing_form", PhasingForm(initial=PhasingForm.initial_for(line)))
        context.setdefault("rephase_form", RephaseForm(initial={"version": line.version}))
        grid = context["phasing_form"]
        context["phasing_total"] = _phasing_total(
            line, grid.data if grid.is_bound else PhasingForm.initial_for(line)
        )
    return context


@login_required
@require_safe
def line_detail(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_line(request, pk)
    user: Any = request.user
    # Corrections: finance officers and administrators see which postings are reversed already
    # and may reverse their organisation's others.
    may_reverse = roles.is_administrator(user) or roles.has_role(user, roles.FINANCE_OFFICER)
    listed = planning_selectors.line_postings(line)
    if may_reverse:
        listed = listed.prefetch_related(
            Prefetch("reversals", queryset=SpendPosting.objects.select_related("period__year"))
        )
    postings = Paginator(listed, POSTINGS_PER_PAGE).get_page(request.GET.get("page"))
    for p in postings:
        p.can_reverse = may_reverse and rules.may_post_for(user, p.organisation)
    can_forecast = bool(rules.may_forecast_line(user, line))
    ctx = reporting_context(line.fund, year=line.year, period=request.GET.get("period"))
    context = _money_context(request, line, ctx.budget_status)
    context.update(
        {
            "fund": line.fund,
            "ctx": ctx,
            "figures": (
                LineVariance.objects.filter(line=line, period_number=ctx.period.number).first()
                if ctx.started and ctx.period is not None
                else None
            ),
            "freshness": fund_freshness(line.fund, line.year),
            "history": history.line_history(line),
            "postings": postings,
            "show_corrections": may_reverse,
            "can_adjust": rules.acts_for_host_finance(user, line.fund)
            and ctx.budget_status == FundBudget.Status.APPROVED,
            "forecasts": planning_selectors.line_forecasts(line),
            "years": year_selectors.line_years(line),
            "can_forecast": can_forecast,
            "forecast_form": _forecast_form(line) if can_forecast else None,
        }
    )
    return render(request, "budgets/line_detail.html", context)


def _forecast_form(line: BudgetLine, data: Any = None) -> ForecastForm:
    periods = selectors.open_periods(line.fund, line.year)
    initial = {"period": periods[0].code} if periods else {}
    return ForecastForm(data, periods=periods, initial=initial)


def _money_response(request: HttpRequest, line: BudgetLine, **extra: Any) -> HttpResponse:
    """After a phasing save: the HTMX fragment, or back to the line page."""
    if _is_htmx(request):
        response = render(
            request, "budgets/partials/line_money.html", _money_context(request, line, **extra)
        )
        if extra.get("saved"):
            response["HX-Trigger"] = TRIGGER
        return response
    if extra.get("saved"):
        messages.success(request, extra["saved"])
        return redirect(_line_url(request, line))
    context = _money_context(request, line, **extra)
    context.update({"fund": line.fund, "standalone": True})
    return render(request, "budgets/line_phasing.html", context)


@login_required
@require_POST
def line_phasing(request: HttpRequest, pk: int) -> HttpResponse:
    """Save twelve monthly amounts typed into the phasing grid (becomes custom phasing)."""
    line = _line_to_rephase(request, pk)
    form = PhasingForm(request.POST)
    if not form.is_valid():
        return _money_response(request, line, phasing_form=form)
    return _rephased(
        request,
        line,
        form,
        "phasing_form",
        lambda done: f"The phasing of {done.code} was saved.",
        reason=form.cleaned_data["reason"] or "Monthly phasing edited",
        method=phasing.CUSTOM,
        custom=form.months(),
        set_annual_budget=form.cleaned_data["set_annual_budget"],
    )


def _line_to_rephase(request: HttpRequest, pk: int) -> BudgetLine:
    line = get_line(request, pk)
    if not rules.can_edit_line(request.user, line):
        raise Http404("Budget line not found")
    return line


def _rephased(
    request: HttpRequest,
    line: BudgetLine,
    form: Any,
    form_name: str,
    saved: Callable[[BudgetLine], str],
    **change: Any,
) -> HttpResponse:
    """Re-spread the line (line_rephase) at the version the form was read at: someone else's
    save first shows the conflict, a refusal shows the form again, else the `saved` message."""
    try:
        done = line_services.line_rephase(
            actor=actor_of(request),
            line=line,
            expected_version=form.cleaned_data["version"],
            **change,
        )
    except StaleVersion as exc:
        return _money_response(request, get_line(request, line.pk), conflict=exc.message)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _money_response(request, line, **{form_name: form})
    return _money_response(request, done, saved=saved(done))


def _phasing_total(line: BudgetLine, data: Any) -> dict[str, Any]:
    """The months typed so far against the annual budget, for the line beside the grid."""
    budget = line.current_budget
    try:
        parts = phasing.parse_months([typed_amount(str(data.get(f, ""))) for f in MONTH_FIELDS])
    except ApplicationError:
        return {"complete": False, "budget": budget}
    total = sum(parts, ZERO)
    return {
        "complete": True,
        "budget": budget,
        "total": total,
        "adds_up": total == budget,
        "difference_text": phasing.months_difference_text(total, budget),
    }


@login_required
@require_safe
def line_phasing_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The months' total and its difference from the annual budget, as typed (HTMX, live)."""
    line = get_line(request, pk)
    return render(
        request,
        "budgets/partials/phasing_total.html",
        {"phasing_total": _phasing_total(line, request.GET)},
    )


@login_required
@require_POST
def line_rephase(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-spread the line's budget: flat, seasonal or last year's pattern."""
    line = _line_to_rephase(request, pk)
    form = RephaseForm(request.POST)
    if not form.is_valid():
        return _money_response(request, line, rephase_form=form)
    label = dict(form.fields["method"].choices).get(form.cleaned_data["method"], "")  # type: ignore[attr-defined]
    return _rephased(
        request,
        line,
        form,
        "rephase_form",
        lambda done: f"{done.code} was re-spread ({str(label).split(':')[0].lower()}).",
        method=form.cleaned_data["method"],
    )


@login_required
def line_forecast(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the forecast outturn for a month, with commentary (required when amber or red)."""
    line = get_line(request, pk)
    user: Any = request.user
    if not rules.may_forecast_line(user, line):
        raise Http404("Budget line not found")
    form = _forecast_form(line, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            period = selectors.get_period(form.cleaned_data["period"])
            forecast_services.forecast_set(
                actor=user,
                line=line,
                period=period,
                amount=form.cleaned_data["amount"],
                commentary=form.cleaned_data["commentary"],
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"The forecast for {line.code} ({period.code}) was saved.")
            return redirect(_line_url(request, line, "#forecasts"))
    return render(
        request, "budgets/line_forecast.html", {"line": line, "fund": line.fund, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def line_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """The host's finance officer records an adjustment to an approved line's budget, saying why;
    it is spread over the line's open months from the month chosen."""
    line = get_line(request, pk)
    user: Any = request.user
    if not rules.acts_for_host_finance(user, line.fund):
        raise PermissionDenied("Only the host's finance officer can adjust an approved budget.")
    periods = selectors.open_periods(line.fund, line.year)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "amount": "",
        "reason": "",
        "period": periods[0].code if periods else "",
        "recurrent": False,
    }
    if request.method == "POST":
        data = {
            "amount": typed_amount(request.POST.get("amount", "")),
            "reason": request.POST.get("reason", "").strip(),
            "period": request.POST.get("period", ""),
            "recurrent": request.POST.get("recurrent") == "yes",
        }
        period = next((p for p in periods if p.code == data["period"]), None)
        if period is None:
            errors["period"] = f"Choose an open month of {line.year.code}."
        else:
            try:
                adjustment = adjustment_create(
                    actor=user,
                    line=line,
                    amount=data["amount"],
                    reason=data["reason"],
                    recurrent=data["recurrent"],
                    period=period,
                )
            except ApplicationError as exc:
                errors[exc.field_or("line")] = exc.message
            else:
                line.refresh_from_db()
                messages.success(
                    request,
                    f"{line.code} adjusted by {format_money(adjustment.amount, pence=True)} from "
                    f"{period.code}. Its current budget is now "
                    f"{format_money(line.current_budget, pence=True)}.",
                )
                return redirect(_line_url(request, line))
    return render(
        request,
        "budgets/line_adjust.html",
        {
            "line": line,
            "fund": line.fund,
            "periods": periods,
            "approved": budget_status(line.fund, line.year) == FundBudget.Status.APPROVED,
            "errors": errors,
            "data": data,
        },
    )
