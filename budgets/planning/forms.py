"""Browser forms for the commissioner workspace. They parse input; the services hold the rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from budgets.choosers import LineChooserField
from budgets.models.lines import MONTH_FIELDS
from budgets.planning import phasing
from gmhsc.forms import GovukForm, MoneyField
from gmhsc.text import TextFormField

MONTH_LABELS = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar")
INPUT = "govuk-input"
MONEY_INPUT = "govuk-input govuk-input--width-10"


def change_reason_field() -> TextFormField:
    """The optional one-line reason a change to a line is saved with (its history shows it)."""
    return TextFormField(
        label="Reason for the change",
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"class": INPUT}),
    )


def checkbox_field(label: str) -> forms.BooleanField:
    return forms.BooleanField(
        label=label,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "govuk-checkboxes__input"}),
    )


class LineEditForm(GovukForm):
    """Name, annual budget and recurrent flag of a draft line (the table's inline edit)."""

    name = TextFormField(
        label="Line name", max_length=200, widget=forms.TextInput(attrs={"class": INPUT})
    )
    annual_budget = MoneyField(
        label="Annual budget",
        help_text="In pounds. The monthly phasing is re-spread by the line's method.",
    )
    recurrent = checkbox_field("Recurrent (continues next year)")
    reason = change_reason_field()
    version = forms.IntegerField(widget=forms.HiddenInput)

    @classmethod
    def initial_for(cls, line: Any) -> dict[str, Any]:
        return {
            "name": line.name,
            "annual_budget": f"{line.current_budget:.2f}",
            "recurrent": line.recurrent,
            "version": line.version,
            "reason": "",
        }


class PhasingForm(GovukForm):
    """Twelve monthly amounts typed by hand (custom phasing). They must add up to the annual budget,
    unless the person asks for the annual budget to become their total (draft budgets only)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    set_annual_budget = checkbox_field("Set the annual budget to the months' total")
    reason = change_reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field, label in zip(MONTH_FIELDS, MONTH_LABELS, strict=True):
            self.fields[field] = MoneyField(
                label=label,
                widget=forms.TextInput(
                    attrs={
                        "class": "govuk-input govuk-input--width-7",
                        "inputmode": "decimal",
                        "spellcheck": "false",
                    }
                ),
            )

    @classmethod
    def initial_for(cls, line: Any) -> dict[str, Any]:
        data: dict[str, Any] = {f: f"{getattr(line, f):.2f}" for f in MONTH_FIELDS}
        data["version"] = line.version
        return data

    def month_fields(self) -> list[Any]:
        return [self[f] for f in MONTH_FIELDS]

    def months(self) -> list[Decimal]:
        return [self.cleaned_data[f] for f in MONTH_FIELDS]


RESPREAD_CHOICES = (
    (phasing.FLAT, "Flat: the same every month"),
    (phasing.SEASONAL, "Seasonal: more in winter"),
    (phasing.LAST_YEAR, "Last year's pattern of spend"),
)


class RephaseForm(GovukForm):
    method = forms.ChoiceField(
        label="Re-spread the budget",
        choices=RESPREAD_CHOICES,
        widget=forms.Select(attrs={"class": "govuk-select"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class ForecastForm(GovukForm):
    period = forms.ChoiceField(label="Month", widget=forms.Select(attrs={"class": "govuk-select"}))
    amount = MoneyField(label="Forecast outturn for the year")
    commentary = TextFormField(
        label="Commentary",
        required=False,
        help_text="Required when the forecast is amber or red.",
        widget=forms.Textarea(attrs={"class": "govuk-textarea", "rows": 3}),
    )

    def __init__(self, *args: Any, periods: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [(p.code, p.code) for p in periods]  # type: ignore[attr-defined]


class VirementForm(GovukForm):
    from_line = LineChooserField(label="Move budget from line")
    to_line = LineChooserField(label="Move budget to line")
    amount = MoneyField(label="Amount")
    recurrent = forms.TypedChoiceField(
        label="Is this a recurrent or one-off change?",
        choices=(
            ("one-off", "One-off: this year only"),
            ("recurrent", "Recurrent: this year and future years"),
        ),
        coerce=lambda v: v == "recurrent",
        widget=forms.RadioSelect(attrs={"class": "govuk-radios__input"}),
        initial="one-off",
    )
    reason = TextFormField(
        label="Reason", widget=forms.Textarea(attrs={"class": "govuk-textarea", "rows": 3})
    )

    def __init__(self, *args: Any, lines: Any, **kwargs: Any) -> None:
        """`lines`: the lines that may be chosen (a queryset; only matches are listed)."""
        super().__init__(*args, **kwargs)
        for name in ("from_line", "to_line"):
            field = self.fields[name]
            assert isinstance(field, LineChooserField)
            field.queryset = lines

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from_line") and data.get("from_line") == data.get("to_line"):
            self.add_error("to_line", "Choose a different line to move the budget to")
        return data


class DecisionForm(GovukForm):
    note = TextFormField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"class": "govuk-textarea", "rows": 2}),
    )
