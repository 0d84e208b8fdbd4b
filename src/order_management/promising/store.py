"""The reservation ledger: the one stateful piece of promising.

:class:`ReservationStore` is deliberately narrow, so a SQL implementation can
sit behind it (a later issue): read a snapshot, reserve with compare-and-set,
release, get, and put supply.

Versioning and compare-and-set
    Every supply key ``(item, location)`` has an integer version, 0 for a key
    the store has never seen. Every write touching a key — :meth:`put_supply`
    for it, a :meth:`reserve` or :meth:`release` with a commitment on it —
    increments it by one. :meth:`reserve` takes the versions the plan was built
    from and applies the reservation only if every key it writes still has
    that version; otherwise it raises :class:`VersionConflictError` and writes
    nothing. Since the plan was feasible against that exact state, a
    successful reserve can never oversell; the caller re-plans on conflict
    (``promise`` does). In SQL: ``UPDATE supply SET version = version + 1
    WHERE item = ? AND location = ? AND version = ?`` for each key in one
    transaction, rolled back unless every row matched.

All-or-nothing
    A reservation is written whole or not at all. Shortages are not the
    store's business: the plan already says which lines are backordered, and
    a reservation holds only the commitments that supply covers.

Last-line guard
    Independently of the planner, the store refuses (:class:`OversellError`)
    a write that would commit more units of a key than its on hand plus
    scheduled receipts. It never fires when the core is right; it exists so
    that a bug cannot silently oversell.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from rule_language import suggest

from .errors import (
    DuplicateReservationError,
    OversellError,
    PromisingInputError,
    UnknownNameError,
    VersionConflictError,
)
from .models import SupplyPosition
from .results import AGGREGATED, AvailabilitySnapshot, Commitment, Reservation, SupplyKey

__all__ = ["InMemoryReservationStore", "ReservationStore"]


def _by_date(item: tuple[tuple[str, str, dt.date, dt.date], int]) -> tuple[dt.date, dt.date, str, str]:
    (pool, demand_class, ship_on, backed_by), _ = item
    return (ship_on, backed_by, demand_class, pool)


@runtime_checkable
class ReservationStore(Protocol):
    """Supply and reservations, with atomic, versioned writes."""

    def snapshot(self, items: Iterable[str]) -> AvailabilitySnapshot:
        """A consistent read of every location's supply, commitments and version for ``items``.

        Commitments may be returned summed per (pool, demand class, ship date, supply date)
        with ``line_id`` :data:`AGGREGATED`: the core reads nothing else, and
        the snapshot then grows with distinct dates, not with reservations
        (in SQL, one ``GROUP BY``).
        """
        ...

    def reserve(self, reservation: Reservation, expected_versions: Mapping[SupplyKey, int], *,
                replaces: Reservation | None = None) -> Mapping[SupplyKey, int]:
        """Write ``reservation`` if every key it commits on is still at ``expected_versions``.

        With ``replaces``, the reservation of the same id must currently be
        exactly ``replaces``; it is swapped for the new one in the same atomic
        write (the keys of both are checked), so a revised order never lets
        go of its units while it is being re-promised.

        Returns the new versions of the keys written. Raises
        :class:`VersionConflictError` (nothing written) when a key moved or is
        missing from ``expected_versions``, or the reservation to replace
        changed; :class:`DuplicateReservationError` when the id exists and
        nothing is replaced; :class:`OversellError` from the last-line guard.
        """
        ...

    def release(self, reservation_id: str, line_ids: Iterable[str] | None = None) -> Reservation:
        """Give back the commitments of ``line_ids`` (all lines when None); returns what was released."""
        ...

    def get(self, reservation_id: str) -> Reservation:
        """The reservation as it stands (raises :class:`UnknownNameError`)."""
        ...

    def put_supply(self, position: SupplyPosition, expected_version: int | None = None) -> int:
        """Replace the supply of ``position.key``; with ``expected_version``, only if unchanged.

        Returns the key's new version.
        """
        ...


class InMemoryReservationStore:
    """A thread-safe :class:`ReservationStore` in a process's memory.

    One lock serialises every method, so each is atomic and snapshots are
    consistent; the work under the lock is a few dictionary updates (planning
    happens outside it, against the snapshot).

    >>> import datetime as dt
    >>> store = InMemoryReservationStore([SupplyPosition(item="LOCK-U", location="DE-KS", on_hand=5)])
    >>> snap = store.snapshot(["LOCK-U"])
    >>> snap.version(("LOCK-U", "DE-KS")), snap.reserved(("LOCK-U", "DE-KS"))
    (1, 0)
    >>> held = Commitment("1", "LOCK-U", "DE-KS", 2, dt.date(2026, 11, 25), "standard")
    >>> store.reserve(Reservation("R-1", "SO-1", (held,)), snap.versions)
    {('LOCK-U', 'DE-KS'): 2}
    >>> try:  # the same snapshot again: the key has moved on, nothing is written
    ...     store.reserve(Reservation("R-2", "SO-2", (held,)), snap.versions)
    ... except VersionConflictError as conflict:
    ...     print(conflict)
    supply changed since the snapshot for LOCK-U@DE-KS; plan again
    >>> store.reserved(("LOCK-U", "DE-KS"))
    2
    """

    def __init__(self, positions: Iterable[SupplyPosition] = ()) -> None:
        self._lock = threading.Lock()
        self._positions: dict[SupplyKey, SupplyPosition] = {}
        self._versions: dict[SupplyKey, int] = {}
        # what snapshots return: units per (pool, demand class, ship date, supply date), kept up to date on every write
        self._aggregates: dict[SupplyKey, dict[tuple[str, str, dt.date, dt.date], int]] = {}
        self._summed_cache: dict[SupplyKey, tuple[Commitment, ...]] = {}
        self._totals: dict[SupplyKey, int] = {}
        self._reservations: dict[str, Reservation] = {}
        self._locations: dict[str, set[str]] = {}
        for position in positions:
            self.put_supply(position)

    # -- reads -------------------------------------------------------------------------
    def snapshot(self, items: Iterable[str]) -> AvailabilitySnapshot:
        wanted = set(items)
        with self._lock:
            keys = [(item, loc) for item in sorted(wanted) for loc in sorted(self._locations.get(item, ()))]
            positions = {k: self._positions[k] for k in keys if k in self._positions}
            commitments = {k: self._summed(k) for k in keys}
            versions = {k: self._versions.get(k, 0) for k in keys}
        return AvailabilitySnapshot(positions, {k: v for k, v in commitments.items() if v}, versions)

    def get(self, reservation_id: str) -> Reservation:
        with self._lock:
            found = self._reservations.get(reservation_id)
            if found is None:
                raise self._unknown(reservation_id)
            return found

    def _unknown(self, reservation_id: str) -> UnknownNameError:
        hint = suggest(reservation_id, list(self._reservations)[:1000])
        return UnknownNameError(f"no reservation {reservation_id!r}" + (f"; {hint}" if hint else ""))

    # -- writes ------------------------------------------------------------------------
    def put_supply(self, position: SupplyPosition, expected_version: int | None = None) -> int:
        key = position.key
        with self._lock:
            current = self._versions.get(key, 0)
            if expected_version is not None and expected_version != current:
                raise VersionConflictError((key,))
            self._positions[key] = position
            self._locations.setdefault(position.item, set()).add(position.location)
            self._versions[key] = current + 1
            return current + 1

    def reserve(self, reservation: Reservation, expected_versions: Mapping[SupplyKey, int], *,
                replaces: Reservation | None = None) -> Mapping[SupplyKey, int]:
        by_key: dict[SupplyKey, list[Commitment]] = {}
        for index, commitment in enumerate(reservation.commitments):
            if commitment.quantity < 1:
                raise PromisingInputError("a commitment needs a quantity of at least 1",
                                          ("commitments", index, "quantity"))
            by_key.setdefault(commitment.key, []).append(commitment)
        if replaces is not None and replaces.id != reservation.id:
            raise PromisingInputError(f"a reservation replaces one of the same id, not {replaces.id!r}",
                                      ("replaces", "id"))
        with self._lock:
            current = self._reservations.get(reservation.id)
            if replaces is None and current is not None:
                raise DuplicateReservationError(f"reservation {reservation.id!r} already exists")
            if replaces is not None and current != replaces:
                raise VersionConflictError(tuple(sorted({c.key for c in replaces.commitments})))
            old_by_key: dict[SupplyKey, list[Commitment]] = {}
            for commitment in current.commitments if replaces is not None and current else ():
                old_by_key.setdefault(commitment.key, []).append(commitment)
            touched = sorted(set(by_key) | set(old_by_key))
            moved = tuple(k for k in touched
                          if k not in expected_versions or expected_versions[k] != self._versions.get(k, 0))
            if moved:
                raise VersionConflictError(moved)
            for key, group in by_key.items():
                position = self._positions.get(key)
                supply = position.total_supply if position else 0
                freed = sum(c.quantity for c in old_by_key.get(key, ()))
                wanted = self._totals.get(key, 0) - freed + sum(c.quantity for c in group)
                if wanted > supply:
                    raise OversellError(f"{key[0]}@{key[1]}: {wanted} units would be committed "
                                        f"against a supply of {supply}")
            new_versions = {}
            for key in touched:
                old, group = old_by_key.get(key, []), by_key.get(key, [])
                if old:
                    self._aggregate(key, old, -1)
                if group:
                    self._aggregate(key, group, +1)
                self._totals[key] = (self._totals.get(key, 0) - sum(c.quantity for c in old)
                                     + sum(c.quantity for c in group))
                self._locations.setdefault(key[0], set()).add(key[1])
                new_versions[key] = self._versions[key] = self._versions.get(key, 0) + 1
            self._reservations[reservation.id] = reservation
            return new_versions

    def release(self, reservation_id: str, line_ids: Iterable[str] | None = None) -> Reservation:
        with self._lock:
            reservation = self._reservations.get(reservation_id)
            if reservation is None:
                raise self._unknown(reservation_id)
            if line_ids is None:
                lines = {c.line_id for c in reservation.commitments} | {p.line_id for p in reservation.planned}
            else:
                lines = set(line_ids)
                known = {c.line_id for c in reservation.commitments} | {p.line_id for p in reservation.planned}
                unknown = sorted(lines - known)
                if unknown:
                    raise UnknownNameError(f"reservation {reservation_id!r} holds nothing for line(s) "
                                           f"{', '.join(unknown)}; it holds {', '.join(sorted(known)) or 'nothing'}")
            released = tuple(c for c in reservation.commitments if c.line_id in lines)
            kept = tuple(c for c in reservation.commitments if c.line_id not in lines)
            released_planned = tuple(p for p in reservation.planned if p.line_id in lines)
            kept_planned = tuple(p for p in reservation.planned if p.line_id not in lines)
            for key in sorted({c.key for c in released}):
                self._totals[key] = (self._totals[key]
                                     - sum(c.quantity for c in released if c.key == key))
                self._aggregate(key, [c for c in released if c.key == key], -1)
                self._versions[key] = self._versions.get(key, 0) + 1
            if kept or kept_planned:
                self._reservations[reservation_id] = Reservation(reservation_id, reservation.reference, kept,
                                                                 kept_planned)
            else:
                del self._reservations[reservation_id]
            return Reservation(reservation_id, reservation.reference, released, released_planned)

    def _summed(self, key: SupplyKey) -> tuple[Commitment, ...]:
        """The key's commitments summed per (pool, class, dates); cached until the next write."""
        found = self._summed_cache.get(key)
        if found is None:
            found = self._summed_cache[key] = tuple(
                Commitment(AGGREGATED, key[0], key[1], units, ship_on, demand_class, pool,
                           None if backed_by == ship_on else backed_by)
                for (pool, demand_class, ship_on, backed_by), units
                in sorted(self._aggregates.get(key, {}).items(), key=_by_date))
        return found

    def _aggregate(self, key: SupplyKey, group: Iterable[Commitment], sign: int) -> None:
        self._summed_cache.pop(key, None)
        totals = self._aggregates.setdefault(key, {})
        for c in group:
            slot = (c.pool, c.demand_class, c.ship_on, c.backed_by)
            units = totals.get(slot, 0) + sign * c.quantity
            if units:
                totals[slot] = units
            else:
                del totals[slot]

    # -- inspection (tests, audits) ----------------------------------------------------
    def reserved(self, key: SupplyKey) -> int:
        """Units of ``key`` committed to reservations."""
        with self._lock:
            return self._totals.get(key, 0)
