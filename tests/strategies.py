"""Shared hypothesis strategies (the suite-wide profiles live in ``tests/conftest.py``).

Currencies are drawn from babel's own list (so 0-decimal JPY/KRW and 3-decimal
BHD/KWD/JOD are always in play); amounts are generated in a currency's minor
units so they are exactly representable in it.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision, list_currencies
from hypothesis import strategies as st

__all__ = [
    "ALL_CURRENCIES",
    "currencies",
    "money_amounts",
    "moneys",
    "percentages",
    "quantities",
    "weights",
]

#: Every ISO code babel knows with its precision, sorted for reproducibility.
ALL_CURRENCIES: tuple[str, ...] = tuple(sorted(list_currencies()))
_EDGE = ("JPY", "KRW", "BHD", "KWD", "JOD", "EUR", "USD", "CHF")


def currencies() -> st.SearchStrategy[str]:
    """Any babel currency, shrinking toward the 0-, 2- and 3-decimal classics."""
    return st.one_of(st.sampled_from(_EDGE), st.sampled_from(ALL_CURRENCIES))


def money_amounts(
    currency: str, *, min_units: int = 0, max_units: int = 10_000_000
) -> st.SearchStrategy[Decimal]:
    """Decimal amounts exact in ``currency``'s minor unit, in [min_units, max_units] units."""
    exp = int(get_currency_precision(currency))
    return st.integers(min_units, max_units).map(lambda u: Decimal(u).scaleb(-exp))


def moneys(min_units: int = 0, max_units: int = 10_000_000):
    """(currency, amount) pairs."""
    return currencies().flatmap(
        lambda c: st.tuples(st.just(c), money_amounts(c, min_units=min_units, max_units=max_units))
    )


def percentages() -> st.SearchStrategy[Decimal]:
    """Tax or discount percentages 0–100 with up to 3 decimals (7.25 %, 19 %, 8.875 %)."""
    return st.integers(0, 100_000).map(lambda n: Decimal(n).scaleb(-3))


def quantities(max_value: int = 500) -> st.SearchStrategy[int]:
    return st.integers(1, max_value)


def weights(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[list[Decimal]]:
    """Non-negative allocation weights, sometimes all zero, sometimes tiny vs huge."""
    w = st.one_of(
        st.integers(0, 10**9).map(Decimal),
        st.integers(0, 10**6).map(lambda n: Decimal(n).scaleb(-4)),
    )
    return st.lists(w, min_size=min_size, max_size=max_size)
