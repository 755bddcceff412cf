"""Budgets pages: thin views that call selectors and services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from budgets import selectors


@login_required
def fund_list(request: HttpRequest) -> HttpResponse:
    funds = selectors.funds_visible_to(request.user).order_by("code")
    return render(request, "budgets/fund_list.html", {"funds": funds})
