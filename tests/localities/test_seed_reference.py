from decimal import Decimal

import pytest
from django.core.management import call_command

from boards.models import Board
from budgets.models import FinancialYear, Period, ServiceArea
from localities.models import Locality, Organisation

pytestmark = pytest.mark.django_db


def test_reference_data_has_greater_manchester_partners(reference):
    assert Locality.objects.count() == 10
    assert Organisation.objects.filter(kind="council").count() == 10
    ccgs_2016 = Organisation.objects.filter(kind="ccg", valid_from__lte="2016-04-01").exclude(
        valid_to__lt="2016-04-01"
    )
    assert ccgs_2016.count() == 12
    assert Organisation.objects.get(code="X24").kind == "nhs_england"
    assert Organisation.objects.filter(kind="combined_authority").count() == 1
    assert Organisation.objects.filter(kind="nhs_provider").count() == 14


def test_every_ccg_serves_at_least_one_locality(reference):
    for ccg in Organisation.objects.filter(kind="ccg"):
        assert ccg.localities.exists(), ccg.code


def test_a_ccg_need_not_map_to_one_council(reference):
    manchester = Locality.objects.get(gss_code="E08000003")
    assert set(
        manchester.organisations.filter(kind="ccg", valid_to__isnull=False).values_list(
            "code", flat=True
        )
    ) == {
        "01M",
        "00W",
        "01N",
    }
    tameside_glossop = Organisation.objects.get(code="01Y")
    assert "Glossop" in tameside_glossop.notes


def test_codes_are_unique_and_unverified_facts_stay_marked(reference):
    codes = list(Organisation.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    assert Organisation.objects.get(code="X24").verified is False
    assert Organisation.objects.get(code="00T").verified is True
    bolton = Locality.objects.get(gss_code="E08000001")
    assert (bolton.population_mid2011, bolton.population_mid2015_verified) == (276692, False)


def test_years_periods_and_service_areas(reference):
    assert list(FinancialYear.objects.values_list("code", flat=True)) == [
        "2015/16",
        "2016/17",
        "2017/18",
    ]
    m06 = Period.objects.select_related("year").get(year__code="2016/17", number=6)
    assert (m06.code, str(m06.start_date), str(m06.end_date)) == (
        "2016/17-M06",
        "2016-09-01",
        "2016-09-30",
    )
    m12 = Period.objects.get(year__code="2016/17", number=12)
    assert (str(m12.start_date), str(m12.end_date)) == ("2017-03-01", "2017-03-31")
    assert ServiceArea.objects.get(code="ASC.RES").parent.code == "ASC"
    assert ServiceArea.objects.filter(parent__isnull=True).count() == 9


def test_board_hierarchy(reference):
    jcb = Board.objects.get(code="JCB")
    assert jcb.reports_to.code == "SPB"
    assert Board.objects.get(code="MJCE").reports_to == jcb
    assert Board.objects.filter(kind="locality").count() == 10
    assert jcb.delegated_limit == Decimal("50000000.00")


def test_seeding_twice_does_not_duplicate(reference):
    before = {
        m.__name__: m.objects.count()
        for m in (Locality, Organisation, FinancialYear, Period, ServiceArea, Board)
    }
    call_command("seed_reference", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = {
        m.__name__: m.objects.count()
        for m in (Locality, Organisation, FinancialYear, Period, ServiceArea, Board)
    }
    assert before == after
