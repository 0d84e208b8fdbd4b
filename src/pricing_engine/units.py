"""Units of measure: converting a line's quantity into the unit a price is quoted in.

Steel is priced per tonne and sold per kg; cable per metre and sold in cm. Factors
are exact (the pound is defined as 0.45359237 kg), grouped by dimension; converting
across dimensions is an error. ``each`` (pieces) is the unit of a quantity that
names none.
"""

from __future__ import annotations

from decimal import Decimal

from pricing_engine.errors import PricingEvaluationError
from pricing_engine.rounding import DECIMAL_CONTEXT

__all__ = ["UNITS", "convert_quantity", "unit_dimension"]

D = Decimal
#: unit → (dimension, size in the dimension's base unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "each": ("count", D(1)),
    "pair": ("count", D(2)),
    "dozen": ("count", D(12)),
    "mg": ("mass", D("0.000001")),
    "g": ("mass", D("0.001")),
    "kg": ("mass", D(1)),
    "t": ("mass", D(1000)),
    "lb": ("mass", D("0.45359237")),
    "oz": ("mass", D("0.028349523125")),
    "mm": ("length", D("0.001")),
    "cm": ("length", D("0.01")),
    "m": ("length", D(1)),
    "km": ("length", D(1000)),
    "ft": ("length", D("0.3048")),
    "in": ("length", D("0.0254")),
    "ml": ("volume", D("0.001")),
    "l": ("volume", D(1)),
    "m3": ("volume", D(1000)),
    "m2": ("area", D(1)),
    "min": ("time", D(60)),
    "h": ("time", D(3600)),
}


def unit_dimension(unit: str) -> str:
    """The dimension of ``unit`` ('mass', 'length', …); ``LookupError`` if unknown."""
    try:
        return UNITS[unit][0]
    except KeyError:
        raise PricingEvaluationError(
            f"unknown unit {unit!r}; known units: {', '.join(sorted(UNITS))}"
        ) from None


def convert_quantity(quantity: Decimal, from_unit: str | None, to_unit: str | None) -> Decimal:
    """Express ``quantity`` of ``from_unit`` in ``to_unit`` (exactly, unrounded).

    >>> convert_quantity(Decimal(2500), "kg", "t")
    Decimal('2.5')
    """
    a, b = from_unit or "each", to_unit or "each"
    if a == b:
        return quantity
    for u in (a, b):
        if u not in UNITS:
            unit_dimension(u)  # raises, naming the unknown unit and the known ones
    (da, fa), (db, fb) = UNITS[a], UNITS[b]
    if da != db:
        raise PricingEvaluationError(f"cannot convert {a} ({da}) to {b} ({db})")
    return DECIMAL_CONTEXT.divide(DECIMAL_CONTEXT.multiply(quantity, fa), fb)
