"""Promising's :class:`~order_management.promising.ReservationStore` in SQL, safe under concurrency.

The contract (see :mod:`order_management.promising.store`): every supply key
``(item, location)`` has a version; a reservation is written whole, only if
each key it commits on is still at the version its plan was made from, and
never beyond the key's supply (the last-line guard). Here:

- ``snapshot`` is one ``SELECT`` (supply rows ``UNION ALL`` the commitments
  summed by one ``GROUP BY``): a single statement reads one consistent state
  on both databases, so supply, commitments and versions agree.
- ``reserve``, ``release`` and ``put_supply`` lock the supply rows they touch
  (``SELECT … FOR UPDATE`` in key order on PostgreSQL; ``BEGIN IMMEDIATE`` on
  SQLite), compare versions, check the guard, write, and bump the versions,
  all in one transaction. A stale version raises
  :class:`~order_management.promising.VersionConflictError` and writes
  nothing; the promising service re-plans and tries again.

The same contract tests as the in-memory store run against this one on both
databases, and a multi-process test on PostgreSQL checks nothing is oversold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from order_management.promising import (
    AGGREGATED,
    AvailabilitySnapshot,
    Commitment,
    DuplicateReservationError,
    LeadTimeKind,
    OversellError,
    PlannedSupply,
    PromisingInputError,
    Reservation,
    SupplyKey,
    SupplyPosition,
    UnknownNameError,
    VersionConflictError,
)
from rule_language import suggest

from .database import Database, Transaction
from .schema import promise_reservations, supply, supply_commitments

__all__ = ["SqlReservationStore"]


def _planned_json(planned: Iterable[PlannedSupply]) -> list[dict[str, Any]]:
    return [{"line_id": p.line_id, "item": p.item, "location": p.location, "quantity": p.quantity,
             "available_on": p.available_on.isoformat(), "lead_time_kind": p.lead_time_kind.value} for p in planned]


def _planned(data: list[dict[str, Any]]) -> tuple[PlannedSupply, ...]:
    return tuple(PlannedSupply(d["line_id"], d["item"], d["location"], d["quantity"],
                               dt.date.fromisoformat(d["available_on"]), LeadTimeKind(d["lead_time_kind"]))
                 for d in data)


def _commitment(row: Any) -> Commitment:
    return Commitment(row.line_id, row.item, row.location, row.quantity, row.ship_on, row.demand_class, row.pool,
                      row.supply_by)


class SqlReservationStore:
    """Supply and reservations in the host app's database."""

    def __init__(self, db: Database | Transaction, now: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    # -- reads -----------------------------------------------------------------------------------
    def snapshot(self, items: Iterable[str]) -> AvailabilitySnapshot:
        wanted = sorted(set(items))
        if not wanted:
            return AvailabilitySnapshot()
        c = supply_commitments
        backed_by = sa.func.coalesce(c.c.supply_by, c.c.ship_on)
        positions_part = sa.select(
            sa.literal("s").label("part"), supply.c.item, supply.c.location, supply.c.version, supply.c.position,
            sa.cast(sa.null(), sa.String).label("pool"), sa.cast(sa.null(), sa.String).label("demand_class"),
            sa.cast(sa.null(), sa.Date).label("ship_on"), sa.cast(sa.null(), sa.Date).label("backed_by"),
            sa.cast(sa.null(), sa.Integer).label("units")).where(supply.c.item.in_(wanted))
        commitments_part = sa.select(
            sa.literal("c"), c.c.item, c.c.location, sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.JSON),
            c.c.pool, c.c.demand_class, c.c.ship_on, backed_by, sa.cast(sa.func.sum(c.c.quantity), sa.Integer)
        ).where(c.c.item.in_(wanted)).group_by(c.c.item, c.c.location, c.c.pool, c.c.demand_class, c.c.ship_on,
                                               backed_by)
        # one statement: one consistent snapshot of supply, versions and commitments, without a
        # REPEATABLE READ transaction (a single statement never sees a half-applied write)
        with self.db.read() as connection:
            found = connection.execute(sa.union_all(positions_part, commitments_part)).all()
        rows = [r for r in found if r.part == "s"]
        sums = [r for r in found if r.part == "c"]
        positions = {(r.item, r.location): SupplyPosition.model_validate(r.position) for r in rows}
        versions = {(r.item, r.location): r.version for r in rows}
        commitments: dict[SupplyKey, list[tuple[tuple[dt.date, dt.date, str, str], Commitment]]] = {}
        for r in sums:
            ship_on, backed = _date(r.ship_on), _date(r.backed_by)
            commitment = Commitment(AGGREGATED, r.item, r.location, int(r.units), ship_on, r.demand_class, r.pool,
                                    None if backed == ship_on else backed)
            commitments.setdefault((r.item, r.location), []).append(((ship_on, backed, r.demand_class, r.pool),
                                                                     commitment))
            versions.setdefault((r.item, r.location), 0)
        return AvailabilitySnapshot(positions, {k: tuple(c for _, c in sorted(v, key=lambda e: e[0]))
                                                for k, v in commitments.items()}, versions)

    def get(self, reservation_id: str) -> Reservation:
        with self.db.read() as connection:
            return self._get(connection, reservation_id)

    def reserved(self, key: SupplyKey) -> int:
        """Units of ``key`` committed to reservations."""
        with self.db.read() as connection:
            return int(connection.execute(sa.select(sa.func.coalesce(sa.func.sum(supply_commitments.c.quantity), 0))
                                          .where(supply_commitments.c.item == key[0],
                                                 supply_commitments.c.location == key[1])).scalar_one())

    def oversold(self) -> int:
        """Units committed beyond supply, over every key (the guard keeps this at 0)."""
        with self.db.read() as connection:
            committed = sa.select(supply_commitments.c.item, supply_commitments.c.location,
                                  sa.func.sum(supply_commitments.c.quantity).label("units")).group_by(
                supply_commitments.c.item, supply_commitments.c.location).subquery()
            rows = connection.execute(
                sa.select(committed.c.units, sa.func.coalesce(supply.c.total_supply, 0).label("total"))
                .select_from(committed.outerjoin(supply, sa.and_(supply.c.item == committed.c.item,
                                                                 supply.c.location == committed.c.location)))).all()
        return sum(max(0, int(r.units) - int(r.total)) for r in rows)

    def positions(self) -> list[tuple[SupplyPosition, int]]:
        """Every supply position with the units committed against it (for the desk's stock view)."""
        with self.db.read() as connection:
            rows = connection.execute(sa.select(supply).order_by(supply.c.item, supply.c.location)).all()
            totals = {(r.item, r.location): int(r.units) for r in connection.execute(
                sa.select(supply_commitments.c.item, supply_commitments.c.location,
                          sa.func.sum(supply_commitments.c.quantity).label("units"))
                .group_by(supply_commitments.c.item, supply_commitments.c.location))}
        return [(SupplyPosition.model_validate(r.position), totals.get((r.item, r.location), 0)) for r in rows]

    def made_before(self, moment: dt.datetime) -> list[str]:
        """Ids of the reservations made before ``moment`` (oldest first)."""
        with self.db.read() as connection:
            return list(connection.execute(
                sa.select(promise_reservations.c.id).where(promise_reservations.c.created_at < moment)
                .order_by(promise_reservations.c.created_at)).scalars())

    # -- writes ----------------------------------------------------------------------------------
    def put_supply(self, position: SupplyPosition, expected_version: int | None = None) -> int:
        def work(connection: Connection) -> int:
            current = self._lock(connection, [position.key]).get(position.key)
            version = current[0] if current else 0
            if expected_version is not None and expected_version != version:
                raise VersionConflictError((position.key,))
            values = {"version": version + 1, "total_supply": position.total_supply,
                      "position": position.model_dump(mode="json")}
            if current:
                connection.execute(supply.update().where(supply.c.item == position.item,
                                                         supply.c.location == position.location).values(**values))
            else:
                try:
                    with connection.begin_nested():
                        connection.execute(supply.insert().values(item=position.item, location=position.location,
                                                                  **values))
                except sa.exc.IntegrityError:  # someone created the key meanwhile
                    raise VersionConflictError((position.key,)) from None
            return version + 1

        return self.db.retrying(work)

    def reserve(self, reservation: Reservation, expected_versions: Mapping[SupplyKey, int], *,
                replaces: Reservation | None = None) -> Mapping[SupplyKey, int]:
        by_key: dict[SupplyKey, int] = {}
        for index, commitment in enumerate(reservation.commitments):
            if commitment.quantity < 1:
                raise PromisingInputError("a commitment needs a quantity of at least 1",
                                          ("commitments", index, "quantity"))
            by_key[commitment.key] = by_key.get(commitment.key, 0) + commitment.quantity
        if replaces is not None and replaces.id != reservation.id:
            raise PromisingInputError(f"a reservation replaces one of the same id, not {replaces.id!r}",
                                      ("replaces", "id"))

        def work(connection: Connection) -> Mapping[SupplyKey, int]:
            current = self._find(connection, reservation.id, lock=True)
            if replaces is None and current is not None:
                raise DuplicateReservationError(f"reservation {reservation.id!r} already exists")
            if replaces is not None and current != replaces:
                raise VersionConflictError(tuple(sorted({c.key for c in replaces.commitments})))
            freed: dict[SupplyKey, int] = {}
            for commitment in current.commitments if replaces is not None and current else ():
                freed[commitment.key] = freed.get(commitment.key, 0) + commitment.quantity
            touched = sorted(set(by_key) | set(freed))
            locked = self._lock(connection, touched)
            moved = tuple(k for k in touched
                          if k not in expected_versions or expected_versions[k] != (locked[k][0] if k in locked
                                                                                    else 0))
            if moved:
                raise VersionConflictError(moved)
            committed = self._committed(connection, sorted(by_key))
            for key in sorted(by_key):
                total = locked[key][1] if key in locked else 0
                wanted = committed.get(key, 0) - freed.get(key, 0) + by_key[key]
                if wanted > total:
                    raise OversellError(f"{key[0]}@{key[1]}: {wanted} units would be committed "
                                        f"against a supply of {total}")
            if current is not None:
                connection.execute(supply_commitments.delete().where(
                    supply_commitments.c.reservation_id == reservation.id))
                connection.execute(promise_reservations.update().where(promise_reservations.c.id == reservation.id)
                                   .values(reference=reservation.reference,
                                           planned=_planned_json(reservation.planned)))
            else:
                try:
                    with connection.begin_nested():
                        connection.execute(promise_reservations.insert().values(
                            id=reservation.id, reference=reservation.reference,
                            planned=_planned_json(reservation.planned), created_at=self._now()))
                except sa.exc.IntegrityError:
                    raise DuplicateReservationError(f"reservation {reservation.id!r} already exists") from None
            if reservation.commitments:
                connection.execute(supply_commitments.insert(), [
                    {"reservation_id": reservation.id, "seq": n, "line_id": c.line_id, "item": c.item,
                     "location": c.location, "quantity": c.quantity, "ship_on": c.ship_on,
                     "demand_class": c.demand_class, "pool": c.pool, "supply_by": c.supply_by}
                    for n, c in enumerate(reservation.commitments)])
            return self._bump(connection, touched, locked)

        return self.db.retrying(work)

    def release(self, reservation_id: str, line_ids: Iterable[str] | None = None) -> Reservation:
        wanted = None if line_ids is None else set(line_ids)

        def work(connection: Connection) -> Reservation:
            reservation = self._get(connection, reservation_id, lock=True)
            known = {c.line_id for c in reservation.commitments} | {p.line_id for p in reservation.planned}
            lines = known if wanted is None else wanted
            unknown = sorted(lines - known)
            if unknown:
                raise UnknownNameError(f"reservation {reservation_id!r} holds nothing for line(s) "
                                       f"{', '.join(unknown)}; it holds {', '.join(sorted(known)) or 'nothing'}")
            released = tuple(c for c in reservation.commitments if c.line_id in lines)
            kept = tuple(c for c in reservation.commitments if c.line_id not in lines)
            released_planned = tuple(p for p in reservation.planned if p.line_id in lines)
            kept_planned = tuple(p for p in reservation.planned if p.line_id not in lines)
            keys = sorted({c.key for c in released})
            current = self._lock(connection, keys)
            if released:
                connection.execute(supply_commitments.delete().where(
                    supply_commitments.c.reservation_id == reservation_id,
                    supply_commitments.c.line_id.in_(sorted(lines))))
            if kept or kept_planned:
                connection.execute(promise_reservations.update().where(promise_reservations.c.id == reservation_id)
                                   .values(planned=_planned_json(kept_planned)))
            else:
                connection.execute(promise_reservations.delete().where(promise_reservations.c.id == reservation_id))
            self._bump(connection, keys, current)
            return Reservation(reservation_id, reservation.reference, released, released_planned)

        return self.db.retrying(work)

    # -- internals -------------------------------------------------------------------------------
    def _lock(self, connection: Connection, keys: list[SupplyKey]) -> dict[SupplyKey, tuple[int, int]]:
        """Lock the supply rows of ``keys`` (in key order); their versions and total supply."""
        if not keys:
            return {}
        query = (sa.select(supply.c.item, supply.c.location, supply.c.version, supply.c.total_supply)
                 .where(sa.tuple_(supply.c.item, supply.c.location).in_(keys))
                 .order_by(supply.c.item, supply.c.location))
        if not self.db.is_sqlite:
            query = query.with_for_update()
        return {(r.item, r.location): (r.version, r.total_supply) for r in connection.execute(query)}

    def _committed(self, connection: Connection, keys: list[SupplyKey]) -> dict[SupplyKey, int]:
        rows = connection.execute(
            sa.select(supply_commitments.c.item, supply_commitments.c.location,
                      sa.func.sum(supply_commitments.c.quantity).label("units"))
            .where(sa.tuple_(supply_commitments.c.item, supply_commitments.c.location).in_(keys))
            .group_by(supply_commitments.c.item, supply_commitments.c.location)).all()
        return {(r.item, r.location): int(r.units) for r in rows}

    def _bump(self, connection: Connection, keys: list[SupplyKey],
              current: dict[SupplyKey, tuple[int, int]]) -> dict[SupplyKey, int]:
        new_versions = {}
        for key in keys:
            version = (current[key][0] if key in current else 0) + 1
            if key in current:
                connection.execute(supply.update().where(supply.c.item == key[0], supply.c.location == key[1])
                                   .values(version=version))
            new_versions[key] = version
        return new_versions

    def _get(self, connection: Connection, reservation_id: str, lock: bool = False) -> Reservation:
        found = self._find(connection, reservation_id, lock)
        if found is None:
            ids = list(connection.execute(sa.select(promise_reservations.c.id).limit(1000)).scalars())
            hint = suggest(reservation_id, ids)
            raise UnknownNameError(f"no reservation {reservation_id!r}" + (f"; {hint}" if hint else ""))
        return found

    def _find(self, connection: Connection, reservation_id: str, lock: bool = False) -> Reservation | None:
        query = sa.select(promise_reservations).where(promise_reservations.c.id == reservation_id)
        if lock and not self.db.is_sqlite:
            query = query.with_for_update()
        head = connection.execute(query).first()
        if head is None:
            return None
        rows = connection.execute(sa.select(supply_commitments).where(
            supply_commitments.c.reservation_id == reservation_id).order_by(supply_commitments.c.seq)).all()
        return Reservation(head.id, head.reference, tuple(_commitment(r) for r in rows), _planned(head.planned))


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value
