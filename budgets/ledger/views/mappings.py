"""Ledger mappings page: an organisation's mappings and mapping rules for a year; finance officers
add and remove them; anyone in the organisation asks which line a pair would go to, and by which
rule. Another organisation's mapping answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from budgets import choosers, rules
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.forms import MappingForm, WhichForm
from budgets.ledger.services import mappings as mapping_service
from budgets.ledger.views.imports import organisation_of
from budgets.models import FinancialYear, LedgerMapping
from gmhsc.errors import ApplicationError
from localities.actors import actor_of

# GOV.UK tables page at a length a reader scans; each row carries its own "Remove" form.
MAPPINGS_PER_PAGE = 50


@login_required
def mapping_list(request: HttpRequest) -> HttpResponse:
    """The organisation's ledger mappings and rules for a year; finance officers add and remove
    them; "which line would this pair go to?" answers with the line and the rule."""
    org = organisation_of(request)
    years = list(FinancialYear.objects.order_by("-start_date"))
    year = next((y for y in years if y.code == request.GET.get("year")), None)
    year = year or next((y for y in years if y.code == "2016/17"), years[0] if years else None)
    if year is None:
        raise Http404("No financial years.")
    can_edit = rules.may_post_for(request.user, org)
    lines = ledger_selectors.mapping_lines(request.user, org, year)
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
        data = form.cleaned_data
        try:
            mapping = mapping_service.mapping_set(
                actor=actor_of(request),
                organisation=org,
                year=year,
                cost_centre=data["cost_centre"],
                expense_code=data["expense_code"],
                cost_centre_match=data["cost_centre_match"] or None,
                expense_code_match=data["expense_code_match"] or None,
                budget_line=data["budget_line"],
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                f"{mapping.cost_centre} / {mapping.expense_code} now maps to "
                f"{mapping.budget_line.code}.",
            )
            return redirect(f"{request.path}?year={year.code}")
    which_form = WhichForm(request.GET if "cost_centre" in request.GET else None)
    which = None
    if which_form.is_bound and which_form.is_valid():
        which = mapping_service.which_line(
            organisation=org,
            year=year,
            cost_centre=which_form.cleaned_data["cost_centre"],
            expense_code=which_form.cleaned_data["expense_code"],
        )
    # Only what the table shows: a line has many columns, and its phasing is not needed here.
    shown = LedgerMapping.objects.filter(organisation=org, year=year).select_related(
        "budget_line", "budget_line__fund"
    )
    shown = shown.only(
        "cost_centre",
        "cost_centre_match",
        "expense_code",
        "expense_code_match",
        "budget_line__code",
        "budget_line__name",
        "budget_line__fund__code",
    ).order_by("cost_centre", "expense_code", "pk")
    mappings = Paginator(shown, MAPPINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "budgets/ledger/mapping_list.html",
        {
            "organisation": org,
            "year": year,
            "years": years,
            "mappings": mappings,
            "form": form,
            "which_form": which_form,
            "which": which,
            "can_edit": can_edit,
        },
    )


@login_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = ledger_selectors.mappings_visible_to(request.user).filter(pk=pk).first()
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
    return redirect(f"{reverse('budgets:ledger-mappings')}?year={mapping.year.code}")
