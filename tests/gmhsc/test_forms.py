"""One GOV.UK form path (gmhsc.forms): labels, hints and errors wired to ids that exist, errors
that name the field, day/month/year dates, no "---------"; the known offenders use it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django import forms
from django.urls import reverse

from gmhsc.forms import GovukDateField, GovukForm, MoneyField
from localities.models import Organisation
from tests.pages import Page, form_problems


class Example(GovukForm):
    description = forms.CharField(help_text="What the interest is")
    outcome = forms.ChoiceField(choices=[("", "Choose an outcome"), ("approved", "Approved")])
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    partner = forms.ModelChoiceField(queryset=Organisation.objects.none(), required=False)
    amount = MoneyField(label="Amount")
    since = GovukDateField(label="Date it started")


def render(form: GovukForm) -> str:
    from django.template.loader import render_to_string

    return render_to_string("includes/error_summary.html", {"form": form}) + "".join(
        str(form[name].as_field_group()) for name in form.fields
    )


def test_errors_name_their_field_and_link_to_its_first_input(db):
    form = Example(data={})
    assert not form.is_valid()
    assert form.errors == {
        "description": ["Enter a description"],
        "outcome": ["Choose an outcome"],
        "organisation": ["Choose an organisation"],
        "amount": ["Enter an amount"],
        "since": ["Enter a date it started"],
    }
    html = render(form)
    assert '<a href="#id_description">Enter a description</a>' in html
    assert '<a href="#id_since_0">Enter a date it started</a>' in html  # the day box
    assert "This field is required." not in html
    assert form_problems(Page("/", html)) == []


def test_hints_and_errors_are_wired_to_ids_that_exist(db):
    html = render(Example(data={"amount": "12.345"}))
    described = re.search(r'<input[^>]*name="description"[^>]*>', html).group(0)
    assert 'aria-describedby="id_description_helptext id_description_error"' in described
    assert 'id="id_description_helptext"' in html
    assert 'id="id_description_error"' in html
    assert 'class="govuk-input govuk-input--error"' in described
    assert "Enter an amount in pounds, like 125000 or 125000.50" in html


def test_choices_never_offer_dashes(db):
    html = render(Example())
    assert "---------" not in html
    assert '<option value="" selected>Choose an organisation</option>' in html
    assert '<option value="" selected>None</option>' in html  # optional


@pytest.mark.parametrize(
    ("day", "month", "year", "result"),
    [
        ("27", "3", "2017", dt.date(2017, 3, 27)),
        ("31", "2", "2017", "Date it started must be a real date, like 27 3 2017"),
        ("", "3", "2017", "Date it started must include a day"),
        ("1", "", "", "Date it started must include a month and a year"),
    ],
)
def test_dates_are_day_month_and_year(db, day, month, year, result):
    form = Example(data={"since_day": day, "since_month": month, "since_year": year})
    form.is_valid()
    if isinstance(result, dt.date):
        assert form.cleaned_data["since"] == result
    else:
        assert form.errors["since"] == [result]
    html = str(form["since"].as_field_group())
    assert '<fieldset class="govuk-fieldset" role="group"' in html
    for part, label in (("0", "Day"), ("1", "Month"), ("2", "Year")):
        assert (
            f'<label class="govuk-label govuk-date-input__label" for="id_since_{part}">{label}</label>'
            in html
        )


def test_the_ledger_upload_names_the_missing_file(db, client):
    from tests.budgets.factories import ledger_world

    w = ledger_world()
    client.force_login(w.fin_host)
    refused = client.post(reverse("budgets:ledger-imports"), {}).content.decode()
    assert '<a href="#id_file">Choose a ledger file</a>' in refused
    assert "govuk-file-upload govuk-file-upload--error" in refused
    assert form_problems(Page("/budgets/ledger/imports/", refused)) == []
