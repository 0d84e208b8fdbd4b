"""Rounding: the one place where amounts are quantized.

Currency precision comes from babel (``get_currency_precision``: JPY 0, EUR 2,
BHD 3), never from a hand-written table. :func:`quantize` is the single rounding
function of the package; every call site names its :class:`RoundingMode`. *Where*
rounding happens (per unit, per line, per document) is a field of a
:class:`RoundingPolicy` that lives on the price list or the tax policy, never a
process-wide setting.

Arithmetic is done in :data:`DECIMAL_CONTEXT`, an explicit context with enough
digits for any order, so nothing depends on the ambient ``decimal`` context: the
package's modules call its methods (``_CTX.multiply``) rather than the operators,
and every public entry point is wrapped in :func:`in_decimal_context`, which makes
it the current context for the call, so the operators, ``sum`` and the compiled
rule callables a stage runs see it too. A caller's ``getcontext().prec = 6`` never
changes a price.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache, lru_cache, wraps
from typing import ParamSpec, TypeVar

from babel.numbers import get_currency_precision, list_currencies

from pricing_engine.errors import PricingRulesetError, UnknownCurrencyError

__all__ = [
    "DECIMAL_CONTEXT",
    "RoundingMode",
    "RoundingPolicy",
    "RoundingScope",
    "currency_exponent",
    "exact_sum",
    "in_decimal_context",
    "known_currencies",
    "minor_unit",
    "quantize",
]

#: The explicit context for money arithmetic: 60 significant digits, and any
#: inexact division or overflow that would silently lose money is trapped.
DECIMAL_CONTEXT = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: The context object :func:`in_decimal_context` made current (a copy of
#: ``DECIMAL_CONTEXT``), so nested entry points need not install it again.
_ACTIVE: ContextVar[decimal.Context | None] = ContextVar("pricing_decimal_context", default=None)


def in_decimal_context(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with a copy of :data:`DECIMAL_CONTEXT` as the current decimal context.

    The caller's context is restored afterwards, untouched. Nested calls (a stage
    calling :func:`~pricing_engine.tax.tax_line`) reuse the installed context, so
    the cost is paid once per outermost call (about a microsecond).

    >>> @in_decimal_context
    ... def third(x: Decimal) -> Decimal:
    ...     return x / 3
    >>> with decimal.localcontext(prec=3):
    ...     third(Decimal(1)) == DECIMAL_CONTEXT.divide(1, 3), decimal.getcontext().prec
    (True, 3)
    """

    @wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        active = _ACTIVE.get()
        if active is not None and decimal.getcontext() is active:
            return fn(*args, **kwargs)
        with decimal.localcontext(DECIMAL_CONTEXT) as ctx:
            token = _ACTIVE.set(ctx)
            try:
                return fn(*args, **kwargs)
            finally:
                _ACTIVE.reset(token)

    return run


def exact_sum(values: Iterable[Decimal], start: Decimal = Decimal(0)) -> Decimal:
    """``sum(values, start)`` in :data:`DECIMAL_CONTEXT`, whatever the ambient context.

    >>> with decimal.localcontext(prec=3):
    ...     exact_sum([Decimal("1234.5"), Decimal("0.25")])
    Decimal('1234.75')
    """
    total = start
    for v in values:
        total = DECIMAL_CONTEXT.add(total, v)
    return total


class RoundingMode(StrEnum):
    """How a value between two representable amounts is resolved.

    ``HALF_UP`` (the default, "commercial" rounding) rounds ties away from zero,
    ``HALF_EVEN`` ("banker's") to the even neighbour, ``DOWN`` truncates toward
    zero, ``UP`` rounds away from zero.
    """

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"
    UP = "up"


_DECIMAL_MODES = {
    RoundingMode.HALF_UP: decimal.ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    RoundingMode.DOWN: decimal.ROUND_DOWN,
    RoundingMode.UP: decimal.ROUND_UP,
}


class RoundingScope(StrEnum):
    """Where rounding happens.

    ``UNIT``: the unit amount is rounded, then multiplied by the quantity.
    ``LINE``: each line amount is rounded. ``DOCUMENT``: amounts stay exact until
    the document total is rounded; the rounding difference is then spread back
    onto the lines (see :func:`pricing_engine.allocation.allocate`) so that line
    amounts sum exactly to the document total.
    """

    UNIT = "unit"
    LINE = "line"
    DOCUMENT = "document"


@cache
def known_currencies() -> frozenset[str]:
    """Every ISO 4217 code babel knows (cached; babel's data never changes in a run)."""
    return frozenset(list_currencies())


@lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit, from babel.

    >>> currency_exponent("EUR"), currency_exponent("JPY"), currency_exponent("BHD")
    (2, 0, 3)
    """
    if currency not in known_currencies():
        raise UnknownCurrencyError(f"unknown currency {currency!r}; use an ISO 4217 code")
    return int(get_currency_precision(currency))


@lru_cache(maxsize=512)
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` as a Decimal exponent (``Decimal('0.01')``).

    >>> minor_unit("EUR"), minor_unit("JPY")
    (Decimal('0.01'), Decimal('1'))
    """
    return Decimal(1).scaleb(-currency_exponent(currency))


def quantize(
    amount: Decimal,
    currency: str,
    mode: RoundingMode,
    step: Decimal | None = None,
) -> Decimal:
    """Round ``amount`` to ``currency``'s precision (and to ``step`` if given).

    This is the package's only rounding function. ``step`` is a cash-rounding or
    price-point step (CHF 0.05, JPY 10); it is applied first, in ``mode``, and the
    result is then expressed with the currency's exponent.

    >>> quantize(Decimal("0.6156"), "EUR", RoundingMode.HALF_UP)
    Decimal('0.62')
    >>> quantize(Decimal("2.5"), "JPY", RoundingMode.HALF_EVEN)
    Decimal('2')
    >>> quantize(Decimal("10.024"), "CHF", RoundingMode.HALF_UP, Decimal("0.05"))
    Decimal('10.00')
    >>> quantize(Decimal("-0.005"), "EUR", RoundingMode.HALF_UP)
    Decimal('-0.01')
    """
    if type(amount) is not Decimal:
        raise TypeError(f"quantize needs a Decimal amount, got {type(amount).__name__}")
    rounding = _DECIMAL_MODES[mode]
    exp = minor_unit(currency)
    if step is not None:
        if step <= 0:
            raise PricingRulesetError(f"rounding step must be positive, got {step}")
        steps = DECIMAL_CONTEXT.divide(amount, step).quantize(
            Decimal(1), rounding=rounding, context=DECIMAL_CONTEXT
        )
        amount = DECIMAL_CONTEXT.multiply(steps, step)
    return amount.quantize(exp, rounding=rounding, context=DECIMAL_CONTEXT)


@dataclass(frozen=True, slots=True)
class RoundingPolicy:
    """Rounding as data: mode, scope and an optional cash/price-point step.

    >>> p = RoundingPolicy(RoundingMode.HALF_UP, RoundingScope.LINE, Decimal("0.05"))
    >>> p.round(Decimal("1.026"), "CHF")
    Decimal('1.05')
    """

    mode: RoundingMode = RoundingMode.HALF_UP
    scope: RoundingScope = RoundingScope.LINE
    step: Decimal | None = None

    def round(self, amount: Decimal, currency: str) -> Decimal:
        """Quantize ``amount`` with this policy's mode and step."""
        return quantize(amount, currency, self.mode, self.step)
