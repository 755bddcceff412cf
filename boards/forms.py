"""Forms for board pages. Validation of business rules stays in services; forms parse input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from boards.models import ActionItem, AgendaItem, Decision, Declaration, GiftHospitality, Interest
from budgets.models import Virement
from commissioning.selectors import awaiting_board
from gmhsc.forms import GovukDateField, GovukForm, MoneyField
from gmhsc.text import TextFormField
from localities.models import Organisation, User


def awaiting_awards(meeting: Any) -> list[Any]:
    """Contract decisions awaiting this meeting's board."""
    return awaiting_board(meeting.board.funds.values_list("id", flat=True))


class MeetingForm(GovukForm):
    title = TextFormField(max_length=200)
    date = GovukDateField(label="Date of the meeting", help_text="For example, 12 10 2016")
    time = TextFormField(
        label="Start time",
        max_length=5,
        help_text="24-hour clock, for example 14:00",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-5", "inputmode": "numeric"}),
    )
    location = TextFormField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        when, text = data.get("date"), (data.get("time") or "").strip()
        if when is not None and text:
            try:
                hour, minute = (int(part) for part in text.replace(".", ":").split(":"))
                data["starts_at"] = timezone.make_aware(
                    dt.datetime.combine(when, dt.time(hour, minute))
                )
            except ValueError:
                self.add_error("time", "Enter the start time as hours and minutes, like 14:00")
        return data


class AgendaItemForm(GovukForm):
    id_prefix = "item"

    title = TextFormField(max_length=200)
    purpose = forms.ChoiceField(choices=AgendaItem.Purpose.choices)
    presenter = TextFormField(max_length=120, required=False)
    is_private = forms.BooleanField(label="Private (part B) item", required=False)
    paper = forms.FileField(label="Paper (PDF)", required=False)
    organisations = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.order_by("name"),
        required=False,
        label="Organisations the item concerns",
        help_text="Providers and contract counterparties, used to find possible conflicts.",
    )


class MinutesForm(GovukForm):
    id_prefix = "minutes"

    minutes = TextFormField(widget=forms.Textarea(attrs={"rows": 8}), required=False)


class DecisionForm(GovukForm):
    id_prefix = "decision"

    text = TextFormField(label="Decision", widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(choices=Decision.Outcome.choices)
    item = forms.ModelChoiceField(queryset=AgendaItem.objects.none(), required=False)
    amount = MoneyField(required=False, label="Amount (£)")
    virement = forms.ModelChoiceField(
        queryset=Virement.objects.none(), required=False, label="Virement awaiting the board"
    )
    contract_decision = forms.TypedChoiceField(
        choices=[],
        coerce=int,
        required=False,
        empty_value=None,
        label="Contract award awaiting the board",
    )
    conflicts_declared = TextFormField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    conflicts_handling = TextFormField(
        label="How conflicts were handled", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args: Any, meeting: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if meeting is not None:
            self.fields["item"].queryset = meeting.items.all()  # type: ignore[attr-defined]
            self.fields["virement"].queryset = Virement.objects.filter(  # type: ignore[attr-defined]
                fund__in=meeting.board.funds.all(), status=Virement.Status.AWAITING_BOARD
            ).select_related("from_line", "to_line")
            self.awards = {a.pk: a for a in awaiting_awards(meeting)}
            self.fields["contract_decision"].choices = [("", "None")] + [  # type: ignore[attr-defined]
                (pk, str(award)) for pk, award in self.awards.items()
            ]


class ActionForm(GovukForm):
    id_prefix = "action"

    description = TextFormField(widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(queryset=User.objects.none())
    due_date = GovukDateField(label="Due date")

    def __init__(self, *args: Any, meeting: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if meeting is not None:
            self.fields["owner"].queryset = User.objects.filter(  # type: ignore[attr-defined]
                board_memberships__board=meeting.board
            ).order_by("last_name")


class ActionUpdateForm(GovukForm):
    id_prefix = "action_update"

    status = forms.ChoiceField(choices=ActionItem.Status.choices)
    update_note = TextFormField(required=False)


class DeclarationForm(GovukForm):
    id_prefix = "declaration"

    person = forms.ModelChoiceField(queryset=User.objects.none())
    item = forms.ModelChoiceField(queryset=AgendaItem.objects.none(), required=False)
    description = TextFormField()
    action_taken = forms.ChoiceField(choices=Declaration.Action.choices)

    def __init__(self, *args: Any, meeting: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if meeting is not None:
            self.fields["person"].queryset = User.objects.filter(  # type: ignore[attr-defined]
                board_memberships__board=meeting.board
            ).order_by("last_name")
            self.fields["item"].queryset = meeting.items.all()  # type: ignore[attr-defined]


class InterestForm(GovukForm):
    kind = forms.ChoiceField(label="Type of interest", choices=Interest.Kind.choices)
    description = TextFormField(widget=forms.Textarea(attrs={"rows": 3}))
    relationship = TextFormField(
        required=False,
        max_length=120,
        help_text="For an indirect interest: who holds it (e.g. spouse).",
    )
    related_organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"), required=False
    )
    related_organisation_name = TextFormField(
        required=False, max_length=200, label="Or the organisation's name, if not listed"
    )
    position = TextFormField(required=False, max_length=200)
    valid_from = GovukDateField(label="From")
    valid_to = GovukDateField(label="To", required=False)
    mitigation = TextFormField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    consent_to_publish = forms.BooleanField(required=False, initial=True)
    no_consent_reason = TextFormField(required=False, max_length=300)


class GiftForm(GovukForm):
    kind = forms.ChoiceField(choices=GiftHospitality.Kind.choices)
    description = TextFormField(max_length=300)
    offered_by = TextFormField(max_length=200)
    from_supplier = forms.BooleanField(required=False, label="From a supplier or contractor")
    value = MoneyField(label="Value (£)")
    offered_on = GovukDateField(label="Offered on")
    accepted = forms.BooleanField(required=False)
    senior_approver = forms.ModelChoiceField(
        queryset=User.objects.order_by("last_name"), required=False
    )


class PackForm(GovukForm):
    id_prefix = "pack"

    change_note = TextFormField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed for a supplement: say what changed since the last version.",
    )
