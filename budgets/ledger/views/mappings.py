"""Ledger mappings page: an organisation's mappings and mapping rules for a year; finance officers
add and remove them; anyone in the organisation asks which line a pair would go to, and by which
rule. Another organisation's mapping answers 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
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
# How long the empty mapping form's markup is kept (it changes only with a new release).
FORM_CACHE_SECONDS = 300


def _match_words(match: str) -> str:
    if match == LedgerMapping.Match.EXACT:
        return ""
    label = LedgerMapping.Match(match).label.lower()
    return f' <span class="govuk-hint govuk-!-display-inline">({escape(label)})</span>'


def mapping_rows(mappings: Any, *, can_edit: bool, csrf_token: str) -> SafeString:
    """The mappings table's rows (dicts of the listed columns), built in Python and escaped, as the
    variance report's are: through template tags and lookups the rows cost more than the rest of
    the page. Finance officers get a "Remove" form on each row."""
    rows = []
    for m in mappings:
        cost_centre, expense_code = escape(m["cost_centre"]), escape(m["expense_code"])
        remove = ""
        if can_edit:
            remove = (
                '<td class="govuk-table__cell"><form method="post" action="'
                f'{reverse("budgets:ledger-mapping-delete", args=[m["pk"]])}">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
                '<button type="submit" class="govuk-button govuk-button--warning '
                'govuk-!-margin-bottom-0" data-module="govuk-button">Remove<span '
                f'class="govuk-visually-hidden"> {cost_centre} / {expense_code}</span></button>'
                "</form></td>"
            )
        rows.append(
            '<tr class="govuk-table__row">'
            f'<td class="govuk-table__cell">{cost_centre}{_match_words(m["cost_centre_match"])}'
            "</td>"
            f'<td class="govuk-table__cell">{expense_code}{_match_words(m["expense_code_match"])}'
            "</td>"
            f'<td class="govuk-table__cell">{escape(m["fund_code"])}</td>'
            f'<td class="govuk-table__cell">{escape(m["line_code"])} {escape(m["line_name"])}</td>'
            f"{remove}</tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 (every value above is escaped)


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
    # Only what the table shows, as plain rows: a line has many columns.
    shown = (
        LedgerMapping.objects.filter(organisation=org, year=year)
        .order_by("cost_centre", "expense_code", "pk")
        .values(
            "pk",
            "cost_centre",
            "cost_centre_match",
            "expense_code",
            "expense_code_match",
            fund_code=F("budget_line__fund__code"),
            line_code=F("budget_line__code"),
            line_name=F("budget_line__name"),
        )
    )
    mappings = Paginator(shown, MAPPINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "budgets/ledger/mapping_list.html",
        {
            "organisation": org,
            "year": year,
            "years": years,
            "mappings": mappings,
            "rows": mapping_rows(mappings, can_edit=can_edit, csrf_token=get_token(request)),
            "form": form,
            "which_form": which_form,
            "which": which,
            "can_edit": can_edit,
            # Nothing typed or searched for yet: the same form for everyone in the year.
            "blank_form": not form.is_bound and not form.initial,
            "form_seconds": FORM_CACHE_SECONDS,
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
