"""Virement pages: request one, my requests, the finance officer's decisions, awaiting the board."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from budgets import choosers, rules, selectors
from budgets.models import Virement
from budgets.planning.forms import DecisionForm, VirementForm
from budgets.planning.services import virements as virement_services
from budgets.planning.views.funds import get_context, get_fund
from gmhsc.errors import ApplicationError
from localities.actors import actor_of


@login_required
def virement_request(request: HttpRequest, pk: int) -> HttpResponse:
    fund = get_fund(request, pk)
    ctx = get_context(request, fund)
    year = ctx.year
    lines = choosers.line_scope(request.user, fund=fund, year=year)
    initial = {
        "from_line": request.GET.get("from_line", ""),
        "to_line": request.GET.get("to_line", ""),
    }
    finding = request.method == "POST" and "find_lines" in request.POST
    if finding:  # "Find lines" without JavaScript: the form again, its list narrowed, unsaved
        form = VirementForm(lines=lines, initial=request.POST.dict())
    else:
        form = VirementForm(request.POST or None, lines=lines, initial=initial)
    choosers.offer_lines(
        form,
        request.POST if request.method == "POST" else initial,
        f"{reverse('budgets:line-search')}?fund={fund.pk}&year={year.code}",
    )
    if request.method == "POST" and not finding and form.is_valid():
        data = form.cleaned_data
        try:
            virement = virement_services.virement_request(
                actor=actor_of(request),
                from_line=data["from_line"],
                to_line=data["to_line"],
                amount=data["amount"],
                recurrent=data["recurrent"],
                reason=data["reason"],
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            if virement.status == Virement.Status.AWAITING_BOARD:
                messages.success(
                    request,
                    f"Virement {virement.pk} is above the officer limit and is awaiting a board decision.",
                )
            else:
                messages.success(
                    request, f"Virement {virement.pk} was requested from the finance officer."
                )
            return redirect("budgets:my-requests")
    return render(
        request,
        "budgets/virement_form.html",
        {
            "fund": fund,
            "year": year,
            "ctx": ctx,
            "form": form,
            "approved": not ctx.is_draft,
            "from_month": next(iter(selectors.open_periods(fund, year)), None),
        },
    )


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    virements = Paginator(selectors.virements_for(request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "budgets/my_requests.html", {"virements": virements})


@login_required
def fund_virements(request: HttpRequest, pk: int) -> HttpResponse:
    """A fund's virements by status; the host's finance officer decides those within the limit."""
    fund = get_fund(request, pk)
    status = request.GET.get("status", "")
    if status not in Virement.Status.values:
        status = ""
    qs = selectors.virements_visible_to(request.user, fund, status or None)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {
        "fund": fund,
        "ctx": get_context(request, fund),  # carried back to the fund's pages
        "virements": page,
        "status": status,
        "statuses": Virement.Status.choices,
        "is_host_fo": rules.is_host_finance_officer(request.user, fund),
        "awaiting_board": status == Virement.Status.AWAITING_BOARD,
    }
    return render(request, "budgets/fund_virements.html", context)


def _get_virement(request: HttpRequest, pk: int) -> Virement:
    virement = selectors.virements_visible_to(request.user).filter(pk=pk).first()
    if virement is None:
        raise Http404("Virement not found")
    return virement


@login_required
def virement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    virement = _get_virement(request, pk)
    user: Any = request.user
    can_decide = virement.status == Virement.Status.REQUESTED and rules.is_host_finance_officer(
        user, virement.fund
    )
    return render(
        request,
        "budgets/virement_detail.html",
        {
            "virement": virement,
            "fund": virement.fund,
            "can_decide": can_decide,
            "form": DecisionForm(),
        },
    )


@login_required
@require_POST
def virement_decide(request: HttpRequest, pk: int) -> HttpResponse:
    virement = _get_virement(request, pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            virement = virement_services.virement_approve(
                actor=actor_of(request), virement=virement, note=note
            )
            messages.success(request, f"Virement {virement.pk} was approved and applied.")
        elif decision == "reject":
            virement = virement_services.virement_reject(
                actor=actor_of(request), virement=virement, note=note
            )
            messages.success(request, f"Virement {virement.pk} was rejected.")
        else:
            messages.error(request, "Choose approve or reject.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("budgets:virement-detail", pk=virement.pk)
