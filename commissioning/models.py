"""What the pooled money buys: services, providers, contracts and their commitment profiles,
contract decisions (the procurement decisions register) and Better Care Fund schemes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models import BudgetLine, FinancialYear, PooledFund, ServiceArea
from budgets.models.fields import MoneyField
from gmhsc.money import format_money
from localities.models import Locality, Organisation


class Provider(models.Model):
    """Who delivers a contract: an NHS trust of the reference data, or a provider a user added."""

    class Kind(models.TextChoices):
        NHS_TRUST = "nhs_trust", "NHS trust"
        INDEPENDENT = "independent", "Independent sector"
        VOLUNTARY = "voluntary", "Voluntary and community sector"
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        GP_PRACTICE = "gp_practice", "GP practice or federation"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="provider",
        null=True,
        blank=True,
        help_text="Set for NHS trusts and other organisations of the reference data.",
    )
    companies_house_number = models.CharField(max_length=20, blank=True)
    added_by = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A service commissioned from the pool: what, where and in which care setting."""

    class CareSetting(models.TextChoices):
        ACUTE = "acute", "Acute hospital"
        COMMUNITY = "community", "Community"
        HOME = "home", "Home-based"
        RESIDENTIAL = "residential", "Residential and nursing care"
        PRIMARY = "primary", "Primary care"
        MENTAL_HEALTH = "mental_health", "Mental health"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    service_area = models.ForeignKey(
        ServiceArea, on_delete=models.PROTECT, related_name="commissioned_services"
    )
    locality = models.ForeignKey(
        Locality,
        on_delete=models.PROTECT,
        related_name="commissioned_services",
        null=True,
        blank=True,
    )
    care_setting = models.CharField(max_length=20, choices=CareSetting.choices)
    commissioner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="commissioned_services"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["commissioner", "name"], name="uniq_service_name_per_commissioner"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contract(models.Model):
    """A contract with a provider, paid from budget lines of one fund, profiled by month.

    The commitment profile (ContractCommitment rows over all its lines) sums exactly to `value`,
    the contract's value for `year`; commissioning.services feeds it to budgets' commitments.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROCUREMENT = "in_procurement", "In procurement"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PLANNED: {Status.IN_PROCUREMENT, Status.ACTIVE, Status.ENDED},
        Status.IN_PROCUREMENT: {Status.ACTIVE, Status.PLANNED, Status.ENDED},
        Status.ACTIVE: {Status.ENDED},
        Status.ENDED: set(),
    }

    reference = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="contracts")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="contracts")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="contracts")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="contracts")
    commissioner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contracts"
    )
    value = MoneyField(help_text="Value for the financial year; the profile sums to it.")
    start_date = models.DateField()
    end_date = models.DateField()
    extension_options = models.CharField(
        max_length=200, blank=True, help_text="For example: 2 x 12 months."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="contract_value_gte_0"),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="contract_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["end_date"]), models.Index(fields=["fund", "year"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def source_ref(self) -> str:
        return f"contract:{self.pk}"


class ContractLine(models.Model):
    """A budget line a contract is paid from."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="contract_lines")
    line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="contract_lines")

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract_id", "line__code"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "line"], name="uniq_contract_line")
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} line {self.line_id}"


class ContractCommitment(models.Model):
    """One month of a contract line's commitment profile (period 1 = April .. 12 = March)."""

    contract_line = models.ForeignKey(
        ContractLine, on_delete=models.CASCADE, related_name="commitments"
    )
    period_number = models.PositiveSmallIntegerField()
    amount = MoneyField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract_line_id", "period_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_line", "period_number"], name="uniq_contract_commitment"
            ),
            models.CheckConstraint(
                condition=models.Q(period_number__gte=1) & models.Q(period_number__lte=12),
                name="contract_commitment_period_1_12",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="contract_commitment_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_line} M{self.period_number:02d}: {format_money(self.amount)}"


class ContractDecision(models.Model):
    """An award, extension, variation or termination: one entry of the procurement decisions
    register. Within the fund's officer limit the recording officer decides; above it, the board
    that oversees the fund does (boards.services.decision_record calls back into services)."""

    class Kind(models.TextChoices):
        AWARD = "award", "Award"
        EXTENSION = "extension", "Extension"
        VARIATION = "variation", "Variation"
        TERMINATION = "termination", "Termination"

    class Status(models.TextChoices):
        AWAITING_BOARD = "awaiting_board", "Awaiting a board decision"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected by the board"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Route(models.TextChoices):
        OFFICER = "officer", "Officer within delegation"
        BOARD = "board", "Board"

    class ProcurementRoute(models.TextChoices):
        OPEN = "open", "Open tender"
        RESTRICTED = "restricted", "Restricted tender"
        FRAMEWORK = "framework", "Call-off from a framework"
        SINGLE = "single_tender", "Single tender waiver"
        ANY_QUALIFIED = "any_qualified", "Any qualified provider"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="decisions")
    fund = models.ForeignKey(
        PooledFund, on_delete=models.PROTECT, related_name="contract_decisions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = MoneyField()
    new_end_date = models.DateField(
        null=True, blank=True, help_text="Extensions and terminations: the contract's new end."
    )
    procurement_route = models.CharField(
        max_length=20, choices=ProcurementRoute.choices, default=ProcurementRoute.NOT_APPLICABLE
    )
    summary = models.TextField()
    participants = models.TextField(help_text="Who took part in the decision, one per line.")
    conflicts_declared = models.TextField(blank=True)
    conflicts_handling = models.TextField(blank=True)
    route = models.CharField(max_length=10, choices=Route.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    board_decision_reference = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="contract_decision_gte_0")
        ]
        indexes = [models.Index(fields=["fund", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.contract.reference}: {format_money(self.value)}"


# ---- Better Care Fund ---------------------------------------------------------------------------


class BcfScheme(models.Model):
    """One scheme of a Health and Wellbeing Board area's BCF plan (the fund's locality)."""

    class SchemeType(models.TextChoices):
        ASSISTIVE_TECH = "assistive_technology", "Assistive technologies"
        CARE_COORDINATION = "care_coordination", "Integrated care planning and coordination"
        COMMUNITY_BASED = "community_based", "Community-based schemes"
        DFG = "dfg", "Disabled Facilities Grant and housing adaptations"
        DISCHARGE = "discharge", "Hospital discharge and reablement"
        INTERMEDIATE = "intermediate_care", "Intermediate care"
        CARERS = "carers", "Carers' services"
        PREVENTION = "prevention", "Prevention and early intervention"
        PROTECTING_SOCIAL_CARE = "protect_social_care", "Protecting social care"
        OTHER = "other", "Other"

    class LeadCommissioner(models.TextChoices):
        CCG = "ccg", "CCG"
        LA = "la", "Local authority"
        JOINT = "joint", "Joint"

    class ProviderType(models.TextChoices):
        NHS_ACUTE = "nhs_acute", "NHS acute provider"
        NHS_COMMUNITY = "nhs_community", "NHS community provider"
        NHS_MENTAL_HEALTH = "nhs_mental_health", "NHS mental health provider"
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        PRIVATE = "private", "Private sector"
        CHARITY = "charity", "Charity or voluntary sector"
        OTHER = "other", "Other"

    class AreaOfSpend(models.TextChoices):
        SOCIAL_CARE = "social_care", "Social care"
        COMMUNITY_HEALTH = "community_health", "Community health"
        ACUTE = "acute", "Acute"
        MENTAL_HEALTH = "mental_health", "Mental health"
        PRIMARY_CARE = "primary_care", "Primary care"
        OTHER = "other", "Other"

    class FundingSource(models.TextChoices):
        CCG_MINIMUM = "ccg_minimum", "CCG minimum contribution"
        DFG = "dfg", "Disabled Facilities Grant"
        ADDITIONAL_CCG = "additional_ccg", "Additional CCG contribution"
        ADDITIONAL_LA = "additional_la", "Additional local authority contribution"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="bcf_schemes")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="bcf_schemes")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    scheme_type = models.CharField(max_length=30, choices=SchemeType.choices)
    lead_commissioner = models.CharField(max_length=10, choices=LeadCommissioner.choices)
    provider_type = models.CharField(max_length=20, choices=ProviderType.choices)
    area_of_spend = models.CharField(max_length=20, choices=AreaOfSpend.choices)
    funding_source = models.CharField(max_length=20, choices=FundingSource.choices)
    planned_spend = MoneyField()
    actual_q1 = MoneyField(default=Decimal("0.00"))
    actual_q2 = MoneyField(default=Decimal("0.00"))
    actual_q3 = MoneyField(default=Decimal("0.00"))
    actual_q4 = MoneyField(default=Decimal("0.00"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "code"], name="uniq_bcf_scheme"),
            models.CheckConstraint(
                condition=models.Q(planned_spend__gte=0)
                & models.Q(actual_q1__gte=0)
                & models.Q(actual_q2__gte=0)
                & models.Q(actual_q3__gte=0)
                & models.Q(actual_q4__gte=0),
                name="bcf_scheme_amounts_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def actual_spend(self) -> Decimal:
        return self.actual_q1 + self.actual_q2 + self.actual_q3 + self.actual_q4

    def actual_to(self, quarter: int) -> Decimal:
        quarters = [self.actual_q1, self.actual_q2, self.actual_q3, self.actual_q4]
        return sum(quarters[:quarter], Decimal("0.00"))


BCF_CONDITIONS: dict[int, str] = {
    1: "Plan agreed jointly, signed off by the Health and Wellbeing Board, the council and the CCG(s)",
    2: "Provision of social care services maintained",
    3: "7-day health and social care services to avoid non-elective admissions and support discharge",
    4: "Better data sharing, using the NHS number as the consistent identifier",
    5: "Joint approach to assessment and care planning, with an accountable professional",
    6: "Agreement on the consequential impact of changes on providers (acute sector)",
    7: "Investment in NHS-commissioned out-of-hospital services",
    8: "Local action plan to reduce delayed transfers of care",
}

BCF_METRICS: dict[str, tuple[str, str]] = {
    "BCF1": (
        "Total non-elective admissions to hospital (general and acute), all ages",
        "per 100,000 population",
    ),
    "BCF2": (
        "Permanent admissions of people aged 65+ to residential and nursing care homes",
        "per 100,000 population aged 65+",
    ),
    "BCF3": (
        "Proportion of people aged 65+ still at home 91 days after discharge into reablement",
        "%",
    ),
    "BCF4": (
        "Delayed transfers of care (delayed days) from hospital",
        "per 100,000 population (18+)",
    ),
    "BCF5": ("Patient / service-user experience", "survey measure"),
    "BCF6": ("Locally chosen metric", "local"),
}


class BcfCondition(models.Model):
    """The national conditions checklist: one row per condition per BCF pool per year."""

    class Status(models.TextChoices):
        MET = "met", "Met"
        PARTIALLY_MET = "partially_met", "Partially met"
        NOT_MET = "not_met", "Not met"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="bcf_conditions")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(choices=[(n, str(n)) for n in BCF_CONDITIONS])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_MET)
    commentary = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "number"], name="uniq_bcf_condition")
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} condition {self.number}: {self.status}"

    @property
    def text(self) -> str:
        return BCF_CONDITIONS.get(self.number, "")


class BcfMetric(models.Model):
    """Plan and actual for one national metric (BCF1..BCF6) in one quarter."""

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="bcf_metrics")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=4, choices=[(c, c) for c in BCF_METRICS])
    quarter = models.PositiveSmallIntegerField(choices=[(q, f"Q{q}") for q in range(1, 5)])
    plan = models.DecimalField(max_digits=14, decimal_places=2)
    actual = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    local_definition = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "code", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "year", "code", "quarter"], name="uniq_bcf_metric"
            ),
            models.CheckConstraint(
                condition=models.Q(plan__gte=0, plan__lte=100_000_000)
                & (
                    models.Q(actual__isnull=True) | models.Q(actual__gte=0, actual__lte=100_000_000)
                ),
                name="bcf_metric_0_to_100m",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.code} Q{self.quarter}"
