"""Serialisers for the budget endpoints: output shapes, and input shapes the views validate before
calling a service."""

from __future__ import annotations

from rest_framework import serializers

from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    Contribution,
    Forecast,
    PooledFund,
    RiskShareAgreement,
    Virement,
)
from gmhsc.api_fields import MoneyField, TextField


def money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2)


# ---- serialisers (output) -----------------------------------------------------------------------


class FundSerializer(serializers.ModelSerializer):
    host = serializers.CharField(source="host.code")
    locality = serializers.CharField(source="locality.gss_code", default=None, allow_null=True)

    class Meta:
        model = PooledFund
        fields = [
            "id",
            "code",
            "name",
            "scope",
            "locality",
            "arrangement",
            "host",
            "is_bcf",
            "rag_amber_pct",
            "rag_red_pct",
            "rag_floor",
            "officer_virement_limit",
        ]


class InstalmentSerializer(serializers.Serializer):
    due_date = serializers.DateField()
    amount = money()
    paid_on = serializers.DateField(allow_null=True)


class ContributionSerializer(serializers.ModelSerializer):
    year = serializers.CharField(source="year.code")
    partner = serializers.CharField(source="partner.code")
    instalments = InstalmentSerializer(many=True)

    class Meta:
        model = Contribution
        fields = [
            "id",
            "fund",
            "year",
            "partner",
            "amount",
            "share",
            "shares_fixed_at",
            "instalments",
        ]


class RiskShareAgreementSerializer(serializers.ModelSerializer):
    year = serializers.CharField(source="year.code")

    class Meta:
        model = RiskShareAgreement
        fields = ["id", "fund", "year", "rule", "parameters", "agreed_on", "notes"]


class BudgetLineSerializer(serializers.ModelSerializer):
    fund_code = serializers.CharField(source="fund.code")
    year = serializers.CharField(source="year.code")
    service_area = serializers.CharField(source="service_area.code")
    locality = serializers.CharField(source="locality.gss_code", default=None, allow_null=True)
    lead_commissioner = serializers.CharField(source="lead_commissioner.code")
    phasing = serializers.ListField(child=money())

    class Meta:
        model = BudgetLine
        fields = [
            "id",
            "fund",
            "fund_code",
            "year",
            "code",
            "name",
            "service_area",
            "locality",
            "lead_commissioner",
            "recurrent",
            "original_budget",
            "changes",
            "current_budget",
            "phasing_method",
            "phasing",
            "version",
            "updated_at",
        ]


class VirementSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.code")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Virement
        fields = [
            "id",
            "fund",
            "from_line",
            "to_line",
            "period",
            "amount",
            "recurrent",
            "reason",
            "status",
            "status_label",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "approval_reference",
            "applied_at",
        ]


class AdjustmentSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.code")

    class Meta:
        model = BudgetAdjustment
        fields = [
            "id",
            "line",
            "period",
            "amount",
            "recurrent",
            "reason",
            "created_by",
            "created_at",
        ]


class ForecastSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.code")

    class Meta:
        model = Forecast
        fields = ["id", "line", "period", "amount", "commentary", "updated_by", "updated_at"]


# ---- serialisers (input) ------------------------------------------------------------------------


class YearInput(serializers.Serializer):
    year = TextField()


class FixSharesInput(YearInput):
    variation_reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class PeriodInput(serializers.Serializer):
    period = TextField(help_text="e.g. 2016/17-M06")
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class ContributionInput(serializers.Serializer):
    fund = serializers.IntegerField()
    year = TextField()
    partner = TextField(help_text="organisation code")
    amount = MoneyField()
    variation_reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class RiskShareInput(serializers.Serializer):
    fund = serializers.IntegerField()
    year = TextField()
    rule = TextField()
    parameters = serializers.JSONField(required=False, default=dict)
    agreed_on = serializers.DateField(required=False, allow_null=True, default=None)
    notes = TextField(multiline=True, required=False, allow_blank=True, default="")
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class LineCreateInput(serializers.Serializer):
    fund = serializers.IntegerField()
    year = TextField()
    code = TextField(max_length=30)
    name = TextField(max_length=200)
    service_area = TextField()
    lead_commissioner = TextField()
    locality = TextField(required=False, allow_blank=True, default="")
    recurrent = serializers.BooleanField(required=False, default=True)
    annual_budget = MoneyField()
    phasing_method = TextField(required=False, default="flat")
    custom = serializers.ListField(
        child=MoneyField(), required=False, allow_null=True, default=None
    )
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class LineUpdateInput(serializers.Serializer):
    code = TextField(max_length=30, required=False)
    name = TextField(max_length=200, required=False)
    service_area = TextField(required=False)
    lead_commissioner = TextField(required=False)
    locality = TextField(required=False, allow_blank=True, allow_null=True)
    recurrent = serializers.BooleanField(required=False)
    annual_budget = MoneyField(required=False)
    phasing_method = TextField(required=False)
    custom = serializers.ListField(child=MoneyField(), required=False)
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)


class RephaseInput(serializers.Serializer):
    method = TextField()
    custom = serializers.ListField(
        child=MoneyField(), required=False, allow_null=True, default=None
    )
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")
    set_annual_budget = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With custom months that do not add up to the annual budget: make the annual "
        "budget their total (draft budgets only). Without it such months are refused.",
    )


class VirementInput(serializers.Serializer):
    from_line = serializers.IntegerField()
    to_line = serializers.IntegerField()
    amount = MoneyField()
    recurrent = serializers.BooleanField(required=False, default=False)
    reason = TextField(multiline=True)


class NoteInput(serializers.Serializer):
    note = TextField(multiline=True, required=False, allow_blank=True, default="")


class AdjustmentInput(serializers.Serializer):
    line = serializers.IntegerField()
    amount = MoneyField()
    reason = TextField(multiline=True)
    recurrent = serializers.BooleanField(required=False, default=False)
    period = TextField(required=False, allow_blank=True, default="")


class ForecastInput(serializers.Serializer):
    line = serializers.IntegerField()
    period = TextField()
    amount = MoneyField()
    commentary = TextField(multiline=True, required=False, allow_blank=True, default="")


class BudgetImportInput(serializers.Serializer):
    file = serializers.FileField()
    fund = TextField(help_text="fund code, e.g. LP-MANCHESTER")
    year = TextField()
