"""REST endpoints for commissioning under /api/v1/: providers, services, contracts (with their
commitment profiles), contract decisions, the pipeline and Better Care Fund schemes, conditions
and metrics. Thin: parse, scope through selectors (others' objects answer 404), call a service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from budgets.models import FinancialYear, PooledFund, ServiceArea
from budgets.selectors import funds_visible_to
from commissioning import rules, selectors, services
from commissioning.models import (
    BcfCondition,
    BcfMetric,
    BcfScheme,
    Contract,
    ContractDecision,
    Provider,
    Service,
)
from gmhsc.api_fields import MoneyField, TextField
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from localities.actors import actor_of
from localities.models import Locality


class CommissioningErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)


class CommissioningInvalidSerializer(serializers.Serializer):
    """A refused request: a service's message with `field` naming the bad input, or the
    serializer's per-field messages (keyed by field name) when the body does not parse."""

    code = serializers.CharField()
    detail = serializers.CharField(required=False)
    field = serializers.CharField(required=False)


ERRORS = {
    400: OpenApiResponse(
        CommissioningInvalidSerializer, description="Refused: `field` names the bad input."
    ),
    403: OpenApiResponse(CommissioningErrorSerializer, description="Your role may not do this."),
    404: OpenApiResponse(
        CommissioningErrorSerializer, description="Not found (or another organisation's)."
    ),
}


def _require_commissioner(user: Any) -> None:
    """Refuse before reading the body: only commissioners (and administrators) write here."""
    if not rules.may_commission(user):
        raise NotAllowed("Only commissioners may do this.")


def _require_edit(user: Any, contract: Contract) -> None:
    if not rules.can_edit_contract(user, contract):
        raise NotAllowed("Only the commissioning organisation may change this contract.")


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _fund(user: Any, code: str) -> PooledFund:
    fund = funds_visible_to(user).filter(code=code).first()
    if fund is None:
        raise NotFound("Fund not found.", extra={"field": "fund"})
    return fund


def _year(code: str) -> FinancialYear:
    year = FinancialYear.objects.filter(code=code).first()
    if year is None:
        raise ApplicationError(f"Unknown financial year {code}.", extra={"field": "year"})
    return year


# ---- serializers --------------------------------------------------------------------------------


class CommissioningProviderSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(
        source="organisation.code", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Provider
        fields = ["id", "name", "kind", "organisation", "companies_house_number"]


class CommissioningProviderInput(serializers.Serializer):
    name = TextField(max_length=200)
    kind = TextField()
    companies_house_number = TextField(required=False, allow_blank=True, default="")


class CommissionedServiceSerializer(serializers.ModelSerializer):
    service_area = serializers.CharField(source="service_area.code", read_only=True)
    locality = serializers.CharField(
        source="locality.gss_code", read_only=True, allow_null=True, default=None
    )
    commissioner = serializers.CharField(source="commissioner.code", read_only=True)

    class Meta:
        model = Service
        fields = ["id", "name", "service_area", "locality", "care_setting", "commissioner"]


class CommissionedServiceInput(serializers.Serializer):
    name = TextField(max_length=200)
    service_area = TextField(help_text="Service area code, e.g. ASC.HOME")
    locality = TextField(required=False, allow_blank=True, default="")
    care_setting = TextField()


class ContractCommitmentSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    line_code = serializers.CharField()
    months = serializers.DictField(child=serializers.DecimalField(max_digits=18, decimal_places=2))


class ContractSerializer(serializers.ModelSerializer):
    fund = serializers.CharField(source="fund.code", read_only=True)
    year = serializers.CharField(source="year.code", read_only=True)
    provider = serializers.IntegerField(source="provider_id", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    service = serializers.IntegerField(source="service_id", read_only=True)
    commissioner = serializers.CharField(source="commissioner.code", read_only=True)
    value = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    profile = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = [
            "id",
            "reference",
            "title",
            "fund",
            "year",
            "service",
            "provider",
            "provider_name",
            "commissioner",
            "value",
            "start_date",
            "end_date",
            "extension_options",
            "status",
            "profile",
        ]

    @extend_schema_field(ContractCommitmentSerializer(many=True))
    def get_profile(self, obj: Contract) -> list[dict[str, Any]]:
        out = []
        for cl in obj.contract_lines.all():
            out.append(
                {
                    "line": cl.line_id,
                    "line_code": cl.line.code,
                    "months": {str(c.period_number): str(c.amount) for c in cl.commitments.all()},
                }
            )
        return out


class ContractLineInput(serializers.Serializer):
    line = serializers.IntegerField()
    amount = MoneyField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Spread evenly over the contract's months in the year.",
    )
    months = serializers.DictField(
        child=MoneyField(),
        required=False,
        default=dict,
        help_text='Explicit profile: {"1": "1000.00", ...} (period 1 = April).',
    )


class ContractInput(serializers.Serializer):
    fund = TextField()
    year = TextField()
    reference = TextField(max_length=40)
    title = TextField(max_length=200)
    service = serializers.IntegerField()
    provider = serializers.IntegerField()
    value = MoneyField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    extension_options = TextField(multiline=True, required=False, allow_blank=True, default="")
    status = TextField(required=False, default=Contract.Status.PLANNED)
    lines = ContractLineInput(many=True)


class ContractStatusInput(serializers.Serializer):
    status = TextField()


class ContractDecisionSerializer(serializers.ModelSerializer):
    contract = serializers.CharField(source="contract.reference", read_only=True)
    fund = serializers.CharField(source="fund.code", read_only=True)
    value = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    new_end_date = serializers.DateField(read_only=True, allow_null=True)
    decided_on = serializers.DateField(read_only=True, allow_null=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ContractDecision
        fields = [
            "id",
            "contract",
            "fund",
            "kind",
            "value",
            "new_end_date",
            "procurement_route",
            "summary",
            "participants",
            "conflicts_declared",
            "conflicts_handling",
            "route",
            "status",
            "decided_on",
            "decided_by",
            "board_decision_reference",
        ]


class ContractDecisionInput(serializers.Serializer):
    kind = TextField()
    value = MoneyField()
    summary = TextField(multiline=True)
    participants = TextField(multiline=True)
    conflicts_declared = TextField(multiline=True, required=False, allow_blank=True, default="")
    conflicts_handling = TextField(multiline=True, required=False, allow_blank=True, default="")
    procurement_route = TextField(
        required=False, default=ContractDecision.ProcurementRoute.NOT_APPLICABLE
    )
    new_end_date = serializers.DateField(required=False, allow_null=True, default=None)


class PipelineContract(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    end_date = serializers.DateField()
    value = serializers.DecimalField(max_digits=18, decimal_places=2)


class PipelineGroupSerializer(serializers.Serializer):
    locality = serializers.CharField()
    service_area = serializers.CharField()
    value_6 = serializers.DecimalField(max_digits=18, decimal_places=2)
    value_12 = serializers.DecimalField(max_digits=18, decimal_places=2)
    within_6 = PipelineContract(many=True)
    within_12 = PipelineContract(many=True)


class PipelineSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    six = serializers.DateField()
    twelve = serializers.DateField()
    value_6 = serializers.DecimalField(max_digits=18, decimal_places=2)
    value_12 = serializers.DecimalField(max_digits=18, decimal_places=2)
    groups = PipelineGroupSerializer(many=True)


class BcfSchemeSerializer(serializers.ModelSerializer):
    fund = serializers.CharField(source="fund.code", read_only=True)
    year = serializers.CharField(source="year.code", read_only=True)
    planned_spend = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    actual_q1 = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    actual_q2 = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    actual_q3 = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    actual_q4 = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    actual_spend = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = BcfScheme
        fields = [
            "id",
            "fund",
            "year",
            "code",
            "name",
            "scheme_type",
            "lead_commissioner",
            "provider_type",
            "area_of_spend",
            "funding_source",
            "planned_spend",
            "actual_q1",
            "actual_q2",
            "actual_q3",
            "actual_q4",
            "actual_spend",
        ]


class BcfSchemeInput(serializers.Serializer):
    fund = TextField()
    year = TextField()
    # Not "code": a 400 body's "code" key is the error code.
    scheme = TextField(max_length=20, help_text="Scheme code, e.g. S01")
    name = TextField(max_length=200)
    scheme_type = TextField()
    lead_commissioner = TextField()
    provider_type = TextField()
    area_of_spend = TextField()
    funding_source = TextField()
    planned_spend = MoneyField()
    actuals = serializers.DictField(
        child=MoneyField(),
        required=False,
        default=dict,
        help_text='Actual spend by quarter: {"1": "1000.00"}',
    )


class BcfConditionSerializer(serializers.ModelSerializer):
    fund = serializers.CharField(source="fund.code", read_only=True)
    year = serializers.CharField(source="year.code", read_only=True)
    text = serializers.CharField(read_only=True)

    class Meta:
        model = BcfCondition
        fields = ["id", "fund", "year", "number", "text", "status", "commentary"]


class BcfConditionInput(serializers.Serializer):
    fund = TextField()
    year = TextField()
    number = serializers.IntegerField()
    status = TextField()
    commentary = TextField(multiline=True, required=False, allow_blank=True, default="")


class BcfMetricSerializer(serializers.ModelSerializer):
    fund = serializers.CharField(source="fund.code", read_only=True)
    year = serializers.CharField(source="year.code", read_only=True)
    plan = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    actual = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = BcfMetric
        fields = ["id", "fund", "year", "code", "quarter", "plan", "actual", "local_definition"]


class BcfMetricInput(serializers.Serializer):
    fund = TextField()
    year = TextField()
    metric = TextField(help_text="BCF1 to BCF6")
    quarter = serializers.IntegerField()
    plan = serializers.DecimalField(max_digits=14, decimal_places=2)
    actual = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None
    )
    local_definition = TextField(multiline=True, required=False, allow_blank=True, default="")


# ---- viewsets -----------------------------------------------------------------------------------


class ProviderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CommissioningProviderSerializer

    def get_queryset(self) -> QuerySet[Provider]:
        return selectors.providers()

    @extend_schema(
        request=CommissioningProviderInput,
        responses={201: CommissioningProviderSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(CommissioningProviderInput, request.data)
        provider = services.provider_create(actor=actor_of(request), **data)
        return Response(
            CommissioningProviderSerializer(provider).data, status=status.HTTP_201_CREATED
        )


class ServiceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CommissionedServiceSerializer

    def get_queryset(self) -> QuerySet[Service]:
        return selectors.services_for(self.request.user).order_by("name")

    @extend_schema(
        request=CommissionedServiceInput,
        responses={201: CommissionedServiceSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(CommissionedServiceInput, request.data)
        area = ServiceArea.objects.filter(code=data["service_area"]).first()
        locality = None
        if data["locality"]:
            locality = Locality.objects.filter(gss_code=data["locality"]).first()
            if locality is None:
                raise ApplicationError("Unknown locality.", extra={"field": "locality"})
        service = services.service_create(
            actor=actor_of(request),
            name=data["name"],
            service_area=area,
            locality=locality,
            care_setting=data["care_setting"],
        )
        return Response(CommissionedServiceSerializer(service).data, status=status.HTTP_201_CREATED)


def _profile(data: dict[str, Any], year: FinancialYear) -> dict[int, dict[int, Any]]:
    """Each line's explicit months, or its amount spread evenly over the contract's months."""
    line_amounts = {}
    profile: dict[int, dict[int, Any]] = {}
    for entry in data["lines"]:
        if entry["months"]:
            try:
                profile[entry["line"]] = {int(k): v for k, v in entry["months"].items()}
            except ValueError:
                raise ApplicationError(
                    "Months are periods 1 to 12.", extra={"field": "profile"}
                ) from None
        elif entry["amount"] is not None:
            line_amounts[entry["line"]] = entry["amount"]
        else:
            raise ApplicationError(
                "Give each line an amount or a monthly profile.", extra={"field": "lines"}
            )
    if line_amounts and data["end_date"] >= data["start_date"]:
        profile.update(
            services.profile_flat(
                year=year,
                start=data["start_date"],
                end=data["end_date"],
                line_amounts=line_amounts,
            )
        )
    elif line_amounts:  # the service refuses the dates, naming the end date
        profile.update({k: {1: v} for k, v in line_amounts.items()})
    return profile


class ContractProfileInput(serializers.Serializer):
    value = MoneyField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    lines = ContractLineInput(many=True)


class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ContractSerializer

    def get_queryset(self) -> QuerySet[Contract]:
        return selectors.contracts_visible_to(self.request.user).prefetch_related(
            "contract_lines__line", "contract_lines__commitments"
        )

    @extend_schema(
        request=ContractInput,
        responses={201: ContractSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(ContractInput, request.data)
        fund = _fund(request.user, data["fund"])
        year = _year(data["year"])
        profile = _profile(data, year)
        service = selectors.services_for(request.user).filter(pk=data["service"]).first()
        contract = services.contract_create(
            actor=actor_of(request),
            fund=fund,
            year=year,
            reference=data["reference"],
            title=data["title"],
            service=service,
            provider=data["provider"],
            value=data["value"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            extension_options=data["extension_options"],
            status=data["status"],
            profile=profile,
        )
        return Response(
            ContractSerializer(self.get_queryset().get(pk=contract.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ContractProfileInput,
        responses={200: ContractSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    @action(detail=True, methods=["post"])
    def profile(self, request: Request, pk: str) -> Response:
        """Replace the contract's value, dates and commitment profile."""
        contract = self.get_object()
        _require_edit(request.user, contract)
        data = _valid(ContractProfileInput, request.data)
        services.contract_update(
            actor=actor_of(request),
            contract=contract,
            value=data["value"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            profile=_profile(data, contract.year),
        )
        return Response(ContractSerializer(self.get_queryset().get(pk=contract.pk)).data)

    @extend_schema(
        request=ContractStatusInput,
        responses={200: ContractSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str) -> Response:
        contract = self.get_object()
        _require_edit(request.user, contract)
        data = _valid(ContractStatusInput, request.data)
        services.contract_status_set(
            actor=actor_of(request), contract=contract, status=data["status"]
        )
        return Response(ContractSerializer(self.get_queryset().get(pk=contract.pk)).data)

    @extend_schema(
        request=ContractDecisionInput,
        responses={
            201: ContractDecisionSerializer,
            400: ERRORS[400],
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk: str) -> Response:
        contract = self.get_object()
        _require_edit(request.user, contract)
        data = _valid(ContractDecisionInput, request.data)
        decision = services.contract_decision_record(
            actor=actor_of(request), contract=contract, **data
        )
        return Response(ContractDecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD; default today")],
        responses={200: PipelineSerializer},
    )
    @action(detail=False, methods=["get"])
    def pipeline(self, request: Request) -> Response:
        try:
            as_of = dt.date.fromisoformat(request.query_params.get("as_of", ""))
        except ValueError:
            as_of = timezone.localdate()
        p = selectors.pipeline(request.user, as_of)
        return Response(
            PipelineSerializer(
                {
                    "as_of": p.as_of,
                    "six": p.six,
                    "twelve": p.twelve,
                    "value_6": p.value_6,
                    "value_12": p.value_12,
                    "groups": [
                        {
                            "locality": g.locality,
                            "service_area": g.service_area,
                            "value_6": g.value_6,
                            "value_12": g.value_12,
                            "within_6": g.within_6,
                            "within_12": g.within_12,
                        }
                        for g in p.groups
                    ],
                }
            ).data
        )


class ContractDecisionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The procurement decisions register."""

    serializer_class = ContractDecisionSerializer

    def get_queryset(self) -> QuerySet[ContractDecision]:
        return selectors.decisions_visible_to(self.request.user)


class _BcfBase(mixins.ListModelMixin, viewsets.GenericViewSet):
    def _scope(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(fund__in=funds_visible_to(self.request.user).values("pk")).select_related(
            "fund", "year"
        )


class BcfSchemeViewSet(_BcfBase):
    serializer_class = BcfSchemeSerializer

    def get_queryset(self) -> QuerySet[BcfScheme]:
        return self._scope(BcfScheme.objects.order_by("fund__code", "code"))

    @extend_schema(
        request=BcfSchemeInput,
        responses={200: BcfSchemeSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(BcfSchemeInput, request.data)
        fund = _fund(request.user, data.pop("fund"))
        year = _year(data.pop("year"))
        try:
            actuals = {int(k): v for k, v in data.pop("actuals").items()}
        except ValueError:
            raise ApplicationError("Quarters are 1 to 4.", extra={"field": "actuals"}) from None
        scheme = services.bcf_scheme_save(
            actor=actor_of(request),
            fund=fund,
            year=year,
            code=data.pop("scheme"),
            actuals=actuals,
            **data,
        )
        return Response(BcfSchemeSerializer(scheme).data)


class BcfConditionViewSet(_BcfBase):
    serializer_class = BcfConditionSerializer

    def get_queryset(self) -> QuerySet[BcfCondition]:
        return self._scope(BcfCondition.objects.order_by("fund__code", "number"))

    @extend_schema(
        request=BcfConditionInput,
        responses={
            200: BcfConditionSerializer,
            400: ERRORS[400],
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(BcfConditionInput, request.data)
        fund = _fund(request.user, data.pop("fund"))
        row = services.bcf_condition_set(
            actor=actor_of(request), fund=fund, year=_year(data.pop("year")), **data
        )
        return Response(BcfConditionSerializer(row).data)


class BcfMetricViewSet(_BcfBase):
    serializer_class = BcfMetricSerializer

    def get_queryset(self) -> QuerySet[BcfMetric]:
        return self._scope(BcfMetric.objects.order_by("fund__code", "code", "quarter"))

    @extend_schema(
        request=BcfMetricInput,
        responses={200: BcfMetricSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def create(self, request: Request) -> Response:
        _require_commissioner(request.user)
        data = _valid(BcfMetricInput, request.data)
        fund = _fund(request.user, data.pop("fund"))
        row = services.bcf_metric_set(
            actor=actor_of(request),
            fund=fund,
            year=_year(data.pop("year")),
            code=data.pop("metric"),
            **data,
        )
        return Response(BcfMetricSerializer(row).data)
