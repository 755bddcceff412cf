"""Funds pages: my funds, a fund's overview, and the finance officer's budget sign-off."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from budgets import rules, selectors
from budgets.context import NoBudgetYear, ReportingContext, context_from_query
from budgets.freshness import fund_freshness
from budgets.models import FundPosition, PooledFund, Virement
from budgets.planning import selectors as planning_selectors
from budgets.planning import year_selectors
from budgets.planning.services import funds as fund_services
from gmhsc.errors import ApplicationError
from localities.actors import actor_of


def get_fund(request: HttpRequest, pk: int) -> PooledFund:
    """A fund the user may see, or 404 (another partnership's fund does not exist for them)."""
    fund = selectors.funds_visible_to(request.user).filter(pk=pk).first()
    if fund is None:
        raise Http404("Fund not found")
    return fund


def get_context(request: HttpRequest, fund: PooledFund) -> ReportingContext:
    """The reporting context the request names (`year`, `period`), else the default rule."""
    try:
        return context_from_query(fund, request.GET)
    except NoBudgetYear:
        raise Http404("This fund has no budget yet") from None


@login_required
def fund_list(request: HttpRequest) -> HttpResponse:
    funds = selectors.funds_visible_to(request.user).order_by("code")
    return render(request, "budgets/fund_list.html", {"funds": funds})


@login_required
@require_safe
def fund_overview(request: HttpRequest, pk: int) -> HttpResponse:
    fund = get_fund(request, pk)
    ctx = get_context(request, fund)
    year = ctx.year
    user: Any = request.user
    is_host_fo = rules.is_host_finance_officer(user, fund)
    awaiting_approval = (
        list(selectors.virements_visible_to(user, fund, Virement.Status.REQUESTED))
        if is_host_fo
        else []
    )
    # Nobody approves their own request: the host's finance officer who submitted is told so.
    submitted_by_me = is_host_fo and selectors.budget_submitted_by(fund, year, user)
    position = (
        FundPosition.objects.filter(fund=fund, year=year, period_number=ctx.period.number).first()
        if ctx.started and ctx.period is not None
        else None
    )
    context = {
        "fund": fund,
        "year": year,
        "submitted_by_me": submitted_by_me,
        "ctx": ctx,
        "position": position,
        "totals": planning_selectors.fund_line_totals(fund, year, user.organisation_id),
        "budget_status": ctx.budget_status,
        "freshness": fund_freshness(fund, year),
        "is_host_fo": is_host_fo,
        "awaiting_approval": awaiting_approval,
        "awaiting_board_count": selectors.virements_visible_to(
            user, fund, Virement.Status.AWAITING_BOARD
        ).count(),
        "overdue": year_selectors.overdue_instalments([(fund, year)]),
        "savings": year_selectors.savings_summary(fund, year),
        "next_year_code": year.next_code,
    }
    return render(request, "budgets/fund_overview.html", context)


@login_required
@require_POST
def budget_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _budget_action(request, pk, fund_services.fund_budget_submit, "submitted for approval")


@login_required
@require_POST
def budget_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _budget_action(request, pk, fund_services.fund_budget_approve, "approved")


@login_required
@require_POST
def budget_return(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _budget_action(
        request,
        pk,
        fund_services.fund_budget_return,
        "returned to draft",
        reason=reason,
    )


def _budget_action(
    request: HttpRequest, pk: int, service: Any, done: str, **extra: Any
) -> HttpResponse:
    fund = get_fund(request, pk)
    year = get_context(request, fund).year
    try:
        service(actor=actor_of(request), fund=fund, year=year, **extra)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The {year.code} budget of {fund.code} was {done}.")
    return redirect(f"{reverse('budgets:fund-overview', args=[fund.pk])}?year={quote(year.code)}")
