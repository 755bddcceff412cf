"""Reporting pages: the variance report, month-end close and its reports, exports, transparency."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from budgets import rules, selectors
from budgets.context import (
    NoBudgetYear,
    ReportingContext,
    context_from_query,
    reporting_context,
    year_due_for_close,
)
from budgets.models import ExportJob, FinancialYear, FundPeriod, Period, PooledFund
from budgets.planning.services.periods import period_close
from budgets.planning.services.periods import period_reopen as reopen
from budgets.reports import exports, transparency
from budgets.reports.html_renderer import report_tables
from budgets.reports.variance import GROUPINGS, cached_variance_report, latest_snapshot
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from localities import roles
from localities.actors import actor_of
from localities.models import Organisation


def _visible_fund(user: Any, code: str | None) -> PooledFund:
    fund = selectors.funds_visible_to(user).filter(code=code or "").first()
    if fund is None:
        raise Http404("Fund not found.")
    return fund


def _period(code: str | None) -> Period:
    try:
        return selectors.get_period(code or "")
    except NotFound as exc:
        raise Http404(exc.message) from None


def _context(fund: PooledFund, request: HttpRequest) -> ReportingContext | None:
    """The reporting context the request names, else the default; None if there is no budget."""
    try:
        return context_from_query(fund, request.GET)
    except NoBudgetYear:
        return None


@login_required
def variance_report(request: HttpRequest) -> HttpResponse:
    funds = list(selectors.funds_visible_to(request.user).order_by("code"))
    context: dict[str, Any] = {"funds": funds, "groupings": GROUPINGS}
    code = request.GET.get("fund")
    if not code:
        return render(request, "budgets/reports/variance.html", context)
    fund = next((f for f in funds if f.code == code), None)
    if fund is None:
        raise Http404("Fund not found.")
    grouping = request.GET.get("grouping", "service_area")
    if grouping not in GROUPINGS:
        grouping = "service_area"
    ctx = _context(fund, request)
    context.update(fund=fund, grouping=grouping, ctx=ctx)
    if ctx is None or ctx.period is None:
        return render(request, "budgets/reports/variance.html", context)
    period = ctx.period
    report = cached_variance_report(
        fund=fund, period=period, grouping=grouping, started=ctx.started
    )
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    tables = report_tables(report, page)
    context.update(
        period=period,
        report=report,
        tables=tables,
        page=tables.page,
        pages=tables.pages,
        page_range=range(1, tables.pages + 1) if tables.pages <= 60 else None,
        formats=ExportJob.Format.choices,
        can_close=rules.is_host_finance_officer(request.user, fund),
        page_query=ctx.query_with(fund=fund.code, grouping=grouping),
    )
    return render(request, "budgets/reports/variance.html", context)


@login_required
@require_POST
def variance_export(request: HttpRequest) -> HttpResponse:
    """Small reports download at once; larger ones become a job under "my exports"."""
    fund = _visible_fund(request.user, request.POST.get("fund"))
    period = _period(request.POST.get("period"))
    fmt = request.POST.get("format", "csv")
    grouping = request.POST.get("grouping", "service_area")
    if fmt not in exports.CONTENT_TYPES or grouping not in GROUPINGS:
        raise Http404("Unknown export.")
    report = cached_variance_report(fund=fund, period=period, grouping=grouping)
    if len(report.rows) <= exports.sync_line_limit(fmt):
        data = exports.render(report, fmt)
        response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
        name = exports.variance_filename(report, fmt)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    job = exports.variance_export_request(
        actor=actor_of(request), fund=fund, period=period, fmt=fmt, grouping=grouping
    )
    messages.success(request, "Your export is being prepared; it will appear under My exports.")
    return redirect("budgets:export-detail", pk=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def month_close(request: HttpRequest, code: str) -> HttpResponse:
    """A fund's months: close the next one (host finance officer) and download each closed month's
    frozen reports."""
    fund = _visible_fund(request.user, code)
    can_close = rules.is_host_finance_officer(request.user, fund)
    if request.method == "POST":
        if not can_close:
            raise PermissionDenied("Only the host's finance officer can close a period.")
        period = _period(request.POST.get("period"))
        try:
            period_close(actor=actor_of(request), fund=fund, period=period)
        except NotFound:
            raise Http404("Fund not found.") from None
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{period.code} is closed. Its figures are frozen and its reports are listed below.",
            )
        close_page = reverse("budgets:month-close", args=[fund.code])
        return redirect(f"{close_page}?{urlencode({'year': period.year.code})}")
    ctx = _close_context(fund, request)
    year = ctx.year if ctx is not None else None
    months: list[dict[str, Any]] = []
    next_to_close = None
    if year is not None:
        jobs_by_period: dict[int, list[ExportJob]] = {}
        for job in exports.month_close_exports(fund).filter(period__year=year):
            jobs_by_period.setdefault(job.period_id, []).append(job)
        for entry in selectors.fund_periods(fund, year):
            period = entry["period"]
            if period.number > 12:
                continue
            snapshot = latest_snapshot(fund, period) if entry["status"] == "closed" else None
            jobs = [
                j
                for j in jobs_by_period.get(period.pk, [])
                # this close's files, and those still being made (no snapshot frozen yet)
                if snapshot is None or j.snapshot_id in (snapshot.pk, None)
            ]
            if entry["status"] != "closed" and next_to_close is None:
                next_to_close = period
            months.append({**entry, "snapshot": snapshot, "jobs": jobs})
    return render(
        request,
        "budgets/reports/month_close.html",
        {
            "fund": fund,
            "year": year,
            "ctx": ctx,
            "months": months,
            "can_close": can_close,
            "next_to_close": next_to_close,
            "to_reopen": (
                _latest_closed(fund, year)
                if year is not None and roles.is_administrator(request.user)
                else None
            ),
        },
    )


def _close_context(fund: PooledFund, request: HttpRequest) -> ReportingContext | None:
    """The month-end close page opens on the year whose next month is due (a year asked for
    wins); its heading names the reporting month of that year."""
    year: Any = request.GET.get("year")
    period = request.GET.get("period")
    if not year and not period:
        year = year_due_for_close(fund)
    try:
        return reporting_context(fund, year=year, period=period)
    except NoBudgetYear:
        return None


def _latest_closed(fund: PooledFund, year: FinancialYear | None = None) -> Period | None:
    """The month to reopen next: the latest closed one (of `year`, if given)."""
    closed = FundPeriod.objects.filter(fund=fund, status=FundPeriod.Status.CLOSED)
    if year is not None:
        closed = closed.filter(period__year=year)
    latest = (
        closed.select_related("period__year")
        .order_by("-period__year__start_date", "-period__number")
        .first()
    )
    return latest.period if latest is not None else None


@login_required
@require_http_methods(["GET", "POST"])
def period_reopen(request: HttpRequest, code: str) -> HttpResponse:
    """An administrator reopens a closed month (latest first), saying why; the reason is audited
    and shown on the month-end close page."""
    fund = _visible_fund(request.user, code)
    if not roles.is_administrator(request.user):
        raise PermissionDenied("Only an administrator can reopen a month.")
    chosen = request.POST.get("period") if request.method == "POST" else request.GET.get("period")
    errors: dict[str, str] = {}
    period: Period | None = None
    if not chosen:
        period = _latest_closed(fund)
    else:
        try:
            period = selectors.get_period(chosen)
        except NotFound as exc:
            errors["period"] = exc.message
    reason = request.POST.get("reason", "").strip()
    if request.method == "POST":
        if period is None:
            errors.setdefault("period", f"No month of {fund.code} is closed.")
        else:
            try:
                reopen(actor=actor_of(request), fund=fund, period=period, reason=reason)
            except ApplicationError as exc:
                errors[exc.field_or("period")] = exc.message
            else:
                messages.success(
                    request,
                    f"{period.code} is open again for {fund.code}. The reports frozen when it "
                    "closed are kept; closing it again freezes a new run.",
                )
                close_page = reverse("budgets:month-close", args=[fund.code])
                return redirect(f"{close_page}?year={period.year.code}")
    status = (
        FundPeriod.objects.filter(fund=fund, period=period).select_related("changed_by").first()
        if period is not None
        else None
    )
    return render(
        request,
        "budgets/reports/period_reopen.html",
        {
            "fund": fund,
            "period": period,
            "status": status,
            "reason": reason,
            "errors": errors,
            "back_url": reverse("budgets:month-close", args=[fund.code])
            + (f"?year={period.year.code}" if period is not None else ""),
        },
    )


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    jobs = exports.my_exports(request.user)[:100]
    return render(request, "budgets/reports/export_list.html", {"jobs": jobs})


def _job(request: HttpRequest, pk: int) -> ExportJob:
    try:
        return exports.get_visible_export(request.user, pk)
    except NotFound:
        raise Http404("Export not found.") from None


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "budgets/reports/export_detail.html", {"job": _job(request, pk)})


@login_required
def export_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment HTMX polls; it stops polling once the job has finished."""
    return render(request, "budgets/reports/_export_progress.html", {"job": _job(request, pk)})


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("This export has no file yet.")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename or job.file.name.rsplit("/", 1)[-1],
        content_type=exports.CONTENT_TYPES[job.format],
    )


@login_required
@require_http_methods(["GET", "POST"])
def transparency_export(request: HttpRequest) -> HttpResponse:
    """Spend over £500 (councils) or over £25,000 (NHS) for an organisation, month or quarter."""
    user = actor_of(request)
    if not (roles.is_administrator(user) or roles.has_role(user, roles.FINANCE_OFFICER)):
        raise Http404("Page not found.")
    if roles.is_administrator(user):
        organisations = Organisation.objects.order_by("name")
    else:
        organisations = Organisation.objects.filter(pk=getattr(user, "organisation_id", 0) or 0)
    years = FinancialYear.objects.order_by("-start_date")
    errors: dict[str, str] = {}
    if request.method == "POST":
        org = organisations.filter(code=request.POST.get("organisation", "")).first()
        year = years.filter(code=request.POST.get("year", "")).first()
        scope = request.POST.get("scope", "month")
        template = request.POST.get("template") or None
        try:
            number = int(request.POST.get("number", ""))
        except ValueError:
            number = 0
        if org is None:
            raise Http404("Organisation not found.")
        if year is None:
            errors["year"] = "Choose a financial year."
        if scope not in ("month", "quarter"):
            errors["scope"] = "Choose month or quarter."
        elif not (1 <= number <= (4 if scope == "quarter" else 12)):
            errors["number"] = "Choose a month from 1 to 12 or a quarter from 1 to 4."
        if not errors and year is not None:
            last = number * 3 if scope == "quarter" else number
            period = Period.objects.select_related("year").get(year=year, number=last)
            try:
                job = exports.transparency_export_request(
                    actor=user,
                    organisation=org,
                    period=period,
                    scope=scope,
                    number=number,
                    template=template,
                )
            except NotFound:
                raise Http404("Organisation not found.") from None
            except ApplicationError as exc:
                errors[exc.extra.get("field", "number")] = exc.message
            else:
                return redirect("budgets:export-detail", pk=job.pk)
    return render(
        request,
        "budgets/reports/transparency.html",
        {
            "organisations": organisations,
            "years": years,
            "templates": transparency.TEMPLATES.values(),
            "errors": errors,
            "data": request.POST if request.method == "POST" else {},
            "export_list_url": reverse("budgets:export-list"),
        },
    )
