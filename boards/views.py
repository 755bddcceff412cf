"""Board pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def board_list(request: HttpRequest) -> HttpResponse:
    boards = selectors.boards_visible_to(request.user).order_by("kind", "name")
    return render(request, "boards/board_list.html", {"boards": boards})
