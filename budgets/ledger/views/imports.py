"""Ledger import pages: upload a file (the gmhsc CSV or an export read through an import profile),
see the preview (rows to post by fund, line and period; rows outside the pools; unmapped pairs,
each with "map to line"; every problem), post it, follow its progress, download its problems.

Another organisation's import answers 404. Progress polls with HTMX every 2 s and works without
JavaScript (a plain refresh link).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets import choosers, rules
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.forms import MapPairForm, UploadForm
from budgets.ledger.imports import (
    ERRORS_SHOWN,
    HEADER,
    OPTIONAL,
    TERMINAL,
    check_again,
    error_file,
    post_import,
    start_import,
)
from budgets.ledger.profiles import ProfileSpec
from budgets.ledger.services import mappings as mapping_service
from budgets.models import FinancialYear, LedgerImport
from gmhsc.errors import ApplicationError
from localities.actors import actor_of
from localities.models import Organisation


def organisation_of(request: HttpRequest) -> Organisation:
    org = actor_of(request).organisation
    if org is None:
        raise Http404("No organisation.")
    return org


def _get_import(request: HttpRequest, pk: int) -> LedgerImport:
    imp = ledger_selectors.imports_visible_to(request.user).filter(pk=pk).first()
    if imp is None:
        raise Http404("Import not found.")
    return imp


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The organisation's imports, newest first, and the upload form for finance officers. An
    upload is checked and previewed; nothing is posted until "Post"."""
    org = organisation_of(request)
    can_post = rules.may_post_for(request.user, org)
    profiles = list(
        ledger_selectors.profiles_visible_to(request.user).filter(organisation=org)
    ) + list(ledger_selectors.profiles_visible_to(request.user).filter(organisation=None))
    form = UploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES or None,
        profiles=profiles,
    )
    if request.method == "POST":
        if not can_post:
            raise Http404("Not found.")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            by_pk = {str(p.pk): p for p in profiles}
            try:
                imp = start_import(
                    actor=actor_of(request),
                    organisation=org,
                    upload=upload,
                    original_name=upload.name,
                    profile=by_pk.get(form.cleaned_data["profile"]),
                    outside_pools=form.cleaned_data["outside_pools"] or None,
                    dry_run=True,
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("budgets:ledger-import-detail", pk=imp.pk)
    page = Paginator(ledger_selectors.imports_visible_to(request.user), 25).get_page(
        request.GET.get("page")
    )
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


def _column_names(imp: LedgerImport) -> dict[str, str]:
    """gmhsc field -> the file's column name, for a profile import's problems."""
    if imp.profile is None:
        return {}
    try:
        spec = ProfileSpec.from_data(imp.profile.spec, name=imp.profile.name)
    except ApplicationError:
        return {}
    return {name: names[0] for name, names in spec.columns.items()}


def _progress_context(request: HttpRequest, imp: LedgerImport) -> dict[str, Any]:
    total = imp.rows_total or 0
    checked_pct = int(imp.rows_checked * 100 / total) if total else 0
    columns = _column_names(imp)
    errors = [{**e, "column": columns.get(e["field"], e["field"])} for e in (imp.errors or [])]
    preview = imp.preview or {}
    return {
        "imp": imp,
        "finished": imp.status in TERMINAL,
        "checked_pct": min(checked_pct, 100),
        "errors": errors,
        "errors_shown": ERRORS_SHOWN,
        "more_errors": imp.error_count > len(imp.errors or []),
        "preview": preview,
        "more_lines": preview.get("by_line_count", 0) - len(preview.get("by_line", [])),
        "can_post": rules.may_post_for(request.user, imp.organisation),
        "postable": imp.status == LedgerImport.Status.PREVIEWED and not imp.error_count,
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    imp = _get_import(request, pk)
    return render(request, "budgets/ledger/import_detail.html", _progress_context(request, imp))


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, for HTMX polling."""
    imp = _get_import(request, pk)
    return render(request, "budgets/ledger/_import_progress.html", _progress_context(request, imp))


@login_required
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    imp = _get_import(request, pk)
    response = HttpResponse(error_file(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ledger-import-{imp.pk}-errors.csv"'
    return response


def _poster_import(request: HttpRequest, pk: int) -> LedgerImport:
    imp = _get_import(request, pk)
    if not rules.may_post_for(request.user, imp.organisation):
        raise Http404("Import not found.")
    return imp


def _act(request: HttpRequest, pk: int, service: Any) -> HttpResponse:
    imp = _poster_import(request, pk)
    try:
        service(actor=actor_of(request), ledger_import=imp)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("budgets:ledger-import-detail", pk=imp.pk)


@login_required
@require_POST
def import_post(request: HttpRequest, pk: int) -> HttpResponse:
    """Post exactly what the preview showed (checked again first)."""
    return _act(request, pk, post_import)


@login_required
@require_POST
def import_check_again(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview the stored file again (after mapping what was unmapped)."""
    return _act(request, pk, check_again)


@login_required
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    """Map one unmapped (cost centre, expense code) pair of a preview to a budget line, chosen by
    searching the lines the organisation may post to; then the file is checked again."""
    imp = _poster_import(request, pk)
    source = request.POST if request.method == "POST" else request.GET
    cost_centre = source.get("cost_centre", "").strip()
    expense_code = source.get("expense_code", "").strip()
    year = FinancialYear.objects.filter(code=source.get("year", "")).first()
    if year is None or not cost_centre:
        raise Http404("No such pair.")
    lines = ledger_selectors.mapping_lines(request.user, imp.organisation, year)
    finding = request.method == "POST" and "find_lines" in request.POST
    if request.method == "POST" and not finding:
        form = MapPairForm(request.POST, lines=lines)
    else:
        form = MapPairForm(lines=lines, initial=request.POST.dict() if finding else None)
    choosers.offer_lines(
        form, request.POST or request.GET, f"{reverse('budgets:line-search')}?year={year.code}"
    )
    if request.method == "POST" and not finding and form.is_valid():
        try:
            mapping_service.mapping_set(
                actor=actor_of(request),
                organisation=imp.organisation,
                year=year,
                cost_centre=cost_centre,
                expense_code=expense_code,
                cost_centre_match="exact",
                expense_code_match="exact",
                budget_line=form.cleaned_data["budget_line"],
                reason=f"Mapped from the preview of import {imp.pk}",
            )
            check_again(actor=actor_of(request), ledger_import=imp)
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            line = form.cleaned_data["budget_line"]
            messages.success(
                request,
                f"{cost_centre} / {expense_code} now maps to {line.code}; the file was checked "
                "again.",
            )
            return redirect(reverse("budgets:ledger-import-detail", args=[imp.pk]) + "#unmapped")
    return render(
        request,
        "budgets/ledger/import_map.html",
        {
            "imp": imp,
            "year": year,
            "cost_centre": cost_centre,
            "expense_code": expense_code,
            "form": form,
        },
    )
