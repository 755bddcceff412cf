"""Django admin for places, partners and people: searchable, filtered, with history for organisations."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from localities import roles
from localities.models import Locality, Neighbourhood, Organisation, User


class NeighbourhoodInline(admin.TabularInline):
    model = Neighbourhood
    extra = 0


@admin.register(Locality)
class LocalityAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "gss_code",
        "old_la_code",
        "population_mid2015",
        "population_mid2015_verified",
        "need_index",
        "cost_index",
    ]
    list_filter = ["population_mid2015_verified"]
    search_fields = ["name", "gss_code", "old_la_code"]
    inlines = [NeighbourhoodInline]


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(admin.ModelAdmin):
    list_display = ["name", "locality", "population"]
    list_filter = ["locality"]
    list_select_related = ["locality"]
    search_fields = ["name", "locality__name"]


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "short_name", "code", "code_system", "kind", "verified", "valid_to"]
    list_filter = ["kind", "code_system", "verified", "localities"]
    search_fields = ["name", "short_name", "code"]
    filter_horizontal = ["localities"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "organisation",
        "is_active",
        "is_staff",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups", "organisation__kind"]
    list_select_related = ["organisation"]
    search_fields = ["username", "first_name", "last_name", "email", "organisation__name"]
    autocomplete_fields = ["organisation"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Organisation", {"fields": ("organisation", "job_title")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Organisation", {"fields": ("organisation", "job_title")}),
    )


def _administrators_only(request: HttpRequest) -> bool:
    """The admin is for administrators: active staff who hold the administrator role."""
    user = request.user
    return bool(user.is_active and user.is_staff and roles.is_administrator(user))


admin.site.has_permission = _administrators_only  # type: ignore[method-assign]
admin.site.site_header = "gmhsc administration"
admin.site.site_title = "gmhsc administration"
