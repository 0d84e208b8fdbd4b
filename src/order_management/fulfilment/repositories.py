"""Where fulfilment keeps its records: small Protocols, and in-memory implementations.

Each repository stores one kind of record keyed by its id, with the order id
to find them by. Process instances are versioned: :meth:`ProcessRepository.put`
refuses a write based on a stale version, like the order repository does.
The host app provides SQL implementations of the same Protocols.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ..errors import ConcurrentUpdateError
from .audit import AuditTrail, InMemoryAuditTrail
from .payments import Payment
from .records import Approval, Hold, ProcessInstance, ReplenishmentRequest
from .returns import ReturnAuthorisation

__all__ = [
    "FulfilmentRecords",
    "InMemoryFulfilmentRecords",
    "InMemoryRepository",
    "ProcessRepository",
    "Repository",
]

T = TypeVar("T")


class Repository(Protocol[T]):
    def get(self, record_id: str) -> T:
        """Raises :class:`LookupError`."""
        ...

    def put(self, record_id: str, order_id: str, record: T) -> None: ...

    def for_order(self, order_id: str) -> list[T]: ...

    def all(self) -> list[T]: ...

    def next_id(self, prefix: str) -> str: ...


class ProcessRepository(Protocol):
    def find(self, order_id: str) -> ProcessInstance | None: ...

    def put(self, instance: ProcessInstance, expected_version: int | None) -> None:
        """Store; ``expected_version`` None for a new instance. Raises :class:`ConcurrentUpdateError`."""
        ...

    def all(self) -> list[ProcessInstance]: ...


class InMemoryRepository(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[str, T]] = {}
        self._ids = itertools.count(1)

    def get(self, record_id: str) -> T:
        with self._lock:
            try:
                return self._records[record_id][1]
            except KeyError:
                raise LookupError(f"no record {record_id!r}") from None

    def put(self, record_id: str, order_id: str, record: T) -> None:
        with self._lock:
            self._records[record_id] = (order_id, record)

    def for_order(self, order_id: str) -> list[T]:
        with self._lock:
            return [r for o, r in self._records.values() if o == order_id]

    def all(self) -> list[T]:
        with self._lock:
            return [r for _, r in self._records.values()]

    def next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-{next(self._ids):06d}"


class InMemoryProcesses:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, ProcessInstance] = {}

    def find(self, order_id: str) -> ProcessInstance | None:
        with self._lock:
            return self._instances.get(order_id)

    def put(self, instance: ProcessInstance, expected_version: int | None) -> None:
        with self._lock:
            current = self._instances.get(instance.order_id)
            stored = None if current is None else current.version
            if stored != expected_version:
                raise ConcurrentUpdateError(f"process of order {instance.order_id} is at version {stored}, "
                                            f"not {expected_version}")
            self._instances[instance.order_id] = instance

    def all(self) -> list[ProcessInstance]:
        with self._lock:
            return list(self._instances.values())


class FulfilmentRecords(Protocol):
    processes: ProcessRepository
    holds: Repository[Hold]
    approvals: Repository[Approval]
    payments: Repository[Payment]
    returns: Repository[ReturnAuthorisation]
    replenishments: Repository[ReplenishmentRequest]
    audit: AuditTrail


@dataclass
class InMemoryFulfilmentRecords:
    processes: Any = field(default_factory=InMemoryProcesses)
    holds: Any = field(default_factory=InMemoryRepository)
    approvals: Any = field(default_factory=InMemoryRepository)
    payments: Any = field(default_factory=InMemoryRepository)
    returns: Any = field(default_factory=InMemoryRepository)
    replenishments: Any = field(default_factory=InMemoryRepository)
    audit: Any = field(default_factory=InMemoryAuditTrail)

