"""Commissioning pages: contracts, decisions register, pipeline, providers, services, BCF.

Thin: read input, call one selector or service, render. Other organisations' objects answer 404.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from budgets import history
from budgets import selectors as budget_selectors
from budgets.context import NoBudgetYear, ReportingContext, reporting_context
from budgets.models import FinancialYear, PooledFund, ServiceArea
from commissioning import bcf_return, rules, selectors, services
from commissioning.forms import (
    LINE_SLOTS,
    BcfConditionForm,
    BcfMetricForm,
    BcfSchemeForm,
    ContractForm,
    ContractProfileForm,
    DecisionForm,
    ProviderForm,
    ServiceForm,
)
from commissioning.models import (
    BCF_CONDITIONS,
    BCF_METRICS,
    BcfCondition,
    BcfMetric,
    Contract,
    ContractDecision,
)
from gmhsc.errors import ApplicationError
from localities.actors import actor_of
from localities.models import Locality


def _fund(request: HttpRequest, pk: Any) -> PooledFund:
    try:
        fund = budget_selectors.funds_visible_to(request.user).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        fund = None
    if fund is None:
        raise Http404("Fund not found")
    return fund


def _context(fund: PooledFund, year: Any = None, period: Any = None) -> ReportingContext:
    try:
        return reporting_context(fund, year=year, period=period)
    except NoBudgetYear:
        raise Http404("This fund has no budget yet") from None


def _year(fund: PooledFund, code: str | None) -> FinancialYear:
    return _context(fund, code).year


def _contract(request: HttpRequest, pk: int) -> Contract:
    contract = selectors.contracts_visible_to(request.user).filter(pk=pk).first()
    if contract is None:
        raise Http404("Contract not found")
    return contract


@login_required
@require_safe
def contract_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.contracts_visible_to(request.user)
    funds = list(budget_selectors.funds_visible_to(request.user).order_by("code"))
    fund_code = request.GET.get("fund", "")
    if fund_code:
        qs = qs.filter(fund__code=fund_code)
    status = request.GET.get("status", "")
    if status in Contract.Status.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    commissionable = [f for f in funds if rules.can_commission_in_fund(request.user, f)]
    context = {
        "contracts": page,
        "funds": funds,
        "fund_code": fund_code,
        "status": status,
        "statuses": Contract.Status.choices,
        "commissionable": commissionable,
    }
    template = (
        "commissioning/partials/contract_table.html"
        if getattr(request, "htmx", False)
        else "commissioning/contract_list.html"
    )
    return render(request, template, context)


def _linkable_lines(request: HttpRequest, fund: PooledFund, year: FinancialYear) -> list[Any]:
    return [
        ln
        for ln in budget_selectors.lines_visible_to(request.user, fund)
        .filter(year=year)
        .order_by("code")
        if rules.can_link_line(request.user, ln)
    ]


def _form_profile(form: Any, year: FinancialYear) -> dict[int, dict[int, Decimal]]:
    """The form's lines and amounts, each spread evenly over the contract's months in the year."""
    data = form.cleaned_data
    line_amounts: dict[int, Decimal] = {}
    for line_id, amount in form.line_amounts():
        if amount is None:
            raise ApplicationError(
                "Enter the amount committed on each line you chose.", extra={"field": "amount_1"}
            )
        line_amounts[int(line_id)] = line_amounts.get(int(line_id), Decimal("0.00")) + amount
    if data["end_date"] < data["start_date"]:
        # The service names the end date; the profile is not spread over a negative range.
        return {k: {1: v} for k, v in line_amounts.items()}
    return services.profile_flat(
        year=year, start=data["start_date"], end=data["end_date"], line_amounts=line_amounts
    )


def _form_error(form: Any, exc: ApplicationError) -> None:
    field = exc.extra.get("field")
    if field in ("lines", "profile"):
        exc.extra["field"] = "line_1" if field == "lines" else "value"
    form.add_service_error(exc)


@login_required
def contract_create(request: HttpRequest, pk: int) -> HttpResponse:
    fund = _fund(request, pk)
    year = _year(fund, request.GET.get("year"))
    if not rules.can_commission_in_fund(request.user, fund):
        raise Http404("Fund not found")
    lines = _linkable_lines(request, fund, year)
    form = ContractForm(
        request.POST or None,
        lines=lines,
        services=list(selectors.services_for(request.user)),
        providers=list(selectors.providers()),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = _form_profile(form, year)
            contract = services.contract_create(
                actor=actor_of(request),
                fund=fund,
                year=year,
                reference=data["reference"],
                title=data["title"],
                service=selectors.services_for(request.user).filter(pk=data["service"]).first(),
                provider=data["provider"],
                value=data["value"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                extension_options=data["extension_options"],
                status=data["status"],
                profile=profile,
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Contract {contract.reference} was recorded.")
            return redirect("commissioning:contract-detail", pk=contract.pk)
    return render(
        request, "commissioning/contract_form.html", {"fund": fund, "year": year, "form": form}
    )


@login_required
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the value, dates and lines of a contract; its commitments are rewritten."""
    contract = _contract(request, pk)
    if not rules.can_edit_contract(request.user, contract):
        raise Http404("Contract not found")
    links = list(contract.contract_lines.select_related("line").prefetch_related("commitments"))
    initial: dict[str, Any] = {
        "value": contract.value,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "title": contract.title,
        "extension_options": contract.extension_options,
    }
    for i, link in enumerate(links[:LINE_SLOTS], start=1):
        initial[f"line_{i}"] = str(link.line_id)
        initial[f"amount_{i}"] = sum((c.amount for c in link.commitments.all()), Decimal("0.00"))
    lines = _linkable_lines(request, contract.fund, contract.year)
    form = ContractProfileForm(request.POST or None, initial=initial, lines=lines)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.contract_update(
                actor=actor_of(request),
                contract=contract,
                value=data["value"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                title=data["title"],
                extension_options=data["extension_options"],
                profile=_form_profile(form, contract.year),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Contract {contract.reference} was changed.")
            return redirect("commissioning:contract-detail", pk=contract.pk)
    return render(request, "commissioning/contract_edit.html", {"contract": contract, "form": form})


@login_required
@require_safe
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    wanted = request.GET.get("period", "")
    if wanted.isdigit():  # the page's own month chooser sends a number (1..12)
        wanted = f"{contract.year.code}-M{int(wanted):02d}"
    ctx = _context(contract.fund, contract.year, wanted)
    # Headroom is worked out at the context's month (M1 before the year has started).
    period = ctx.period_number or 1
    context = {
        "contract": contract,
        "fund": contract.fund,
        "ctx": ctx,
        "period": period,
        "lines": selectors.contract_lines_with_headroom(contract, period),
        "decisions": contract.decisions.select_related("decided_by").order_by("-recorded_at"),
        "can_edit": rules.can_edit_contract(request.user, contract),
        "next_statuses": [
            (s, Contract.Status(s).label) for s in sorted(Contract.TRANSITIONS[contract.status])
        ],
        "months": (
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
            "Jan",
            "Feb",
            "Mar",
        ),
        "fund_position": selectors.fund_headroom(contract.fund, contract.year_id, period),
        "history": history.object_history(contract)[:20],
    }
    return render(request, "commissioning/contract_detail.html", context)


@login_required
@require_POST
def contract_status(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    if not rules.can_edit_contract(request.user, contract):
        raise Http404("Contract not found")
    try:
        services.contract_status_set(
            actor=actor_of(request), contract=contract, status=request.POST.get("status", "")
        )
        messages.success(request, f"Contract {contract.reference} status changed.")
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from None
        messages.error(request, exc.message)
    return redirect("commissioning:contract-detail", pk=contract.pk)


@login_required
def decision_create(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    if not rules.can_edit_contract(request.user, contract):
        raise Http404("Contract not found")
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.contract_decision_record(
                actor=actor_of(request), contract=contract, **data
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            if decision.status == ContractDecision.Status.AWAITING_BOARD:
                messages.success(
                    request,
                    "The decision is above the officer limit and is awaiting the board's decision.",
                )
            else:
                messages.success(request, "The decision was recorded and has taken effect.")
            return redirect("commissioning:contract-detail", pk=contract.pk)
    return render(request, "commissioning/decision_form.html", {"contract": contract, "form": form})


@login_required
@require_safe
def decision_register(request: HttpRequest) -> HttpResponse:
    qs = selectors.decisions_visible_to(request.user)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "commissioning/decision_register.html",
        {
            "page": page,
            "rows": selectors.register_rows(page),
            "columns": selectors.REGISTER_COLUMNS,
        },
    )


@login_required
@require_safe
def decision_register_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="procurement-decisions-register.csv"'
    writer = csv.writer(response)
    writer.writerow([label for _, label in selectors.REGISTER_COLUMNS])
    for row in selectors.register_rows(selectors.decisions_visible_to(request.user).iterator()):
        writer.writerow([row[key] for key, _ in selectors.REGISTER_COLUMNS])
    return response


@login_required
@require_safe
def pipeline(request: HttpRequest) -> HttpResponse:
    try:
        as_of = dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        as_of = timezone.localdate()
    return render(
        request,
        "commissioning/pipeline.html",
        {"pipeline": selectors.pipeline(request.user, as_of)},
    )


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not rules.may_commission(request.user):
        raise PermissionDenied("Only commissioners may add providers.")
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(actor=actor_of(request), **form.cleaned_data)
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise Http404(exc.message) from None
            form.add_service_error(exc)
        else:
            messages.success(request, f"{provider.name} was added.")
            return redirect("commissioning:provider-list")
    providers = Paginator(selectors.providers(), 100).get_page(request.GET.get("page"))
    return render(
        request, "commissioning/provider_list.html", {"providers": providers, "form": form}
    )


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not rules.may_commission(request.user):
        raise PermissionDenied("Only commissioners may record services.")
    form = ServiceForm(
        request.POST or None,
        areas=list(ServiceArea.objects.filter(parent__isnull=False).order_by("code")),
        localities=list(Locality.objects.order_by("name")),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service = services.service_create(
                actor=actor_of(request),
                name=data["name"],
                service_area=ServiceArea.objects.filter(pk=data["service_area"]).first(),
                locality=Locality.objects.filter(pk=data["locality"]).first()
                if data["locality"]
                else None,
                care_setting=data["care_setting"],
            )
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise Http404(exc.message) from None
            form.add_service_error(exc)
        else:
            messages.success(request, f"Service {service.name} was recorded.")
            return redirect("commissioning:service-list")
    return render(
        request,
        "commissioning/service_list.html",
        {"services": selectors.services_for(request.user), "form": form},
    )


# ---- Better Care Fund ---------------------------------------------------------------------------


@login_required
@require_safe
def bcf_index(request: HttpRequest) -> HttpResponse:
    funds = selectors.bcf_funds_visible_to(request.user).order_by("code")
    return render(request, "commissioning/bcf_index.html", {"funds": funds})


@login_required
def bcf_fund(request: HttpRequest, pk: int) -> HttpResponse:
    fund = _fund(request, pk)
    if not fund.is_bcf:
        raise Http404("Not a Better Care Fund pool")
    ctx = _context(fund, request.GET.get("year"))
    year = ctx.year
    can_edit = rules.can_commission_in_fund(request.user, fund)
    form = BcfSchemeForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise Http404("Fund not found")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.bcf_scheme_save(
                    actor=actor_of(request),
                    fund=fund,
                    year=year,
                    code=data["code"],
                    name=data["name"],
                    scheme_type=data["scheme_type"],
                    lead_commissioner=data["lead_commissioner"],
                    provider_type=data["provider_type"],
                    area_of_spend=data["area_of_spend"],
                    funding_source=data["funding_source"],
                    planned_spend=data["planned_spend"],
                    actuals={
                        q: data[f"actual_q{q}"]
                        for q in range(1, 5)
                        if data.get(f"actual_q{q}") is not None
                    },
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Scheme {data['code']} was saved.")
                return redirect(f"{request.path}?year={year.code}")
    conditions = {c.number: c for c in BcfCondition.objects.filter(fund=fund, year=year)}
    metric_cells: dict[str, dict[int, BcfMetric]] = {}
    for m in BcfMetric.objects.filter(fund=fund, year=year):
        metric_cells.setdefault(m.code, {})[m.quarter] = m
    ret = bcf_return.compute(fund, year, 4)
    context = {
        "fund": fund,
        "year": year,
        "ctx": ctx,
        "schemes": selectors.bcf_schemes(fund, year.pk),
        "ret": ret,
        "conditions": [(n, text, conditions.get(n)) for n, text in BCF_CONDITIONS.items()],
        "metrics": [
            (code, label, [metric_cells.get(code, {}).get(q) for q in range(1, 5)])
            for code, (label, _unit) in BCF_METRICS.items()
        ],
        "form": form,
        "condition_form": BcfConditionForm(),
        "metric_form": BcfMetricForm(),
        "can_edit": can_edit,
        "quarters": range(1, 5),
    }
    return render(request, "commissioning/bcf_fund.html", context)


def _bcf_editable(request: HttpRequest, pk: int) -> tuple[PooledFund, FinancialYear]:
    fund = _fund(request, pk)
    if not fund.is_bcf or not rules.can_commission_in_fund(request.user, fund):
        raise Http404("Fund not found")
    return fund, _year(fund, request.POST.get("year") or request.GET.get("year"))


@login_required
@require_POST
def bcf_condition_set(request: HttpRequest, pk: int) -> HttpResponse:
    fund, year = _bcf_editable(request, pk)
    form = BcfConditionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the condition and whether it is met.")
    else:
        try:
            row = services.bcf_condition_set(
                actor=actor_of(request), fund=fund, year=year, **form.cleaned_data
            )
            messages.success(request, f"Condition {row.number}: {row.get_status_display()}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(f"{reverse('commissioning:bcf-fund', args=[fund.pk])}?year={year.code}")


@login_required
@require_POST
def bcf_metric_set(request: HttpRequest, pk: int) -> HttpResponse:
    fund, year = _bcf_editable(request, pk)
    form = BcfMetricForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the metric and quarter and enter the plan as a number.")
    else:
        try:
            row = services.bcf_metric_set(
                actor=actor_of(request), fund=fund, year=year, **form.cleaned_data
            )
            messages.success(request, f"{row.code} Q{row.quarter} was saved.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(f"{reverse('commissioning:bcf-fund', args=[fund.pk])}?year={year.code}")


@login_required
@require_safe
def bcf_return_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    fund = _fund(request, pk)
    if not fund.is_bcf:
        raise Http404("Not a Better Care Fund pool")
    year = _year(fund, request.GET.get("year"))
    try:
        quarter = int(request.GET.get("quarter", "4"))
    except ValueError:
        quarter = 4
    quarter = min(max(quarter, 1), 4)
    body = bcf_return.render_xlsx(bcf_return.compute(fund, year, quarter))
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"bcf-return-{fund.code}-{year.code.replace('/', '-')}-Q{quarter}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
