"""In-memory implementations of the ports: for tests, benchmarks and prototypes.

The store keeps committed records in a dict guarded by a lock. A unit of work
stages its writes and applies them all under the lock on commit, after checking
versions, so a failure half-way leaves nothing half-written and two writers of
the same order cannot both win.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterable, Sequence

from .errors import ConcurrentUpdateError, DuplicateOrderError, OrderNotFoundError
from .model import Customer, OrderStatus
from .ports import OrderRecord

__all__ = ["DuplicateOrderError", "FixedClock", "InMemoryCustomers", "InMemoryStore", "InMemoryUnitOfWork"]


class FixedClock:
    """A clock that says what it is told; advance it explicitly."""

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware datetime")
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += dt.timedelta(**delta)


class InMemoryCustomers:
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._customers = {c.id: c for c in customers}

    def get(self, customer_id: str) -> Customer:
        try:
            return self._customers[customer_id]
        except KeyError:
            raise LookupError(f"unknown customer {customer_id!r}") from None

    def put(self, customer: Customer) -> None:
        self._customers[customer.id] = customer


class InMemoryStore:
    """The committed state shared by every unit of work."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, OrderRecord] = {}
        self.import_keys: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1)

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def next_order_id(self) -> str:
        with self.lock:
            return f"SO-{next(self._ids):06d}"


class _Repository:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.added: dict[str, OrderRecord] = {}
        self.updated: dict[str, tuple[OrderRecord, int]] = {}

    def get(self, order_id: str) -> OrderRecord:
        if order_id in self.updated:
            return self.updated[order_id][0]
        if order_id in self.added:
            return self.added[order_id]
        with self.store.lock:
            record = self.store.records.get(order_id)
        if record is None:
            raise OrderNotFoundError(f"no order {order_id!r}")
        return record

    def find_by_external_ref(self, source_system: str, external_ref: str) -> OrderRecord | None:
        for record in self.added.values():
            if (record.order.source_system, record.order.external_ref) == (source_system, external_ref):
                return record
        with self.store.lock:
            order_id = self.store.import_keys.get((source_system, external_ref))
            return self.store.records.get(order_id) if order_id else None

    def add(self, record: OrderRecord) -> None:
        if record.order_id in self.added or record.order_id in self.store.records:
            raise DuplicateOrderError(f"order {record.order_id!r} exists")
        order = record.order
        if order.source_system and self.find_by_external_ref(order.source_system, order.external_ref or ""):
            raise DuplicateOrderError(f"{order.source_system}/{order.external_ref} was already imported")
        self.added[record.order_id] = record

    def update(self, record: OrderRecord, expected_version: int) -> None:
        self.updated[record.order_id] = (record, expected_version)

    def search(self, *, status: OrderStatus | None = None, customer_id: str | None = None,
               channel: str | None = None, limit: int = 100) -> Sequence[OrderRecord]:
        with self.store.lock:
            records = list(self.store.records.values())
        found = [r for r in records
                 if (status is None or r.order.status == status)
                 and (customer_id is None or r.order.customer_id == customer_id)
                 and (channel is None or r.order.channel == channel)]
        return found[:limit]

    def next_order_id(self) -> str:
        return self.store.next_order_id()


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.orders = _Repository(store)

    def __enter__(self) -> InMemoryUnitOfWork:
        self.orders = _Repository(self.store)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    def commit(self) -> None:
        repo = self.orders
        with self.store.lock:
            for order_id, record in repo.added.items():
                order = record.order
                key = (order.source_system, order.external_ref)
                if order_id in self.store.records or (order.source_system and key in self.store.import_keys):
                    raise DuplicateOrderError(f"order {order_id!r} (import key {key}) exists")
            for order_id, (_, expected) in repo.updated.items():
                current = self.store.records.get(order_id)
                if current is None:
                    raise OrderNotFoundError(f"no order {order_id!r}")
                if current.version != expected:
                    raise ConcurrentUpdateError(
                        f"order {order_id} is at version {current.version}, not {expected}")
            for order_id, record in repo.added.items():
                self.store.records[order_id] = record
                if record.order.source_system:
                    key = (record.order.source_system, record.order.external_ref or "")
                    self.store.import_keys[key] = order_id
            for order_id, (record, _) in repo.updated.items():
                self.store.records[order_id] = record
        self.orders = _Repository(self.store)

    def rollback(self) -> None:
        self.orders = _Repository(self.store)
