"""Browser forms for commissioners. They parse input; commissioning.services holds the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from commissioning.models import (
    BCF_CONDITIONS,
    BCF_METRICS,
    BcfCondition,
    BcfScheme,
    Contract,
    ContractDecision,
    Provider,
    Service,
)
from gmhsc.forms import GovukDateField, GovukForm, MoneyField

INPUT = {"class": "govuk-input"}
SELECT = {"class": "govuk-select"}
TEXTAREA = {"class": "govuk-textarea", "rows": 3}
LINE_SLOTS = 3


class _ChoicesMixin:
    def _choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]  # type: ignore[attr-defined]
        field.choices = choices


def _add_line_fields(form: forms.Form, lines: list[Any]) -> None:
    line_choices = [("", "No line")] + [(str(ln.pk), f"{ln.code} {ln.name}") for ln in lines]
    for i in range(1, LINE_SLOTS + 1):
        form.fields[f"line_{i}"] = forms.ChoiceField(
            label=f"Budget line {i}",
            required=i == 1,
            choices=line_choices,
            widget=forms.Select(attrs=SELECT),
        )
        form.fields[f"amount_{i}"] = MoneyField(
            label=f"Amount committed on line {i}",
            required=False,
            help_text="Spread evenly over the contract's months in the year.",
        )


class _LineAmountsMixin:
    def line_amounts(self) -> list[tuple[str, Any]]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return [
            (data[f"line_{i}"], data.get(f"amount_{i}"))
            for i in range(1, LINE_SLOTS + 1)
            if data.get(f"line_{i}")
        ]


class ContractForm(_LineAmountsMixin, _ChoicesMixin, GovukForm):
    reference = forms.CharField(max_length=40, widget=forms.TextInput(attrs=INPUT))
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs=INPUT))
    service = forms.ChoiceField(widget=forms.Select(attrs=SELECT))
    provider = forms.ChoiceField(widget=forms.Select(attrs=SELECT))
    value = MoneyField(label="Value for the year", help_text="In pounds, for example 240000")
    start_date = GovukDateField()
    end_date = GovukDateField()
    extension_options = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs=INPUT)
    )
    status = forms.ChoiceField(choices=Contract.Status.choices, widget=forms.Select(attrs=SELECT))

    def __init__(
        self,
        *args: Any,
        lines: list[Any],
        services: list[Service],
        providers: list[Provider],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choices(
            "service", [("", "Choose a service")] + [(str(s.pk), s.name) for s in services]
        )
        self._choices(
            "provider", [("", "Choose a provider")] + [(str(p.pk), p.name) for p in providers]
        )
        _add_line_fields(self, lines)


class ContractProfileForm(_LineAmountsMixin, GovukForm):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs=INPUT))
    value = MoneyField(label="Value for the year", help_text="In pounds, for example 240000")
    start_date = GovukDateField()
    end_date = GovukDateField()
    extension_options = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs=INPUT)
    )

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_line_fields(self, lines)


class ProviderForm(GovukForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=INPUT))
    kind = forms.ChoiceField(
        choices=[c for c in Provider.Kind.choices if c[0] != Provider.Kind.NHS_TRUST],
        widget=forms.Select(attrs=SELECT),
    )
    companies_house_number = forms.CharField(
        required=False, max_length=20, widget=forms.TextInput(attrs=INPUT)
    )


class ServiceForm(_ChoicesMixin, GovukForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=INPUT))
    service_area = forms.ChoiceField(widget=forms.Select(attrs=SELECT))
    locality = forms.ChoiceField(required=False, widget=forms.Select(attrs=SELECT))
    care_setting = forms.ChoiceField(
        choices=Service.CareSetting.choices, widget=forms.Select(attrs=SELECT)
    )

    def __init__(self, *args: Any, areas: list[Any], localities: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices(
            "service_area",
            [("", "Choose a service area")] + [(str(a.pk), f"{a.code} {a.name}") for a in areas],
        )
        self._choices(
            "locality",
            [("", "Greater Manchester-wide")] + [(str(loc.pk), loc.name) for loc in localities],
        )


class DecisionForm(GovukForm):
    kind = forms.ChoiceField(
        choices=ContractDecision.Kind.choices, widget=forms.Select(attrs=SELECT)
    )
    value = MoneyField(label="Value of the decision")
    new_end_date = GovukDateField(
        required=False, label="New end date (extensions and terminations)"
    )
    procurement_route = forms.ChoiceField(
        choices=ContractDecision.ProcurementRoute.choices, widget=forms.Select(attrs=SELECT)
    )
    summary = forms.CharField(widget=forms.Textarea(attrs=TEXTAREA))
    participants = forms.CharField(
        label="Who took part",
        help_text="One person per line, with their role.",
        widget=forms.Textarea(attrs=TEXTAREA),
    )
    conflicts_declared = forms.CharField(required=False, widget=forms.Textarea(attrs=TEXTAREA))
    conflicts_handling = forms.CharField(
        required=False, label="How conflicts were handled", widget=forms.Textarea(attrs=TEXTAREA)
    )


class BcfSchemeForm(GovukForm):
    code = forms.CharField(max_length=20, widget=forms.TextInput(attrs=INPUT))
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=INPUT))
    scheme_type = forms.ChoiceField(
        choices=BcfScheme.SchemeType.choices, widget=forms.Select(attrs=SELECT)
    )
    lead_commissioner = forms.ChoiceField(
        choices=BcfScheme.LeadCommissioner.choices, widget=forms.Select(attrs=SELECT)
    )
    provider_type = forms.ChoiceField(
        choices=BcfScheme.ProviderType.choices, widget=forms.Select(attrs=SELECT)
    )
    area_of_spend = forms.ChoiceField(
        choices=BcfScheme.AreaOfSpend.choices, widget=forms.Select(attrs=SELECT)
    )
    funding_source = forms.ChoiceField(
        choices=BcfScheme.FundingSource.choices, widget=forms.Select(attrs=SELECT)
    )
    planned_spend = MoneyField()
    actual_q1 = MoneyField(required=False, label="Q1 actual")
    actual_q2 = MoneyField(required=False, label="Q2 actual")
    actual_q3 = MoneyField(required=False, label="Q3 actual")
    actual_q4 = MoneyField(required=False, label="Q4 actual")


class BcfConditionForm(GovukForm):
    id_prefix = "condition"  # beside the metric form on the BCF page

    number = forms.TypedChoiceField(
        label="Condition",
        coerce=int,
        choices=[(n, f"{n}. {text}") for n, text in BCF_CONDITIONS.items()],
        widget=forms.Select(attrs=SELECT),
    )
    status = forms.ChoiceField(
        choices=BcfCondition.Status.choices, widget=forms.Select(attrs=SELECT)
    )
    commentary = forms.CharField(required=False, widget=forms.Textarea(attrs=TEXTAREA))


class BcfMetricForm(GovukForm):
    id_prefix = "metric"

    code = forms.ChoiceField(
        label="Metric",
        choices=[(c, f"{c} {label}") for c, (label, _unit) in BCF_METRICS.items()],
        widget=forms.Select(attrs=SELECT),
    )
    quarter = forms.TypedChoiceField(
        coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)], widget=forms.Select(attrs=SELECT)
    )
    plan = forms.DecimalField(max_digits=14, decimal_places=2, widget=forms.TextInput(attrs=INPUT))
    actual = forms.DecimalField(
        required=False, max_digits=14, decimal_places=2, widget=forms.TextInput(attrs=INPUT)
    )
    local_definition = forms.CharField(
        required=False,
        max_length=200,
        label="Local definition (BCF6)",
        widget=forms.TextInput(attrs=INPUT),
    )
