"""REST endpoints for the financial year cycle's planning steps: financial years (administrators
open them), contribution receipts, and savings schemes with their monthly delivery.

Thin, like budgets.planning.api: parse, find objects through the user's scope (others' answer 404),
call one service, serialise. History endpoints say who changed what, when and why.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from budgets import history
from budgets.models import (
    ContributionReceipt,
    FinancialYear,
    SavingsScheme,
)
from budgets.planning import selectors as planning_selectors
from budgets.planning.api import (
    HISTORY_SCHEMA,
    FundRowsViewSet,
    ObjectHistoryMixin,
    _valid,
    history_response,
    visible_fund,
    year_by_code,
)
from budgets.planning.serializers import (
    FinancialYearInput,
    FinancialYearSerializer,
    ReceiptInput,
    ReceiptSerializer,
    SavingsDeliveryInput,
    SavingsSchemeInput,
    SavingsSchemeSerializer,
    SavingsSchemeUpdateInput,
)
from budgets.planning.services import receipts, savings, years
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from localities import roles
from localities.actors import actor_of
from localities.models import Organisation


class FinancialYearViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every financial year with its periods. POST (administrators): open a year, e.g. 2018/19,
    with M1..M13; 201 when opened, 200 when it was already open."""

    serializer_class = FinancialYearSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[FinancialYear]:
        return FinancialYear.objects.prefetch_related("periods__year").order_by("start_date")

    @extend_schema(request=FinancialYearInput, responses={201: FinancialYearSerializer})
    def create(self, request: Request) -> Response:
        if not roles.is_administrator(request.user):
            raise NotAllowed("Only an administrator can open a financial year.")
        data = _valid(FinancialYearInput, request.data)
        year, created = years.financial_year_open(
            actor=actor_of(request), code=data["code"], reason=data["reason"]
        )
        fresh = self.get_queryset().get(pk=year.pk)
        return Response(
            FinancialYearSerializer(fresh).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _fund_year_filters(qs: QuerySet[Any], params: Any, prefix: str = "") -> QuerySet[Any]:
    """?fund= (a fund id; anything else matches nothing) and ?year= (a year code)."""
    if params.get("fund"):
        fund = params["fund"]
        qs = qs.filter(**{f"{prefix}fund_id": int(fund) if fund.isdigit() else 0})
    if params.get("year"):
        qs = qs.filter(**{f"{prefix}year__code": params["year"]})
    return qs


class ContributionReceiptViewSet(ObjectHistoryMixin, FundRowsViewSet):
    """Receipts against partners' contributions (?fund=, ?year=). POST: the host's finance officer
    records one (part payments allowed, never more than is still due)."""

    serializer_class = ReceiptSerializer
    model = ContributionReceipt
    fund_path = "contribution__fund"
    related = ("contribution__year", "contribution__partner")
    ordering = ("contribution__fund_id", "received_on", "id")

    def get_queryset(self) -> QuerySet[ContributionReceipt]:
        return _fund_year_filters(
            super().get_queryset(), self.request.query_params, "contribution__"
        )

    @extend_schema(request=ReceiptInput, responses={201: ReceiptSerializer})
    def create(self, request: Request) -> Response:
        data = _valid(ReceiptInput, request.data)
        fund = visible_fund(request.user, data["fund"])
        year = year_by_code(data["year"])
        contribution = planning_selectors.partner_contribution(fund, year, data["partner"])
        if contribution is None:
            raise ApplicationError(
                f"{data['partner']} has no contribution to {fund.code} in {year.code}.",
                extra={"field": "partner"},
            )
        receipt = receipts.receipt_record(
            actor=actor_of(request),
            contribution=contribution,
            amount=data["amount"],
            received_on=data["received_on"],
            reference=data["reference"],
        )
        return Response(
            ReceiptSerializer(self.get_queryset().get(pk=receipt.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class SavingsSchemeViewSet(FundRowsViewSet):
    """Savings schemes (?fund=, ?year=): create, change (PATCH), record a month's delivery."""

    serializer_class = SavingsSchemeSerializer
    model = SavingsScheme
    related = ("year", "lead_commissioner", "fund")
    prefetched = ("lines", "deliveries")
    ordering = ("fund_id", "year__start_date", "code")

    def get_queryset(self) -> QuerySet[SavingsScheme]:
        return _fund_year_filters(super().get_queryset(), self.request.query_params)

    def _scheme(self) -> SavingsScheme:
        scheme = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if scheme is None:
            raise NotFound("Savings scheme not found.")
        return scheme

    def _answer(self, scheme: SavingsScheme, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            SavingsSchemeSerializer(self.get_queryset().get(pk=scheme.pk)).data, status=code
        )

    @extend_schema(request=SavingsSchemeInput, responses={201: SavingsSchemeSerializer})
    def create(self, request: Request) -> Response:
        data = _valid(SavingsSchemeInput, request.data)
        fund = visible_fund(request.user, data["fund"])
        year = year_by_code(data["year"])
        lead = Organisation.objects.filter(code=data["lead_commissioner"]).first()
        if lead is None:
            raise ApplicationError(
                f"Unknown organisation '{data['lead_commissioner']}'.",
                extra={"field": "lead_commissioner"},
            )
        scheme = savings.savings_scheme_create(
            actor=actor_of(request),
            fund=fund,
            year=year,
            code=data["code"],
            name=data["name"],
            lead_commissioner=lead,
            lines=savings.scheme_lines_named(fund, year, data["lines"]),
            planned=data["planned"],
            commentary=data["commentary"],
        )
        return self._answer(scheme, status.HTTP_201_CREATED)

    @extend_schema(request=SavingsSchemeUpdateInput, responses=SavingsSchemeSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        scheme = self._scheme()
        savings.require_scheme_keeper(actor_of(request), scheme)
        data = _valid(SavingsSchemeUpdateInput, request.data)
        updated = savings.savings_scheme_update(
            actor=actor_of(request),
            scheme=scheme,
            reason=data.get("reason", ""),
            name=data.get("name"),
            lines=savings.scheme_lines_named(scheme.fund, scheme.year, data["lines"])
            if "lines" in data
            else None,
            planned=data.get("planned"),
            forecast_delivery=data.get("forecast_delivery"),
            clear_forecast="forecast_delivery" in data and data["forecast_delivery"] is None,
            commentary=data.get("commentary"),
        )
        return self._answer(updated)

    @extend_schema(request=SavingsDeliveryInput, responses=SavingsSchemeSerializer)
    @action(detail=True, methods=["post"])
    def deliveries(self, request: Request, pk: str) -> Response:
        scheme = self._scheme()
        savings.require_scheme_keeper(actor_of(request), scheme)
        data = _valid(SavingsDeliveryInput, request.data)
        savings.savings_delivery_record(
            actor=actor_of(request),
            scheme=scheme,
            month=data["month"],
            amount=data["amount"],
            commentary=data["commentary"],
        )
        return self._answer(scheme)

    @HISTORY_SCHEMA
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        scheme = self._scheme()
        entries = history.object_history(scheme)
        for delivery in scheme.deliveries.all():
            entries.extend(history.object_history(delivery))
        entries.sort(key=lambda e: e["when"], reverse=True)
        return history_response(entries)


def register(router: BaseRouter) -> None:
    router.register("financial-years", FinancialYearViewSet, basename="financial-year")
    router.register(
        "contribution-receipts", ContributionReceiptViewSet, basename="contribution-receipt"
    )
    router.register("savings-schemes", SavingsSchemeViewSet, basename="savings-scheme")
