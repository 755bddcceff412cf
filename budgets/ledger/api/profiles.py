"""/api/v1/import-profiles/: the import profiles a finance officer can read files with (their
organisation's and the ones shipped with gmhsc): list, read, create, change, remove, copy, and
share as JSON (export, import). Thin: the rules are budgets.ledger.profiles and the services in
budgets.ledger.services.profiles."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.api.common import (
    ERRORS,
    OwnedRowsViewSet,
)
from budgets.ledger.services import profiles as profile_service
from budgets.models import ImportProfile
from gmhsc.api_fields import TextField
from gmhsc.errors import ApplicationError
from gmhsc.parsers import JSONParser
from localities.actors import actor_of


class ImportProfileSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(
        source="organisation.code", read_only=True, allow_null=True
    )
    shipped = serializers.BooleanField(source="is_shipped", read_only=True)

    class Meta:
        model = ImportProfile
        fields = ["id", "name", "title", "organisation", "shipped", "spec", "updated_at"]
        read_only_fields = fields


class ProfileInput(serializers.Serializer):
    organisation = TextField(required=False, help_text="administrators: whose")
    spec = serializers.JSONField(
        help_text="the profile's settings, as exported: name, title, file_type, sheet, encoding, "
        "delimiter, header_row, footer_rows, columns, line_numbers, date_format, amounts, "
        "constants, outside_pools"
    )
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class ProfileUpdateInput(serializers.Serializer):
    spec = serializers.JSONField()
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class ProfileCopyInput(serializers.Serializer):
    organisation = TextField(required=False)
    name = TextField(required=False, allow_blank=True, default="")


class ProfileImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="a profile exported as JSON")
    organisation = TextField(required=False)
    name = TextField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Import profiles: your organisation's and the shipped ones"),
    retrieve=extend_schema(
        summary="One import profile", responses={200: ImportProfileSerializer, 404: ERRORS[404]}
    ),
)
class ImportProfileViewSet(OwnedRowsViewSet):
    serializer_class = ImportProfileSerializer
    id_name = "profile"
    not_found = "Import profile not found."
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ImportProfile]:
        return ledger_selectors.profiles_visible_to(self.request.user)

    def _spec(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ApplicationError(
                "'spec' is a JSON object of the profile's settings.", extra={"field": "spec"}
            )
        return data

    @extend_schema(
        summary="Create an import profile (checked: every problem says what to change)",
        request=ProfileInput,
        responses={201: ImportProfileSerializer, **ERRORS},
    )
    def create(self, request: Request) -> Response:
        organisation, data = self.organisation_input(request, ProfileInput)
        profile = profile_service.profile_create(
            actor=actor_of(request),
            organisation=organisation,
            data=self._spec(data["spec"]),
            reason=data["reason"],
        )
        return Response(ImportProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an import profile (the earlier version stays in its history)",
        request=ProfileUpdateInput,
        responses={200: ImportProfileSerializer, **ERRORS},
    )
    def update(self, request: Request, pk: str) -> Response:
        return self.changed(
            request,
            ProfileUpdateInput,
            profile_service.profile_update,
            data=lambda data: self._spec(data["spec"]),
        )

    @extend_schema(
        summary="Change an import profile", request=ProfileUpdateInput,
        responses={200: ImportProfileSerializer, **ERRORS},
    )  # fmt: skip
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk)

    @extend_schema(
        summary="Remove an import profile no import used", responses={204: None, **ERRORS}
    )
    def destroy(self, request: Request, pk: str) -> Response:
        return self.removed(request, profile_service.profile_delete)

    @extend_schema(
        summary="The profile as a JSON file, to share with another team",
        responses={
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="JSON"),
            404: ERRORS[404],
        },
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> HttpResponse:
        profile = self.get_object()
        response = HttpResponse(
            profile_service.profile_export_json(profile),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{profile.name}.json"'
        return response

    @extend_schema(
        summary="Copy a profile (a shipped one, say) to your organisation, to adapt it",
        request=ProfileCopyInput,
        responses={201: ImportProfileSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str) -> Response:
        profile = self.get_object()  # another organisation's profile is 404 before the role
        organisation, data = self.organisation_input(request, ProfileCopyInput)
        made = profile_service.profile_copy(
            actor=actor_of(request), profile=profile, organisation=organisation, name=data["name"]
        )
        return Response(ImportProfileSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Create a profile from a JSON file another team exported",
        request={"multipart/form-data": ProfileImportInput},
        responses={201: ImportProfileSerializer, **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_json(self, request: Request) -> Response:
        organisation, data = self.organisation_input(request, ProfileImportInput)
        upload = data["file"]
        if upload.size > 1024 * 1024:
            raise ApplicationError("A profile file is at most 1 MB.", extra={"field": "file"})
        profile = profile_service.profile_import_json(
            actor=actor_of(request),
            organisation=organisation,
            text=upload.read(),
            name=data["name"],
        )
        return Response(ImportProfileSerializer(profile).data, status=status.HTTP_201_CREATED)
