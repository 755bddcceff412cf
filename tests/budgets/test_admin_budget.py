import pytest
from django.urls import reverse

from budgets.models import Contribution
from tests.budgets.factories import budget_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "pooledfund",
    "fundbudget",
    "fundperiod",
    "contribution",
    "riskshareagreement",
    "servicearea",
    "financialyear",
    "period",
    "budgetline",
    "budgetadjustment",
    "virement",
    "forecast",
]


@pytest.mark.parametrize("model", MODELS)
def test_admin_changelist_and_search_load(client, model):
    budget_world()
    staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse(f"admin:budgets_{model}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "HC01"}).status_code == 200


def test_contribution_change_page_shows_instalments_and_history(client):
    budget_world()
    client.force_login(UserFactory(username="staff2", is_staff=True, is_superuser=True))
    contribution = Contribution.objects.first()
    assert (
        client.get(reverse("admin:budgets_contribution_change", args=[contribution.pk])).status_code
        == 200
    )
    assert (
        client.get(
            reverse("admin:budgets_contribution_history", args=[contribution.pk])
        ).status_code
        == 200
    )
