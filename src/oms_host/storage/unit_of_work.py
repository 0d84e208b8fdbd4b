"""The host's unit of work: one database transaction over everything a command changes.

On entering, :class:`SqlUnitOfWork` opens one connection and begins one
writing transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue instead
of failing half-way; row locks on PostgreSQL). Orders, reservations, process
instances, holds, approvals, payments, returns, replenishment requests and the
audit trail are all read and written through it; :meth:`SqlUnitOfWork.commit`
applies the staged order writes, appends the audit entries of the recorded
events and commits — or, on any exception, nothing of it remains.

The same contract tests run on this and on the in-memory unit of work, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from order_management.unit_of_work import EventRecorder

from .database import Database, Transaction
from .fulfilment import SqlAuditTrail, SqlFulfilmentRecords
from .orders import SqlOrderRepository
from .reservations import SqlReservationStore

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork(EventRecorder):
    """See the module docstring. Make a new one per command (the bus does)."""

    def __init__(self, db: Database, now: Callable[[], dt.datetime] | None = None) -> None:
        super().__init__()
        self.db = db
        self._now = now
        self._connection: Any = None
        self._transaction: Any = None
        self._bind(db)

    def _bind(self, source: Database | Transaction) -> None:
        self.orders = SqlOrderRepository(source, ids=self.db)
        self.reservations = SqlReservationStore(source, self._now)
        records = SqlFulfilmentRecords.on(source)
        self.processes = records.processes
        self.holds = records.holds
        self.approvals = records.approvals
        self.payments = records.payments
        self.returns = records.returns
        self.replenishments = records.replenishments
        self.audit: SqlAuditTrail = records.audit

    def __enter__(self) -> SqlUnitOfWork:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; make a new one per command")
        self._connection = self.db.engine.connect().execution_options(write=True)
        try:
            self._transaction = self._connection.begin()
        except Exception:
            self._connection.close()
            self._connection = None
            raise
        self._bind(Transaction(self._connection, self.db.is_sqlite))
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._transaction = None
            self._bind(self.db)

    def commit(self) -> None:
        if self._transaction is None:
            raise RuntimeError("commit outside `with uow:`")
        self.orders._apply(self._connection)
        self.audit.append(self.audit_entries())
        self._transaction.commit()
        self._transaction = None
        self._bind(self.db)  # reads after the commit see committed state, holding no lock
        self.events_committed()

    def rollback(self) -> None:
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
        self.events_discarded()
