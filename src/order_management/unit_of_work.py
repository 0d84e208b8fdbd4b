"""The unit of work: one transaction over everything a command changes.

Orders, reservations, process instances, holds, approvals, payments, returns,
replenishment requests and the audit trail are reached only through a
:class:`UnitOfWork`. A handler opens it (``with uow:``), records the domain
events of what it did, and calls :meth:`UnitOfWork.commit` once: all of it is
stored, with the audit entries of its events, or — on any exception before
the commit — none of it.

:class:`InMemoryUnitOfWork` is the embedded library's: one lock is held from
``__enter__`` to the end, every write is applied at once and logged with how
to undo it, and a rollback replays the log backwards. The host app's SQL unit
of work (``oms_host.storage``) runs the same contract tests on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

from .errors import ConcurrentUpdateError, DuplicateOrderError, OrderNotFoundError
from .events import DomainEvent
from .fulfilment.audit import AuditEvent, AuditTrail
from .fulfilment.payments import Payment
from .fulfilment.records import Approval, Hold, ProcessInstance, ReplenishmentRequest
from .fulfilment.repositories import ProcessRepository, Repository
from .fulfilment.returns import ReturnAuthorisation
from .model import OrderStatus
from .ports import OrderRecord, OrderRepository
from .promising import InMemoryReservationStore, ReservationStore, UnknownNameError
from .promising.models import SupplyPosition
from .promising.results import Reservation, SupplyKey
from .revisions import render_diff

__all__ = ["EventRecorder", "InMemoryStore", "InMemoryUnitOfWork", "UnitOfWork"]

T = TypeVar("T")


class UnitOfWork(Protocol):
    """A transaction over orders, reservations, fulfilment records, payments and the audit trail.

    Writes happen inside ``with uow:`` only. Before it, the repositories may be
    read (committed state, taking no lock): a capture looks up an import key
    that way before it prices anything.
    """

    @property
    def orders(self) -> OrderRepository: ...
    @property
    def reservations(self) -> ReservationStore: ...
    @property
    def processes(self) -> ProcessRepository: ...
    @property
    def holds(self) -> Repository[Hold]: ...
    @property
    def approvals(self) -> Repository[Approval]: ...
    @property
    def payments(self) -> Repository[Payment]: ...
    @property
    def returns(self) -> Repository[ReturnAuthorisation]: ...
    @property
    def replenishments(self) -> Repository[ReplenishmentRequest]: ...
    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None:
        """Roll back whatever was not committed."""
        ...

    def record(self, *events: DomainEvent) -> None:
        """Keep events to audit on commit and to hand to the bus after it."""
        ...

    def collect_new_events(self) -> list[DomainEvent]:
        """The committed events not yet collected (the bus dispatches them)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def stale_version(current: OrderRecord, expected: int) -> ConcurrentUpdateError:
    """The error for a write based on ``expected`` when ``current`` is newer, saying what changed since."""
    changes = [f"version {r.version} by {r.actor}: {render_diff(list(r.changes))}" for r in current.revisions
               if r.version > expected]
    return ConcurrentUpdateError(f"order {current.order_id} is at version {current.version}, not {expected}",
                                 changes)


class InMemoryStore:
    """The committed state that in-memory units of work share; one lock guards it all."""

    def __init__(self, supply: Iterable[SupplyPosition] = ()) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, OrderRecord] = {}
        self.import_keys: dict[tuple[str, str], str] = {}
        self.reservations = InMemoryReservationStore(supply)
        self.processes: dict[str, ProcessInstance] = {}
        self.fulfilment: dict[str, dict[str, tuple[str, Any]]] = {
            kind: {} for kind in ("hold", "approval", "payment", "return", "replenishment")}
        self.audit: list[AuditEvent] = []
        self._ids: dict[str, itertools.count[int]] = {}

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def next_id(self, prefix: str) -> str:
        with self.lock:
            counter = self._ids.setdefault(prefix, itertools.count(1))
            return f"{prefix}-{next(counter):06d}"

    def next_order_id(self) -> str:
        return self.next_id("SO")


Undo = Callable[[], object]


class _Orders:
    def __init__(self, store: InMemoryStore, undo: list[Undo]) -> None:
        self.store, self.undo = store, undo

    def get(self, order_id: str) -> OrderRecord:
        record = self.store.records.get(order_id)
        if record is None:
            raise OrderNotFoundError(f"no order {order_id!r}")
        return record

    def find_by_external_ref(self, source_system: str, external_ref: str) -> OrderRecord | None:
        order_id = self.store.import_keys.get((source_system, external_ref))
        return self.store.records.get(order_id) if order_id else None

    def add(self, record: OrderRecord) -> None:
        order = record.order
        key = (order.source_system or "", order.external_ref or "")
        if record.order_id in self.store.records:
            raise DuplicateOrderError(f"order {record.order_id!r} exists")
        if order.source_system and key in self.store.import_keys:
            raise DuplicateOrderError(f"{order.source_system}/{order.external_ref} was already imported")
        self.store.records[record.order_id] = record
        self.undo.append(lambda: self.store.records.pop(record.order_id))
        if order.source_system:
            self.store.import_keys[key] = record.order_id
            self.undo.append(lambda: self.store.import_keys.pop(key))

    def update(self, record: OrderRecord, expected_version: int) -> None:
        current = self.get(record.order_id)
        if current.version != expected_version:
            raise stale_version(current, expected_version)
        self.store.records[record.order_id] = record
        self.undo.append(lambda: self.store.records.__setitem__(record.order_id, current))

    def search(self, *, status: OrderStatus | None = None, customer_id: str | None = None,
               channel: str | None = None, limit: int = 100) -> Sequence[OrderRecord]:
        found = [r for r in self.store.records.values()
                 if (status is None or r.order.status == status)
                 and (customer_id is None or r.order.customer_id == customer_id)
                 and (channel is None or r.order.channel == channel)]
        return found[:limit]

    def next_order_id(self) -> str:
        return self.store.next_order_id()


class _Reservations:
    """The store's reservation ledger, each write logged with its inverse (the unit's lock is held)."""

    def __init__(self, store: InMemoryReservationStore, undo: list[Undo]) -> None:
        self.store, self.undo = store, undo

    def snapshot(self, items: Iterable[str]) -> Any:
        return self.store.snapshot(items)

    def get(self, reservation_id: str) -> Reservation:
        return self.store.get(reservation_id)

    def _versions(self, reservation: Reservation) -> dict[SupplyKey, int]:
        snapshot = self.store.snapshot({c.item for c in reservation.commitments})
        return dict(snapshot.versions)

    def _restore(self, reservation_id: str, before: Reservation | None) -> None:
        with contextlib.suppress(UnknownNameError):  # nothing held now: nothing to give back
            self.store.release(reservation_id)
        if before is not None:
            self.store.reserve(before, self._versions(before))

    def reserve(self, reservation: Reservation, expected_versions: Mapping[SupplyKey, int], *,
                replaces: Reservation | None = None) -> Mapping[SupplyKey, int]:
        versions = self.store.reserve(reservation, expected_versions, replaces=replaces)
        self.undo.append(lambda: self._restore(reservation.id, replaces))
        return versions

    def release(self, reservation_id: str, line_ids: Iterable[str] | None = None) -> Reservation:
        before = self.store.get(reservation_id)
        released = self.store.release(reservation_id, line_ids)
        self.undo.append(lambda: self._restore(reservation_id, before))
        return released

    def put_supply(self, position: SupplyPosition, expected_version: int | None = None) -> int:
        before = self.store.snapshot([position.item]).position(position.key)
        version = self.store.put_supply(position, expected_version)
        if before is not None:
            self.undo.append(lambda: self.store.put_supply(before))
        else:  # a key the store had not seen: it goes back to no supply at all
            self.undo.append(lambda: self.store.put_supply(position.model_copy(update={
                "on_hand": 0, "receipts": ()})))
        return version

    def reserved(self, key: SupplyKey) -> int:
        return self.store.reserved(key)


class _Processes:
    def __init__(self, store: InMemoryStore, undo: list[Undo]) -> None:
        self.store, self.undo = store, undo

    def find(self, order_id: str) -> ProcessInstance | None:
        return self.store.processes.get(order_id)

    def put(self, instance: ProcessInstance, expected_version: int | None) -> None:
        current = self.store.processes.get(instance.order_id)
        stored = None if current is None else current.version
        if stored != expected_version:
            raise ConcurrentUpdateError(f"process of order {instance.order_id} is at version {stored}, "
                                        f"not {expected_version}")
        self.store.processes[instance.order_id] = instance
        if current is None:
            self.undo.append(lambda: self.store.processes.pop(instance.order_id))
        else:
            self.undo.append(lambda: self.store.processes.__setitem__(instance.order_id, current))

    def all(self) -> list[ProcessInstance]:
        return list(self.store.processes.values())


class _Records(Generic[T]):
    def __init__(self, store: InMemoryStore, kind: str, undo: list[Undo]) -> None:
        self.store, self.undo = store, undo
        self.kind = kind
        self.rows = store.fulfilment[kind]

    def get(self, record_id: str) -> T:
        try:
            return self.rows[record_id][1]
        except KeyError:
            raise LookupError(f"no {self.kind} {record_id!r}") from None

    def put(self, record_id: str, order_id: str, record: T) -> None:
        before = self.rows.get(record_id)
        self.rows[record_id] = (order_id, record)
        if before is None:
            self.undo.append(lambda: self.rows.pop(record_id))
        else:
            self.undo.append(lambda: self.rows.__setitem__(record_id, before))

    def for_order(self, order_id: str) -> list[T]:
        return [r for o, r in self.rows.values() if o == order_id]

    def all(self) -> list[T]:
        return [r for _, r in self.rows.values()]

    def next_id(self, prefix: str) -> str:
        return self.store.next_id(prefix)


class _Audit:
    def __init__(self, store: InMemoryStore, undo: list[Undo]) -> None:
        self.store, self.undo = store, undo

    def append(self, events: Sequence[AuditEvent]) -> None:
        size = len(self.store.audit)
        self.store.audit.extend(events)
        self.undo.append(lambda: self.store.audit.__delitem__(slice(size, None)))

    def for_order(self, order_id: str) -> list[AuditEvent]:
        return [e for e in self.store.audit if e.order_id == order_id]

    def all(self) -> list[AuditEvent]:
        return list(self.store.audit)


class EventRecorder:
    """The events half of every unit of work: kept while it works, audited by its commit, then handed to the bus.

    A unit of work calls :meth:`audit_entries` inside its commit (the audit
    trail is written with everything else), then :meth:`events_committed`;
    a rollback calls :meth:`events_discarded`, so a failed command leaves no
    audit entry and triggers no follow-up.
    """

    def __init__(self) -> None:
        self._events: list[DomainEvent] = []
        self._committed: list[DomainEvent] = []

    def record(self, *events: DomainEvent) -> None:
        self._events.extend(events)

    def collect_new_events(self) -> list[DomainEvent]:
        events, self._committed = self._committed, []
        return events

    def audit_entries(self) -> list[AuditEvent]:
        return [entry for event in self._events if (entry := event.audit()) is not None]

    def events_committed(self) -> None:
        self._committed.extend(self._events)
        self._events.clear()

    def events_discarded(self) -> None:
        self._events.clear()


class InMemoryUnitOfWork(EventRecorder):
    """A unit of work over an :class:`InMemoryStore`; see the module docstring."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self.store = store
        self._undo: list[Undo] = []
        self._bind()

    def _bind(self) -> None:
        undo = self._undo
        self.orders = _Orders(self.store, undo)
        self.reservations = _Reservations(self.store.reservations, undo)
        self.processes = _Processes(self.store, undo)
        self.holds: _Records[Hold] = _Records(self.store, "hold", undo)
        self.approvals: _Records[Approval] = _Records(self.store, "approval", undo)
        self.payments: _Records[Payment] = _Records(self.store, "payment", undo)
        self.returns: _Records[ReturnAuthorisation] = _Records(self.store, "return", undo)
        self.replenishments: _Records[ReplenishmentRequest] = _Records(self.store, "replenishment", undo)
        self.audit = _Audit(self.store, undo)

    def __enter__(self) -> InMemoryUnitOfWork:
        self.store.lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.rollback()
        finally:
            self.store.lock.release()

    def commit(self) -> None:
        entries = self.audit_entries()
        if entries:
            self.audit.append(entries)
        self._undo.clear()
        self.events_committed()

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()
        self.events_discarded()
