"""The boards' forms (interests, gifts, the meeting page) go through the one GOV.UK form path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.pages import Page, form_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(jcb_setup):
    return jcb_setup["member"]


@pytest.mark.parametrize("name", ["boards:my-interests", "boards:my-gifts"])
def test_the_interest_and_gift_forms_are_govuk_forms(client, member, name):
    client.force_login(member)
    page = client.get(reverse(name)).content.decode()
    assert "---------" not in page
    assert 'type="date"' not in page
    assert 'class="govuk-date-input"' in page
    assert form_problems(Page(reverse(name), page)) == []
    refused = client.post(reverse(name), {}).content.decode()
    assert '<a href="#id_description">Enter a description</a>' in refused
    assert 'id="id_description_error"' in refused
    assert form_problems(Page(reverse(name), refused)) == []


def test_a_gift_typed_as_day_month_and_year_is_recorded(client, member):
    client.force_login(member)
    response = client.post(
        reverse("boards:my-gifts"),
        {
            "kind": "gift",
            "description": "Pen",
            "offered_by": "Acme",
            "value": "5.00",
            "offered_on_day": "1",
            "offered_on_month": "9",
            "offered_on_year": "2016",
            "from_supplier": "on",
            "accepted": "on",
        },
    )
    assert response.status_code == 302
    assert member.gifts_hospitality.get().offered_on == dt.date(2016, 9, 1)


def test_the_meeting_page_forms_have_their_own_ids_and_show_their_problems(client, jcb_setup):
    client.force_login(jcb_setup["chair"])
    meeting = jcb_setup["meeting"]
    url = reverse("boards:meeting-detail", args=[meeting.pk])
    page = client.get(url).content.decode()
    assert form_problems(Page(url, page)) == []
    assert 'id="decision_text"' in page
    assert 'id="action_description"' in page
    refused = client.post(reverse("boards:action-add", args=[meeting.pk]), {})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert '<a href="#action_description">Enter a description</a>' in html
    assert '<a href="#action_due_date_0">Enter a due date</a>' in html
    assert form_problems(Page(url, html)) == []
