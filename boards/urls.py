from django.urls import path

from boards import views

app_name = "boards"

urlpatterns = [
    path("", views.board_list, name="board-list"),
    path("interests/", views.interest_declare, name="my-interests"),
    path("gifts/", views.gift_declare, name="my-gifts"),
    path("<int:pk>/", views.board_detail, name="board-detail"),
    path("<int:pk>/meetings/new/", views.meeting_create, name="meeting-create"),
    path("<int:pk>/dashboard/", views.dashboard, name="dashboard"),
    path("<int:pk>/dashboard/charts/<slug:name>.svg", views.chart, name="chart"),
    path("<int:pk>/decisions/", views.decision_register, name="decision-register"),
    path("<int:pk>/registers/", views.interest_register, name="interest-register"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/status/", views.meeting_transition, name="meeting-transition"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting-minutes"),
    path("meetings/<int:pk>/items/", views.item_add, name="item-add"),
    path("meetings/<int:pk>/decisions/", views.decision_add, name="decision-add"),
    path("meetings/<int:pk>/declarations/", views.declaration_add, name="declaration-add"),
    path("meetings/<int:pk>/actions/", views.action_add, name="action-add"),
    path("meetings/<int:pk>/pack/", views.pack_build, name="pack-build"),
    path("items/<int:pk>/paper/", views.item_paper, name="item-paper"),
    path("actions/<int:pk>/", views.action_update, name="action-update"),
    path("packs/<int:pk>/", views.pack_status, name="pack-status"),
    path("packs/<int:pk>/download/", views.pack_download, name="pack-download"),
    path("packs/<int:pk>/publish/", views.pack_publish, name="pack-publish"),
]
