"""Quantity pricing: volume, graduated and package (block) prices.

A tier table is a list of :class:`Tier` covering quantities ``first..last``
(``last`` omitted on the open-ended top tier). Quantities may be fractional
(sold per kg): a quantity ``q`` lies in the tier with ``first - 1 < q <= last``,
so ``2.5`` falls in ``1..5``. A table must start at 1 and be contiguous
(``next.first == previous.last + 1``); :func:`check_tiers` lists every gap or
overlap.

Modes follow Stripe's published definitions:

* ``VOLUME`` — every unit is priced at the tier the total quantity reaches, plus
  that tier's flat fee;
* ``GRADUATED`` — each unit is priced in its own tier; the flat fee of every tier
  touched is added;
* ``PACKAGE`` — a price per started block of ``block_size`` units after
  ``free_units`` free ones (see :func:`price_package`).

Results are exact (unrounded) Decimals; the caller rounds with its policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pricing_engine.errors import TierTableError
from pricing_engine.money import to_decimal
from pricing_engine.rounding import DECIMAL_CONTEXT, in_decimal_context

__all__ = [
    "Tier",
    "TierMode",
    "TierPart",
    "TierPricing",
    "check_tiers",
    "price_package",
    "price_tiers",
]

_CTX = DECIMAL_CONTEXT


class TierMode(StrEnum):
    """How a tier table prices a quantity (see the module docstring)."""

    VOLUME = "volume"
    GRADUATED = "graduated"
    PACKAGE = "package"


@dataclass(frozen=True, slots=True)
class Tier:
    """Quantities ``first..last`` (inclusive; ``last=None``: no upper bound)."""

    first: Decimal
    last: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class TierPart:
    """How many units were priced in one tier, and what they cost (unrounded)."""

    tier_index: int
    quantity: Decimal
    unit_price: Decimal
    flat_fee: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TierPricing:
    """The exact amount for a quantity and the tier parts that make it up."""

    amount: Decimal
    parts: tuple[TierPart, ...]


@in_decimal_context
def check_tiers(tiers: Sequence[Tier]) -> list[tuple[int, str]]:
    """Every problem of a tier table as ``(tier_index, message)``; empty when sound.

    >>> check_tiers([Tier(Decimal(1), Decimal(5), Decimal(7)),
    ...              Tier(Decimal(7), None, Decimal(6))])
    [(1, 'gap: tier 1 ends at 5, so this tier must start at 6, not 7')]
    """
    problems: list[tuple[int, str]] = []
    if not tiers:
        return [(0, "a tier table needs at least one tier")]
    if tiers[0].first != 1:
        problems.append((0, f"the first tier must start at 1, not {tiers[0].first}"))
    for i, t in enumerate(tiers):
        if t.last is not None and t.last < t.first:
            problems.append((i, f"tier ends ({t.last}) before it starts ({t.first})"))
        if t.unit_price < 0 or t.flat_fee < 0:
            problems.append((i, "tier prices must not be negative"))
        if i == 0:
            continue
        prev = tiers[i - 1]
        if prev.last is None:
            problems.append((i, f"tier {i} is open-ended, so no tier may follow it"))
            continue
        expected = prev.last + 1
        if t.first > expected:
            problems.append(
                (i, f"gap: tier {i} ends at {prev.last}, so this tier must start at "
                    f"{expected}, not {t.first}")
            )
        elif t.first < expected:
            problems.append(
                (i, f"overlap: tier {i} ends at {prev.last}, so this tier must start at "
                    f"{expected}, not {t.first}")
            )
    return problems


def _validated(tiers: Sequence[Tier]) -> Sequence[Tier]:
    problems = check_tiers(tiers)
    if problems:
        raise TierTableError(problems)
    return tiers


@in_decimal_context
def price_tiers(
    tiers: Sequence[Tier], quantity: Decimal | int, mode: TierMode, *, checked: bool = False
) -> TierPricing:
    """Exact price of ``quantity`` under ``tiers`` in ``mode`` (VOLUME or GRADUATED).

    Pass ``checked=True`` when the table was validated at load time.

    Stripe's published example (1–5 at 7.00, 6–10 at 6.50, 11+ at 6.00):

    >>> T = [Tier(Decimal(1), Decimal(5), Decimal("7.00")),
    ...      Tier(Decimal(6), Decimal(10), Decimal("6.50")),
    ...      Tier(Decimal(11), None, Decimal("6.00"))]
    >>> price_tiers(T, 6, TierMode.VOLUME).amount, price_tiers(T, 20, TierMode.VOLUME).amount
    (Decimal('39.00'), Decimal('120.00'))
    >>> price_tiers(T, 6, TierMode.GRADUATED).amount
    Decimal('41.50')
    >>> price_tiers(T, 20, TierMode.GRADUATED).amount
    Decimal('127.50')
    """
    if not checked:
        _validated(tiers)
    q = to_decimal(quantity, "a quantity")
    if q < 0:
        raise ValueError(f"a tiered quantity must not be negative, got {q}")
    if q == 0:
        return TierPricing(Decimal(0), ())
    if mode is TierMode.VOLUME:
        for i, t in enumerate(tiers):
            if t.last is None or q <= t.last:
                amount = _CTX.add(_CTX.multiply(q, t.unit_price), t.flat_fee)
                part = TierPart(i, q, t.unit_price, t.flat_fee, amount)
                return TierPricing(amount, (part,))
        raise ValueError(f"quantity {q} is beyond the last tier (ends at {tiers[-1].last})")
    if mode is TierMode.GRADUATED:
        parts: list[TierPart] = []
        total = Decimal(0)
        for i, t in enumerate(tiers):
            lower = t.first - 1
            if q <= lower:
                break
            upper = q if t.last is None else min(q, t.last)
            units = _CTX.subtract(upper, lower)
            amount = _CTX.add(_CTX.multiply(units, t.unit_price), t.flat_fee)
            parts.append(TierPart(i, units, t.unit_price, t.flat_fee, amount))
            total = _CTX.add(total, amount)
        covered = tiers[-1].last
        if covered is not None and q > covered:
            raise ValueError(f"quantity {q} is beyond the last tier (ends at {covered})")
        return TierPricing(total, tuple(parts))
    raise ValueError(f"price_tiers prices VOLUME or GRADUATED tables, not {mode}")


@in_decimal_context
def price_package(
    quantity: Decimal | int,
    block_size: Decimal | int,
    block_price: Decimal,
    free_units: Decimal | int = 0,
) -> TierPricing:
    """Price per *started* block of ``block_size`` units, after ``free_units`` free units.

    >>> price_package(25, 10, Decimal("4.00")).amount      # 3 started blocks
    Decimal('12.00')
    >>> price_package(12, 10, Decimal("4.00"), free_units=2).amount
    Decimal('4.00')
    """
    q = to_decimal(quantity, "a quantity")
    size = to_decimal(block_size, "a block size")
    free = to_decimal(free_units, "free units")
    if size <= 0:
        raise ValueError(f"a block size must be positive, got {size}")
    if q < 0 or free < 0:
        raise ValueError("quantities must not be negative")
    chargeable = max(Decimal(0), q - free)
    blocks = _CTX.divide_int(chargeable, size)
    if _CTX.remainder(chargeable, size):
        blocks += 1
    amount = _CTX.multiply(blocks, block_price)
    part = TierPart(0, blocks, block_price, Decimal(0), amount)
    return TierPricing(amount, (part,) if blocks else ())
