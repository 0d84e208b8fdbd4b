"""Stock and reservations in SQL: a :class:`Promiser` that never oversells under concurrency.

This is the host app's seam until the promising package's reservation store
lands: on-hand quantity per SKU and location, reservations per order line, and
the plain rule "reserve the whole line at one location (the order's preferred
warehouse first), else backorder it for the location's lead time". SKUs with no
stock row are not stocked (services, made to order): nothing to reserve.

Safety under concurrency does not depend on the isolation level: the stock rows
of an order are locked (``SELECT … FOR UPDATE`` on PostgreSQL, in SKU/location
order so two orders never deadlock; ``BEGIN IMMEDIATE`` on SQLite), and each
reserving ``UPDATE`` also checks that ``reserved`` is still what was read.
Arithmetic happens in Python on Decimals (SQLite keeps them as strings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from order_management import Customer, LinePromise, LinePromiseStatus, Order

from .database import Database
from .schema import reservations, stock

__all__ = ["SqlStockPromiser", "StockLevel"]

StockLevel = tuple[str, str, Decimal, int]  # sku, location, on hand, lead days


class SqlStockPromiser:
    """Reserve, backorder and release against the ``stock`` table."""

    def __init__(self, db: Database, now: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    # -- stock levels -----------------------------------------------------------------------
    def set_stock(self, levels: Iterable[StockLevel]) -> None:
        rows = [{"sku": s, "location": loc, "on_hand": Decimal(q), "reserved": Decimal(0), "lead_days": lead}
                for s, loc, q, lead in levels]
        with self.db.write() as connection:
            for row in rows:
                connection.execute(stock.delete().where(stock.c.sku == row["sku"],
                                                        stock.c.location == row["location"]))
            if rows:
                connection.execute(stock.insert(), rows)

    def levels(self) -> list[dict[str, object]]:
        with self.db.read() as connection:
            return [dict(r._mapping) for r in connection.execute(
                sa.select(stock).order_by(stock.c.sku, stock.c.location))]

    def oversold(self) -> Decimal:
        """Units reserved beyond what is on hand, over all SKUs and locations (should be 0)."""
        with self.db.read() as connection:
            rows = connection.execute(sa.select(stock.c.on_hand, stock.c.reserved)).all()
            total_reserved = connection.execute(sa.select(reservations.c.sku, reservations.c.location,
                                                          reservations.c.quantity)).all()
            levels = {(r.sku, r.location): r.on_hand for r in connection.execute(sa.select(stock))}
        by_key: dict[tuple[str, str], Decimal] = {}
        for r in total_reserved:
            by_key[(r.sku, r.location)] = by_key.get((r.sku, r.location), Decimal(0)) + r.quantity
        booked = sum((max(Decimal(0), q - levels.get(k, Decimal(0))) for k, q in by_key.items()), Decimal(0))
        counted = sum((max(Decimal(0), r.reserved - r.on_hand) for r in rows), Decimal(0))
        return max(booked, counted)

    # -- the Promiser protocol -----------------------------------------------------------------
    def check(self, order: Order, customer: Customer, as_of: dt.date,
              lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        with self.db.read() as connection:
            return self._plan(connection, order, as_of, commit=False)

    def reserve(self, order: Order, customer: Customer, as_of: dt.date,
                lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        return self.db.retrying(lambda connection: self._plan(connection, order, as_of, commit=True))

    def release(self, order_id: str) -> None:
        self.db.retrying(lambda connection: self._release(connection, order_id))

    # -- internals ------------------------------------------------------------------------------
    def _release(self, connection: Connection, order_id: str) -> None:
        held = connection.execute(sa.select(reservations).where(reservations.c.order_id == order_id)
                                  .order_by(reservations.c.sku, reservations.c.location)).all()
        for row in held:
            current = connection.execute(sa.select(stock.c.reserved).where(
                stock.c.sku == row.sku, stock.c.location == row.location)).scalar()
            if current is not None:
                connection.execute(stock.update().where(stock.c.sku == row.sku, stock.c.location == row.location)
                                   .values(reserved=current - row.quantity))
        connection.execute(reservations.delete().where(reservations.c.order_id == order_id))

    def _plan(self, connection: Connection, order: Order, as_of: dt.date, commit: bool) -> list[LinePromise]:
        skus = sorted({line.sku for line in order.lines})
        query = sa.select(stock).where(stock.c.sku.in_(skus)).order_by(stock.c.sku, stock.c.location)
        if commit and not self.db.is_sqlite:
            query = query.with_for_update()
        rows = connection.execute(query).all()
        free = {(r.sku, r.location): r.on_hand - r.reserved for r in rows}
        reserved = {(r.sku, r.location): r.reserved for r in rows}
        lead = {(r.sku, r.location): r.lead_days for r in rows}
        by_sku: dict[str, list[str]] = {}
        for r in rows:
            by_sku.setdefault(r.sku, []).append(r.location)
        promises: list[LinePromise] = []
        taken: list[tuple[str, str, str, Decimal]] = []
        for line in order.lines:
            locations = by_sku.get(line.sku)
            if not locations:
                promises.append(LinePromise(line.line_id, LinePromiseStatus.UNLIMITED, as_of, (),
                                            "not a stocked item"))
                continue
            preferred = sorted(locations, key=lambda loc: (loc != order.warehouse, loc))
            where = next((loc for loc in preferred if free[(line.sku, loc)] >= line.quantity), None)
            if where is None:
                loc = preferred[0]
                promises.append(LinePromise(
                    line.line_id, LinePromiseStatus.BACKORDERED, as_of + dt.timedelta(lead[(line.sku, loc)]),
                    (), f"short of stock: {max(free[(line.sku, loc)], Decimal(0))} free at {loc}"))
                continue
            free[(line.sku, where)] -= line.quantity
            taken.append((line.line_id, line.sku, where, line.quantity))
            promises.append(LinePromise(line.line_id, LinePromiseStatus.RESERVED, as_of + dt.timedelta(2),
                                        ((where, line.quantity),), f"on hand at {where}"))
        if commit:
            if connection.execute(sa.select(reservations.c.order_id).where(
                    reservations.c.order_id == order.order_id).limit(1)).first():
                raise ValueError(f"order {order.order_id} already holds reservations; release them first")
            now = self._now()
            for line_id, sku, location, quantity in taken:
                before = reserved[(sku, location)]
                reserved[(sku, location)] = before + quantity
                done = connection.execute(stock.update().where(
                    stock.c.sku == sku, stock.c.location == location, stock.c.reserved == before)
                    .values(reserved=before + quantity))
                if done.rowcount != 1:  # cannot happen while the rows are locked; never oversell regardless
                    raise RuntimeError(f"stock of {sku} at {location} changed under a lock")
                connection.execute(reservations.insert().values(
                    order_id=order.order_id, line_id=line_id, sku=sku, location=location, quantity=quantity,
                    at=now))
        return promises
