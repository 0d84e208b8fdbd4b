"""Sets of values that a decision-table input cell accepts, exact enough to analyse.

A cell such as ``>= 10``, ``[10..20)``, ``'gold', 'silver'`` or ``not('x')`` is
turned into a set over its column's domain: a union of intervals for numbers
and dates, a finite (or co-finite) set for text and booleans. With
intersection, difference and emptiness the loader can prove that two rows
overlap, that a row is shadowed by earlier ones, or where the table has gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["CellSet", "FiniteSet", "Interval", "IntervalSet"]


class CellSet:
    """Interface of the two kinds of sets."""

    def intersect(self, other: CellSet) -> CellSet:
        raise NotImplementedError

    def subtract(self, other: CellSet) -> CellSet:
        raise NotImplementedError

    def is_empty(self) -> bool:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class FiniteSet(CellSet):
    """``values`` itself, or (with ``complement``) everything except ``values``."""

    values: frozenset[Any]
    complement: bool = False

    @classmethod
    def everything(cls) -> FiniteSet:
        return cls(frozenset(), complement=True)

    def intersect(self, other: CellSet) -> FiniteSet:
        assert isinstance(other, FiniteSet)
        if not self.complement and not other.complement:
            return FiniteSet(self.values & other.values)
        if self.complement and other.complement:
            return FiniteSet(self.values | other.values, True)
        finite, cofinite = (self, other) if not self.complement else (other, self)
        return FiniteSet(finite.values - cofinite.values)

    def subtract(self, other: CellSet) -> FiniteSet:
        assert isinstance(other, FiniteSet)
        return self.intersect(FiniteSet(other.values, not other.complement))

    def is_empty(self) -> bool:
        return not self.complement and not self.values

    def contains(self, value: Any) -> bool:
        return (value in self.values) != self.complement

    def describe(self) -> str:
        shown = ", ".join(sorted(_show(v) for v in self.values))
        if self.complement:
            return f"not({shown})" if shown else "-"
        return shown or "(nothing)"


@dataclass(frozen=True, order=True)
class Interval:
    """An interval of Decimals; ``None`` bounds are infinite."""

    low: Decimal | None
    high: Decimal | None
    low_closed: bool = True
    high_closed: bool = True

    def is_empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        if self.low > self.high:
            return True
        return self.low == self.high and not (self.low_closed and self.high_closed)

    def contains(self, value: Decimal) -> bool:
        if self.low is not None and (value < self.low or (value == self.low and not self.low_closed)):
            return False
        if self.high is None:
            return True
        return value < self.high or (value == self.high and self.high_closed)

    def intersect(self, other: Interval) -> Interval:
        low, low_closed = _max_low(self, other)
        high, high_closed = _min_high(self, other)
        return Interval(low, high, low_closed, high_closed)

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "-"
        if self.low is None:
            return f"{'<=' if self.high_closed else '<'} {self.high}"
        if self.high is None:
            return f"{'>=' if self.low_closed else '>'} {self.low}"
        if self.low == self.high:
            return str(self.low)
        return f"{'[' if self.low_closed else '('}{self.low}..{self.high}{']' if self.high_closed else ')'}"


def _max_low(a: Interval, b: Interval) -> tuple[Decimal | None, bool]:
    if a.low is None:
        return b.low, b.low_closed
    if b.low is None:
        return a.low, a.low_closed
    if a.low != b.low:
        return (a.low, a.low_closed) if a.low > b.low else (b.low, b.low_closed)
    return a.low, a.low_closed and b.low_closed


def _min_high(a: Interval, b: Interval) -> tuple[Decimal | None, bool]:
    if a.high is None:
        return b.high, b.high_closed
    if b.high is None:
        return a.high, a.high_closed
    if a.high != b.high:
        return (a.high, a.high_closed) if a.high < b.high else (b.high, b.high_closed)
    return a.high, a.high_closed and b.high_closed


@dataclass(frozen=True)
class IntervalSet(CellSet):
    """A union of disjoint intervals; ``integer`` columns only contain whole numbers."""

    intervals: tuple[Interval, ...]
    integer: bool = False

    @classmethod
    def of(cls, intervals: Iterable[Interval], integer: bool = False) -> IntervalSet:
        cleaned = []
        for interval in intervals:
            if integer:
                interval = _integral(interval)
            if not interval.is_empty():
                cleaned.append(interval)
        return cls(tuple(cleaned), integer)

    @classmethod
    def everything(cls, integer: bool = False) -> IntervalSet:
        return cls((Interval(None, None),), integer)

    def intersect(self, other: CellSet) -> IntervalSet:
        assert isinstance(other, IntervalSet)
        return IntervalSet.of((a.intersect(b) for a in self.intervals for b in other.intervals),
                              self.integer)

    def subtract(self, other: CellSet) -> IntervalSet:
        assert isinstance(other, IntervalSet)
        remaining = list(self.intervals)
        for cut in other.intervals:
            remaining = [piece for interval in remaining for piece in _minus(interval, cut)]
        return IntervalSet.of(remaining, self.integer)

    def is_empty(self) -> bool:
        return not self.intervals

    def contains(self, value: Any) -> bool:
        return any(interval.contains(value) for interval in self.intervals)

    def describe(self) -> str:
        return ", ".join(i.describe() for i in sorted(self.intervals, key=_sort_key)) or "(nothing)"


def _sort_key(interval: Interval) -> tuple[bool, Decimal]:
    return (interval.low is not None, interval.low or Decimal(0))


def _integral(interval: Interval) -> Interval:
    """Close open bounds on an integer column: ``(3..` becomes ``[4..``."""
    low, high = interval.low, interval.high
    low_closed, high_closed = interval.low_closed, interval.high_closed
    if low is not None:
        ceiling = low.to_integral_value(rounding="ROUND_CEILING")
        low = ceiling + 1 if (ceiling == low and not low_closed) else ceiling
        low_closed = True
    if high is not None:
        floor = high.to_integral_value(rounding="ROUND_FLOOR")
        high = floor - 1 if (floor == high and not high_closed) else floor
        high_closed = True
    return Interval(low, high, low_closed, high_closed)


def _minus(interval: Interval, cut: Interval) -> list[Interval]:
    overlap = interval.intersect(cut)
    if overlap.is_empty():
        return [interval]
    pieces = []
    if overlap.low is not None:
        pieces.append(Interval(interval.low, overlap.low, interval.low_closed, not overlap.low_closed))
    if overlap.high is not None:
        pieces.append(Interval(overlap.high, interval.high, not overlap.high_closed, interval.high_closed))
    return [p for p in pieces if not p.is_empty()]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
