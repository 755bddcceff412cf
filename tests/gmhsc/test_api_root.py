"""The API's front page lists the collections of every app, not only the first router's."""

import pytest
from django.urls import reverse

from localities import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_api_root_lists_every_apps_collections(client):
    client.force_login(UserFactory(roles=[roles.FINANCE_OFFICER]))
    response = client.get(reverse("api-root"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    links = response.json()
    for prefix in ("localities", "budget-lines", "spend-postings", "contracts", "boards"):
        assert links[prefix].endswith(f"/api/v1/{prefix}/"), prefix
    assert links["schema"].endswith("/api/schema/")


def test_api_root_refuses_strangers(client):
    assert client.get(reverse("api-root")).status_code == 403
