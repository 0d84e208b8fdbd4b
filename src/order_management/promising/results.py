"""What promising answers: plans that explain themselves, and what a store keeps.

All frozen dataclasses. A :class:`PromisePlan` is the pure answer to "when and
from where can we deliver this?": per line, the shipments (location, quantity,
ship and delivery dates, which supply makes it possible), the quantity left on
backorder, a status and a readable reason. Its :attr:`PromisePlan.commitments`
are exactly what reserving the plan writes to the store; a shortage is an
answer (a backordered line), never an exception.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .models import LeadTimeKind, SupplyPosition

__all__ = [
    "AGGREGATED",
    "COMMON_POOL",
    "AvailabilitySnapshot",
    "Commitment",
    "LinePromise",
    "LineStatus",
    "PlannedSupply",
    "Promise",
    "PromisePlan",
    "Reservation",
    "Shipment",
    "SupplyKey",
    "SupplySource",
]

#: ``(item, location)``: the unit of supply, of versioning and of compare-and-set.
SupplyKey = tuple[str, str]

#: The pool of supply no demand class has a protected share of.
COMMON_POOL = "common"

#: The ``line_id`` of a commitment summed over reservations (as snapshots may return them).
AGGREGATED = "*"


class SupplySource(enum.StrEnum):
    """What a shipment relies on."""

    STOCK = "stock"            # on hand at as_of
    SCHEDULED = "scheduled"    # a purchase order, transfer or production order still to arrive
    LEAD_TIME = "lead_time"    # made or bought to order: as_of + lead time (CTP)
    UNLIMITED = "unlimited"    # services: no supply check


class LineStatus(enum.StrEnum):
    ON_TIME = "on_time"          # fully promised by the requested date (or from stock now)
    DELAYED = "delayed"          # fully promised, but later than requested
    PARTIAL = "partial"          # part promised, the rest backordered without a date
    BACKORDERED = "backordered"  # nothing can be promised now


@dataclass(frozen=True, slots=True)
class Commitment:
    """Units of a location's supply set aside for one line, shipping on ``ship_on``.

    ``pool`` is the share they come from: :data:`COMMON_POOL` or the demand
    class whose protected allocation they use. ``demand_class`` is the class of
    the demand that took them (it decides from which date a pool is usable).
    ``supply_by`` is the latest date of supply they may rely on (None: the
    ship date); an ATP time fence keeps it at the fence when the shipment is
    later, so a receipt beyond the fence never backs a promise.
    """

    line_id: str
    item: str
    location: str
    quantity: int
    ship_on: dt.date
    demand_class: str
    pool: str = COMMON_POOL
    supply_by: dt.date | None = None

    @property
    def key(self) -> SupplyKey:
        return (self.item, self.location)

    @property
    def backed_by(self) -> dt.date:
        """The date the pool arithmetic files these units under: ``supply_by`` or the ship date."""
        return self.ship_on if self.supply_by is None or self.supply_by > self.ship_on else self.supply_by


@dataclass(frozen=True, slots=True)
class PlannedSupply:
    """Units promised at lead time (CTP): to be made, bought or transferred in.

    They consume no existing supply; they tell planning what must be ordered
    and by when (``available_on``).
    """

    line_id: str
    item: str
    location: str
    quantity: int
    available_on: dt.date
    lead_time_kind: LeadTimeKind


@dataclass(frozen=True, slots=True)
class Shipment:
    """One part of a line: from one location, on one date."""

    location: str
    quantity: int
    ship_on: dt.date
    deliver_on: dt.date
    source: SupplySource
    supply_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinePromise:
    """The answer for one demand line, with the reason in words."""

    line_id: str
    item: str
    quantity: int
    status: LineStatus
    shipments: tuple[Shipment, ...]
    backordered: int
    reason: str

    @property
    def promised_quantity(self) -> int:
        return sum(s.quantity for s in self.shipments)

    @property
    def promised_on(self) -> dt.date | None:
        """The delivery date of the whole line; None while any of it is backordered."""
        if self.backordered or not self.shipments:
            return None
        return max(s.deliver_on for s in self.shipments)


@dataclass(frozen=True, slots=True)
class PromisePlan:
    """A complete, uncommitted answer for a request (``check_availability``)."""

    reference: str
    as_of: dt.date
    demand_class: str
    sourcing_rule: str
    split_policy: str
    lines: tuple[LinePromise, ...]
    commitments: tuple[Commitment, ...]
    planned: tuple[PlannedSupply, ...]

    @property
    def fully_promised(self) -> bool:
        return all(line.backordered == 0 for line in self.lines)

    @property
    def promised_on(self) -> dt.date | None:
        """When the last line is delivered; None if anything is backordered."""
        dates = [line.promised_on for line in self.lines]
        if any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)

    @property
    def keys(self) -> tuple[SupplyKey, ...]:
        """The supply keys reserving this plan writes to, sorted."""
        return tuple(sorted({c.key for c in self.commitments}))

    def line(self, line_id: str) -> LinePromise:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise KeyError(line_id)


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a store keeps for one promise: an id (the idempotency key) and its commitments."""

    id: str
    reference: str
    commitments: tuple[Commitment, ...]
    planned: tuple[PlannedSupply, ...] = ()

    @property
    def keys(self) -> tuple[SupplyKey, ...]:
        return tuple(sorted({c.key for c in self.commitments}))


@dataclass(frozen=True, slots=True)
class Promise:
    """The result of ``promise``: the reservation written and the plan it came from."""

    reservation: Reservation
    plan: PromisePlan
    attempts: int


def _freeze(mapping: Mapping) -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class AvailabilitySnapshot:
    """A consistent read of supply, commitments and versions for some keys.

    Commitments may be summed per (pool, demand class, ship and supply dates), as the
    in-memory store does; every computation reads only those fields and the
    quantity. Every key has a version; an unknown key is at version 0. Any write that
    touches a key (supply put, reserve, release) increments it, so a plan made
    from this snapshot can be committed with compare-and-set on
    :meth:`version`.
    """

    positions: Mapping[SupplyKey, SupplyPosition] = field(default_factory=dict)
    commitments: Mapping[SupplyKey, tuple[Commitment, ...]] = field(default_factory=dict)
    versions: Mapping[SupplyKey, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", _freeze(self.positions))
        object.__setattr__(self, "commitments", _freeze(self.commitments))
        object.__setattr__(self, "versions", _freeze(self.versions))

    def version(self, key: SupplyKey) -> int:
        return self.versions.get(key, 0)

    def position(self, key: SupplyKey) -> SupplyPosition | None:
        return self.positions.get(key)

    def committed(self, key: SupplyKey) -> tuple[Commitment, ...]:
        return self.commitments.get(key, ())

    def reserved(self, key: SupplyKey) -> int:
        """Units of ``key``'s supply committed to reservations."""
        return sum(c.quantity for c in self.committed(key))

    def without(self, commitments: Iterable[Commitment]) -> AvailabilitySnapshot:
        """This snapshot as if ``commitments`` (e.g. an order's current reservation) were free.

        Versions are kept, so a plan made from the result can still be
        written with compare-and-set. Commitments are matched by key, pool,
        demand class and dates; the result holds them summed (:data:`AGGREGATED`).
        """
        removed: dict[SupplyKey, Counter[tuple[str, str, dt.date, dt.date]]] = {}
        for c in commitments:
            removed.setdefault(c.key, Counter())[(c.pool, c.demand_class, c.ship_on, c.backed_by)] += c.quantity
        if not removed:
            return self
        kept = dict(self.commitments)
        for key, minus in removed.items():
            totals: Counter[tuple[str, str, dt.date, dt.date]] = Counter()
            for c in self.committed(key):
                totals[(c.pool, c.demand_class, c.ship_on, c.backed_by)] += c.quantity
            totals.subtract(minus)
            if any(units < 0 for units in totals.values()):
                raise ValueError(f"{key[0]}@{key[1]}: cannot free commitments the snapshot does not hold")
            kept[key] = tuple(
                Commitment(AGGREGATED, key[0], key[1], units, ship_on, demand_class, pool,
                           None if backed_by == ship_on else backed_by)
                for (pool, demand_class, ship_on, backed_by), units in sorted(totals.items(),
                                                                              key=lambda kv: (kv[0][2], kv[0][3],
                                                                                              kv[0][1], kv[0][0]))
                if units)
        return AvailabilitySnapshot(self.positions, {k: v for k, v in kept.items() if v}, self.versions)

    def locations_of(self, item: str) -> tuple[str, ...]:
        return tuple(sorted(loc for (i, loc) in self.positions if i == item))
