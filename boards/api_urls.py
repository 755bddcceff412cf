from rest_framework.routers import DefaultRouter

from boards import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # one root for every app: gmhsc.api_root
router.register("boards", api.BoardViewSet, basename="board")
router.register("board-meetings", api.MeetingViewSet, basename="board-meeting")
router.register("board-decisions", api.DecisionViewSet, basename="board-decision")
router.register("board-interests", api.InterestViewSet, basename="board-interest")
router.register("board-gifts", api.GiftViewSet, basename="board-gift")

urlpatterns = router.urls
