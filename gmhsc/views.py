"""Project-level pages: sign in, the home page that sends each role to its work, and health."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from boards.models import BoardPack
from budgets.reports.snapshots import months_waiting
from gmhsc import health as health_checks
from localities import roles


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user_roles = roles.role_names(request.user)
    tasks = [task for task in _TASKS if task["role"] in user_roles]
    return render(
        request,
        "home.html",
        {
            "tasks": tasks,
            "user_roles": sorted(roles.ROLES[r] for r in user_roles),
            # Background work still to do (after `make run` loads the demo, or while a worker
            # catches up): said once here; each page shows its own item as "being prepared".
            "months_waiting": months_waiting().count(),
            "packs_waiting": BoardPack.objects.filter(
                status__in=[BoardPack.Status.QUEUED, BoardPack.Status.BUILDING]
            ).count(),
        },
    )


# What each role comes here to do; links are resolved in the template with {% url %} names.
_TASKS = [
    {
        "role": roles.COMMISSIONER,
        "title": "My funds and budget lines",
        "url_name": "budgets:fund-list",
        "text": "Set and edit the budget lines your organisation leads, forecasts and virement requests.",
    },
    {
        "role": roles.FINANCE_OFFICER,
        "title": "Post spend and close months",
        "url_name": "budgets:fund-list",
        "text": "Import ledger files, close periods and export the monthly variance report.",
    },
    {
        "role": roles.BOARD_MEMBER,
        "title": "Board meetings and dashboards",
        "url_name": "boards:board-list",
        "text": "Review fund dashboards, board packs, decisions and declarations of interest.",
    },
    {
        "role": roles.ADMINISTRATOR,
        "title": "Administration",
        "url_name": "admin:index",
        "text": "Manage users, organisations, roles and reference data.",
    },
]


def health(request: HttpRequest) -> JsonResponse:
    report = health_checks.report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
