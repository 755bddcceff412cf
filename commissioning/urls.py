"""Commissioning pages, mounted at /commissioning/."""

from django.urls import path

from commissioning import views

app_name = "commissioning"

urlpatterns = [
    path("contracts/", views.contract_list, name="contract-list"),
    path("funds/<int:pk>/contracts/new/", views.contract_create, name="contract-create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract-detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="contract-edit"),
    path("contracts/<int:pk>/status/", views.contract_status, name="contract-status"),
    path("contracts/<int:pk>/decisions/new/", views.decision_create, name="decision-create"),
    path("decisions/", views.decision_register, name="decision-register"),
    path("decisions/register.csv", views.decision_register_csv, name="decision-register-csv"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("providers/", views.provider_list, name="provider-list"),
    path("services/", views.service_list, name="service-list"),
    path("bcf/", views.bcf_index, name="bcf-index"),
    path("bcf/funds/<int:pk>/", views.bcf_fund, name="bcf-fund"),
    path("bcf/funds/<int:pk>/conditions/", views.bcf_condition_set, name="bcf-condition-set"),
    path("bcf/funds/<int:pk>/metrics/", views.bcf_metric_set, name="bcf-metric-set"),
    path("bcf/funds/<int:pk>/return.xlsx", views.bcf_return_xlsx, name="bcf-return"),
]
