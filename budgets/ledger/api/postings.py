"""/api/v1/spend-postings/: postings in funds you can see; post one or a batch (all or nothing,
Idempotency-Key for retries); reverse one. Thin: the rules are budgets.ledger.services.postings."""

from __future__ import annotations

import hashlib
import json
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
from rest_framework.request import Request
from rest_framework.response import Response

from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.api.common import (
    ERRORS,
    DecimalJSONParser,
    ErrorSerializer,
    ScopedActionsMixin,
    acting_organisation,
    error_body,
    int_param,
    require_finance_role,
    valid,
)
from budgets.ledger.services import postings as ledger_service
from budgets.models import IdempotencyRecord, Period, SpendPosting
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of

MAX_BATCH = 10_000


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


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))


def _stored_response(record: IdempotencyRecord) -> HttpResponse:
    """The first response, byte for byte: the body is kept as its JSON text (a JSON string in the
    record, so PostgreSQL's jsonb cannot reorder its keys)."""
    body = record.response_body
    text = body if isinstance(body, str) else _canonical(body)
    return HttpResponse(text, status=record.status_code, content_type="application/json")


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
            qs = qs.filter(fund_id=int_param(params["fund"], "fund"))
        if params.get("line"):
            qs = qs.filter(budget_line_id=int_param(params["line"], "line"))
        if params.get("period"):
            code = params["period"].strip()
            if code.isdigit():
                qs = qs.filter(period_id=int(code))
            else:
                year, _, number = code.partition("-M")
                qs = qs.filter(period__year__code=year, period__number=int_param(number, "period"))
        if params.get("organisation"):
            qs = qs.filter(organisation__code=params["organisation"].strip())
        if params.get("document_number"):
            qs = qs.filter(document_number=params["document_number"].strip())
        return qs.order_by("posting_date", "id")

    def get_object(self) -> SpendPosting:
        found = self.get_queryset().filter(pk=int_param(self.kwargs["pk"], "posting")).first()
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
        data = valid(ReverseInput, request.data)
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
