"""Forms for the ledger pages, on the one GOV.UK form path (gmhsc.forms.GovukForm). They only
read and shape input; the rules are in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import validate_slug

from budgets.choosers import LineChooserField
from budgets.ledger.formats import DATE_FORMATS, PROFILE_DATE_FORMATS
from budgets.ledger.profiles import (
    CONSTANT_FIELDS,
    DELIMITER_LABELS,
    ENCODINGS,
    FIELDS,
    OUTSIDE_POOLS,
    ProfileSpec,
)
from budgets.models import LedgerMapping
from gmhsc.forms import GovukForm
from gmhsc.text import TextFormField

SELECT: dict[str, str] = {}
NOT_IN_FILE = ""


def _text(width: int = 10) -> forms.TextInput:
    return forms.TextInput(attrs={"class": f"govuk-input--width-{width}"})


class UploadForm(GovukForm):
    file = forms.FileField(
        label="Ledger file",
        help_text="The gmhsc ledger CSV, or your ledger's own export read through an import "
        "profile; up to 1,000,000 rows.",
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
        error_messages={"required": "Choose a ledger file"},
    )
    profile = forms.ChoiceField(
        label="How to read it",
        required=False,
        widget=forms.Select(attrs=SELECT),
    )
    outside_pools = forms.ChoiceField(
        label="Rows no mapping covers",
        required=False,
        choices=[
            ("", "As the profile says (the gmhsc CSV: refuse the file)"),
            *OUTSIDE_POOLS.items(),
        ],
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, profiles: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["profile"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "The gmhsc ledger CSV (header shown above)")] + [
            (str(p.pk), f"{p.name}{' (ships with gmhsc)' if p.is_shipped else ''}")
            for p in profiles
        ]


MATCH_CHOICES = [
    ("", "Read it from the code (* any, C027* starts with, 5140-5199 a range)"),
    *LedgerMapping.Match.choices,
]


class MappingForm(GovukForm):
    cost_centre = TextFormField(
        max_length=30, widget=_text(), help_text="A code, C027* (starting with), 5140-5199 or *"
    )
    cost_centre_match = forms.ChoiceField(
        label="Match the cost centre", choices=MATCH_CHOICES, required=False,
        widget=forms.Select(attrs=SELECT),
    )  # fmt: skip
    expense_code = TextFormField(
        max_length=30, widget=_text(), help_text="A code, E51* (starting with), 5140-5199 or *"
    )
    expense_code_match = forms.ChoiceField(
        label="Match the expense code", choices=MATCH_CHOICES, required=False,
        widget=forms.Select(attrs=SELECT),
    )  # fmt: skip
    budget_line = LineChooserField(label="Budget line", empty_label="Choose a budget line")

    def __init__(self, *args: Any, lines: Any, **kwargs: Any) -> None:
        """`lines`: the lines a mapping may point at (a queryset; only matches are listed)."""
        super().__init__(*args, **kwargs)
        field = self.fields["budget_line"]
        assert isinstance(field, LineChooserField)
        field.queryset = lines
        field.with_fund = True


class MapPairForm(MappingForm):
    """Map to line: one unmapped pair of a preview, to a budget line found by searching (the
    pair comes from the preview, so only the line is asked for)."""

    id_prefix = "map"

    def __init__(self, *args: Any, lines: Any, **kwargs: Any) -> None:
        super().__init__(*args, lines=lines, **kwargs)
        for name in ("cost_centre", "cost_centre_match", "expense_code", "expense_code_match"):
            del self.fields[name]


class WhichForm(GovukForm):
    id_prefix = "which"
    cost_centre = TextFormField(max_length=30, label="Cost centre", widget=_text())
    expense_code = TextFormField(max_length=30, label="Expense code", widget=_text())


class SampleForm(GovukForm):
    """Step 1 of building a profile: a sample file and how to open it."""

    id_prefix = "sample"
    sample = forms.FileField(
        label="A sample of your ledger's export",
        help_text="CSV, text or Excel (.xlsx), as your ledger exports it; up to 20 MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    header_row = forms.IntegerField(
        label="Header row", min_value=1, max_value=100, initial=1,
        help_text="The row that names the columns (rows above it are titles).",
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )  # fmt: skip


class ProfileForm(GovukForm):
    """Step 2: which column is which, the formats, and the profile's name. The column choices
    come from the sample's header."""

    # A slug, cleaned by the one text cleaner first (a SlugField would bypass it).
    name = TextFormField(
        max_length=60, widget=_text(20), validators=[validate_slug],
        help_text="Lower-case letters, digits and hyphens, like council-oracle-monthly.",
    )  # fmt: skip
    title = TextFormField(max_length=200, required=False, widget=_text(30))
    file_type = forms.ChoiceField(
        choices=[("csv", "CSV or text"), ("xlsx", "Excel (.xlsx)")], widget=forms.HiddenInput
    )
    sheet = TextFormField(
        max_length=100, required=False, widget=_text(20),
        help_text="Excel only: the sheet to read (blank: the first).",
    )  # fmt: skip
    encoding = forms.ChoiceField(choices=list(ENCODINGS.items()), widget=forms.Select(attrs=SELECT))
    delimiter = forms.ChoiceField(
        choices=list(DELIMITER_LABELS.items()), widget=forms.Select(attrs=SELECT)
    )
    header_row = forms.IntegerField(
        min_value=1, max_value=100,
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )  # fmt: skip
    footer_rows = forms.IntegerField(
        label="Rows to leave off the end", min_value=0, max_value=100, initial=0,
        help_text="Totals rows below the data (blank rows are always left out).",
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )  # fmt: skip
    line_numbers = forms.ChoiceField(
        label="Line numbers",
        choices=[
            ("column", "From a column of the file"),
            ("number_in_file_order", "Number the lines of each document in file order"),
        ],
        widget=forms.Select(attrs=SELECT),
    )
    date_format = forms.ChoiceField(
        choices=[(k, DATE_FORMATS[k].label) for k in PROFILE_DATE_FORMATS],
        widget=forms.Select(attrs=SELECT),
    )
    amounts = forms.ChoiceField(
        label="Amounts",
        choices=[
            ("amount", "One amount column (£, commas, (brackets) or a trailing minus are fine)"),
            ("debit_credit", "Separate debit and credit columns"),
        ],
        widget=forms.Select(attrs=SELECT),
    )
    outside_pools = forms.ChoiceField(
        label="Rows no mapping covers",
        choices=list(OUTSIDE_POOLS.items()),
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "Not in this file")] + [(c, c) for c in columns if c]
        for name, label in FIELDS.items():
            self.fields[f"column_{name}"] = forms.ChoiceField(
                label=label, choices=choices, required=False, widget=forms.Select(attrs=SELECT)
            )
        for name in CONSTANT_FIELDS:
            self.fields[f"constant_{name}"] = TextFormField(
                label=f"Or the same {FIELDS[name].split(' (')[0].lower()} on every row",
                max_length=200,
                required=False,
                widget=_text(10),
            )

    def column_fields(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each field's column choice, with its constant beside it where it may have one."""
        return [
            (self[f"column_{name}"], self[f"constant_{name}"] if name in CONSTANT_FIELDS else None)
            for name in FIELDS
        ]

    def spec_data(self) -> dict[str, Any]:
        """The profile's settings from the cleaned form (checked by ProfileSpec)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "title": data.get("title", ""),
            "file_type": data["file_type"],
            "sheet": data.get("sheet", ""),
            "encoding": data["encoding"],
            "delimiter": data["delimiter"],
            "header_row": data["header_row"],
            "footer_rows": data.get("footer_rows") or 0,
            "columns": {
                name: [data[f"column_{name}"]] for name in FIELDS if data.get(f"column_{name}")
            },
            "line_numbers": data["line_numbers"],
            "date_format": data["date_format"],
            "amounts": data["amounts"],
            "constants": {
                name: data[f"constant_{name}"]
                for name in CONSTANT_FIELDS
                if data.get(f"constant_{name}")
            },
            "outside_pools": data["outside_pools"],
        }

    @staticmethod
    def initial_from(spec: ProfileSpec, header: list[str]) -> dict[str, Any]:
        """The form's starting values for a profile (and the sample's header, to pick which of a
        field's names the file has)."""
        present = {h.strip().casefold(): h for h in header}
        initial: dict[str, Any] = {
            "name": spec.name,
            "title": spec.title,
            "file_type": spec.file_type,
            "sheet": spec.sheet,
            "encoding": spec.encoding,
            "delimiter": spec.delimiter,
            "header_row": spec.header_row,
            "footer_rows": spec.footer_rows,
            "line_numbers": spec.line_numbers,
            "date_format": spec.date_format,
            "amounts": spec.amounts,
            "outside_pools": spec.outside_pools,
        }
        for name, names in spec.columns.items():
            chosen = next((present[n.casefold()] for n in names if n.casefold() in present), None)
            initial[f"column_{name}"] = chosen or names[0]
        for name, value in spec.constants.items():
            initial[f"constant_{name}"] = value
        return initial
