from rest_framework.routers import DefaultRouter

from budgets.figures import api as figures_api
from budgets.ledger import api as ledger_api
from budgets.planning import api as budget_api
from budgets.planning import cycle_api
from budgets.reports import api as report_api
from budgets.reports import year_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # one root for every app: gmhsc.api_root
budget_api.register(router)
cycle_api.register(router)
ledger_api.register(router)

urlpatterns = report_api.urlpatterns + year_api.urlpatterns + figures_api.urlpatterns + router.urls
