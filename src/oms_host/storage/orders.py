"""SQL implementation of the order layer's :class:`OrderRepository`.

It reads through the unit of work's transaction and stages its writes;
:class:`~oms_host.storage.unit_of_work.SqlUnitOfWork` applies them in that
same transaction, with the version check as part of the ``UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from order_management import (
    ConcurrentUpdateError,
    DuplicateOrderError,
    LineStatus,
    OrderNotFoundError,
    OrderRecord,
    OrderStatus,
)
from order_management.unit_of_work import stale_version

from .codec import decode_record, decode_revision, encode_record, encode_revision
from .database import Database, Transaction
from .schema import counters, order_lines, order_revisions, orders

__all__ = ["SqlOrderRepository", "load_records"]


def load_records(connection: Connection, order_ids: Sequence[str]) -> list[OrderRecord]:
    """The records of ``order_ids`` (in that order), each with its revisions."""
    if not order_ids:
        return []
    rows = {r.order_id: r.record for r in connection.execute(
        sa.select(orders.c.order_id, orders.c.record).where(orders.c.order_id.in_(order_ids)))}
    revisions: dict[str, list[Any]] = {}
    for row in connection.execute(
            sa.select(order_revisions.c.order_id, order_revisions.c.data)
            .where(order_revisions.c.order_id.in_(order_ids))
            .order_by(order_revisions.c.order_id, order_revisions.c.version)):
        revisions.setdefault(row.order_id, []).append(decode_revision(row.data))
    return [decode_record(rows[i], tuple(revisions.get(i, ()))) for i in order_ids if i in rows]


def _columns(record: OrderRecord) -> dict[str, Any]:
    order = record.order
    pricing = record.pricing
    last = record.revisions[-1] if record.revisions else None
    return {
        "version": order.version,
        "status": order.status.value,
        "customer_id": order.customer_id,
        "channel": order.channel.value,
        "currency": order.currency,
        "country": order.ship_to.address.country if order.ship_to else None,
        "updated_at": last.at if last else None,
        "subtotal": pricing.subtotal if pricing else None,
        "tax": pricing.tax if pricing else None,
        "total": pricing.total if pricing else None,
        "requires_approval": order.status == OrderStatus.AWAITING_APPROVAL,
        "on_hold": order.status == OrderStatus.ON_HOLD,
        "backordered": any(line.status == LineStatus.BACKORDERED for line in order.lines),
        "record": encode_record(record),
    }


def _line_rows(record: OrderRecord) -> list[dict[str, Any]]:
    net = record.pricing.line_net if record.pricing else {}
    return [{"order_id": record.order_id, "line_id": line.line_id, "sku": line.sku, "quantity": line.quantity,
             "net": net.get(line.line_id), "status": line.status.value, "promised_date": line.promised_date,
             "ship_from": line.ship_from} for line in record.order.lines]


def _revision_rows(record: OrderRecord, after_version: int) -> list[dict[str, Any]]:
    return [{"order_id": record.order_id, "version": r.version, "at": r.at, "actor": r.actor,
             "data": encode_revision(r)} for r in record.revisions if r.version > after_version]


class SqlOrderRepository:
    """Reads orders through ``db`` (a :class:`Database` or the unit of work's :class:`Transaction`);
    stages writes, applied by the unit of work's commit. Order numbers are drawn from ``ids``
    in a short transaction of their own (ids are never reused, and drawing one blocks no one)."""

    def __init__(self, db: Database | Transaction, ids: Database | None = None) -> None:
        self.db = db
        self.ids = ids or (db if isinstance(db, Database) else None)
        self.added: dict[str, OrderRecord] = {}
        self.updated: dict[str, tuple[OrderRecord, int]] = {}

    def get(self, order_id: str) -> OrderRecord:
        if order_id in self.updated:
            return self.updated[order_id][0]
        if order_id in self.added:
            return self.added[order_id]
        with self.db.read() as connection:
            found = load_records(connection, [order_id])
        if not found:
            raise OrderNotFoundError(f"no order {order_id!r}")
        return found[0]

    def find_by_external_ref(self, source_system: str, external_ref: str) -> OrderRecord | None:
        for record in self.added.values():
            if (record.order.source_system, record.order.external_ref) == (source_system, external_ref):
                return record
        with self.db.read() as connection:
            order_id = connection.execute(sa.select(orders.c.order_id).where(
                orders.c.source_system == source_system, orders.c.external_ref == external_ref)).scalar()
            return load_records(connection, [order_id])[0] if order_id else None

    def add(self, record: OrderRecord) -> None:
        order = record.order
        if record.order_id in self.added:
            raise DuplicateOrderError(f"order {record.order_id!r} exists")
        # an id taken in the database is refused by the commit (the primary key), with the same error
        if order.source_system and self.find_by_external_ref(order.source_system, order.external_ref or ""):
            raise DuplicateOrderError(f"{order.source_system}/{order.external_ref} was already imported")
        self.added[record.order_id] = record

    def update(self, record: OrderRecord, expected_version: int) -> None:
        """Stage the new version; several in one unit of work land as one write from the version first read."""
        staged = self.updated.get(record.order_id)
        if record.order_id in self.added:
            if self.added[record.order_id].version != expected_version:
                raise ConcurrentUpdateError(f"order {record.order_id} is at version "
                                            f"{self.added[record.order_id].version}, not {expected_version}")
            self.added[record.order_id] = record
        elif staged is not None:
            if staged[0].version != expected_version:
                raise ConcurrentUpdateError(f"order {record.order_id} is at version {staged[0].version}, "
                                            f"not {expected_version}")
            self.updated[record.order_id] = (record, staged[1])
        else:
            current = self.get(record.order_id)
            if current.version != expected_version:
                raise stale_version(current, expected_version)
            self.updated[record.order_id] = (record, expected_version)

    def search(self, *, status: OrderStatus | None = None, customer_id: str | None = None,
               channel: str | None = None, limit: int = 100) -> Sequence[OrderRecord]:
        query = sa.select(orders.c.order_id).order_by(orders.c.created_at, orders.c.order_id).limit(limit)
        if status is not None:
            query = query.where(orders.c.status == OrderStatus(status).value)
        if customer_id is not None:
            query = query.where(orders.c.customer_id == customer_id)
        if channel is not None:
            query = query.where(orders.c.channel == str(channel))
        with self.db.read() as connection:
            ids = list(connection.execute(query).scalars())
            return load_records(connection, ids)

    def next_order_id(self) -> str:
        """The next ``SO-000123``; drawn in its own short transaction, so ids are never reused."""
        def draw(connection: Connection) -> int:
            return connection.execute(
                counters.update().where(counters.c.name == "order").values(value=counters.c.value + 1)
                .returning(counters.c.value)).scalar_one()
        if self.ids is None:
            raise RuntimeError("order numbers are drawn before the unit of work begins")
        return f"SO-{self.ids.retrying(draw):06d}"

    # -- applied by the unit of work ------------------------------------------------------
    def _apply(self, connection: Connection) -> None:
        for record in self.added.values():
            first = record.revisions[0] if record.revisions else None
            if first is None:
                raise ValueError(f"order {record.order_id} has no revision to record who created it")
            try:
                with connection.begin_nested():
                    connection.execute(orders.insert().values(
                        order_id=record.order_id, source_system=record.order.source_system,
                        external_ref=record.order.external_ref, created_at=first.at, created_by=first.actor,
                        **_columns(record)))
            except sa.exc.IntegrityError:
                key = (record.order.source_system, record.order.external_ref)
                raise DuplicateOrderError(f"order {record.order_id!r} (import key {key}) exists") from None
            connection.execute(order_lines.insert(), _line_rows(record))
            connection.execute(order_revisions.insert(), _revision_rows(record, 0))
        for order_id, (record, expected) in self.updated.items():
            done = connection.execute(orders.update().where(
                orders.c.order_id == order_id, orders.c.version == expected).values(**_columns(record)))
            if done.rowcount != 1:
                current = connection.execute(
                    sa.select(orders.c.version).where(orders.c.order_id == order_id)).scalar()
                if current is None:
                    raise OrderNotFoundError(f"no order {order_id!r}")
                raise ConcurrentUpdateError(f"order {order_id} is at version {current}, not {expected}")
            connection.execute(order_lines.delete().where(order_lines.c.order_id == order_id))
            connection.execute(order_lines.insert(), _line_rows(record))
            new_revisions = _revision_rows(record, expected)
            if new_revisions:
                connection.execute(order_revisions.insert(), new_revisions)


