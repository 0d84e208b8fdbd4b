"""Allocation: spreading one amount over many lines, exactly.

Order-level discounts, freight, document-rounding differences and included-tax
splits all go through :func:`allocate`. Nothing in the package re-derives a share
as ``round(total / n)`` and multiplies back.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pricing_engine.errors import InvalidAmountError
from pricing_engine.money import Money, to_decimal
from pricing_engine.rounding import DECIMAL_CONTEXT, in_decimal_context, minor_unit

__all__ = ["allocate", "allocate_units"]

_CTX = DECIMAL_CONTEXT


@in_decimal_context
def allocate_units(total: int, weights: Sequence[Decimal]) -> list[int]:
    """Split an integer ``total`` in proportion to ``weights``; the parts sum to ``total``.

    Remainder rule (largest remainder, Hamilton's method): every part first gets
    the proportional share truncated toward zero; the units still missing go one
    each to the parts with the largest fractional remainder, ties to the lowest
    index. Each part is therefore within one unit of its exact proportional share.
    Weights must be non-negative; if they are all zero, the split is even.
    A negative total is split like its absolute value, then negated.

    >>> allocate_units(100, [Decimal(1), Decimal(1), Decimal(1)])
    [34, 33, 33]
    >>> allocate_units(-5, [Decimal(3), Decimal(1)])
    [-4, -1]
    """
    n = len(weights)
    if n == 0:
        if total:
            raise InvalidAmountError(f"cannot allocate {total} over no shares")
        return []
    ws = [to_decimal(w, "an allocation weight") for w in weights]
    for w in ws:
        if w < 0:
            raise InvalidAmountError(f"allocation weights must be non-negative, got {w}")
    wsum = _CTX.add(Decimal(0), sum(ws, Decimal(0)))
    if wsum == 0:
        ws = [Decimal(1)] * n
        wsum = Decimal(n)
    sign = -1 if total < 0 else 1
    units = abs(total)
    parts: list[int] = []
    fracs: list[Decimal] = []
    for w in ws:
        exact = _CTX.divide(_CTX.multiply(Decimal(units), w), wsum)
        whole = int(exact)  # truncation toward zero; exact >= 0
        parts.append(whole)
        fracs.append(_CTX.subtract(exact, Decimal(whole)))
    missing = units - sum(parts)
    if missing:
        order = sorted(range(n), key=lambda i: (-fracs[i], i))
        for i in order[:missing]:
            parts[i] += 1
    return [sign * p for p in parts]


@in_decimal_context
def allocate(total: Money, weights: Sequence[Decimal | int | Money]) -> list[Money]:
    """Split ``total`` over ``len(weights)`` shares that sum to it exactly.

    ``total`` must already be rounded to its currency's minor unit. Works in
    minor units with :func:`allocate_units` (largest remainder; ties to the lowest
    index). Money weights are taken by their absolute amount; shares are in
    ``total``'s currency.

    >>> eur = lambda s: Money(Decimal(s), "EUR")
    >>> [str(m) for m in allocate(eur("10.00"), [eur("1.00"), eur("1.00"), eur("1.00")])]
    ['3.34 EUR', '3.33 EUR', '3.33 EUR']
    >>> [str(m) for m in allocate(Money(Decimal("5"), "JPY"), [2, 1])]
    ['3 JPY', '2 JPY']
    """
    if not total.is_rounded():
        raise InvalidAmountError(
            f"allocate a rounded total: {total} has digits below the currency's minor unit"
        )
    unit = minor_unit(total.currency)
    ws: list[Decimal] = []
    for w in weights:
        if isinstance(w, Money):
            ws.append(abs(w.amount))
        else:
            ws.append(to_decimal(w, "an allocation weight"))
    n_units = int(_CTX.divide(total.amount, unit))
    parts = allocate_units(n_units, ws)
    cur = total.currency
    return [Money(_CTX.multiply(Decimal(p), unit), cur) for p in parts]
