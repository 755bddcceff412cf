"""Property: any phasing or split of any amount into any weights sums exactly, each part within a
penny of its exact share, and the same inputs always give the same parts."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from budgets.planning.phasing import METHODS, SEASONAL_TEMPLATE, phase, respread_change
from gmhsc.money import PENNY, split_largest_remainder

amounts = st.decimals(
    min_value=Decimal("-10000000000.00"),
    max_value=Decimal("10000000000.00"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
weights = st.lists(
    st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=4, allow_nan=False),
    min_size=1,
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(total=amounts, ws=weights)
def test_split_sums_exactly_and_each_part_is_within_a_penny(total, ws):
    parts = split_largest_remainder(total, ws)
    assert len(parts) == len(ws)
    assert sum(parts) == total
    weight_sum = sum(ws)
    effective = ws if weight_sum > 0 else [Decimal(1)] * len(ws)
    effective_sum = sum(effective)
    for part, w in zip(parts, effective, strict=True):
        assert part == part.quantize(PENNY)
        exact = total * w / effective_sum
        assert abs(part - exact) < PENNY
    assert split_largest_remainder(total, ws) == parts


@settings(max_examples=300, deadline=None)
@given(
    total=amounts,
    method=st.sampled_from([m for m in METHODS if m != "custom"]),
    last_year=st.one_of(
        st.none(),
        st.lists(
            st.decimals(min_value=Decimal("0"), max_value=Decimal("5000000"), places=2),
            min_size=12,
            max_size=12,
        ),
    ),
)
def test_any_phasing_sums_exactly_and_tracks_its_weights(total, method, last_year):
    parts = phase(total, method, last_year=last_year)
    assert len(parts) == 12
    assert sum(parts) == total
    if method == "seasonal":
        for part, w in zip(parts, SEASONAL_TEMPLATE, strict=True):
            assert abs(part - total * w / 12) < PENNY
    if method == "flat":
        for part in parts:
            assert abs(part - total / 12) < PENNY
    assert phase(total, method, last_year=last_year) == parts


@settings(max_examples=200, deadline=None)
@given(
    base=amounts,
    change=amounts,
    first_open=st.integers(min_value=1, max_value=12),
    method=st.sampled_from(["flat", "seasonal", "custom", "last_year"]),
)
def test_respreading_a_change_keeps_phasing_equal_to_the_new_budget(
    base, change, first_open, method
):
    current = phase(base, "flat")
    result = respread_change(
        current, change, months=list(range(first_open, 13)), method=method, last_year=None
    )
    assert sum(result) == base + change
    assert result[: first_open - 1] == current[: first_open - 1]
