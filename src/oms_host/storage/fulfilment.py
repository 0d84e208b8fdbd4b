"""SQL implementations of the fulfilment Protocols: process instances, records, the audit trail.

``order_management.fulfilment`` keeps everything behind small Protocols
(:class:`ProcessRepository`, :class:`Repository` of holds, approvals, payments,
returns and replenishments, :class:`AuditTrail`). Here they are three tables:
process instances (version-checked like orders), records by kind, and an
append-only audit trail. Records are frozen dataclasses; they are stored as
type-tagged JSON whose type names come from a fixed registry of the
fulfilment package's own classes (never import paths).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from order_management import ConcurrentUpdateError
from order_management.fulfilment import audit, event_rules, jeopardy, payments, process, records, returns
from order_management.fulfilment.audit import AuditEvent
from order_management.fulfilment.records import ProcessInstance
from pricing_engine import money

from .database import Database, Transaction
from .schema import audit_events, counters, fulfilment_processes, fulfilment_records
from .tagged import TaggedCodec

__all__ = ["SqlAuditTrail", "SqlFulfilmentRecords", "SqlProcessRepository", "SqlRepository", "decode", "encode"]

T = TypeVar("T")
_MODULES = (records, audit, payments, returns, process, event_rules, jeopardy, money)
_DATACLASSES: dict[str, type] = {
    name: obj for module in _MODULES for name, obj in vars(module).items()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__}
_ENUMS: dict[str, type[enum.Enum]] = {
    name: obj for module in _MODULES for name, obj in vars(module).items()
    if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__}


_CODEC = TaggedCodec("the fulfilment tables", dataclasses=_DATACLASSES.values(), enums=_ENUMS.values())
#: Type-tagged JSON for fulfilment records, and its inverse.
encode = _CODEC.encode
decode = _CODEC.decode


class SqlProcessRepository:
    """Process instances by order; a write names the version it replaces (None: a new instance)."""

    def __init__(self, db: Database | Transaction) -> None:
        self.db = db

    def find(self, order_id: str) -> ProcessInstance | None:
        with self.db.read() as connection:
            data = connection.execute(sa.select(fulfilment_processes.c.data).where(
                fulfilment_processes.c.order_id == order_id)).scalar()
        return decode(data) if data is not None else None

    def put(self, instance: ProcessInstance, expected_version: int | None) -> None:
        row = {"version": instance.version, "stage": instance.stage.value, "data": encode(instance),
               "has_alerts": bool(instance.alerts)}
        with self.db.write() as connection:
            if expected_version is None:
                try:
                    with connection.begin_nested():
                        connection.execute(fulfilment_processes.insert().values(order_id=instance.order_id, **row))
                except sa.exc.IntegrityError:
                    raise ConcurrentUpdateError(f"order {instance.order_id} already has a process") from None
                return
            done = connection.execute(fulfilment_processes.update().where(
                fulfilment_processes.c.order_id == instance.order_id,
                fulfilment_processes.c.version == expected_version).values(**row))
            if done.rowcount != 1:
                stored = connection.execute(sa.select(fulfilment_processes.c.version).where(
                    fulfilment_processes.c.order_id == instance.order_id)).scalar()
                raise ConcurrentUpdateError(f"process of order {instance.order_id} is at version {stored}, "
                                            f"not {expected_version}")

    def all(self) -> list[ProcessInstance]:
        with self.db.read() as connection:
            return [decode(d) for d in connection.execute(
                sa.select(fulfilment_processes.c.data).order_by(fulfilment_processes.c.order_id)).scalars()]


class SqlRepository(Generic[T]):
    """Records of one kind (holds, approvals, …) by id and by order."""

    def __init__(self, db: Database | Transaction, kind: str) -> None:
        self.db = db
        self.kind = kind

    def get(self, record_id: str) -> T:
        with self.db.read() as connection:
            data = connection.execute(sa.select(fulfilment_records.c.data).where(
                fulfilment_records.c.kind == self.kind, fulfilment_records.c.record_id == record_id)).scalar()
        if data is None:
            raise LookupError(f"no {self.kind} record {record_id!r}")
        return decode(data)

    def put(self, record_id: str, order_id: str, record: T) -> None:
        with self.db.write() as connection:
            connection.execute(fulfilment_records.delete().where(
                fulfilment_records.c.kind == self.kind, fulfilment_records.c.record_id == record_id))
            connection.execute(fulfilment_records.insert().values(kind=self.kind, record_id=record_id,
                                                                  order_id=order_id, data=encode(record)))

    def for_order(self, order_id: str) -> list[T]:
        with self.db.read() as connection:
            return [decode(d) for d in connection.execute(
                sa.select(fulfilment_records.c.data).where(fulfilment_records.c.kind == self.kind,
                                                           fulfilment_records.c.order_id == order_id)
                .order_by(fulfilment_records.c.seq)).scalars()]

    def all(self) -> list[T]:
        with self.db.read() as connection:
            return [decode(d) for d in connection.execute(
                sa.select(fulfilment_records.c.data).where(fulfilment_records.c.kind == self.kind)
                .order_by(fulfilment_records.c.seq)).scalars()]

    def next_id(self, prefix: str) -> str:
        name = f"fulfilment:{prefix}"

        def draw(connection: sa.Connection) -> int:
            value = connection.execute(counters.update().where(counters.c.name == name)
                                       .values(value=counters.c.value + 1).returning(counters.c.value)).scalar()
            if value is None:
                try:
                    with connection.begin_nested():
                        connection.execute(counters.insert().values(name=name, value=1))
                except sa.exc.IntegrityError:  # another writer created it: take the next one
                    return connection.execute(counters.update().where(counters.c.name == name)
                                              .values(value=counters.c.value + 1)
                                              .returning(counters.c.value)).scalar_one()
                return 1
            return value

        return f"{prefix}-{self.db.retrying(draw):06d}"


class SqlAuditTrail:
    """Append-only: events are stored in order and never changed."""

    def __init__(self, db: Database | Transaction) -> None:
        self.db = db

    def append(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        with self.db.write() as connection:
            connection.execute(audit_events.insert(), [
                {"order_id": e.order_id, "at": e.at, "data": encode(e)} for e in events])

    def for_order(self, order_id: str) -> list[AuditEvent]:
        with self.db.read() as connection:
            return [decode(d) for d in connection.execute(
                sa.select(audit_events.c.data).where(audit_events.c.order_id == order_id)
                .order_by(audit_events.c.id)).scalars()]

    def all(self) -> list[AuditEvent]:
        with self.db.read() as connection:
            return [decode(d) for d in connection.execute(
                sa.select(audit_events.c.data).order_by(audit_events.c.id)).scalars()]


@dataclasses.dataclass
class SqlFulfilmentRecords:
    """Fulfilment records in the host's database (read here; written through the unit of work)."""

    processes: SqlProcessRepository
    holds: SqlRepository[Any]
    approvals: SqlRepository[Any]
    payments: SqlRepository[Any]
    returns: SqlRepository[Any]
    replenishments: SqlRepository[Any]
    audit: SqlAuditTrail

    @classmethod
    def on(cls, db: Database | Transaction) -> SqlFulfilmentRecords:
        return cls(SqlProcessRepository(db), SqlRepository(db, "hold"), SqlRepository(db, "approval"),
                   SqlRepository(db, "payment"), SqlRepository(db, "return"), SqlRepository(db, "replenishment"),
                   SqlAuditTrail(db))
