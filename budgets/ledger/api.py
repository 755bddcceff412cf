"""REST endpoints for spend: postings (single and batch, Idempotency-Key), reversals, ledger
mappings and ledger imports (upload, status, errors as CSV).

Thin: parse, find the object through the user's scope (others' objects answer 404), call one
service, serialise. Rules live in budgets.ledger.services.postings / mappings and budgets.ledger.imports.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from budgets import selectors
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.imports import error_file, start_import
from budgets.ledger.services import mappings as mapping_service
from budgets.ledger.services import postings as ledger_service
from budgets.models import (
    BudgetLine,
    FinancialYear,
    IdempotencyRecord,
    LedgerImport,
    LedgerMapping,
    Period,
    SpendPosting,
)
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from localities import roles
from localities.actors import actor_of
from localities.models import Organisation

MAX_BATCH = 10_000

# ---- serializers ----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class RowErrorItem(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class RowErrorsSerializer(ErrorSerializer):
    # Present when rows were checked; a request refused as a whole has code and detail only.
    errors = RowErrorItem(many=True, required=False)  # type: ignore[assignment]


ERRORS = {
    400: OpenApiResponse(RowErrorsSerializer, description="Bad rows: nothing was posted."),
    403: OpenApiResponse(ErrorSerializer, description="Not a finance officer of the organisation."),
    404: OpenApiResponse(ErrorSerializer, description="Not found (or another organisation's)."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests (throttled)."),
}


class SpendPostingSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    fund = serializers.CharField(source="fund.code", read_only=True)
    period = serializers.CharField(source="period.code", read_only=True)
    budget_line_code = serializers.CharField(source="budget_line.code", read_only=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    reversed_by = serializers.SerializerMethodField()

    class Meta:
        model = SpendPosting
        fields = [
            "id",
            "organisation",
            "document_number",
            "line_number",
            "posting_date",
            "period",
            "fund",
            "budget_line",
            "budget_line_code",
            "amount",
            "supplier",
            "description",
            "is_accrual",
            "reverses",
            "reversed_by",
            "ledger_import",
            "created_at",
        ]
        read_only_fields = fields

    def get_reversed_by(self, obj: SpendPosting) -> int | None:
        reversal = obj.reversed_by
        return reversal.pk if reversal is not None else None


class PostingInput(serializers.Serializer):
    """One posting. Checked by the service (every problem reported with its row number)."""

    document_number = serializers.CharField()
    line_number = serializers.IntegerField()
    posting_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    budget_line = serializers.IntegerField()
    period = serializers.CharField(
        required=False, help_text="e.g. 2016/17-M06; default: the month of posting_date"
    )
    supplier = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    is_accrual = serializers.BooleanField(required=False, default=False)
    organisation = serializers.CharField(
        required=False, help_text="organisation code; default: your own (administrators: required)"
    )


class BatchInput(serializers.Serializer):
    organisation = serializers.CharField(required=False)
    postings = PostingInput(many=True)


class BatchResult(serializers.Serializer):
    posted = serializers.IntegerField()
    already_posted = serializers.IntegerField()
    message = serializers.CharField()
    summary = serializers.ListField(child=serializers.DictField())
    postings = SpendPostingSerializer(many=True)


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField()
    period = serializers.CharField(required=False, help_text="open period code, e.g. 2016/17-M07")


class LedgerMappingSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    year = serializers.CharField(source="year.code", read_only=True)
    budget_line_code = serializers.CharField(source="budget_line.code", read_only=True)
    fund = serializers.CharField(source="budget_line.fund.code", read_only=True)

    class Meta:
        model = LedgerMapping
        fields = [
            "id",
            "organisation",
            "year",
            "cost_centre",
            "expense_code",
            "budget_line",
            "budget_line_code",
            "fund",
        ]
        read_only_fields = fields


class MappingInput(serializers.Serializer):
    organisation = serializers.CharField(required=False)
    year = serializers.CharField(default="2016/17")
    cost_centre = serializers.CharField(max_length=30)
    expense_code = serializers.CharField(max_length=30)
    budget_line = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MappingUpdateInput(serializers.Serializer):
    budget_line = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class LedgerImportSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

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
            "message",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField()
    organisation = serializers.CharField(required=False)


# ---- helpers --------------------------------------------------------------------------------------


class DecimalJSONParser(JSONParser):
    """Money arrives as exact decimals: JSON numbers become Decimal, never float."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        try:
            return json.loads(raw.decode("utf-8") if raw else "{}", parse_float=Decimal)
        except ValueError as exc:
            from rest_framework.exceptions import ParseError

            raise ParseError(f"JSON parse error - {exc}") from None


def acting_organisation(user: Any, code: Any) -> Organisation:
    """The organisation a request acts for: given by code (must be the user's own unless an
    administrator), else the user's own."""
    if code:
        org = Organisation.objects.filter(code=str(code).strip()).first()
        if org is None or (
            not roles.is_administrator(user) and org.pk != getattr(user, "organisation_id", None)
        ):
            raise NotFound(f"Organisation {code} not found.")
        return org
    org = getattr(user, "organisation", None)
    if org is None:
        raise ApplicationError("Name the organisation.", extra={"field": "organisation"})
    return org


def require_finance_role(user: Any) -> None:
    """Writes are for finance officers and administrators; refused before the body is read."""
    if not (roles.has_role(user, roles.FINANCE_OFFICER) or roles.is_administrator(user)):
        raise NotAllowed("Only finance officers can post spend or keep ledger mappings.")


def error_body(exc: ApplicationError) -> dict[str, Any]:
    return {"code": exc.code, "detail": exc.message, **exc.extra}


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))


def _stored_response(record: IdempotencyRecord) -> HttpResponse:
    """The first response, byte for byte: the body is kept as its JSON text (a JSON string in the
    record, so PostgreSQL's jsonb cannot reorder its keys)."""
    body = record.response_body
    text = body if isinstance(body, str) else _canonical(body)
    return HttpResponse(text, status=record.status_code, content_type="application/json")


class ScopedActionsMixin:
    """ScopedRateThrottle on the writing actions only; `throttled_actions` maps action -> scope."""

    throttled_actions: dict[str, str] = {}

    def get_throttles(self) -> list[BaseThrottle]:
        scope = self.throttled_actions.get(getattr(self, "action", None) or "")
        if scope is None:
            return []
        self.throttle_scope = scope
        return [ScopedRateThrottle()]


# ---- spend postings -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Spend postings in funds you can see",
        parameters=[
            OpenApiParameter("fund", OpenApiTypes.INT, description="fund id"),
            OpenApiParameter(
                "period", OpenApiTypes.STR, description="period code, e.g. 2016/17-M06"
            ),
            OpenApiParameter("line", OpenApiTypes.INT, description="budget line id"),
            OpenApiParameter("organisation", OpenApiTypes.STR, description="organisation code"),
            OpenApiParameter("document_number", OpenApiTypes.STR),
        ],
    ),
    retrieve=extend_schema(
        summary="One spend posting", responses={200: SpendPostingSerializer, 404: ERRORS[404]}
    ),
)
class SpendPostingViewSet(
    ScopedActionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SpendPostingSerializer
    parser_classes = [DecimalJSONParser]
    throttled_actions = {"create": "posting", "reverse": "posting"}

    def get_queryset(self) -> QuerySet[SpendPosting]:
        qs = ledger_selectors.postings_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("fund"):
            qs = qs.filter(fund_id=_int(params["fund"], "fund"))
        if params.get("line"):
            qs = qs.filter(budget_line_id=_int(params["line"], "line"))
        if params.get("period"):
            code = params["period"].strip()
            if code.isdigit():
                qs = qs.filter(period_id=int(code))
            else:
                year, _, number = code.partition("-M")
                qs = qs.filter(period__year__code=year, period__number=_int(number, "period"))
        if params.get("organisation"):
            qs = qs.filter(organisation__code=params["organisation"].strip())
        if params.get("document_number"):
            qs = qs.filter(document_number=params["document_number"].strip())
        return qs.order_by("posting_date", "id")

    def get_object(self) -> SpendPosting:
        found = self.get_queryset().filter(pk=_int(self.kwargs["pk"], "posting")).first()
        if found is None:
            raise NotFound("Posting not found.")
        return found

    @extend_schema(
        summary='Post spend: one posting or a batch {"postings": [...]} (all or nothing)',
        description=(
            "Re-sent (organisation, document_number, line_number) rows are skipped and counted as "
            "already posted. Send an `Idempotency-Key` header to make a retry replay the first "
            "response: the same key with a different body is refused (422) and writes nothing; "
            "the same key while the first request is still running answers 409."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False
            )
        ],
        request=BatchInput,
        responses={
            201: BatchResult,
            200: OpenApiResponse(BatchResult, description="Nothing new: every row already posted."),
            **ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="Idempotency key in use."),
            422: OpenApiResponse(
                ErrorSerializer, description="Idempotency key reused with another body."
            ),
        },
        examples=[
            OpenApiExample(
                "Batch",
                value={
                    "postings": [
                        {
                            "document_number": "INV-1001",
                            "line_number": 1,
                            "posting_date": "2016-09-30",
                            "amount": "1234.56",
                            "budget_line": 17,
                            "supplier": "Bolton NHS Foundation Trust",
                            "description": "September activity",
                        }
                    ]
                },
                request_only=True,
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        require_finance_role(request.user)
        key = request.headers.get("Idempotency-Key", "").strip()
        user: Any = request.user
        if not key:
            code, body = self._post(request)
            return Response(body, status=code)
        if len(key) > 255:
            raise ApplicationError("The Idempotency-Key is longer than 255 characters.")
        digest = hashlib.sha256(_canonical(request.data).encode()).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    key=key, user=user, endpoint="spend-postings", request_hash=digest
                )
        except IntegrityError:
            earlier = IdempotencyRecord.objects.get(key=key, user=user, endpoint="spend-postings")
            if earlier.request_hash != digest:
                return Response(
                    {
                        "code": "idempotency_key_reused",
                        "detail": "This Idempotency-Key was used with a different request body; "
                        "nothing was posted. Use a new key for a new request.",
                    },
                    status=422,
                )
            if earlier.status_code is None:
                return Response(
                    {
                        "code": "idempotency_key_in_use",
                        "detail": "A request with this Idempotency-Key is still being processed.",
                    },
                    status=409,
                )
            replay = _stored_response(earlier)
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            with transaction.atomic():
                code, body = self._post(request)
                record.status_code = code
                record.response_body = _canonical(body)
                record.save(update_fields=["status_code", "response_body"])
        except ApplicationError as exc:
            record.status_code = exc.status_code
            record.response_body = _canonical(error_body(exc))
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=record.status_code, response_body=record.response_body
            )
        except BaseException:
            record.delete()  # an unexpected failure: let the client retry with the same key
            raise
        return _stored_response(record)

    def _post(self, request: Request) -> tuple[int, dict[str, Any]]:
        data = request.data
        if not isinstance(data, dict):
            raise ApplicationError("Send a JSON object.")
        batch = "postings" in data
        rows = data.get("postings") if batch else [data]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ApplicationError(
                "'postings' must be a list of objects.", extra={"field": "postings"}
            )
        if len(rows) > MAX_BATCH:
            raise ApplicationError(
                f"A batch holds at most {MAX_BATCH:,} postings; upload a ledger file for more.",
                extra={"field": "postings"},
            )
        organisation = acting_organisation(
            request.user,
            data.get("organisation") or (rows[0].get("organisation") if rows else None),
        )
        result = ledger_service.spend_post(
            actor=actor_of(request), organisation=organisation, rows=[dict(r) for r in rows]
        )
        keys = [(str(r.get("document_number", "")).strip(), r.get("line_number")) for r in rows]
        found = {
            (p.document_number, p.line_number): p
            for p in ledger_selectors.postings_visible_to(request.user).filter(
                organisation=organisation,
                document_number__in={k[0] for k in keys},
            )
        }
        postings = [found[k] for k in _unique(keys) if k in found]
        body = {
            "posted": result.posted,
            "already_posted": result.already_posted,
            "message": result.message,
            "summary": result.summary,
            "postings": SpendPostingSerializer(postings, many=True).data,
        }
        code = status.HTTP_201_CREATED if result.posted else status.HTTP_200_OK
        return code, body

    @extend_schema(
        summary="Reverse a posting (a negative copy, at most once, into an open period)",
        request=ReverseInput,
        responses={
            201: SpendPostingSerializer,
            **ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="Already reversed."),
        },
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str) -> Response:
        posting = self.get_object()
        require_finance_role(request.user)
        data = _valid(ReverseInput, request.data)
        period = None
        if data.get("period"):
            period = _period(data["period"])
        reversal = ledger_service.spend_reverse(
            actor=actor_of(request), posting=posting, reason=data["reason"], period=period
        )
        reversal = ledger_selectors.postings_visible_to(request.user).get(pk=reversal.pk)
        return Response(SpendPostingSerializer(reversal).data, status=status.HTTP_201_CREATED)


def _unique(keys: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    seen: set[tuple[str, Any]] = set()
    out = []
    for key in keys:
        try:
            key = (key[0], int(key[1]))
        except (TypeError, ValueError):
            continue
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            f"'{value}' is not a valid {name} id.", extra={"field": name}
        ) from None


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _period(code: str) -> Period:
    year, _, number = code.strip().partition("-M")
    found = (
        Period.objects.select_related("year")
        .filter(year__code=year, number=int(number) if number.isdigit() else -1)
        .first()
    )
    if found is None:
        raise ApplicationError(f"'{code}' is not a known period.", extra={"field": "period"})
    return found


# ---- ledger mappings ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your organisation's ledger mappings"),
    retrieve=extend_schema(
        summary="One ledger mapping", responses={200: LedgerMappingSerializer, 404: ERRORS[404]}
    ),
)
class LedgerMappingViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = LedgerMappingSerializer

    def get_queryset(self) -> QuerySet[LedgerMapping]:
        qs = ledger_selectors.mappings_visible_to(self.request.user)
        year = self.request.query_params.get("year")
        if year:
            qs = qs.filter(year__code=year)
        return qs

    def get_object(self) -> LedgerMapping:
        found = self.get_queryset().filter(pk=_int(self.kwargs["pk"], "mapping")).first()
        if found is None:
            raise NotFound("Mapping not found.")
        return found

    def _line(self, line_id: int) -> BudgetLine:
        line = selectors.lines_visible_to(self.request.user).filter(pk=line_id).first()
        if line is None:
            raise NotFound("Budget line not found.")
        return line

    @extend_schema(
        summary="Map a cost centre and expense code to a budget line (create or re-point)",
        request=MappingInput,
        responses={201: LedgerMappingSerializer, **ERRORS},
    )
    def create(self, request: Request) -> Response:
        require_finance_role(request.user)
        data = _valid(MappingInput, request.data)
        organisation = acting_organisation(request.user, data.get("organisation"))
        year = FinancialYear.objects.filter(code=data["year"]).first()
        if year is None:
            raise ApplicationError(f"No financial year {data['year']}.", extra={"field": "year"})
        mapping = mapping_service.mapping_set(
            actor=actor_of(request),
            organisation=organisation,
            year=year,
            cost_centre=data["cost_centre"],
            expense_code=data["expense_code"],
            budget_line=self._line(data["budget_line"]),
            reason=data["reason"],
        )
        return Response(LedgerMappingSerializer(mapping).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Point a mapping at another budget line",
        request=MappingUpdateInput,
        responses={200: LedgerMappingSerializer, **ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        mapping = self.get_object()
        require_finance_role(request.user)
        data = _valid(MappingUpdateInput, request.data)
        mapping = mapping_service.mapping_update(
            actor=actor_of(request),
            mapping=mapping,
            budget_line=self._line(data["budget_line"]),
            reason=data["reason"],
        )
        return Response(LedgerMappingSerializer(mapping).data)

    @extend_schema(summary="Remove a mapping", responses={204: None, **ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        mapping = self.get_object()
        require_finance_role(request.user)
        mapping_service.mapping_delete(actor=actor_of(request), mapping=mapping)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- ledger imports -------------------------------------------------------------------------------


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
    throttled_actions = {"create": "import"}

    def get_queryset(self) -> QuerySet[LedgerImport]:
        return ledger_selectors.imports_visible_to(self.request.user)

    def get_object(self) -> LedgerImport:
        found = self.get_queryset().filter(pk=_int(self.kwargs["pk"], "import")).first()
        if found is None:
            raise NotFound("Import not found.")
        return found

    @extend_schema(
        summary="Upload a ledger CSV (checked in full before anything is posted)",
        description=(
            "Header: organisation,document_number,line_number,posting_date,cost_centre,"
            "expense_code,amount,supplier,description, then optionally budget_line,period,"
            "is_accrual. Small files are checked and posted at once (201); large ones are queued "
            "(202): poll the import until its status is posted, nothing_new or rejected."
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
        organisation = acting_organisation(request.user, request.data.get("organisation"))
        imp = start_import(
            actor=actor_of(request),
            organisation=organisation,
            upload=upload,
            original_name=upload.name,
        )
        imp = self.get_queryset().get(pk=imp.pk)
        code = status.HTTP_202_ACCEPTED if imp.status == "pending" else status.HTTP_201_CREATED
        return Response(LedgerImportSerializer(imp).data, status=code)

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


def register(router: BaseRouter) -> None:
    router.register("spend-postings", SpendPostingViewSet, basename="spend-posting")
    router.register("ledger-mappings", LedgerMappingViewSet, basename="ledger-mapping")
    router.register("ledger-imports", LedgerImportViewSet, basename="ledger-import")
