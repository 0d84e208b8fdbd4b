"""Domain events: what happened to an order, recorded by handlers in the unit of work.

A handler never calls another use case. It records what happened; when its
unit of work has committed, the :class:`~order_management.messagebus.MessageBus`
hands each event to the handlers subscribed to it (check reorder points after
stock moved, move on the steps that waited for a payment, clear jeopardy
alerts of a closed order), each in a unit of work of its own.

Every event also says what it means for the audit trail: :class:`Changed`
events are the fine-grained before/after records (a step, a hold, a payment),
and the unit of work writes the audit entries of the events it committed —
so a failed command leaves no audit row, and a committed one never misses its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .fulfilment.audit import AuditEvent, Entity

__all__ = [
    "Changed",
    "DomainEvent",
    "OrderCancelled",
    "OrderCaptured",
    "OrderClosed",
    "OrderRevised",
    "PaymentCaptured",
    "ShipmentRequested",
    "StockMoved",
]


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened, with who made it happen and when (the clock port's time)."""

    actor: str
    at: dt.datetime
    order_id: str | None = None

    def audit(self) -> AuditEvent | None:
        """The audit entry this event stands for, if it is one."""
        return None


@dataclass(frozen=True, kw_only=True)
class Changed(DomainEvent):
    """A record changed: ``entity`` ``entity_id`` went from ``before`` to ``after``."""

    entity: Entity
    entity_id: str
    action: str
    before: Any = None
    after: Any = None
    reason: str = ""

    def audit(self) -> AuditEvent:
        return AuditEvent(self.at, self.actor, self.entity, self.entity_id, self.action, self.before, self.after,
                          self.order_id, self.reason)


@dataclass(frozen=True, kw_only=True)
class OrderCaptured(DomainEvent):
    """A new order was stored (and its supply reserved)."""

    version: int = 1


@dataclass(frozen=True, kw_only=True)
class OrderRevised(DomainEvent):
    version: int


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class OrderClosed(DomainEvent):
    """Every line is delivered, cancelled or returned, and fulfilment completed."""


@dataclass(frozen=True, kw_only=True)
class PaymentCaptured(DomainEvent):
    """Money arrived: a card or wallet captured, a bank transfer's funds received, cash collected."""

    payment_id: str
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class ShipmentRequested(DomainEvent):
    """A step asked the world for something (a shipment, a pick, its cancellation): the host's outbox."""

    command: Any


@dataclass(frozen=True, kw_only=True)
class StockMoved(DomainEvent):
    """Available stock of these (item, location) pairs changed: reorder points are asked again."""

    items: tuple[tuple[str, str], ...] = field(default=())
