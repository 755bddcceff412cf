"""Reversing a posting in the browser: a negative copy, linked to it, with a reason (then the
right figure is posted as a new posting). Postings are never changed or deleted."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from budgets import rules, selectors
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.services.postings import spend_reverse
from budgets.models import SpendPosting
from gmhsc.errors import ApplicationError, NotFound
from gmhsc.money import format_money
from localities.actors import actor_of


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
    if posting is None or not ledger_selectors.posting_visible(request.user, posting):
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
                errors[exc.field_or("posting")] = exc.message
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
