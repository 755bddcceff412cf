"""Ledger pages: upload a ledger CSV and follow its progress, read its errors; keep mappings;
reverse a posting.

Another organisation's import or mapping answers 404. Progress polls with HTMX every 2 s and
works without JavaScript (a plain refresh link).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets import choosers, rules, selectors
from budgets.choosers import LineChooserField
from budgets.ledger.imports import (
    ERRORS_SHOWN,
    HEADER,
    OPTIONAL,
    TERMINAL,
    error_file,
    start_import,
)
from budgets.ledger.services import mappings as mapping_service
from budgets.ledger.services.postings import posting_visible, spend_reverse
from budgets.models import FinancialYear, LedgerImport, LedgerMapping, SpendPosting
from gmhsc.errors import ApplicationError, NotFound
from gmhsc.forms import GovukForm
from gmhsc.money import format_money
from localities import roles
from localities.actors import actor_of
from localities.models import Organisation


class UploadForm(GovukForm):
    file = forms.FileField(
        label="Ledger file (CSV)",
        help_text="UTF-8 CSV with the header shown above; up to 1,000,000 rows.",
        widget=forms.FileInput(attrs={"accept": ".csv"}),
    )


class MappingForm(GovukForm):
    cost_centre = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"})
    )
    expense_code = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"})
    )
    budget_line = LineChooserField(label="Budget line", empty_label="Choose a budget line")

    def __init__(self, *args: Any, lines: Any, **kwargs: Any) -> None:
        """`lines`: the lines that may be chosen (a queryset; only matches are listed)."""
        super().__init__(*args, **kwargs)
        field = self.fields["budget_line"]
        assert isinstance(field, LineChooserField)
        field.queryset = lines
        field.with_fund = True


def _organisation(request: HttpRequest) -> Organisation:
    org = getattr(request.user, "organisation", None)
    if org is None:
        raise Http404("No organisation.")
    return org


def _visible_imports(request: HttpRequest) -> Any:
    qs = LedgerImport.objects.select_related("organisation", "uploaded_by")
    if roles.is_administrator(request.user):
        return qs
    return qs.filter(organisation_id=int(getattr(request.user, "organisation_id", 0) or 0))


def _get_import(request: HttpRequest, pk: int) -> LedgerImport:
    imp = _visible_imports(request).filter(pk=pk).first()
    if imp is None:
        raise Http404("Import not found.")
    return imp


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The organisation's imports, newest first, and the upload form for finance officers."""
    org = _organisation(request)
    can_post = rules.may_post_for(request.user, org)
    form = UploadForm(request.POST if request.method == "POST" else None, request.FILES or None)
    if request.method == "POST":
        if not can_post:
            raise Http404("Not found.")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imp = start_import(
                    actor=actor_of(request),
                    organisation=org,
                    upload=upload,
                    original_name=upload.name,
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("budgets:ledger-import-detail", pk=imp.pk)
    page = Paginator(_visible_imports(request), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "budgets/ledger/import_list.html",
        {
            "organisation": org,
            "form": form,
            "can_post": can_post,
            "imports": page,
            "header": ",".join(HEADER),
            "optional": ",".join(OPTIONAL),
        },
    )


def _progress_context(imp: LedgerImport) -> dict[str, Any]:
    total = imp.rows_total or 0
    checked_pct = int(imp.rows_checked * 100 / total) if total else 0
    return {
        "imp": imp,
        "finished": imp.status in TERMINAL,
        "checked_pct": min(checked_pct, 100),
        "errors_shown": ERRORS_SHOWN,
        "more_errors": imp.error_count > len(imp.errors or []),
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    imp = _get_import(request, pk)
    return render(request, "budgets/ledger/import_detail.html", _progress_context(imp))


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, for HTMX polling."""
    imp = _get_import(request, pk)
    return render(request, "budgets/ledger/_import_progress.html", _progress_context(imp))


@login_required
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    imp = _get_import(request, pk)
    response = HttpResponse(error_file(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ledger-import-{imp.pk}-errors.csv"'
    return response


@login_required
def mapping_list(request: HttpRequest) -> HttpResponse:
    """The organisation's ledger mappings for a year; finance officers add and remove them."""
    org = _organisation(request)
    years = list(FinancialYear.objects.order_by("-start_date"))
    year = next((y for y in years if y.code == request.GET.get("year")), None)
    year = year or next((y for y in years if y.code == "2016/17"), years[0] if years else None)
    if year is None:
        raise Http404("No financial years.")
    can_edit = rules.may_post_for(request.user, org)
    lines = choosers.line_scope(request.user, year=year)
    if request.method == "POST" and not can_edit:
        raise Http404("Not found.")
    finding = request.method == "POST" and "find_lines" in request.POST
    if finding:  # "Find lines" without JavaScript: the form again, its list narrowed, unsaved
        form = MappingForm(lines=lines, initial=request.POST.dict())
    else:
        form = MappingForm(request.POST if request.method == "POST" else None, lines=lines)
    if can_edit:
        choosers.offer_lines(
            form, request.POST, f"{reverse('budgets:line-search')}?year={year.code}"
        )
    if request.method == "POST" and not finding and form.is_valid():
        try:
            mapping = mapping_service.mapping_set(
                actor=actor_of(request),
                organisation=org,
                year=year,
                cost_centre=form.cleaned_data["cost_centre"],
                expense_code=form.cleaned_data["expense_code"],
                budget_line=form.cleaned_data["budget_line"],
            )
        except ApplicationError as exc:
            form.add_error(
                exc.extra.get("field") if exc.extra.get("field") in form.fields else None,
                exc.message,
            )
        else:
            messages.success(
                request,
                f"{mapping.cost_centre} / {mapping.expense_code} now maps to "
                f"{mapping.budget_line.code}.",
            )
            return redirect(f"{request.path}?year={year.code}")
    mappings = Paginator(
        LedgerMapping.objects.filter(organisation=org, year=year).select_related(
            "budget_line", "budget_line__fund"
        ),
        100,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "budgets/ledger/mapping_list.html",
        {
            "organisation": org,
            "year": year,
            "years": years,
            "mappings": mappings,
            "form": form,
            "can_edit": can_edit,
        },
    )


@login_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = mapping_service.mappings_visible_to(request.user).filter(pk=pk).first()
    if mapping is None or not rules.may_post_for(request.user, mapping.organisation):
        raise Http404("Mapping not found.")
    try:
        mapping_service.mapping_delete(actor=actor_of(request), mapping=mapping)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Mapping {mapping.cost_centre} / {mapping.expense_code} removed."
        )
    return redirect(f"{_reverse_mappings()}?year={mapping.year.code}")


def _reverse_mappings() -> str:
    from django.urls import reverse

    return reverse("budgets:ledger-mappings")


@login_required
@require_http_methods(["GET", "POST"])
def posting_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a posting: post its negative copy, linked to it, with a reason (then post the
    right figure as a new posting). Postings are never changed or deleted."""
    posting = (
        SpendPosting.objects.select_related("organisation", "fund", "period__year", "budget_line")
        .filter(pk=pk)
        .first()
    )
    if posting is None or not posting_visible(actor_of(request), posting):
        raise Http404("Posting not found.")
    if not rules.may_post_for(request.user, posting.organisation):
        raise PermissionDenied(
            f"Only a finance officer of {posting.organisation.name} can reverse its postings."
        )
    line_page = reverse("budgets:line-detail", args=[posting.budget_line_id]) + "#postings-heading"
    periods = selectors.open_periods(posting.fund, posting.period.year)
    errors: dict[str, str] = {}
    data = {"reason": "", "period": ""}
    if request.method == "POST":
        data = {
            "reason": request.POST.get("reason", "").strip(),
            "period": request.POST.get("period", ""),
        }
        period = None
        if data["period"]:
            try:
                period = selectors.get_period(data["period"])
            except NotFound as exc:
                errors["period"] = exc.message
        if not errors:
            try:
                made = spend_reverse(
                    actor=actor_of(request), posting=posting, reason=data["reason"], period=period
                )
            except ApplicationError as exc:
                errors[(exc.extra or {}).get("field", "posting")] = exc.message
            else:
                messages.success(
                    request,
                    f"Posted {made.document_number}/{made.line_number}, "
                    f"{format_money(made.amount, pence=True)} in {made.period.code}, reversing "
                    f"{posting.document_number}/{posting.line_number}. "
                    "Now post the right figure as a new posting.",
                )
                return redirect(line_page)
    return render(
        request,
        "budgets/ledger/posting_reverse.html",
        {
            "posting": posting,
            "reversal": posting.reversed_by,
            "periods": periods,
            "errors": errors,
            "data": data,
            "line_page": line_page,
        },
    )
