from rest_framework.routers import DefaultRouter

from budgets.api import budget as budget_api
from budgets.api import figures as figures_api
from budgets.api import ledger as ledger_api
from budgets.api import reports as report_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # one root for every app: gmhsc.api_root
budget_api.register(router)
ledger_api.register(router)

urlpatterns = report_api.urlpatterns + figures_api.urlpatterns + router.urls
