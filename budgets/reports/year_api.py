"""REST endpoints for year end: close and reopen a fund's year, its settlement and its memorandum
account (the year's frozen one, or a quarter's on demand). Others' funds answer 404."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets.models import FinancialYear, PooledFund, YearEnd
from budgets.planning.api import visible_fund, year_by_code
from budgets.reports import memorandum
from budgets.reports.year_end import current_close, financial_year_close, financial_year_reopen
from gmhsc.api_fields import TextField
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of

YEAR = OpenApiParameter("year", str, required=True, description="e.g. 2016/17")


class YearReasonInput(serializers.Serializer):
    year = TextField()
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


def _fund(request: Request, pk: int) -> PooledFund:
    return visible_fund(request.user, pk)


def _year(code: Any) -> FinancialYear:
    return year_by_code(code)


def _body(data: Any) -> dict[str, Any]:
    body = YearReasonInput(data=data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def _money(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def close_payload(close: YearEnd) -> dict[str, Any]:
    return {
        "fund": close.fund_id,
        "year": close.year.code,
        "run": close.run,
        "status": close.status,
        "budget": str(close.budget),
        "outturn": str(close.outturn),
        "variance": str(close.variance),
        "rule": close.rule,
        "underspend": close.underspend,
        "closed_by": str(close.closed_by),
        "closed_at": close.closed_at.isoformat(),
        "reason": close.reason,
        "reopened_by": str(close.reopened_by) if close.reopened_by else None,
        "reopened_at": close.reopened_at.isoformat() if close.reopened_at else None,
        "reopen_reason": close.reopen_reason,
        "settlement": [
            {
                "partner": s.partner.code,
                "partner_name": s.partner.name,
                "is_host": s.is_host,
                "contribution": str(s.contribution),
                "carried_forward_in": str(s.carried_forward_in),
                "receipts": str(s.receipts),
                "variance_share": str(s.variance_share),
                "underspend_returned": str(s.underspend_returned),
                "underspend_retained": str(s.underspend_retained),
                "underspend_carried_forward": str(s.underspend_carried_forward),
                "net_due": str(s.net_due),
            }
            for s in memorandum.settlement_rows(close)
        ],
    }


class CloseYearView(APIView):
    """POST /api/v1/funds/{id}/close-year/ {"year": "2016/17", "reason": ""}: the host's finance
    officer closes the year; 201 with the frozen settlement."""

    @extend_schema(request=YearReasonInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        fund = _fund(request, pk)
        data = _body(request.data)
        close = financial_year_close(
            actor=actor_of(request), fund=fund, year=_year(data["year"]), reason=data["reason"]
        )
        return Response(close_payload(close), status=status.HTTP_201_CREATED)


class ReopenYearView(APIView):
    """POST /api/v1/funds/{id}/reopen-year/ {"year", "reason"}: administrators only."""

    @extend_schema(request=YearReasonInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        fund = _fund(request, pk)
        data = _body(request.data)
        close = financial_year_reopen(
            actor=actor_of(request), fund=fund, year=_year(data["year"]), reason=data["reason"]
        )
        return Response(close_payload(close))


class SettlementView(APIView):
    """GET /api/v1/funds/{id}/settlement/?year=2016/17: the current close and its settlement."""

    @extend_schema(parameters=[YEAR], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        fund = _fund(request, pk)
        year = _year(request.query_params.get("year"))
        close = current_close(fund, year)
        if close is None:
            raise NotFound(
                f"{fund.code}'s {year.code} year is not closed, so it has no settlement."
            )
        return Response(close_payload(close))


class MemorandumAccountView(APIView):
    """GET /api/v1/funds/{id}/memorandum-account/?year=2016/17[&quarter=2]: the year's account
    (frozen at close) or a quarter's, as JSON; money as strings."""

    @extend_schema(
        parameters=[YEAR, OpenApiParameter("quarter", int, enum=[1, 2, 3, 4])],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, pk: int) -> Response:
        fund = _fund(request, pk)
        year = _year(request.query_params.get("year"))
        quarter = request.query_params.get("quarter", "")
        if quarter:
            if quarter not in ("1", "2", "3", "4"):
                raise ApplicationError("quarter must be 1, 2, 3 or 4.", extra={"field": "quarter"})
            account = memorandum.quarter_account(fund, year, int(quarter))
        else:
            frozen = memorandum.frozen_year_account(fund, year)
            if frozen is None:
                raise NotFound(
                    f"{fund.code}'s {year.code} year is not closed: ask for a quarter instead."
                )
            account = frozen
        data = account.to_data()
        data.update(
            frozen=account.frozen,
            run=account.run,
            checksum=account.checksum or None,
            variance=str(account.variance),
            totals={
                "income": {
                    k: _money(v) for k, v in dataclasses.asdict(account.income_total).items()
                },
                "expenditure": {
                    k: _money(v) for k, v in dataclasses.asdict(account.spend_total).items()
                },
            },
            sign_convention=account.sign_convention,
        )
        return Response(data)


urlpatterns = [
    path("funds/<int:pk>/close-year/", CloseYearView.as_view(), name="api-fund-close-year"),
    path("funds/<int:pk>/reopen-year/", ReopenYearView.as_view(), name="api-fund-reopen-year"),
    path("funds/<int:pk>/settlement/", SettlementView.as_view(), name="api-fund-settlement"),
    path(
        "funds/<int:pk>/memorandum-account/",
        MemorandumAccountView.as_view(),
        name="api-fund-memorandum-account",
    ),
]
