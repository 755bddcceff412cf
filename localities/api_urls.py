from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash=True)
router.register("localities", api.LocalityViewSet, basename="locality")
router.register("organisations", api.OrganisationViewSet, basename="organisation")

urlpatterns = router.urls
