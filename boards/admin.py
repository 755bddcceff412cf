"""Django admin for boards: every model, searchable, filtered, with history where kept."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from boards.models import (
    ActionItem,
    AgendaItem,
    Board,
    BoardPack,
    Decision,
    Declaration,
    GiftHospitality,
    Interest,
    Meeting,
    Membership,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["person", "organisation", "deputy"]


@admin.register(Board)
class BoardAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "reports_to", "delegated_limit", "locality"]
    list_filter = ["kind", "locality"]
    search_fields = ["code", "name"]
    list_select_related = ["reports_to", "locality"]
    filter_horizontal = ["funds"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["person", "board", "organisation", "role", "voting", "start_date", "end_date"]
    list_filter = ["board", "role", "voting"]
    search_fields = ["person__username", "person__last_name", "organisation__name", "board__code"]
    list_select_related = ["person", "board", "organisation"]
    raw_id_fields = ["person", "organisation", "deputy"]


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    fields = ["order", "title", "purpose", "presenter", "is_private", "paper"]


@admin.register(Meeting)
class MeetingAdmin(SimpleHistoryAdmin):
    list_display = ["title", "board", "starts_at", "status"]
    list_filter = ["board", "status"]
    search_fields = ["title", "board__code", "board__name"]
    list_select_related = ["board"]
    date_hierarchy = "starts_at"
    inlines = [AgendaItemInline]


@admin.register(AgendaItem)
class AgendaItemAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "meeting", "purpose", "is_private", "paper_pages"]
    list_filter = ["purpose", "is_private", "meeting__board"]
    search_fields = ["title", "presenter", "meeting__title"]
    list_select_related = ["meeting__board"]
    filter_horizontal = ["organisations"]


@admin.register(Decision)
class DecisionAdmin(SimpleHistoryAdmin):
    list_display = [
        "reference",
        "board",
        "meeting",
        "outcome",
        "amount",
        "subject_type",
        "subject_id",
    ]
    list_filter = ["board", "outcome", "year", "subject_type"]
    search_fields = ["reference", "text"]
    list_select_related = ["board", "meeting"]
    readonly_fields = ["reference", "year", "sequence", "recorded_by", "recorded_at"]


@admin.register(Interest)
class InterestAdmin(SimpleHistoryAdmin):
    list_display = [
        "person",
        "kind",
        "organisation_label",
        "valid_from",
        "valid_to",
        "consent_to_publish",
    ]
    list_filter = ["kind", "consent_to_publish"]
    search_fields = [
        "person__username",
        "person__last_name",
        "description",
        "related_organisation__name",
        "related_organisation_name",
    ]
    list_select_related = ["person", "related_organisation"]
    raw_id_fields = ["person", "related_organisation"]


@admin.register(Declaration)
class DeclarationAdmin(SimpleHistoryAdmin):
    list_display = ["person", "meeting", "item", "action_taken", "recorded_at"]
    list_filter = ["action_taken", "meeting__board"]
    search_fields = ["person__username", "person__last_name", "description"]
    list_select_related = ["person", "meeting__board", "item"]


@admin.register(GiftHospitality)
class GiftHospitalityAdmin(SimpleHistoryAdmin):
    list_display = ["person", "kind", "offered_by", "value", "offered_on", "outcome", "accepted"]
    list_filter = ["kind", "outcome", "accepted", "from_supplier"]
    search_fields = ["person__username", "person__last_name", "offered_by", "description"]
    list_select_related = ["person", "senior_approver"]


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "meeting", "owner", "due_date", "status"]
    list_filter = ["status", "meeting__board"]
    search_fields = ["reference", "description", "owner__last_name"]
    list_select_related = ["meeting__board", "owner"]


@admin.register(BoardPack)
class BoardPackAdmin(admin.ModelAdmin):
    list_display = [
        "meeting",
        "version",
        "status",
        "progress",
        "pages",
        "requested_at",
        "published_at",
    ]
    list_filter = ["status", "meeting__board"]
    search_fields = ["meeting__title", "change_note"]
    list_select_related = ["meeting__board"]
    readonly_fields = ["snapshot", "figures_as_at", "requested_by", "requested_at", "finished_at"]
