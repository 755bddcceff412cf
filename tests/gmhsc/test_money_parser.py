"""The one money parser (gmhsc.money.to_money): what it accepts, what it refuses and in which
words, and properties over any input (issue 21 item 1 and the Deliver section)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmhsc.money import MAX_MONEY, MoneyError, money_in_range, to_money, typed_amount

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", D("1234.56")),
        (" -12 ", D("-12.00")),
        (".5", D("0.50")),
        ("+3.", D("3.00")),
        ("1.500", D("1.50")),
        ("-0", D("0.00")),
        ("9999999999999999.99", MAX_MONEY),
        ("-9999999999999999.99", -MAX_MONEY),
        (125, D("125.00")),
        (D("1E+5"), D("100000.00")),  # a Decimal made by code, not typed text
        (D("0E+400"), D("0.00")),
    ],
)
def test_accepts_plain_amounts(value, expected):
    assert to_money(value) == expected
    assert to_money(value).as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty"),
        (None, "is empty"),
        ("1e400", "'1e400' is written with an exponent; write the amount in full, like 100000.00"),
        ("1E+5", "'1E+5' is written with an exponent; write the amount in full, like 100000.00"),
        ("NaN", "'NaN' is not a number"),
        ("Infinity", "'Infinity' is not a number"),
        ("-inf", "'-inf' is not a number"),
        ("1,000", "'1,000' is not a number"),
        ("£5", "'£5' is not a number"),
        ("1_000", "'1_000' is not a number"),
        ("١٢٣", "'١٢٣' is not a number"),
        ("0.001", "'0.001' has more than 2 decimal places"),
        ("1" * 30, f"'{'1' * 30}' is too large"),
        ("10000000000000000.00", "'10000000000000000.00' is too large"),
        (10**16, "'10000000000000000' is too large"),
        (D("1E+400"), "'1E+400' is too large"),
        (D("NaN"), "'NaN' is not a number"),
        (1e400, "'inf' must be sent as text, like \"1234.56\", not as a floating-point number"),
        (12.5, "'12.5' must be sent as text, like \"1234.56\", not as a floating-point number"),
        (True, 'must be an amount written as text, like "1234.56"'),
        ({"a": 1}, 'must be an amount written as text, like "1234.56"'),
        ([1], 'must be an amount written as text, like "1234.56"'),
    ],
)
def test_refuses_with_the_reason(value, message):
    with pytest.raises(MoneyError) as caught:
        to_money(value)
    assert str(caught.value) == message


def test_a_huge_integer_is_refused_without_printing_it():
    with pytest.raises(MoneyError, match="too large"):
        to_money(10**5000)  # beyond Python's 4,300-digit limit for str(int)


def test_typed_amounts_lose_the_pound_sign_and_commas_first():
    assert to_money(typed_amount("£1,234.50")) == D("1234.50")
    with pytest.raises(MoneyError, match="exponent"):
        to_money(typed_amount("£1e5"))


def test_money_in_range_is_numeric_18_2():
    assert money_in_range(MAX_MONEY)
    assert not money_in_range(MAX_MONEY + D("0.01"))
    assert not money_in_range(D("NaN"))


@given(
    st.one_of(
        st.text(max_size=80), st.integers(), st.decimals(), st.floats(), st.none(), st.booleans()
    )
)
def test_any_input_gives_an_amount_in_range_or_money_error(value):
    """Never InvalidOperation, OverflowError or anything else a caller does not catch."""
    try:
        amount = to_money(value)
    except MoneyError as exc:
        message = str(exc)
        amount = None
    if amount is None:
        assert message
    else:
        assert money_in_range(amount)
        assert amount == amount.quantize(D("0.01"))


@given(st.decimals(min_value=-MAX_MONEY, max_value=MAX_MONEY, places=2, allow_nan=False))
def test_every_amount_in_range_round_trips_through_its_text(amount):
    assert to_money(str(amount)) == amount
    assert to_money(f"{amount:f}") == amount
