"""The one GOV.UK Design System path for every browser form in gmhsc.

A form subclasses `GovukForm`. Its fields then render through `templates/includes/field.html`
(`{{ form.name.as_field_group }}` or `{% include "includes/field.html" with field=form.name %}`)
and its problems through `templates/includes/error_summary.html`:

- every input gets its GOV.UK class (`govuk-input`, `govuk-select`, `govuk-textarea`,
  `govuk-file-upload`, `govuk-checkboxes__input`, `govuk-radios__input`) and the `--error`
  modifier when it has an error;
- `aria-describedby` names the hint (`<id>_helptext`) and the error (`<id>_error`), and the field
  template writes elements with exactly those ids (Django's own scheme);
- errors name the field ("Enter a description", "Choose an outcome") instead of Django's "This
  field is required.", and a choice list starts "Choose a ..." (or "None" when optional), never
  "---------";
- dates are GOV.UK day, month and year inputs (`GovukDateField`);
- a service's ApplicationError goes beside its field (`extra["field"]`) or to the top of the form.

Pages that keep their problems in a `{field: message}` dict use the same summary through
`templates/includes/error_summary_fields.html`.

Why our own templates and not a library: crispy-forms-gds (the Django-forms one) last released in
January 2025, declares Django up to 5.1, pins django-crispy-forms below 2.4 and writes GOV.UK
Frontend 5 markup while we ship 6.6; govuk-frontend-django follows Frontend 6 and Django 5.2 but
its form-field tag is not implemented ("Not yet implemented") and it brings Jinja2 and a second
template engine. Django 5.2's own `bound_field_class` and `aria-describedby` ids do the wiring,
so two small templates are the whole path.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField

from gmhsc.money import MoneyError, to_money, typed_amount

DJANGO_REQUIRED = "This field is required."


def _with_article(text: str) -> str:
    lowered = text[:1].lower() + text[1:]
    if lowered.split(" ", 1)[0] in {"the", "your", "a", "an", "who", "how", "why", "what", "when"}:
        return lowered
    return f"{'an' if lowered[:1] in 'aeiou' else 'a'} {lowered}"


def _label(field: forms.Field, name: str) -> str:
    return str(field.label or name.replace("_", " ").capitalize())


class GovukDateInput(forms.MultiWidget):
    """GOV.UK date input: day, month and year boxes (template `includes/date_input.html`)."""

    template_name = "includes/date_input.html"
    use_fieldset = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            "day": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "2"}),
            "month": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "2"}),
            "year": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "4"}),
        }
        super().__init__(widgets, attrs)

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["invalid"] = (attrs or {}).get("aria-invalid") == "true"
        return context

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dt.date):
            return [value.day, value.month, value.year]
        return [None, None, None]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        values = super().value_from_datadict(data, files, name)
        if not any(values) and data.get(name):  # an ISO date posted as one value (the API, tests)
            return self.decompress(dt.date.fromisoformat(str(data[name])))
        return values


class GovukDateField(forms.MultiValueField):
    """A date typed as day, month and year, refused with a message that names the field."""

    widget = GovukDateInput

    def __init__(self, **kwargs: Any) -> None:
        parts = (forms.CharField(), forms.CharField(), forms.CharField())
        super().__init__(fields=parts, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[Any]) -> dt.date | None:
        if not data_list or not any(data_list):
            return None
        label = _label(self, "date")
        if not all(data_list):
            missing = [p for p, v in zip(("day", "month", "year"), data_list, strict=True) if not v]
            raise ValidationError(f"{label} must include a {' and a '.join(missing)}")
        try:
            day, month, year = (int(str(v).strip()) for v in data_list)
            if year < 1900:
                raise ValueError
            return dt.date(year, month, day)
        except ValueError:
            raise ValidationError(f"{label} must be a real date, like 27 3 2017") from None

    def clean(self, value: Any) -> dt.date | None:
        if not value or not any(value):
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        return self.compress(list(value))


class MoneyField(forms.CharField):
    """Pounds and pence typed as text ('1,234.50', '£1234'); cleaned to Decimal by gmhsc.money."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "class": "govuk-input--width-10",
                    "inputmode": "decimal",
                    "spellcheck": "false",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            return to_money(typed_amount(str(text)))
        except MoneyError:
            raise forms.ValidationError(
                f"Enter {_with_article(str(self.label)) if self.label else 'an amount'} in pounds, "
                "like 125000 or 125000.50"
            ) from None


def _widget_kind(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
        return "govuk-checkboxes__input"
    if isinstance(widget, forms.RadioSelect):
        return "govuk-radios__input"
    if isinstance(widget, forms.Select):
        return "govuk-select"
    if isinstance(widget, forms.Textarea):
        return "govuk-textarea"
    if isinstance(widget, forms.ClearableFileInput | forms.FileInput):
        return "govuk-file-upload"
    return "govuk-input"


class GovukBoundField(BoundField):
    """Adds the GOV.UK class (and its error modifier) to the widget; Django adds aria-describedby
    with `<id>_helptext` and `<id>_error`, which includes/field.html writes."""

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if isinstance(widget, forms.HiddenInput | GovukDateInput):
            return attrs
        kind = _widget_kind(widget)
        css = [kind, *str(attrs.get("class") or widget.attrs.get("class") or "").split()]
        if self.errors and kind in ("govuk-input", "govuk-select", "govuk-textarea"):
            css.append(f"{kind}--error")
        if self.errors and kind == "govuk-file-upload":
            css.append("govuk-file-upload--error")
        attrs["class"] = " ".join(dict.fromkeys(css))
        return attrs

    def as_field_group(self) -> Any:
        return self.render("includes/field.html")

    @property
    def kind(self) -> str:
        """How includes/field.html lays the field out."""
        widget = self.field.widget
        if isinstance(widget, forms.HiddenInput):
            return "hidden"
        if isinstance(widget, GovukDateInput):
            return "date"
        if isinstance(widget, forms.RadioSelect):
            return "radios"
        if isinstance(widget, forms.CheckboxSelectMultiple):
            return "checkboxes"
        if isinstance(widget, forms.CheckboxInput):
            return "checkbox"
        return "input"

    @property
    def anchor(self) -> str:
        """The id the error summary links to: the field's first input."""
        if self.kind in ("date", "radios", "checkboxes"):
            return f"{self.auto_id}_0"
        return str(self.id_for_label or self.auto_id)

    @property
    def describedby(self) -> str:
        """For a fieldset (dates, radios, checkboxes): the hint and error ids it is described by."""
        ids = []
        if self.help_text:
            ids.append(f"{self.auto_id}_helptext")
        if self.errors:
            ids.append(f"{self.auto_id}_error")
        return " ".join(ids)


class GovukForm(forms.Form):
    """Base class of every browser form: GOV.UK fields, errors that name their field, choices
    that say "Choose a ...", and a service's ApplicationError placed beside its field or at the
    top of the form."""

    bound_field_class: Any = GovukBoundField
    # Several forms on one page: give each its own id prefix ("decision" -> id="decision_text").
    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            label = _label(field, name)
            choosing = isinstance(field, forms.ChoiceField | forms.ModelChoiceField)
            if field.error_messages.get("required") == DJANGO_REQUIRED:
                verb = "Choose" if choosing else "Enter"
                if isinstance(field.widget, forms.CheckboxInput):
                    verb = "Tick"
                if isinstance(field.widget, forms.FileInput):
                    verb = "Choose"
                field.error_messages["required"] = f"{verb} {_with_article(label)}"
            if choosing and "That choice is not one" in str(field.error_messages["invalid_choice"]):
                field.error_messages["invalid_choice"] = (
                    f"Choose {_with_article(label)} from the list"
                )
            if isinstance(field, forms.DecimalField | forms.IntegerField):
                field.error_messages["invalid"] = f"Enter {_with_article(label)} as a number"
            if isinstance(field, forms.ModelChoiceField) and field.empty_label == "---------":
                field.empty_label = f"Choose {_with_article(label)}" if field.required else "None"

    def add_service_error(self, exc: Any) -> None:
        field = (exc.extra or {}).get("field")
        self.add_error(field if field in self.fields else None, exc.message)
