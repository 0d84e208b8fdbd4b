"""Run-time helpers that compiled expressions call.

All decimal arithmetic goes through one explicit context (:data:`DECIMAL_CONTEXT`,
34 significant digits, the IEEE decimal128 precision) so a caller's ambient
``decimal`` context can never change a result. Rounding here is the rule
language's own ``round``/``ceil``/``floor``; currency rounding belongs to the
pricing engine.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .errors import EvaluationError

__all__ = ["DECIMAL_CONTEXT", "round_to_step"]

DECIMAL_CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}


def number(value: Any) -> Any:
    """Guard a numeric input: floats are refused, everything else passes."""
    if value.__class__ is float:
        raise EvaluationError(
            f"float input {value!r}: pass amounts as Decimal or int",
            hint="floats cannot represent money exactly",
        )
    return value


def round_to_step(value: int | Decimal, step: int | Decimal, mode: str = "half_up") -> Decimal:
    """Round ``value`` to a multiple of ``step`` (half away from zero by default).

    >>> round_to_step(Decimal("12.37"), Decimal("0.05"))
    Decimal('12.35')
    >>> round_to_step(Decimal("12.375"), Decimal("0.05"))
    Decimal('12.40')
    """
    step = Decimal(step)
    ctx = DECIMAL_CONTEXT
    units = ctx.divide(Decimal(value), step).quantize(Decimal(1), rounding=_MODES[mode], context=ctx)
    return ctx.multiply(units, step)


def ceil(value: int | Decimal) -> int:
    return int(Decimal(value).to_integral_value(rounding=decimal.ROUND_CEILING, context=DECIMAL_CONTEXT))


def floor(value: int | Decimal) -> int:
    return int(Decimal(value).to_integral_value(rounding=decimal.ROUND_FLOOR, context=DECIMAL_CONTEXT))


def ceil_step(value: int | Decimal, step: int | Decimal) -> Decimal:
    return round_to_step(value, step, "ceiling")


def floor_step(value: int | Decimal, step: int | Decimal) -> Decimal:
    return round_to_step(value, step, "floor")


def money_ceil(value: Decimal) -> Decimal:
    return Decimal(ceil(value))


def money_floor(value: Decimal) -> Decimal:
    return Decimal(floor(value))


def days_between(start: dt.date, end: dt.date) -> int:
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return (end - start).days


def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def total(values: Iterable[Any], decimal_result: bool) -> Any:
    result: Any = Decimal(0) if decimal_result else 0
    add = DECIMAL_CONTEXT.add
    for value in values:
        number(value)
        result = add(result, value) if decimal_result else result + value
    return result


def extremum(pick: Any, values: Sequence[Any]) -> Any:
    if not values:
        raise EvaluationError("min/max of an empty list")
    return pick(values)


def is_set(env: Mapping[str, Any], parts: tuple[str, ...]) -> bool:
    current: Any = env
    for part in parts:
        if not isinstance(current, Mapping) or current.get(part) is None:
            return False
        current = current[part]
    return True


def starts_with(text: str, prefix: str) -> bool:
    return text.startswith(prefix)


def weekday(day: dt.date) -> int:
    """ISO weekday: Monday is 1, Sunday is 7."""
    return day.isoweekday()
