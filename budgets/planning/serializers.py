"""Serialisers for the budget endpoints: output shapes, and input shapes the views validate before
calling a service."""

from __future__ import annotations

from rest_framework import serializers

from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    Contribution,
    ContributionReceipt,
    FinancialYear,
    Forecast,
    PooledFund,
    RiskShareAgreement,
    SavingsScheme,
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
    paid_on = serializers.DateField(allow_null=True, help_text="when receipts paid it in full")


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
            "carried_forward",
            "share",
            "shares_fixed_at",
            "instalments",
        ]


class RiskShareAgreementSerializer(serializers.ModelSerializer):
    year = serializers.CharField(source="year.code")

    class Meta:
        model = RiskShareAgreement
        fields = ["id", "fund", "year", "rule", "parameters", "underspend", "agreed_on", "notes"]


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
    underspend = TextField(
        required=False,
        allow_null=True,
        default=None,
        help_text="return_pro_rata (default), retain or carry_forward",
    )


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


# ---- the financial year cycle ---------------------------------------------------------------------


class FinancialYearSerializer(serializers.ModelSerializer):
    periods = serializers.SerializerMethodField()

    class Meta:
        model = FinancialYear
        fields = ["id", "code", "start_date", "end_date", "periods"]

    def get_periods(self, year: FinancialYear) -> list[str]:
        return [p.code for p in year.periods.all()]


class FinancialYearInput(serializers.Serializer):
    code = TextField(help_text="e.g. 2018/19")
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class AreaRatesInput(serializers.Serializer):
    uplift_pct = TextField(required=False, allow_blank=True, default="")
    efficiency_pct = TextField(required=False, allow_blank=True, default="")


class RollForwardInput(serializers.Serializer):
    year = TextField(help_text="the year to set, e.g. 2017/18")
    from_year = TextField(required=False, allow_blank=True, default="")
    uplift_pct = TextField(required=False, allow_blank=True, default="")
    efficiency_pct = TextField(required=False, allow_blank=True, default="")
    service_areas = serializers.DictField(
        child=AreaRatesInput(), required=False, default=dict, help_text="{service area code: rates}"
    )
    contribution_uplift_pct = TextField(required=False, allow_blank=True, default="")
    partner_uplifts = serializers.DictField(
        child=TextField(), required=False, default=dict, help_text="{code: pct}"
    )
    replace_draft = serializers.BooleanField(required=False, default=False)
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class ReceiptSerializer(serializers.ModelSerializer):
    fund = serializers.IntegerField(source="contribution.fund_id")
    year = serializers.CharField(source="contribution.year.code")
    partner = serializers.CharField(source="contribution.partner.code")

    class Meta:
        model = ContributionReceipt
        fields = [
            "id",
            "contribution",
            "fund",
            "year",
            "partner",
            "received_on",
            "amount",
            "reference",
            "recorded_by",
            "recorded_at",
        ]


class ReceiptInput(serializers.Serializer):
    fund = serializers.IntegerField()
    year = TextField()
    partner = TextField(help_text="organisation code")
    amount = MoneyField()
    received_on = TextField(help_text="YYYY-MM-DD")
    reference = TextField(allow_blank=True)


class SavingsSchemeSerializer(serializers.ModelSerializer):
    year = serializers.CharField(source="year.code")
    lead_commissioner = serializers.CharField(source="lead_commissioner.code")
    lines = serializers.SerializerMethodField()
    planned = serializers.ListField(child=money())
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = SavingsScheme
        fields = [
            "id",
            "fund",
            "year",
            "code",
            "name",
            "lead_commissioner",
            "lines",
            "planned",
            "forecast_delivery",
            "commentary",
            "deliveries",
        ]

    def get_lines(self, scheme: SavingsScheme) -> list[str]:
        return [line.code for line in scheme.lines.all()]

    def get_deliveries(self, scheme: SavingsScheme) -> dict[str, str]:
        return {f"M{d.month:02d}": str(d.amount) for d in scheme.deliveries.all()}


class SavingsSchemeInput(serializers.Serializer):
    fund = serializers.IntegerField()
    year = TextField()
    code = TextField()
    name = TextField()
    lead_commissioner = TextField(help_text="organisation code")
    lines = serializers.ListField(child=TextField(), default=list, help_text="line codes")
    planned = serializers.ListField(child=MoneyField(), help_text="12 monthly amounts")
    commentary = TextField(multiline=True, required=False, allow_blank=True, default="")


class SavingsSchemeUpdateInput(serializers.Serializer):
    name = TextField(required=False)
    lines = serializers.ListField(child=TextField(), required=False)
    planned = serializers.ListField(child=MoneyField(), required=False)
    forecast_delivery = MoneyField(
        required=False, allow_null=True, help_text="the lead's forecast; null clears it"
    )
    commentary = TextField(multiline=True, required=False, allow_blank=True)
    reason = TextField(multiline=True, required=False, allow_blank=True, default="")


class SavingsDeliveryInput(serializers.Serializer):
    month = TextField(help_text="1..12 (or M01..M12)")
    amount = MoneyField()
    commentary = TextField(multiline=True, required=False, allow_blank=True, default="")
