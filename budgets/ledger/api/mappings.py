"""/api/v1/ledger-mappings/: an organisation's mappings and mapping rules, and which line a pair
would go to. Thin: the rules are budgets.ledger.services.mappings and budgets.ledger.mapping_rules."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from budgets import selectors
from budgets.ledger import selectors as ledger_selectors
from budgets.ledger.api.common import (
    ERRORS,
    OwnedRowsViewSet,
    acting_organisation,
)
from budgets.ledger.services import mappings as mapping_service
from budgets.models import BudgetLine, FinancialYear, LedgerMapping
from gmhsc.api_fields import TextField
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of


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
            "cost_centre_match",
            "expense_code",
            "expense_code_match",
            "budget_line",
            "budget_line_code",
            "fund",
        ]
        read_only_fields = fields


MATCH_HELP = (
    "exact, prefix, range or any; default: read from the code (* any, C027* a prefix, "
    "5140-5199 a range, else exact)"
)


class MappingInput(serializers.Serializer):
    organisation = TextField(required=False)
    year = TextField(default="2016/17")
    cost_centre = TextField(max_length=30, help_text="a code, C027*, 5140-5199 or *")
    cost_centre_match = serializers.ChoiceField(
        choices=LedgerMapping.Match.choices, required=False, help_text=MATCH_HELP
    )
    expense_code = TextField(max_length=30, help_text="a code, E51*, 5140-5199 or *")
    expense_code_match = serializers.ChoiceField(
        choices=LedgerMapping.Match.choices, required=False, help_text=MATCH_HELP
    )
    budget_line = serializers.IntegerField()
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class WhichResult(serializers.Serializer):
    cost_centre = serializers.CharField()
    expense_code = serializers.CharField()
    year = serializers.CharField()
    mapped = serializers.BooleanField()
    budget_line = serializers.IntegerField(allow_null=True)
    budget_line_code = serializers.CharField(allow_null=True)
    fund = serializers.CharField(allow_null=True)
    mapping = serializers.IntegerField(allow_null=True)
    rule = serializers.CharField()


class MappingUpdateInput(serializers.Serializer):
    budget_line = serializers.IntegerField()
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Your organisation's ledger mappings"),
    retrieve=extend_schema(
        summary="One ledger mapping", responses={200: LedgerMappingSerializer, 404: ERRORS[404]}
    ),
)
class LedgerMappingViewSet(OwnedRowsViewSet):
    serializer_class = LedgerMappingSerializer
    id_name = "mapping"
    not_found = "Mapping not found."

    def get_queryset(self) -> QuerySet[LedgerMapping]:
        qs = ledger_selectors.mappings_visible_to(self.request.user)
        year = self.request.query_params.get("year")
        if year:
            qs = qs.filter(year__code=year)
        return qs

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
        organisation, data = self.organisation_input(request, MappingInput)
        mapping = mapping_service.mapping_set(
            actor=actor_of(request),
            organisation=organisation,
            year=_year(data["year"]),
            cost_centre=data["cost_centre"],
            expense_code=data["expense_code"],
            cost_centre_match=data.get("cost_centre_match"),
            expense_code_match=data.get("expense_code_match"),
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
        return self.changed(
            request,
            MappingUpdateInput,
            mapping_service.mapping_update,
            budget_line=lambda data: self._line(data["budget_line"]),
        )

    @extend_schema(
        summary="Which line a (cost centre, expense code) pair would go to, and by which rule",
        parameters=[
            OpenApiParameter("cost_centre", OpenApiTypes.STR, required=True),
            OpenApiParameter("expense_code", OpenApiTypes.STR, required=True),
            OpenApiParameter("year", OpenApiTypes.STR, description="default 2016/17"),
            OpenApiParameter("organisation", OpenApiTypes.STR, description="administrators"),
        ],
        responses={200: WhichResult, **ERRORS},
    )
    @action(detail=False, methods=["get"])
    def which(self, request: Request) -> Response:
        params = request.query_params
        organisation = acting_organisation(request.user, params.get("organisation"))
        year = _year(params.get("year") or "2016/17")
        found = mapping_service.which_line(
            organisation=organisation,
            year=year,
            cost_centre=params.get("cost_centre", ""),
            expense_code=params.get("expense_code", ""),
        )
        line = found.line
        return Response(
            {
                "cost_centre": found.cost_centre,
                "expense_code": found.expense_code,
                "year": year.code,
                "mapped": line is not None,
                "budget_line": line.pk if line else None,
                "budget_line_code": line.code if line else None,
                "fund": line.fund.code if line else None,
                "mapping": found.mapping.pk if found.mapping else None,
                "rule": found.rule or "no mapping or rule covers this pair",
            }
        )

    @extend_schema(summary="Remove a mapping", responses={204: None, **ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        return self.removed(request, mapping_service.mapping_delete)


def _year(code: str) -> FinancialYear:
    year = FinancialYear.objects.filter(code=code).first()
    if year is None:
        raise ApplicationError(f"No financial year {code}.", extra={"field": "year"})
    return year
