from decimal import Decimal

import pytest

from budgets.planning.phasing import (
    SEASONAL_TEMPLATE,
    PhasingError,
    phase,
    phase_explained,
    respread_change,
)

D = Decimal


def test_flat_splits_evenly_and_gives_leftover_pennies_to_the_earliest_months():
    assert phase(D("120000.00"), "flat") == [D("10000.00")] * 12
    assert phase(D("100.00"), "flat") == [D("8.34")] * 4 + [D("8.33")] * 8


def test_flat_of_a_negative_income_budget_keeps_the_sign():
    parts = phase(D("-100.00"), "flat")
    assert parts == [D("-8.34")] * 4 + [D("-8.33")] * 8
    assert sum(parts) == D("-100.00")


def test_seasonal_template_is_winter_weighted_and_exact():
    assert sum(SEASONAL_TEMPLATE) == 12
    assert phase(D("120000.00"), "seasonal") == [
        D(v)
        for v in (
            "9200.00",
            "9200.00",
            "9000.00",
            "9000.00",
            "8800.00",
            "9400.00",
            "10200.00",
            "10800.00",
            "11600.00",
            "11800.00",
            "11200.00",
            "9800.00",
        )
    ]
    parts = phase(D("1000.01"), "seasonal")
    assert sum(parts) == D("1000.01")
    assert parts[9] > parts[4]  # January carries more than August


def test_custom_accepts_twelve_values_summing_to_the_annual_budget():
    values = [D("1000.00")] * 11 + [D("1000.50")]
    assert phase(D("12000.50"), "custom", custom=values) == values


def test_custom_refuses_values_that_do_not_sum():
    with pytest.raises(PhasingError) as err:
        phase(D("12000.00"), "custom", custom=[D("1000.00")] * 11 + [D("999.99")])
    assert (
        err.value.message
        == "The months add up to £11,999.99, £0.01 less than the annual budget of £12,000.00. "
        "Change the months so they add up to it, or set the annual budget to the months' total."
    )


def test_custom_refuses_the_wrong_number_of_values_and_bad_money():
    with pytest.raises(PhasingError, match="needs 12 monthly values; got 11"):
        phase(D("11000.00"), "custom", custom=[D("1000.00")] * 11)
    with pytest.raises(PhasingError, match="Month M03"):
        phase(D("12000.00"), "custom", custom=["1000"] * 2 + ["1,0x"] + ["1000"] * 9)


def test_last_year_pattern_follows_last_years_actuals():
    last_year = [D("0.00")] * 11 + [D("50.00")]
    last_year[0] = D("150.00")
    parts = phase(D("1000.00"), "last_year", last_year=last_year)
    assert parts == [D("750.00")] + [D("0.00")] * 10 + [D("250.00")]


def test_last_year_pattern_with_no_spend_falls_back_to_flat_and_says_so():
    result = phase_explained(D("1200.00"), "last_year", last_year=None)
    assert result.parts == [D("100.00")] * 12
    assert result.method == "flat"
    assert result.note == "No spend last year for this line, so it was phased flat instead."
    credits_only = phase_explained(D("1200.00"), "last_year", last_year=[D("-5.00")] * 12)
    assert credits_only.method == "flat"


def test_unknown_method_is_refused():
    with pytest.raises(PhasingError, match="Unknown phasing method 'weekly'"):
        phase(D("1.00"), "weekly")


def test_respread_adds_a_change_flat_over_the_given_months():
    current = [D("1000.00")] * 12
    result = respread_change(current, D("-600.00"), months=[7, 8, 9, 10, 11, 12], method="flat")
    assert result == [D("1000.00")] * 6 + [D("900.00")] * 6
    assert sum(result) == D("11400.00")


def test_respread_custom_follows_the_existing_profile_of_those_months():
    current = [D("0.00")] * 10 + [D("300.00"), D("100.00")]
    result = respread_change(current, D("40.00"), months=[11, 12], method="custom")
    assert result[10:] == [D("330.00"), D("110.00")]


def test_respread_needs_an_open_month():
    with pytest.raises(PhasingError, match="no open month"):
        respread_change([D("0.00")] * 12, D("1.00"), months=[], method="flat")
