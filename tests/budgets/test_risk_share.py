"""Each risk-share rule with hand-computed figures: caps, tiers, negative variances, zero contributions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from budgets.figures.risk_share import Partner, RiskShareError, allocate

D = Decimal
HOST = Partner(1, "HOST", D("600000.00"), is_host=True)
CCG = Partner(2, "CCG", D("400000.00"))
ZERO_P = Partner(3, "ZERO", D("0.00"))


def test_own_risk_gives_each_lead_its_lines_variance():
    amounts, inputs = allocate(
        rule="own_risk",
        parameters={},
        variance=D("-500.00"),
        partners=[HOST, CCG],
        lead_variances={1: D("1500.00"), 2: D("-2000.00")},
    )
    assert amounts == {1: D("1500.00"), 2: D("-2000.00")}
    assert inputs["lead_variances"] == {"1": "1500.00", "2": "-2000.00"}


def test_own_risk_refuses_leads_that_do_not_add_up():
    with pytest.raises(RiskShareError):
        allocate(
            rule="own_risk", parameters={}, variance=D("1.00"), partners=[HOST], lead_variances={}
        )


def test_pro_rata_with_a_zero_contribution_partner_and_a_tied_penny_to_the_host():
    # 0.01 split 50:50 -> the tied penny goes to the host (ordered first)
    a = Partner(1, "ZHOST", D("100.00"), is_host=True)
    b = Partner(2, "ACCG", D("100.00"))
    amounts, _ = allocate(
        rule="pro_rata", parameters={}, variance=D("0.01"), partners=[b, a, ZERO_P]
    )
    assert amounts == {1: D("0.01"), 2: D("0.00"), 3: D("0.00")}


def test_pro_rata_negative_variance():
    amounts, _ = allocate(
        rule="pro_rata", parameters={}, variance=D("-1000.01"), partners=[HOST, CCG]
    )
    # 600.006 and 400.004: remainders .6 and .4 -> the extra penny to the host
    assert amounts == {1: D("-600.01"), 2: D("-400.00")}


def test_pro_rata_cap_at_contribution_moves_the_excess_to_uncapped_partners():
    small = Partner(2, "SMALL", D("100.00"))
    amounts, _ = allocate(
        rule="pro_rata",
        parameters={"cap_at_contribution": True},
        variance=D("2000.00"),
        partners=[Partner(1, "HOST", D("900.00"), is_host=True), small],
    )
    # uncapped 1,800 / 200; SMALL capped at 100, the other 100 falls to the host
    assert amounts == {1: D("1900.00"), 2: D("100.00")}


def test_pro_rata_all_capped_leaves_the_rest_with_the_host():
    amounts, _ = allocate(
        rule="pro_rata",
        parameters={"cap_at_contribution": True},
        variance=D("-1500.00"),
        partners=[Partner(1, "HOST", D("500.00"), is_host=True), Partner(2, "CCG", D("500.00"))],
    )
    assert amounts == {1: D("-1000.00"), 2: D("-500.00")}


def test_fixed_percentages():
    amounts, _ = allocate(
        rule="fixed",
        parameters={"percentages": {"HOST": "70", "CCG": "30"}},
        variance=D("333.33"),
        partners=[HOST, CCG],
    )
    # 233.331 / 99.999 -> 233.33 + 99.99 = 333.32, the penny to the larger remainder (CCG .9)
    assert amounts == {1: D("233.33"), 2: D("100.00")}


def test_fixed_percentages_must_sum_to_100():
    with pytest.raises(RiskShareError):
        allocate(
            rule="fixed",
            parameters={"percentages": {"HOST": "70"}},
            variance=D("1"),
            partners=[HOST],
        )


def test_threshold_host_bears_first_tier_then_pro_rata():
    # pool 1,000,000; host first 2% = 20,000; variance 50,000 -> 30,000 shared 60:40
    amounts, inputs = allocate(
        rule="threshold",
        parameters={"host_first_pct": "2.00", "then": "pro_rata"},
        variance=D("50000.00"),
        partners=[HOST, CCG],
    )
    assert amounts == {1: D("38000.00"), 2: D("12000.00")}
    assert inputs["host_first"] == "20000.00"


def test_threshold_under_the_tier_falls_wholly_on_the_host_and_negative_works():
    amounts, _ = allocate(
        rule="threshold",
        parameters={"host_first_pct": "2.00"},
        variance=D("-15000.00"),
        partners=[HOST, CCG],
    )
    assert amounts == {1: D("-15000.00"), 2: D("0.00")}


def test_threshold_equal_split_with_cap():
    small = Partner(2, "SMALL", D("1000.00"))
    host = Partner(1, "HOST", D("99000.00"), is_host=True)
    # pool 100,000; host first 1% = 1,000; remaining 9,000 equal: 4,500 each; SMALL capped at 1,000
    amounts, _ = allocate(
        rule="threshold",
        parameters={"host_first_pct": "1", "then": "equal", "cap_at_contribution": True},
        variance=D("10000.00"),
        partners=[host, small],
    )
    assert amounts == {1: D("9000.00"), 2: D("1000.00")}


def test_unknown_rule_is_refused():
    with pytest.raises(RiskShareError):
        allocate(rule="waterfall", parameters={}, variance=D("1"), partners=[HOST])
