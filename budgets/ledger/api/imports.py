"""/api/v1/ledger-imports/: upload a ledger file (the gmhsc CSV or a partner's export through an
import profile), preview it (dry_run) and post what was previewed, follow its progress, read its
problems as CSV. Thin: the work is budgets.ledger.imports."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.api.common import (
    ERRORS,
    ErrorSerializer,
    ScopedActionsMixin,
    acting_organisation,
    int_param,
    require_finance_role,
    valid,
)
from budgets.ledger.imports import check_again as preview_again
from budgets.ledger.imports import error_file, post_import, start_import
from budgets.models import LedgerImport
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of


class LedgerImportSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    profile = serializers.CharField(source="profile.name", read_only=True, allow_null=True)
    amount_outside = serializers.DecimalField(
        max_digits=18, decimal_places=2, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = LedgerImport
        fields = [
            "id",
            "organisation",
            "original_name",
            "sha256",
            "status",
            "status_label",
            "rows_total",
            "rows_checked",
            "rows_posted",
            "rows_already_posted",
            "error_count",
            "errors",
            "summary",
            "profile",
            "outside_pools",
            "dry_run",
            "rows_outside",
            "amount_outside",
            "preview",
            "message",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportUploadInput(serializers.Serializer):
    # An empty or unreadable file is refused by the upload checks, in their words.
    file = serializers.FileField(allow_empty_file=True)
    organisation = serializers.CharField(required=False)
    profile = serializers.CharField(
        required=False, help_text="import profile name or id; default: the gmhsc ledger CSV"
    )
    outside_pools = serializers.ChoiceField(
        choices=["leave", "refuse"],
        required=False,
        help_text="rows no mapping covers; default: the profile's choice, else refuse",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="check and preview only; post it later"
    )


@extend_schema_view(
    list=extend_schema(summary="Your organisation's ledger imports"),
    retrieve=extend_schema(
        summary="An import's status: rows checked / posted, errors, summary",
        responses={200: LedgerImportSerializer, 404: ERRORS[404]},
    ),
)
class LedgerImportViewSet(
    ScopedActionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = LedgerImportSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttled_actions = {"create": "import", "post_previewed": "import", "check_again": "import"}

    def get_queryset(self) -> QuerySet[LedgerImport]:
        return ledger_selectors.imports_visible_to(self.request.user)

    def get_object(self) -> LedgerImport:
        found = self.get_queryset().filter(pk=int_param(self.kwargs["pk"], "import")).first()
        if found is None:
            raise NotFound("Import not found.")
        return found

    @extend_schema(
        summary="Upload a ledger file (checked in full before anything is posted)",
        description=(
            "The gmhsc CSV (header: organisation,document_number,line_number,posting_date,"
            "cost_centre,expense_code,amount,supplier,description, then optionally budget_line,"
            "period,is_accrual), or a partner's export read through `profile`. Small files are "
            "checked and posted at once (201); large ones are queued (202): poll the import until "
            "its status is posted, nothing_new, rejected or previewed. With dry_run=true nothing "
            "is posted: the import stops at `previewed` with its preview; POST "
            "ledger-imports/{id}/post/ posts exactly that."
        ),
        request={"multipart/form-data": ImportUploadInput},
        responses={
            201: LedgerImportSerializer,
            202: LedgerImportSerializer,
            **ERRORS,
            400: OpenApiResponse(
                ErrorSerializer, description="File refused (empty, binary, too large, not CSV)."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        require_finance_role(request.user)
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError("Choose a ledger CSV file to upload.", extra={"field": "file"})
        data = valid(ImportUploadInput, request.data)
        organisation = acting_organisation(request.user, data.get("organisation"))
        profile = (
            ledger_selectors.profile_for(request.user, organisation, data["profile"])
            if data.get("profile")
            else None
        )
        imp = start_import(
            actor=actor_of(request),
            organisation=organisation,
            upload=upload,
            original_name=upload.name,
            profile=profile,
            outside_pools=data.get("outside_pools"),
            dry_run=data["dry_run"],
        )
        return self._answer(imp)

    def _answer(self, imp: LedgerImport) -> Response:
        imp = self.get_queryset().get(pk=imp.pk)
        code = status.HTTP_202_ACCEPTED if imp.status == "pending" else status.HTTP_201_CREATED
        return Response(LedgerImportSerializer(imp).data, status=code)

    @extend_schema(
        summary="Post what the preview showed (the file is checked again first)",
        description=(
            "Only for an import previewed without problems. Closed months are checked again; if "
            "the file would now post anything else (mappings changed), nothing is posted and the "
            "import shows its new preview instead."
        ),
        request=None,
        responses={201: LedgerImportSerializer, 202: LedgerImportSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="post")
    def post_previewed(self, request: Request, pk: str) -> Response:
        imp = self.get_object()
        require_finance_role(request.user)
        return self._answer(post_import(actor=actor_of(request), ledger_import=imp))

    @extend_schema(
        summary="Preview the file again (after mapping what was unmapped)",
        request=None,
        responses={201: LedgerImportSerializer, 202: LedgerImportSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="check-again")
    def check_again(self, request: Request, pk: str) -> Response:
        imp = self.get_object()
        require_finance_role(request.user)
        return self._answer(preview_again(actor=actor_of(request), ledger_import=imp))

    @extend_schema(
        summary="Every problem of a rejected import as CSV (row, column, problem)",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV file"),
            404: ERRORS[404],
        },
    )
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, pk: str) -> HttpResponse:
        imp = self.get_object()
        response = HttpResponse(error_file(imp), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="ledger-import-{imp.pk}-errors.csv"'
        )
        return response
