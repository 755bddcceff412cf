"""The budget line chooser: a server-side search over the lines a person may see.

A fund can hold over 2,000 lines, so no page lists them all in a dropdown. A form field
(`LineChooserField`) accepts any line of its scope (checked in the database when the form is
posted) but offers only the chosen line and the lines matching what was searched for, at most
`LIMIT`. The page shows it through `templates/budgets/includes/line_chooser.html`:

- without JavaScript, a search box and a "Find lines" button that sends the form back (as
  `find_lines`, so nothing is saved) and the list then holds the matching lines;
- with JavaScript (HTMX), typing in the search box fetches the matching options from
  `GET /budgets/lines/search/?fund=&year=&for=<field id>` as you type as you type.

Both ask `search_lines`, which starts from `budgets.selectors.lines_visible_to`: the endpoint
never returns a line of a fund the person cannot see.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from budgets import selectors
from budgets.models import BudgetLine, FinancialYear

LIMIT = 50


def search_lines(
    scope: QuerySet[BudgetLine], q: str = "", *, limit: int = LIMIT
) -> list[BudgetLine]:
    """The first `limit` lines of `scope` whose code, name or fund code contain every word of `q`."""
    qs = scope
    for word in q.split()[:5]:
        qs = qs.filter(
            Q(code__icontains=word) | Q(name__icontains=word) | Q(fund__code__icontains=word)
        )
    return list(qs.select_related("fund", "year").order_by("fund__code", "code")[:limit])


def label(line: BudgetLine, *, with_fund: bool) -> str:
    return (
        f"{line.fund.code} · {line.code} {line.name}" if with_fund else f"{line.code} – {line.name}"
    )


class LineChooser(forms.Select):
    """The select of a LineChooserField, with the search box beside it."""

    template_name = "budgets/includes/line_chooser.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_url = ""
        self.query = ""
        self.matches = 0

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            search_url=self.search_url, query=self.query, matches=self.matches, limit=LIMIT
        )
        return context


class LineChooserField(forms.ModelChoiceField):
    """Any line of `scope` is accepted; only the chosen one and the search's matches are listed."""

    widget = LineChooser

    def __init__(self, *, scope: QuerySet[BudgetLine] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", "Choose a line")
        kwargs.setdefault(
            "error_messages",
            {
                "invalid_choice": "Choose a line of this fund and year: search for it by code or name"
            },
        )
        super().__init__(
            queryset=scope if scope is not None else BudgetLine.objects.none(), **kwargs
        )
        self.with_fund = False

    def offer(self, *, query: str, chosen: Any, search_url: str) -> None:
        """Fill the list: the chosen line (if any) and up to LIMIT lines matching `query`."""
        scope: QuerySet[BudgetLine] = self.queryset  # type: ignore[assignment]
        lines = search_lines(scope, query) if query else []
        chosen_line = None
        if chosen not in (None, ""):
            chosen_line = scope.filter(pk=str(getattr(chosen, "pk", chosen))).first()
        if chosen_line is not None and chosen_line not in lines:
            lines.insert(0, chosen_line)
        widget = self.widget
        assert isinstance(widget, LineChooser)
        widget.choices = [("", self.empty_label or "")] + [
            (str(line.pk), label(line, with_fund=self.with_fund)) for line in lines
        ]
        widget.search_url = search_url
        widget.query = query
        widget.matches = len(lines)


def offer_lines(form: forms.Form, data: Any, search_url: str) -> None:
    """Fill every LineChooserField of `form` from the request's data: `<field>_q` is the search."""
    for name, field in form.fields.items():
        if isinstance(field, LineChooserField):
            source = data or {}
            chosen = source.get(form.add_prefix(name)) or form.initial.get(name)
            field.offer(
                query=str(source.get(f"{form.add_prefix(name)}_q", "")).strip(),
                chosen=chosen,
                search_url=search_url,
            )


def line_scope(user: Any, *, fund: Any = None, year: Any = None) -> QuerySet[BudgetLine]:
    """Lines the user may see, of one fund and year when given."""
    qs = selectors.lines_visible_to(user, fund)
    if year is not None:
        qs = qs.filter(year=year)
    return qs


@login_required
@require_safe
def line_search(request: HttpRequest) -> HttpResponse:
    """The chooser's options for `q` (HTML `<option>`s, at most LIMIT), or a small page of results
    without HTMX. `fund` (id) and `year` (code) narrow it; a fund you cannot see answers 404."""
    fund = None
    if request.GET.get("fund"):
        fund = selectors.funds_visible_to(request.user).filter(pk=_int(request.GET["fund"])).first()
        if fund is None:
            raise Http404("Fund not found.")
    year = None
    if request.GET.get("year"):
        year = FinancialYear.objects.filter(code=request.GET["year"]).first()
        if year is None:
            raise Http404("Year not found.")
    target = request.GET.get("for", "")
    # From the chooser's search box the words come as <field>_q; from the search page as q.
    query = (request.GET.get("q") or request.GET.get(f"{target.removeprefix('id_')}_q", "")).strip()
    lines = search_lines(line_scope(request.user, fund=fund, year=year), query) if query else []
    context = {
        "lines": [(line, label(line, with_fund=fund is None)) for line in lines],
        "query": query,
        "fund": fund,
        "year": year,
        "limit": LIMIT,
        "chosen": request.GET.get(target.removeprefix("id_"), ""),
        "target": target,
    }
    template = (
        "budgets/includes/line_options.html"
        if request.headers.get("HX-Request")
        else "budgets/line_search.html"
    )
    return render(request, template, context)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("Fund not found.") from None
