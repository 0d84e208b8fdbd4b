"""Where fulfilment keeps its records: small Protocols.

Each repository stores one kind of record keyed by its id, with the order id
to find them by. Process instances are versioned: :meth:`ProcessRepository.put`
refuses a write based on a stale version, like the order repository does.
The in-memory unit of work (:mod:`order_management.unit_of_work`) and the host
app's SQL unit of work implement them; one contract test runs on both.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from .audit import AuditTrail
from .payments import Payment
from .records import Approval, Hold, ProcessInstance, ReplenishmentRequest
from .returns import ReturnAuthorisation

__all__ = ["FulfilmentRecords", "ProcessRepository", "Repository"]

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


class FulfilmentRecords(Protocol):
    processes: ProcessRepository
    holds: Repository[Hold]
    approvals: Repository[Approval]
    payments: Repository[Payment]
    returns: Repository[ReturnAuthorisation]
    replenishments: Repository[ReplenishmentRequest]
    audit: AuditTrail
