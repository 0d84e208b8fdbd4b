"""Money, rounding and allocation: the value types every stage builds on."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing_engine.allocation import allocate, allocate_units
from pricing_engine.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    PricingError,
    UnknownCurrencyError,
)
from pricing_engine.money import Money
from pricing_engine.rounding import (
    RoundingMode,
    RoundingPolicy,
    RoundingScope,
    currency_exponent,
    quantize,
)
from tests.strategies import currencies, money_amounts, weights


def eur(s: str) -> Money:
    return Money(Decimal(s), "EUR")


def test_a_float_amount_is_refused_with_type_error():
    with pytest.raises(TypeError):
        Money(1.10, "EUR")  # type: ignore[arg-type]


def test_multiplying_money_by_a_float_raises_type_error():
    with pytest.raises(TypeError):
        eur("1.00") * 1.5  # type: ignore[operator]


def test_mixed_currency_arithmetic_and_comparison_raise():
    with pytest.raises(CurrencyMismatchError):
        eur("1") + Money(Decimal(1), "USD")
    with pytest.raises(CurrencyMismatchError):
        _ = eur("1") < Money(Decimal(1), "USD")
    assert issubclass(CurrencyMismatchError, ValueError)
    assert issubclass(CurrencyMismatchError, PricingError)


def test_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrencyError):
        Money(Decimal(1), "XYZ1")


def test_sums_start_from_zero_and_keep_every_digit():
    total = sum([eur("0.333"), eur("0.333")], Money.zero("EUR"))
    assert total.amount == Decimal("0.666")
    assert not total.is_rounded()
    assert total.round(RoundingMode.HALF_UP) == eur("0.67")


def test_precision_comes_from_babel():
    assert (currency_exponent("JPY"), currency_exponent("EUR"), currency_exponent("BHD")) == (0, 2, 3)


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("2.345", RoundingMode.HALF_UP, "2.35"),
        ("2.345", RoundingMode.HALF_EVEN, "2.34"),
        ("2.349", RoundingMode.DOWN, "2.34"),
        ("2.341", RoundingMode.UP, "2.35"),
        ("-2.345", RoundingMode.HALF_UP, "-2.35"),
    ],
)
def test_every_rounding_mode_is_explicit(amount, mode, expected):
    assert quantize(Decimal(amount), "EUR", mode) == Decimal(expected)


def test_cash_rounding_to_five_rappen():
    policy = RoundingPolicy(RoundingMode.HALF_UP, RoundingScope.LINE, Decimal("0.05"))
    assert policy.round(Decimal("12.324"), "CHF") == Decimal("12.30")
    assert policy.round(Decimal("12.325"), "CHF") == Decimal("12.35")
    assert policy.round(Decimal("12.375"), "CHF") == Decimal("12.40")


@given(currencies().flatmap(lambda c: st.tuples(st.just(c), money_amounts(c, max_units=10**12))),
       st.integers(0, 10**6), st.sampled_from(list(RoundingMode)))
def test_quantize_always_yields_the_currency_precision(pair, scale, mode):
    currency, amount = pair
    raw = amount * Decimal(scale) / Decimal(997)
    q = quantize(raw, currency, mode)
    assert -q.as_tuple().exponent == currency_exponent(currency)
    assert abs(q - raw) < Decimal(1).scaleb(-currency_exponent(currency))


def test_allocation_remainder_goes_to_the_largest_fractions_then_lowest_index():
    assert [str(m.amount) for m in allocate(eur("10.00"), [1, 1, 1])] == ["3.34", "3.33", "3.33"]
    assert [str(m.amount) for m in allocate(eur("0.05"), [3, 1])] == ["0.04", "0.01"]
    assert [str(m.amount) for m in allocate(eur("-0.05"), [3, 1])] == ["-0.04", "-0.01"]


def test_allocation_of_an_unrounded_total_is_refused():
    with pytest.raises(InvalidAmountError):
        allocate(eur("1.005"), [1, 1])


def test_allocation_with_negative_weights_is_refused():
    with pytest.raises(InvalidAmountError):
        allocate_units(10, [Decimal(1), Decimal(-1)])


def test_allocation_over_all_zero_weights_splits_evenly():
    assert allocate_units(7, [Decimal(0)] * 3) == [3, 2, 2]


@given(currencies().flatmap(lambda c: st.tuples(st.just(c), money_amounts(c))),
       st.booleans(), weights())
def test_allocation_conserves_the_total_exactly(pair, negative, ws):
    currency, amount = pair
    total = Money(-amount if negative else amount, currency)
    shares = allocate(total, ws)
    assert sum(shares, Money.zero(currency)) == total
    assert all(s.is_rounded() for s in shares)
    wsum = sum(ws) or len(ws)
    unit = Decimal(1).scaleb(-currency_exponent(currency))
    for share, w in zip(shares, ws if sum(ws) else [1] * len(ws), strict=True):
        exact = total.amount * Decimal(w) / Decimal(wsum)
        assert abs(share.amount - exact) < unit


@given(st.integers(-10**6, 10**6), weights())
def test_allocation_is_deterministic(total, ws):
    assert allocate_units(total, ws) == allocate_units(total, list(ws))
