"""Locality fair-share allocation (domain.md 7.2) with hand-computed figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from budgets.figures.fair_share import LocalityInput, allocate

D = Decimal


def inputs():
    # weighted: A 100 x 1.2 x 1.0 = 120; B 100 x 1.0 x 1.0 = 100; C 80 x 1.0 x 1.0 = 80 -> 300
    return [
        LocalityInput(1, 100, D("1.2"), D("1.0"), baseline=D("300.00")),
        LocalityInput(2, 100, D("1.0"), D("1.0"), baseline=D("400.00")),
        LocalityInput(3, 80, D("1.0"), D("1.0"), baseline=D("300.00")),
    ]


def by_id(results, attr="allocation"):
    return {r.locality_id: getattr(r, attr) for r in results}


def test_pure_formula_allocates_at_target():
    results = allocate(method="pure_formula", total_pot=D("1030.00"), inputs=inputs())
    # targets 1030 x 120/300 = 412, x 100/300 = 343.333, x 80/300 = 274.667
    assert by_id(results, "target") == {1: D("412.00"), 2: D("343.33"), 3: D("274.67")}
    assert by_id(results) == by_id(results, "target")
    assert sum(by_id(results).values()) == D("1030.00")
    # distance from target before: (300 - 412) / 412
    assert by_id(results, "dft_before")[1] == D("-0.271845")
    assert by_id(results, "weighted_population")[1] == D("120.0")


def test_uplift_scales_baselines_to_the_pot():
    results = allocate(
        method="uplift", total_pot=D("1030.00"), inputs=inputs(), policy={"uplift": "0.03"}
    )
    assert by_id(results) == {1: D("309.00"), 2: D("412.00"), 3: D("309.00")}


def test_pace_of_change_floors_then_closes_the_budget():
    # min growth 1%: floors 303, 404, 303; nobody more than 5% under target: 391.4, 326.17, 260.93
    # floors = max(...) -> A 391.40, B 404.00, C 303.00. Free share of 1030 by weight:
    # pass 1: A 412 (>=391.4 free), B 343.33 < 404 held, C 274.67 < 303 held
    # pass 2: remainder 1030 - 707 = 323 all to A (323 < 391.4 -> held) -> everyone held: scale
    # held 391.4 + 404 + 303 = 1098.4 -> scaled to 1030: 367.0266, 378.8419, 284.1314
    # floors sum to 1029.99; the last penny to the largest remainder (A)
    results = allocate(
        method="pace_of_change",
        total_pot=D("1030.00"),
        inputs=inputs(),
        policy={"min_growth": "0.01", "max_under_target": "0.05"},
    )
    alloc = by_id(results)
    assert sum(alloc.values()) == D("1030.00")
    assert alloc == {1: D("367.03"), 2: D("378.84"), 3: D("284.13")}


def test_pace_of_change_with_room_gives_over_floor_money_by_weight():
    # pot 1200: targets 480, 400, 320; floors A 456 (5% under), B 404, C 303.
    # pass 1: B 400 < 404 held; pass 2: remainder 796 over A+C weights 200: A 477.6, C 318.4 free
    results = allocate(
        method="pace_of_change",
        total_pot=D("1200.00"),
        inputs=inputs(),
        policy={"min_growth": "0.01", "max_under_target": "0.05"},
    )
    assert by_id(results) == {1: D("477.60"), 2: D("404.00"), 3: D("318.40")}
    assert by_id(results, "dft_after")[2] == D("0.010000")


def test_max_growth_caps_a_locality():
    results = allocate(
        method="pace_of_change",
        total_pot=D("1200.00"),
        inputs=inputs(),
        policy={"min_growth": "0", "max_under_target": "1", "max_growth": "0.5"},
    )
    # free shares 480, 400, 320; A capped at 300 x 1.5 = 450, the rest (750) over B, C by 100:80
    assert by_id(results) == {1: D("450.00"), 2: D("416.67"), 3: D("333.33")}


def test_fixed_elements_come_off_the_top():
    data = [
        LocalityInput(1, 100, D("1"), D("1"), baseline=D("0"), fixed=D("100.00")),
        LocalityInput(2, 100, D("1"), D("1"), baseline=D("0")),
    ]
    results = allocate(method="pure_formula", total_pot=D("300.00"), inputs=data)
    assert by_id(results) == {1: D("200.00"), 2: D("100.00")}


def test_unknown_method():
    with pytest.raises(ValueError):
        allocate(method="lottery", total_pot=D("1"), inputs=inputs())
