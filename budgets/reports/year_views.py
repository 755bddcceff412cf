"""Year-end pages: the year-end page (close the year, the settlement), reopening a year, each
partner's settlement statement (PDF) and the memorandum account (page, PDF, XLSX)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from budgets import rules, selectors
from budgets.context import NoBudgetYear, reporting_context
from budgets.figures.settlement import SettlementResult, compute_settlement
from budgets.models import FinancialYear, PooledFund, RiskShareAgreement, SpendPosting, YearEnd
from budgets.models.reference import YEAR_END_PERIOD
from budgets.reports import memorandum
from budgets.reports import memorandum_renderer as files
from budgets.reports.year_end import current_close, financial_year_close, financial_year_reopen
from gmhsc.errors import ApplicationError
from localities import roles
from localities.actors import actor_of


def _fund(request: HttpRequest, pk: int) -> PooledFund:
    fund = selectors.funds_visible_to(request.user).filter(pk=pk).first()
    if fund is None:
        raise Http404("Fund not found")
    return fund


def _year(request: HttpRequest, fund: PooledFund) -> FinancialYear:
    code = request.GET.get("year") or request.POST.get("year")
    year = FinancialYear.objects.filter(code=code or "").first()
    if year is not None:
        return year
    try:
        return reporting_context(fund).year
    except NoBudgetYear:
        raise Http404("This fund has no budget yet") from None


def _page(name: str, fund: PooledFund, year: FinancialYear) -> str:
    return f"{reverse(name, args=[fund.pk])}?{urlencode({'year': year.code})}"


@login_required
@require_http_methods(["GET", "POST"])
def year_end(request: HttpRequest, pk: int) -> HttpResponse:
    fund = _fund(request, pk)
    year = _year(request, fund)
    user: Any = request.user
    can_close = bool(rules.is_host_finance_officer(user, fund))
    if request.method == "POST":
        if not can_close:
            raise PermissionDenied("Only the host's finance officer can close the year.")
        try:
            financial_year_close(
                actor=actor_of(request), fund=fund, year=year, reason=request.POST.get("reason", "")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{fund.code}'s {year.code} year is closed. The outturn and the settlement are "
                "frozen; the statements and the memorandum account are below.",
            )
        return redirect(_page("budgets:year-end", fund, year))
    close = current_close(fund, year)
    months = selectors.fund_periods(fund, year)
    open_months = [
        m["code"] for m in months if m["period"].number <= 12 and m["status"] != "closed"
    ]
    m13 = next((m for m in months if m["period"].number == YEAR_END_PERIOD), None)
    adjustments = SpendPosting.objects.filter(
        fund=fund, period__year=year, period__number=YEAR_END_PERIOD
    ).aggregate(count=Count("id"), total=Sum("amount"))
    preview = None
    preview_error = ""
    if close is None and not open_months:
        try:
            preview = compute_settlement(fund, year)
        except ApplicationError as exc:
            preview_error = exc.message
    return render(
        request,
        "budgets/year_end.html",
        {
            "fund": fund,
            "year": year,
            "years": FinancialYear.objects.filter(lines__fund=fund)
            .distinct()
            .order_by("start_date"),
            "close": close,
            "settlements": memorandum.settlement_rows(close) if close else [],
            "earlier": YearEnd.objects.filter(fund=fund, year=year, status=YearEnd.Status.REOPENED)
            .select_related("closed_by", "reopened_by")
            .order_by("-run"),
            "open_months": open_months,
            "m13": m13,
            "adjustments": adjustments,
            "preview": preview,
            "preview_rows": _preview_rows(preview) if preview is not None else [],
            "preview_error": preview_error,
            "rule_label": RiskShareAgreement.Rule(close.rule).label if close else "",
            "can_close": can_close and close is None,
            "can_reopen": close is not None and roles.is_administrator(user),
            "query": urlencode({"year": year.code}),
        },
    )


def _preview_rows(result: SettlementResult) -> list[dict[str, Any]]:
    """The settlement as it would be frozen, shaped like Settlement rows for the table."""
    return [
        {
            "partner": result.names[p.partner_id],
            "is_host": p.is_host,
            "contribution": p.contribution,
            "carried_forward_in": p.carried_forward_in,
            "receipts": p.receipts,
            "variance_share": p.variance_share,
            "underspend_returned": p.underspend_returned,
            "underspend_retained": p.underspend_retained,
            "underspend_carried_forward": p.underspend_carried_forward,
            "net_due": p.net_due,
        }
        for p in result.partners
    ]


@login_required
@require_http_methods(["GET", "POST"])
def year_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator reopens a closed year, saying why."""
    fund = _fund(request, pk)
    if not roles.is_administrator(request.user):
        raise PermissionDenied("Only an administrator can reopen a closed year.")
    year = _year(request, fund)
    errors: dict[str, str] = {}
    reason = request.POST.get("reason", "").strip()
    if request.method == "POST":
        try:
            financial_year_reopen(actor=actor_of(request), fund=fund, year=year, reason=reason)
        except ApplicationError as exc:
            errors[exc.field_or("reason")] = exc.message
        else:
            messages.success(
                request,
                f"{fund.code}'s {year.code} year is open again; M13 takes year-end adjustments. "
                "The settlement frozen when it closed is kept for the record.",
            )
            return redirect(_page("budgets:year-end", fund, year))
    return render(
        request,
        "budgets/year_reopen.html",
        {
            "fund": fund,
            "year": year,
            "close": current_close(fund, year),
            "errors": errors,
            "reason": reason,
            "back_url": _page("budgets:year-end", fund, year),
        },
    )


@login_required
@require_safe
def settlement_statement(request: HttpRequest, pk: int, partner: str) -> HttpResponse:
    """A partner's settlement statement for a closed year, as a PDF."""
    fund = _fund(request, pk)
    year = _year(request, fund)
    close = current_close(fund, year)
    if close is None:
        raise Http404(f"{fund.code}'s {year.code} year is not closed, so there is no settlement.")
    settlement = close.settlements.select_related("partner").filter(partner__code=partner).first()
    if settlement is None:
        raise Http404("That organisation has no settlement in this fund.")
    pdf = files.statement_pdf(close, settlement, memorandum.frozen_year_account(fund, year))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = files.statement_filename(close, settlement)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@require_safe
def memorandum_account(request: HttpRequest, pk: int) -> HttpResponse:
    """The memorandum account: the year's, frozen when it closed, or any quarter's on demand.
    ?format=pdf or xlsx downloads it."""
    fund = _fund(request, pk)
    year = _year(request, fund)
    quarter = request.GET.get("quarter", "")
    account: memorandum.MemorandumAccount | None
    if quarter:
        if quarter not in ("1", "2", "3", "4"):
            raise Http404("Choose a quarter from 1 to 4.")
        account = memorandum.quarter_account(fund, year, int(quarter))
    else:
        account = memorandum.frozen_year_account(fund, year)
    fmt = request.GET.get("format", "")
    if fmt and account is None:
        raise Http404("The year's account is frozen when the year closes.")
    if fmt == "pdf" and account is not None:
        response = HttpResponse(files.account_pdf(account), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{files.account_filename(account, "pdf")}"'
        )
        return response
    if fmt == "xlsx" and account is not None:
        response = HttpResponse(files.account_xlsx(account), content_type=files.XLSX)
        response["Content-Disposition"] = (
            f'attachment; filename="{files.account_filename(account, "xlsx")}"'
        )
        return response
    if fmt:
        raise Http404("Unknown format: choose pdf or xlsx.")
    return render(
        request,
        "budgets/memorandum_account.html",
        {
            "fund": fund,
            "year": year,
            "account": account,
            "quarter": quarter,
            "closed": current_close(fund, year) is not None,
            "query": urlencode({"year": year.code, **({"quarter": quarter} if quarter else {})}),
            "year_query": urlencode({"year": year.code}),
        },
    )
