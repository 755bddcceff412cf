"""REST endpoints for reporting: the variance report as JSON (money as strings, never floats) and
export jobs (ask, list mine, status, download). Others' funds and exports answer 404."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.http import FileResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from budgets import selectors
from budgets.context import context_from_query
from budgets.models import ExportJob
from budgets.reports import exports
from budgets.reports.variance import (
    COLUMNS,
    GROUPINGS,
    Totals,
    VarianceReport,
    cached_variance_report,
)
from gmhsc.api_fields import TextField
from gmhsc.errors import ApplicationError, NotFound
from localities.actors import actor_of


def _money(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def _totals(t: Totals) -> dict[str, Any]:
    return {k: _money(v) for k, v in asdict(t).items()}


def variance_payload(report: VarianceReport) -> dict[str, Any]:
    assert report.totals is not None
    return {
        "fund": report.fund_code,
        "fund_name": report.fund_name,
        "host": report.host,
        "year": report.year_code,
        "period": report.period_code,
        "started": report.started,
        "grouping": report.grouping,
        "as_at": report.as_at.isoformat() if report.as_at else None,
        "pending_changes": report.pending,
        "closed": report.closed,
        "source": report.source,
        "snapshot_run": report.snapshot_run,
        "snapshot_checksum": report.snapshot_checksum or None,
        "sign_convention": report.sign_convention,
        "rag_thresholds": {
            "amber_pct": str(report.rag_amber_pct),
            "red_pct": str(report.rag_red_pct),
            "floor": _money(report.rag_floor),
        },
        "rows": [{key: _money(row.value(key)) for key, _, _ in COLUMNS} for row in report.rows],
        "groups": [
            {
                "key": g.key,
                "label": g.label,
                "lines": [r.line_code for r in g.rows],
                "subtotal": _totals(g.subtotal),
            }
            for g in report.groups
        ],
        "totals": _totals(report.totals),
        "risk_share": {
            "rule": report.risk_share_rule,
            "partners": [{k: _money(v) for k, v in asdict(e).items()} for e in report.risk_share],
        },
        "fair_share": {
            "method": report.fair_share_method or None,
            "note": report.fair_share_note,
            "localities": [{k: _money(v) for k, v in asdict(e).items()} for e in report.fair_share],
        },
        "savings": [{k: _money(v) for k, v in asdict(e).items()} for e in report.savings],
    }


class VarianceReportView(APIView):
    """GET /api/v1/funds/{code}/variance/?period=2016/17-M06&grouping=service_area"""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period",
                str,
                description="e.g. 2016/17-M06; default: the fund's reporting month (its latest "
                "closed month)",
            ),
            OpenApiParameter("year", str, description="e.g. 2016/17: that year's reporting month"),
            OpenApiParameter("grouping", str, enum=list(GROUPINGS)),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, code: str) -> Response:
        fund = selectors.funds_visible_to(request.user).filter(code=code).first()
        if fund is None:
            raise NotFound("Fund not found.")
        asked = request.query_params.get("period")
        if asked:
            period = selectors.get_period(asked)
        else:
            ctx = context_from_query(fund, request.query_params)
            if ctx.period is None:
                raise NotFound(
                    f"{ctx.year.code} has not started for {fund.code}: no month is closed or has "
                    "spend yet. Ask for a month with ?period=."
                )
            period = ctx.period
        grouping = request.query_params.get("grouping", "service_area")
        if grouping not in GROUPINGS:
            raise ApplicationError(
                f"grouping must be one of {', '.join(GROUPINGS)}.", extra={"field": "grouping"}
            )
        report = cached_variance_report(fund=fund, period=period, grouping=grouping)
        return Response(variance_payload(report))


class ExportJobSerializer(serializers.ModelSerializer):
    fund: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    organisation: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    period = serializers.CharField(source="period.code", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "kind",
            "format",
            "source",
            "fund",
            "organisation",
            "period",
            "parameters",
            "status",
            "progress",
            "rows",
            "filename",
            "message",
            "created_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return f"/api/v1/exports/{job.pk}/download/"


class ExportRequestSerializer(serializers.Serializer):
    fund = TextField()
    period = TextField()
    format = serializers.ChoiceField(choices=ExportJob.Format.choices)
    grouping = serializers.ChoiceField(choices=list(GROUPINGS), default="service_area")


class ExportListView(APIView):
    """GET: my exports. POST: ask for a variance export (always a job; 202 with its status URL)."""

    throttle_scope = "export"

    def get_throttles(self) -> list[Any]:
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses=ExportJobSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = exports.my_exports(request.user)[:100]
        return Response(ExportJobSerializer(jobs, many=True).data)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def post(self, request: Request) -> Response:
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fund = (
            selectors.funds_visible_to(request.user)
            .filter(code=body.validated_data["fund"])
            .first()
        )
        if fund is None:
            raise NotFound("Fund not found.")
        period = selectors.get_period(body.validated_data["period"])
        job = exports.variance_export_request(
            actor=actor_of(request),
            fund=fund,
            period=period,
            fmt=body.validated_data["format"],
            grouping=body.validated_data["grouping"],
        )
        job.refresh_from_db()
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    @extend_schema(responses=ExportJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ExportJobSerializer(exports.get_visible_export(request.user, pk)).data)


class ExportDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        job = exports.get_visible_export(request.user, pk)
        if job.status != ExportJob.Status.DONE or not job.file:
            raise NotFound("This export has no file yet.")
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=job.filename,
            content_type=exports.CONTENT_TYPES[job.format],
        )


urlpatterns = [
    path("funds/<str:code>/variance/", VarianceReportView.as_view(), name="api-fund-variance"),
    path("exports/", ExportListView.as_view(), name="api-export-list"),
    path("exports/<int:pk>/", ExportDetailView.as_view(), name="api-export-detail"),
    path("exports/<int:pk>/download/", ExportDownloadView.as_view(), name="api-export-download"),
]
