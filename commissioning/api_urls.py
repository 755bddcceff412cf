from rest_framework.routers import DefaultRouter

from commissioning import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # one root for every app: gmhsc.api_root
router.register("providers", api.ProviderViewSet, basename="provider")
router.register("commissioned-services", api.ServiceViewSet, basename="commissioned-service")
router.register("contracts", api.ContractViewSet, basename="contract")
router.register("contract-decisions", api.ContractDecisionViewSet, basename="contract-decision")
router.register("bcf-schemes", api.BcfSchemeViewSet, basename="bcf-scheme")
router.register("bcf-conditions", api.BcfConditionViewSet, basename="bcf-condition")
router.register("bcf-metrics", api.BcfMetricViewSet, basename="bcf-metric")

urlpatterns = router.urls
