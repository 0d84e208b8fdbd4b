"""Available-to-promise arithmetic for one item at one location (pure).

The supply of a location — stock on hand (usable on ``as_of``) and each
scheduled receipt (usable on its expected date) — is split into *pools*: the
protected share of each demand class (see :class:`~.rules.ClassShare`) and
the common remainder. Within a pool, every consumer can use a prefix of the
supply ordered by date: the owner class (and anyone, for the common pool)
from the supply's date, other classes from its release date. Because release
dates grow with supply dates, the prefixes are nested, and a set of
commitments fits the pool exactly when, for every prefix, the commitments
confined to it do not exceed its supply (Hall's condition for nested sets).
So the headroom for a new commitment confined to prefix ``K`` is

    min over k ≥ K of (supply up to k − commitments confined to prefixes ≤ k)

which is what :meth:`SupplyPicture.headroom` computes. Safety stock comes off
the top before any share is taken (from stock, then from the earliest
receipts), so no demand class is ever promised it.

A :class:`SupplyPicture` is a private working copy: planning adds the
commitments of the lines it has already placed, so two lines of one order
never count the same unit twice.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .models import SupplyPosition
from .results import COMMON_POOL, Commitment, SupplySource
from .rules import ClassShare

__all__ = ["ON_HAND", "SupplyEvent", "SupplyPicture", "build_picture"]

_NEVER = dt.date.max
ON_HAND = "on-hand"


@dataclass(frozen=True, slots=True)
class SupplyEvent:
    """A quantity of supply and the date it can first be shipped."""

    ref: str
    source: SupplySource
    on: dt.date
    quantity: int


class _Pool:
    """One share of a location's supply and what is committed against it."""

    __slots__ = ("_curve", "_suffix", "load", "name", "owner_entry", "quantities", "shared_entry")

    def __init__(self, name: str, quantities: list[int], owner_entry: list[dt.date],
                 shared_entry: list[dt.date]) -> None:
        self.name = name
        self.quantities = quantities
        self.owner_entry = owner_entry
        self.shared_entry = shared_entry
        self.load = [0] * (len(quantities) + 1)  # load[k + 1]: committed, confined to prefix k
        self._curve: list[int] | None = None
        self._suffix: list[int] = []

    def entries(self, consumer: str) -> list[dt.date]:
        if self.name == COMMON_POOL or consumer == self.name:
            return self.owner_entry
        return self.shared_entry

    def index(self, consumer: str, day: dt.date) -> int:
        """The last supply position ``consumer`` may use for a shipment on ``day`` (-1: none)."""
        return bisect_right(self.entries(consumer), day) - 1

    def add(self, consumer: str, day: dt.date, quantity: int) -> None:
        self.load[self.index(consumer, day) + 1] += quantity
        self._curve = None

    def curve(self) -> list[int]:
        """``curve[k]``: supply up to k minus commitments confined to prefixes ≤ k."""
        if self._curve is None:
            running = -self.load[0]
            curve = []
            for k, quantity in enumerate(self.quantities):
                running += quantity - self.load[k + 1]
                curve.append(running)
            self._curve = curve
            suffix = curve[:]
            for k in range(len(suffix) - 2, -1, -1):
                suffix[k] = min(suffix[k], suffix[k + 1])
            self._suffix = suffix
        return self._curve

    def headroom(self, consumer: str, day: dt.date) -> int:
        """``min(curve[k:])`` for the consumer's prefix ``k``: O(log n) once the curve is built."""
        k = self.index(consumer, day)
        if k < 0:
            return 0
        self.curve()
        return max(0, self._suffix[k])

    def shortfall(self) -> int:
        """How far the commitments already exceed this pool (0 when they fit)."""
        curve = self.curve()
        return max(0, -min(curve)) if curve else self.load[0]


class SupplyPicture:
    """Pools, supply events and commitments of one item at one location."""

    def __init__(self, item: str, location: str, events: Sequence[SupplyEvent],
                 pools: dict[str, _Pool]) -> None:
        self.item = item
        self.location = location
        self.events = tuple(events)
        self.pools = pools

    @property
    def total_supply(self) -> int:
        return sum(e.quantity for e in self.events)

    def _ordered_pools(self, consumer: str) -> list[_Pool]:
        """Own protected share first, then the common pool, then others' released shares."""
        own = [p for p in self.pools.values() if p.name == consumer]
        common = [p for p in self.pools.values() if p.name == COMMON_POOL]
        others = sorted((p for p in self.pools.values() if p.name not in (consumer, COMMON_POOL)),
                        key=lambda p: p.name)
        return own + common + others

    def available(self, consumer: str, day: dt.date) -> int:
        """Units ``consumer`` can still be promised for a shipment on ``day``."""
        return sum(p.headroom(consumer, day) for p in self.pools.values())

    def usable_dates(self, consumer: str) -> list[dt.date]:
        dates = {d for p in self.pools.values() for d, q in zip(p.entries(consumer), p.quantities,
                                                                strict=True) if q and d != _NEVER}
        return sorted(dates)

    def earliest(self, consumer: str, quantity: int, start: dt.date,
                 until: dt.date | None = None) -> dt.date | None:
        """The first day on or after ``start`` (and not after ``until``) with ``quantity`` available."""
        candidates = [start] + [d for d in self.usable_dates(consumer)
                                if d > start and (until is None or d <= until)]
        if until is not None and start > until:
            return None
        for day in candidates:
            if self.available(consumer, day) >= quantity:
                return day
        return None

    def take(self, consumer: str, quantity: int, day: dt.date) -> list[tuple[str, int]]:
        """Commit ``quantity`` for ``consumer`` shipping on ``day``; the (pool, units) used.

        The caller has checked :meth:`available`; taking more raises ``ValueError``.
        """
        parts: list[tuple[str, int]] = []
        remaining = quantity
        for pool in self._ordered_pools(consumer):
            if not remaining:
                break
            units = min(pool.headroom(consumer, day), remaining)
            if units:
                pool.add(consumer, day, units)
                parts.append((pool.name, units))
                remaining -= units
        if remaining:
            for name, units in parts:  # undo: nothing is half-taken
                self.pools[name].add(consumer, day, -units)
            raise ValueError(f"only {quantity - remaining} of {quantity} x {self.item} "
                             f"available at {self.location} on {day}")
        return parts

    def commit(self, pool: str, consumer: str, day: dt.date, quantity: int) -> int:
        """Add an existing commitment; the units it exceeds its pool's headroom by (0: it fits)."""
        target = self.pools.get(pool)
        if target is None:
            return quantity
        missing = max(0, quantity - target.headroom(consumer, day))
        target.add(consumer, day, quantity)
        return missing

    def refs_entering(self, consumer: str, day: dt.date) -> tuple[tuple[str, str | None], ...]:
        """Supply that becomes usable by ``consumer`` exactly on ``day``.

        Pairs of (supply ref, the demand class whose released share it is, or
        None when the supply itself arrives that day).
        """
        found: dict[tuple[str, str | None], None] = {}
        for pool in self.pools.values():
            entries = pool.entries(consumer)
            released = pool.name if entries is pool.shared_entry and pool.name != COMMON_POOL else None
            for event, entry, quantity in zip(self.events, entries, pool.quantities, strict=True):
                if entry == day and quantity:
                    found[(event.ref, released)] = None
        return tuple(found)

    def committed(self) -> int:
        return sum(sum(p.load) for p in self.pools.values())

    def utilisation(self) -> float:
        """Share of supply already committed (0 when there is no supply); a scoring criterion."""
        total = self.total_supply
        return 0.0 if total == 0 else min(1.0, self.committed() / total)


def _events(position: SupplyPosition | None, as_of: dt.date) -> list[SupplyEvent]:
    """Supply in date order, net of safety stock (taken from stock, then the earliest receipts)."""
    events = [SupplyEvent(ON_HAND, SupplySource.STOCK, as_of, position.on_hand if position else 0)]
    if position is not None:
        receipts = sorted(position.receipts, key=lambda r: (max(r.expected_on, as_of), r.id))
        events.extend(SupplyEvent(r.id, SupplySource.SCHEDULED, max(r.expected_on, as_of), r.quantity)
                      for r in receipts)
        held = position.safety_stock
        for index, event in enumerate(events):
            if not held:
                break
            kept = min(held, event.quantity)
            events[index] = SupplyEvent(event.ref, event.source, event.on, event.quantity - kept)
            held -= kept
    return events


def build_picture(item: str, location: str, position: SupplyPosition | None,
                  commitments: Iterable[Commitment], shares: Sequence[ClassShare],
                  as_of: dt.date) -> SupplyPicture:
    """The supply picture of ``item`` at ``location`` on ``as_of``.

    >>> from order_management.promising.models import Receipt
    >>> pos = SupplyPosition(item="BOTTLE", location="DE-KS", on_hand=10, safety_stock=2,
    ...     receipts=(Receipt(id="PO-1", quantity=20, expected_on=dt.date(2026, 12, 3)),))
    >>> picture = build_picture("BOTTLE", "DE-KS", pos, (), (), dt.date(2026, 11, 25))
    >>> picture.available("standard", dt.date(2026, 11, 25)), picture.available("standard", dt.date(2026, 12, 3))
    (8, 28)
    >>> picture.earliest("standard", 12, dt.date(2026, 11, 25))
    datetime.date(2026, 12, 3)
    """
    events = _events(position, as_of)
    pools: dict[str, _Pool] = {}
    dates = [e.on for e in events]
    common = [e.quantity for e in events]
    for share in shares:
        protected = [int(e.quantity * share.share) for e in events]  # floor: quantities are ≥ 0
        common = [c - p for c, p in zip(common, protected, strict=True)]
        released = [share.release_date(e.on) or _NEVER for e in events]
        pools[share.demand_class] = _Pool(share.demand_class, protected, dates, released)
    pools[COMMON_POOL] = _Pool(COMMON_POOL, common, dates, dates)
    picture = SupplyPicture(item, location, events, pools)
    for commitment in commitments:  # O(1) each: the curve is computed once, when first needed
        pool = pools.get(commitment.pool)
        if pool is None:  # a share the rules no longer have: its units still count, from the common pool
            pool = pools[COMMON_POOL]
        pool.add(commitment.demand_class, commitment.backed_by, commitment.quantity)
    return picture
