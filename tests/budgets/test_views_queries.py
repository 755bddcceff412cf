"""The lines table and line detail use the same number of queries whatever the number of lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.budgets.factories import BudgetLineFactory, ServiceAreaFactory, budget_world
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db
LINES_TABLE_QUERIES = 16  # includes the two freshness queries ("as at", changes pending)
# + the reporting context (one statement), the line's figures at its month and their freshness,
# and the five "across years" queries (year_selectors.line_years)
LINE_DETAIL_QUERIES = 20


def grow(world, n):
    areas = [ServiceAreaFactory(code=f"Q{i}.SUB") for i in range(3)]
    for i in range(n):
        BudgetLineFactory(
            fund=world.fund,
            year=world.year,
            service_area=areas[i % 3],
            lead_commissioner=world.host if i % 2 else world.ccg,
            original_budget=Decimal("1000.00") * (i + 1),
        )


@pytest.mark.parametrize("n", [5, 50])
def test_lines_table_query_count_is_constant(client, django_assert_max_num_queries, n):
    world = budget_world()
    grow(world, n)
    OrganisationFactory()
    client.force_login(world.comm_host)
    url = reverse("budgets:line-table", args=[world.fund.pk])
    with django_assert_max_num_queries(LINES_TABLE_QUERIES):
        response = client.get(url + "?sort=-current")
    assert response.status_code == 200
    assert response.context["totals"]["count"] == n + 2


@pytest.mark.parametrize("n", [5, 50])
def test_line_detail_query_count_is_constant(client, django_assert_max_num_queries, n):
    world = budget_world()
    grow(world, n)
    client.force_login(world.comm_host)
    url = reverse("budgets:line-detail", args=[world.host_line.pk])
    with django_assert_max_num_queries(LINE_DETAIL_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
