"""The audit trail: every change of an order, reservation, hold, approval, step, payment or return.

An :class:`AuditEvent` says who did what, when (from the :class:`~order_management.Clock`
port, never the wall clock) and the values before and after. Events are
append-only; the trail is reached through the :class:`AuditTrail` Protocol so a
host can keep it in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = ["AuditEvent", "AuditTrail", "Entity", "plain"]


class Entity(StrEnum):
    ORDER = "order"
    RESERVATION = "reservation"
    HOLD = "hold"
    APPROVAL = "approval"
    STEP = "step"
    JEOPARDY = "jeopardy"
    PAYMENT = "payment"
    RETURN = "return"
    REPLENISHMENT = "replenishment"


@dataclass(frozen=True)
class AuditEvent:
    """One change: ``entity`` ``entity_id`` of ``order_id`` went from ``before`` to ``after``."""

    at: dt.datetime
    actor: str
    entity: Entity
    entity_id: str
    action: str
    before: Any
    after: Any
    order_id: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"{self.at.isoformat()} {self.actor}: {self.entity.value} {self.entity_id} {self.action}: "
                f"{self.before!r} → {self.after!r}{why}")


class AuditTrail(Protocol):
    def append(self, events: Sequence[AuditEvent]) -> None:
        """Store events, in order; never changes or drops earlier ones."""
        ...

    def for_order(self, order_id: str) -> list[AuditEvent]:
        """Every event of ``order_id``, oldest first."""
        ...

    def all(self) -> list[AuditEvent]: ...


def plain(value: Any) -> Any:
    """A JSON-friendly copy of ``value`` for the trail (Decimals as text, models as dicts).

    >>> plain({"qty": Decimal("2.50"), "when": dt.date(2025, 7, 1)})
    {'qty': '2.50', 'when': '2025-07-01'}
    """
    if isinstance(value, BaseModel):
        return plain(value.model_dump(exclude_defaults=True))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value
