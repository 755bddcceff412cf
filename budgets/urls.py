from django.urls import path

from . import views

app_name = "budgets"

urlpatterns = [
    path("funds/", views.fund_list, name="fund-list"),
]
