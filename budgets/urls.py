"""Budgets pages. Each area's views live in budgets/views/<area>.py."""

from django.urls import path

from .views import funds

app_name = "budgets"

urlpatterns = [
    path("funds/", funds.fund_list, name="fund-list"),
]
