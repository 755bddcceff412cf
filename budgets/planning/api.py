"""REST endpoints for funds, contributions, risk-share agreements, budget lines (ETag / If-Match),
periods, forecasts, virements, adjustments, budget uploads and each object's history.

Thin: parse, find the object through the user's scope (others' objects answer 404), call one
service or selector, serialise. Business rules live in budgets.services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from budgets import history, selectors
from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    Contribution,
    FinancialYear,
    Forecast,
    FundPeriod,
    Period,
    PooledFund,
    RiskShareAgreement,
    ServiceArea,
    Virement,
)
from budgets.planning import selectors as planning_selectors
from budgets.planning import year_selectors
from budgets.planning.serializers import (
    AdjustmentInput,
    AdjustmentSerializer,
    BudgetImportInput,
    BudgetLineSerializer,
    ContributionInput,
    ContributionSerializer,
    FixSharesInput,
    ForecastInput,
    ForecastSerializer,
    FundSerializer,
    LineCreateInput,
    LineUpdateInput,
    NoteInput,
    PeriodInput,
    RephaseInput,
    RiskShareAgreementSerializer,
    RiskShareInput,
    RollForwardInput,
    VirementInput,
    VirementSerializer,
    YearInput,
)
from budgets.planning.services import (
    adjustments,
    forecasts,
    funds,
    lines,
    periods,
    roll_forward,
    virements,
)
from budgets.planning.services.budget_upload import import_budget_file
from gmhsc.errors import ApplicationError, NotFound
from gmhsc.parsers import JSONParser
from localities.actors import actor_of
from localities.models import Locality, Organisation


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class PreconditionRequired(ApplicationError):
    status_code = 428
    code = "precondition_required"


# ---- lookups through the user's scope -----------------------------------------------------------


def visible_fund(user: Any, fund_id: Any) -> PooledFund:
    fund = selectors.funds_visible_to(user).filter(pk=_int(fund_id, "fund")).first()
    if fund is None:
        raise NotFound("Fund not found.")
    return fund


def visible_line(user: Any, line_id: Any) -> BudgetLine:
    line = selectors.lines_visible_to(user).filter(pk=_int(line_id, "line")).first()
    if line is None:
        raise NotFound("Budget line not found.")
    return line


def year_by_code(code: Any) -> FinancialYear:
    year = FinancialYear.objects.filter(code=str(code or "")).first()
    if year is None:
        raise ApplicationError(
            f"Unknown financial year '{code}'; use the form 2016/17.", extra={"field": "year"}
        )
    return year


def _int(value: Any, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"No such {label}.") from None


def _by_code(model: Any, field: str, value: Any, label: str) -> Any:
    if value in (None, ""):
        return None
    obj = model.objects.filter(**{field: value}).first()
    if obj is None:
        raise ApplicationError(
            f"Unknown {label} '{value}'.", extra={"field": label.replace(" ", "_")}
        )
    return obj


def expected_version(request: Request) -> int:
    """The version the client read: If-Match (ETag) header, else `version` in the body."""
    header = request.headers.get("If-Match", "").strip()
    raw: Any = header.removeprefix("W/").strip('"') if header else request.data.get("version")
    if raw in (None, ""):
        raise PreconditionRequired(
            "Send the line's ETag in an If-Match header (or its version) so no edit is lost."
        )
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise PreconditionRequired(f"'{raw}' is not a line version.") from None


def etag(line: BudgetLine) -> str:
    return f'"{line.version}"'


class HistoryEntrySerializer(serializers.Serializer):
    """One change in an object's history: who changed which field, from what, to what, and why."""

    when = serializers.DateTimeField()
    who = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    field = serializers.CharField(allow_blank=True, help_text="As the pages label it")
    field_key = serializers.CharField(allow_blank=True, help_text="The stored field's name")
    before = serializers.JSONField(allow_null=True, help_text="As stored; money as a string")
    after = serializers.JSONField(allow_null=True)
    before_text = serializers.CharField(allow_blank=True, help_text="In words: money as £1,234")
    after_text = serializers.CharField(allow_blank=True)
    why = serializers.CharField(allow_blank=True, allow_null=True)


class PhasingPreviewSerializer(serializers.Serializer):
    method = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    phasing = serializers.ListField(child=serializers.DecimalField(max_digits=18, decimal_places=2))


HISTORY_SCHEMA = extend_schema(responses=HistoryEntrySerializer(many=True))


def history_response(entries: list[dict[str, Any]]) -> Response:
    def plain(value: Any) -> Any:
        return value if value is None or isinstance(value, (bool, int, str)) else str(value)

    return Response(
        [
            {
                "when": e["when"].isoformat(),
                "who": e["who"],
                "action": e["action"],
                "field": e["field"],
                "field_key": e["field_key"],
                "before": plain(e["before"]),
                "after": plain(e["after"]),
                "before_text": e["before_text"],
                "after_text": e["after_text"],
                "why": e["why"],
            }
            for e in entries
        ]
    )


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class FundRowsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read the rows of the funds the user may see (another organisation's: 404).

    `fund_path` is the row's way to its fund; `related`, `prefetched` and `ordering` shape the
    query for the serializer."""

    model: type[Model]
    fund_path = "fund"
    related: tuple[str, ...] = ()
    prefetched: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ()

    def get_queryset(self) -> QuerySet[Any]:
        visible = selectors.funds_visible_to(self.request.user).values("pk")
        return (
            self.model._default_manager.filter(**{f"{self.fund_path}__in": visible})
            .select_related(*self.related)
            .prefetch_related(*self.prefetched)
            .order_by(*self.ordering)
        )


class ObjectHistoryMixin:
    """GET {id}/history/: the object's changes in words."""

    get_object: Callable[[], Model]

    @HISTORY_SCHEMA
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        return history_response(history.object_history(self.get_object()))


def _locality(value: Any) -> Locality | None:
    if value in (None, ""):
        return None
    found = (
        Locality.objects.filter(gss_code=value).first()
        or Locality.objects.filter(name__iexact=value).first()
    )
    if found is None:
        raise ApplicationError(f"Unknown locality '{value}'.", extra={"field": "locality"})
    return found


# ---- viewsets -----------------------------------------------------------------------------------


class FundYearOutput(serializers.Serializer):
    """A fund in one year (GET /api/v1/funds/{id}/years/; money as strings)."""

    year = serializers.CharField()
    status = serializers.CharField()
    budget = serializers.CharField()
    outturn = serializers.CharField()
    outturn_is_final = serializers.BooleanField()
    variance = serializers.CharField()
    as_at_month = serializers.IntegerField(help_text="0: the year has not started; 13: closed")
    shares = serializers.DictField(child=serializers.CharField(), help_text="partner: amount")


class FundViewSet(viewsets.ReadOnlyModelViewSet):
    """Funds the user's organisation hosts or contributes to (administrators: all)."""

    serializer_class = FundSerializer

    def get_queryset(self) -> QuerySet[PooledFund]:
        return selectors.funds_visible_to(self.request.user).order_by("code")

    def _fund(self) -> PooledFund:
        return visible_fund(self.request.user, self.kwargs["pk"])

    def _year(self, request: Request) -> FinancialYear:
        return year_by_code(_valid(YearInput, request.data)["year"])

    def _budget_body(self, budget: Any) -> dict[str, Any]:
        return {"fund": budget.fund_id, "year": budget.year.code, "status": budget.status}

    @action(detail=True, methods=["get"])
    def budget(self, request: Request, pk: str) -> Response:
        fund = self._fund()
        year = year_by_code(request.query_params.get("year", ""))
        return Response(
            {"fund": fund.pk, "year": year.code, "status": selectors.fund_budget_status(fund, year)}
        )

    @extend_schema(request=YearInput)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        budget = funds.fund_budget_submit(
            actor=actor_of(request), fund=self._fund(), year=self._year(request)
        )
        return Response(self._budget_body(budget))

    @extend_schema(request=YearInput)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        budget = funds.fund_budget_approve(
            actor=actor_of(request), fund=self._fund(), year=self._year(request)
        )
        return Response(self._budget_body(budget))

    @extend_schema(request=FixSharesInput)
    @action(detail=True, methods=["post"], url_path="fix-shares")
    def fix_shares(self, request: Request, pk: str) -> Response:
        fund = self._fund()  # another organisation's fund is 404 before the body is read
        data = _valid(FixSharesInput, request.data)
        rows = funds.contributions_fix_shares(
            actor=actor_of(request),
            fund=fund,
            year=year_by_code(data["year"]),
            variation_reason=data["variation_reason"],
        )
        return Response(ContributionSerializer(rows, many=True).data)

    @action(detail=True, methods=["get"])
    def periods(self, request: Request, pk: str) -> Response:
        fund = self._fund()
        year = year_by_code(request.query_params.get("year", ""))
        return Response(
            [
                {
                    "code": row["code"],
                    "status": row["status"],
                    "changed_by": row["changed_by"],
                    "changed_at": row["changed_at"].isoformat() if row["changed_at"] else None,
                    "reason": row["reason"],
                }
                for row in selectors.fund_periods(fund, year)
            ]
        )

    def _period_changed(self, request: Request, change: Callable[..., FundPeriod]) -> Response:
        data = _valid(PeriodInput, request.data)
        row = change(
            actor=actor_of(request),
            fund=self._fund(),
            period=selectors.get_period(data["period"]),
            reason=data["reason"],
        )
        return Response({"period": row.period.code, "status": row.status})

    @extend_schema(request=PeriodInput)
    @action(detail=True, methods=["post"], url_path="close-period")
    def close_period(self, request: Request, pk: str) -> Response:
        return self._period_changed(request, periods.period_close)

    @extend_schema(request=PeriodInput)
    @action(detail=True, methods=["post"], url_path="reopen-period")
    def reopen_period(self, request: Request, pk: str) -> Response:
        return self._period_changed(request, periods.period_reopen)

    @HISTORY_SCHEMA
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        return history_response(history.object_history(self._fund()))

    @extend_schema(request=RollForwardInput, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="roll-forward")
    def roll_forward(self, request: Request, pk: str) -> Response:
        """Set next year's draft budget from this year's (budget setting): 201 with what was
        carried, dropped and noted."""
        fund = self._fund()
        data = _valid(RollForwardInput, request.data)
        result = roll_forward.fund_roll_forward(
            actor=actor_of(request),
            fund=fund,
            year=year_by_code(data["year"]),
            from_year=year_by_code(data["from_year"]) if data["from_year"] else None,
            uplift_pct=data["uplift_pct"],
            efficiency_pct=data["efficiency_pct"],
            service_areas=data["service_areas"],
            contribution_uplift_pct=data["contribution_uplift_pct"],
            partner_uplifts=data["partner_uplifts"],
            replace_draft=data["replace_draft"],
            reason=data["reason"],
        )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("year", str, required=True, description="e.g. 2017/18")],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"], url_path="budget-setting")
    def budget_setting(self, request: Request, pk: str) -> Response:
        """Line by line: this year's budget and forecast outturn, the roll forward's columns,
        next year's draft and the change."""
        fund = self._fund()
        year = year_by_code(request.query_params.get("year", ""))
        comparison = year_selectors.budget_setting_comparison(fund, year)
        setting = comparison.setting
        return Response(
            {
                "fund": fund.pk,
                "year": year.code,
                "from_year": comparison.from_year.code if comparison.from_year else None,
                "status": selectors.fund_budget_status(fund, year),
                "rates": {
                    "uplift_pct": str(setting.uplift_pct),
                    "efficiency_pct": str(setting.efficiency_pct),
                    "contribution_uplift_pct": str(setting.contribution_uplift_pct),
                    "service_areas": {
                        r.service_area.code: {
                            "uplift_pct": str(r.uplift_pct),
                            "efficiency_pct": str(r.efficiency_pct),
                        }
                        for r in setting.rates.select_related("service_area")
                    },
                }
                if setting
                else None,
                "dropped": setting.dropped if setting else [],
                "notes": setting.notes if setting else [],
                "forecast_month": comparison.forecast_month,
                "lines": [
                    {
                        "code": r.code,
                        "name": r.name,
                        "service_area": r.service_area,
                        "line": r.line_id,
                        "this_year_budget": _text(r.this_budget),
                        "this_year_forecast_outturn": _text(r.this_forecast),
                        "prior_recurrent_budget": _text(r.prior_recurrent),
                        "uplift_pct": _text(r.uplift_pct),
                        "uplift": _text(r.uplift),
                        "efficiency_pct": _text(r.efficiency_pct),
                        "efficiency": _text(r.efficiency),
                        "new_budget": _text(r.rolled),
                        "next_year_draft": _text(r.draft),
                        "change": _text(r.change),
                    }
                    for r in comparison.rows
                ],
                "totals": {k: str(v) for k, v in comparison.totals.items()},
            }
        )

    @extend_schema(responses=FundYearOutput(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # one row a year: never paged
    def years(self, request: Request, pk: str) -> Response:
        """Budget, outturn, variance and the partners' shares for every year of the fund."""
        return Response(
            [
                {
                    "year": y.year.code,
                    "status": y.status,
                    "budget": str(y.budget),
                    "outturn": str(y.outturn),
                    "outturn_is_final": y.final,
                    "variance": str(y.variance),
                    "as_at_month": y.month,
                    "shares": {name: str(amount) for name, amount in y.shares},
                }
                for y in year_selectors.fund_years(self._fund())
            ]
        )

    @action(detail=True, methods=["get"], url_path="period-history")
    def period_history(self, request: Request, pk: str) -> Response:
        """Who closed and reopened a period of this fund, and why (?period=2016/17-M06)."""
        fund = self._fund()
        period = selectors.get_period(request.query_params.get("period", ""))
        row = FundPeriod.objects.filter(fund=fund, period=period).first()
        return history_response(history.object_history(row) if row else [])


class ContributionViewSet(ObjectHistoryMixin, FundRowsViewSet):
    serializer_class = ContributionSerializer
    filterset_fields = ["fund"]
    model = Contribution
    related = ("year", "partner")
    prefetched = ("instalments",)
    ordering = ("fund_id", "year__start_date", "partner__code")

    @extend_schema(request=ContributionInput)
    def create(self, request: Request) -> Response:
        data = _valid(ContributionInput, request.data)
        fund = visible_fund(request.user, data["fund"])
        contribution = funds.contribution_set(
            actor=actor_of(request),
            fund=fund,
            year=year_by_code(data["year"]),
            partner=_by_code(Organisation, "code", data["partner"], "partner"),
            amount=data["amount"],
            variation_reason=data["variation_reason"],
        )
        return Response(
            ContributionSerializer(self.get_queryset().get(pk=contribution.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class RiskShareAgreementViewSet(ObjectHistoryMixin, FundRowsViewSet):
    serializer_class = RiskShareAgreementSerializer
    filterset_fields = ["fund"]
    model = RiskShareAgreement
    related = ("year",)
    ordering = ("fund_id", "year__start_date")

    @extend_schema(request=RiskShareInput)
    def create(self, request: Request) -> Response:
        data = _valid(RiskShareInput, request.data)
        agreement = funds.risk_share_agreement_set(
            actor=actor_of(request),
            fund=visible_fund(request.user, data["fund"]),
            year=year_by_code(data["year"]),
            rule=data["rule"],
            parameters=data["parameters"],
            agreed_on=data["agreed_on"],
            notes=data["notes"],
            reason=data["reason"],
            underspend=data["underspend"],
        )
        return Response(
            RiskShareAgreementSerializer(agreement).data, status=status.HTTP_201_CREATED
        )


class BudgetLineViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Budget lines with phasing. GET one returns an ETag; PATCH and rephase need If-Match."""

    serializer_class = BudgetLineSerializer
    filterset_fields = ["fund", "phasing_method"]

    def get_queryset(self) -> QuerySet[BudgetLine]:
        qs = selectors.lines_visible_to(self.request.user).order_by("fund__code", "code")
        params = self.request.query_params
        if params.get("year"):
            qs = qs.filter(year__code=params["year"])
        if params.get("service_area"):
            qs = qs.filter(service_area__code=params["service_area"])
        if params.get("lead_commissioner"):
            qs = qs.filter(lead_commissioner__code=params["lead_commissioner"])
        return qs

    def _line_response(self, line: BudgetLine, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.lines_visible_to(self.request.user).get(pk=line.pk)
        return Response(
            BudgetLineSerializer(fresh).data, status=code, headers={"ETag": etag(fresh)}
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._line_response(visible_line(request.user, pk))

    @extend_schema(request=LineCreateInput)
    def create(self, request: Request) -> Response:
        data = _valid(LineCreateInput, request.data)
        line = lines.line_create(
            actor=actor_of(request),
            fund=visible_fund(request.user, data["fund"]),
            year=year_by_code(data["year"]),
            code=data["code"],
            name=data["name"],
            service_area=_by_code(ServiceArea, "code", data["service_area"], "service area"),
            lead_commissioner=_by_code(
                Organisation, "code", data["lead_commissioner"], "lead commissioner"
            ),
            locality=_locality(data["locality"]),
            recurrent=data["recurrent"],
            annual_budget=data["annual_budget"],
            phasing_method=data["phasing_method"],
            custom=data["custom"],
            reason=data["reason"],
        )
        return self._line_response(line, status.HTTP_201_CREATED)

    @extend_schema(request=LineUpdateInput)
    def partial_update(self, request: Request, pk: str) -> Response:
        line = visible_line(request.user, pk)
        version = expected_version(request)
        data = _valid(LineUpdateInput, request.data)
        data.pop("version", None)
        reason = data.pop("reason", "")
        if "locality" in data:
            data["locality"] = _locality(data["locality"])
        updated = lines.line_update(
            actor=actor_of(request), line=line, expected_version=version, reason=reason, **data
        )
        return self._line_response(updated)

    @extend_schema(request=RephaseInput)
    @action(detail=True, methods=["post"])
    def rephase(self, request: Request, pk: str) -> Response:
        line = visible_line(request.user, pk)
        version = expected_version(request)
        data = _valid(RephaseInput, request.data)
        updated = lines.line_rephase(
            actor=actor_of(request),
            line=line,
            expected_version=version,
            method=data["method"],
            custom=data["custom"],
            reason=data["reason"],
            set_annual_budget=data["set_annual_budget"],
        )
        return self._line_response(updated)

    @HISTORY_SCHEMA
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        return history_response(history.line_history(visible_line(request.user, pk)))

    @extend_schema(responses=PhasingPreviewSerializer)
    @action(detail=True, methods=["get"], url_path="phasing-preview")
    def phasing_preview(self, request: Request, pk: str) -> Response:
        """?method=seasonal[&amount=130000.00]: the 12 months re-spreading would give, unsaved."""
        line = visible_line(request.user, pk)
        preview = lines.line_phasing_preview(
            line=line,
            method=request.query_params.get("method", "flat"),
            amount=request.query_params.get("amount"),
        )
        return Response(
            {
                "method": preview.method,
                "note": preview.note,
                "phasing": [str(p) for p in preview.parts],
            }
        )

    @action(detail=True, methods=["get"], url_path="suggested-forecast")
    def suggested_forecast(self, request: Request, pk: str) -> Response:
        line = visible_line(request.user, pk)
        period = selectors.get_period(request.query_params.get("period", ""))
        return Response(
            {
                "line": line.pk,
                "period": period.code,
                "suggested": str(planning_selectors.suggested_forecast(line, period)),
            }
        )


class VirementViewSet(ObjectHistoryMixin, FundRowsViewSet):
    serializer_class = VirementSerializer
    filterset_fields = ["fund", "status"]
    model = Virement
    related = ("period__year", "fund")
    ordering = ("-requested_at", "-id")

    @extend_schema(request=VirementInput)
    def create(self, request: Request) -> Response:
        data = _valid(VirementInput, request.data)
        virement = virements.virement_request(
            actor=actor_of(request),
            from_line=visible_line(request.user, data["from_line"]),
            to_line=visible_line(request.user, data["to_line"]),
            amount=data["amount"],
            recurrent=data["recurrent"],
            reason=data["reason"],
        )
        return Response(VirementSerializer(virement).data, status=status.HTTP_201_CREATED)

    def _decided(self, request: Request, decide: Callable[..., Virement], note_as: str) -> Response:
        note = _valid(NoteInput, request.data)["note"]
        virement = decide(actor=actor_of(request), virement=self.get_object(), **{note_as: note})
        return Response(VirementSerializer(virement).data)

    @extend_schema(request=NoteInput)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decided(request, virements.virement_approve, "note")

    @extend_schema(request=NoteInput)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._decided(request, virements.virement_reject, "note")

    @extend_schema(request=NoteInput)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._decided(request, virements.virement_withdraw, "reason")


class AdjustmentViewSet(FundRowsViewSet):
    serializer_class = AdjustmentSerializer
    filterset_fields = ["line"]
    model = BudgetAdjustment
    fund_path = "line__fund"
    related = ("period__year",)
    ordering = ("-created_at", "-id")

    @extend_schema(request=AdjustmentInput)
    def create(self, request: Request) -> Response:
        data = _valid(AdjustmentInput, request.data)
        adjustment = adjustments.adjustment_create(
            actor=actor_of(request),
            line=visible_line(request.user, data["line"]),
            amount=data["amount"],
            reason=data["reason"],
            recurrent=data["recurrent"],
            period=selectors.get_period(data["period"]) if data["period"] else None,
        )
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


class ForecastViewSet(ObjectHistoryMixin, FundRowsViewSet):
    serializer_class = ForecastSerializer
    filterset_fields = ["line"]
    model = Forecast
    fund_path = "line__fund"
    related = ("period__year",)
    ordering = ("line_id", "period__number")

    @extend_schema(request=ForecastInput)
    def create(self, request: Request) -> Response:
        data = _valid(ForecastInput, request.data)
        period: Period = selectors.get_period(data["period"])
        forecast = forecasts.forecast_set(
            actor=actor_of(request),
            line=visible_line(request.user, data["line"]),
            period=period,
            amount=data["amount"],
            commentary=data["commentary"],
        )
        return Response(ForecastSerializer(forecast).data, status=status.HTTP_201_CREATED)


class BudgetImportViewSet(viewsets.GenericViewSet):
    """POST a budget CSV (multipart: file, fund code, year): all rows checked, all or nothing."""

    serializer_class = BudgetImportInput
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def create(self, request: Request) -> Response:
        data = _valid(BudgetImportInput, request.data)
        fund = selectors.funds_visible_to(request.user).filter(code=data["fund"]).first()
        if fund is None:
            raise NotFound("Fund not found.")
        result = import_budget_file(
            actor=actor_of(request), fund=fund, year=year_by_code(data["year"]), file=data["file"]
        )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


def register(router: BaseRouter) -> None:
    router.register("funds", FundViewSet, basename="fund")
    router.register("contributions", ContributionViewSet, basename="contribution")
    router.register(
        "risk-share-agreements", RiskShareAgreementViewSet, basename="risk-share-agreement"
    )
    router.register("budget-lines", BudgetLineViewSet, basename="budget-line")
    router.register("virements", VirementViewSet, basename="virement")
    router.register("budget-adjustments", AdjustmentViewSet, basename="budget-adjustment")
    router.register("forecasts", ForecastViewSet, basename="forecast")
    router.register("budget-imports", BudgetImportViewSet, basename="budget-import")
