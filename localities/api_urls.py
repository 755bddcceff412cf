from rest_framework.routers import DefaultRouter

from localities import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # one root for every app: gmhsc.api_root
router.register("localities", api.LocalityViewSet, basename="locality")
router.register("organisations", api.OrganisationViewSet, basename="organisation")

urlpatterns = router.urls
